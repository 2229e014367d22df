// Reads the header of each .safetensors file named on the command line with h5ser's parser and
// prints, per tensor, one JSON line: its name, h5ser's dtype, the format's, its shape, and the
// xxh3-64 of the bytes at the offsets the parser found (read with pread, as a load reads them);
// then the file's __metadata__. tests/safetensors/check_reader.py compares this with what an
// independent writer says it wrote. A file h5ser refuses prints its error and exits 1.
//
//     read_safetensors --load every_dtype.safetensors dotted_names.safetensors
//
// loads the two files of the writer into structs with h5ser::load (strict: every tensor a field)
// and prints the same lines for each field as loaded (name: the tensor name the field's path spells).
//
//     read_safetensors --save every_dtype.safetensors dotted_names.safetensors OUT_DIR
//
// loads them so and saves each struct again with h5ser::safetensors::save into OUT_DIR (same file
// names), for check_reader.py to read with its own parser.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <string>
#include <vector>

#include <h5ser/h5ser.hpp>

#include "gpt.hpp"

namespace {

// The tensors write_safetensors.py writes, as structs.
struct EveryDtype {
    h5ser::tensor<double, 2> t_f64;
    h5ser::tensor<float, 1> t_f32;
    h5ser::tensor<h5ser::float16, 3> t_f16;
    h5ser::tensor<h5ser::bfloat16, 0> t_bf16;
    h5ser::tensor<std::int64_t, 2> t_i64;
    h5ser::tensor<std::int32_t, 2> t_i32;
    h5ser::tensor<std::int16_t, 1> t_i16;
    h5ser::tensor<std::int8_t, 2> t_i8;
    h5ser::tensor<std::uint64_t, 1> t_u64;
    h5ser::tensor<std::uint32_t, 3> t_u32;
    h5ser::tensor<std::uint16_t, 1> t_u16;
    h5ser::tensor<std::uint8_t, 2> t_u8;
    h5ser::tensor<bool, 1> t_bool;
};
using test_gpt::Gpt;

template <class T, std::size_t R>
void print_loaded(const std::string& file, const std::string& name, const h5ser::tensor<T, R>& t) {
    std::string shape;
    for (std::size_t d = 0; d < R; ++d) shape += (d ? "," : "") + std::to_string(t.shape()[d]);
    std::printf("{\"file\":\"%s\",\"name\":\"%s\",\"dtype\":\"%s\",\"shape\":[%s],\"xxh3\":\"%016" PRIx64 "\",\"bytes\":%zu}\n",
                file.c_str(), name.c_str(), std::string(h5ser::dtype_name<T>()).c_str(), shape.c_str(),
                h5ser::detail::hash_bytes(t.size() ? static_cast<const void*>(t.data()) : "", t.size_bytes()), t.size_bytes());
}

int save_files(const std::string& every_dtype, const std::string& dotted_names, const std::string& out) {
    try {
        h5ser::safetensors::save(h5ser::load<EveryDtype>(every_dtype), out + "/every_dtype.safetensors");
        h5ser::safetensors::save(h5ser::load<Gpt>(dotted_names), out + "/dotted_names.safetensors");
    } catch (const h5ser::error& e) {
        std::printf("error: %s\n", e.what());
        return 1;
    }
    return 0;
}

int load_files(const std::string& every_dtype, const std::string& dotted_names) {
    try {
        const auto e = h5ser::load<EveryDtype>(every_dtype);
        const std::string f = "every_dtype.safetensors";
        print_loaded(f, "t_f64", e.t_f64);
        print_loaded(f, "t_f32", e.t_f32);
        print_loaded(f, "t_f16", e.t_f16);
        print_loaded(f, "t_bf16", e.t_bf16);
        print_loaded(f, "t_i64", e.t_i64);
        print_loaded(f, "t_i32", e.t_i32);
        print_loaded(f, "t_i16", e.t_i16);
        print_loaded(f, "t_i8", e.t_i8);
        print_loaded(f, "t_u64", e.t_u64);
        print_loaded(f, "t_u32", e.t_u32);
        print_loaded(f, "t_u16", e.t_u16);
        print_loaded(f, "t_u8", e.t_u8);
        print_loaded(f, "t_bool", e.t_bool);
        const auto g = h5ser::load<Gpt>(dotted_names);
        const std::string d = "dotted_names.safetensors";
        for (std::size_t i = 0; i < g.h.size(); ++i) {
            const std::string h = "h." + std::to_string(i) + ".";
            print_loaded(d, h + "attn.c_attn.weight", g.h[i].attn.c_attn.weight);
            print_loaded(d, h + "attn.c_attn.bias", g.h[i].attn.c_attn.bias);
            print_loaded(d, h + "ln_1.weight", g.h[i].ln_1.weight);
        }
        print_loaded(d, "wte.weight", g.wte.weight);
    } catch (const h5ser::error& e) {
        std::printf("error: %s\n", e.what());
        return 1;
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    namespace st = h5ser::detail::safetensors;
    if (argc == 4 && std::string(argv[1]) == "--load") return load_files(argv[2], argv[3]);
    if (argc == 5 && std::string(argv[1]) == "--save") return save_files(argv[2], argv[3], argv[4]);
    for (int i = 1; i < argc; ++i) {
        const std::string path = argv[i];
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        struct stat info {};
        if (fd < 0 || ::fstat(fd, &info) != 0) return std::perror(argv[i]), 2;
        try {
            const st::header h = st::read_header(fd, static_cast<std::uint64_t>(info.st_size), path);
            for (const st::tensor_entry& t : h.tensors) {
                std::vector<unsigned char> bytes(t.length);
                if (t.length != 0 && !h5ser::detail::read_exact(fd, bytes.data(), bytes.size(), t.offset)) return std::perror("pread"), 2;
                std::string shape;
                for (std::size_t d = 0; d < t.shape.size(); ++d) shape += (d ? "," : "") + std::to_string(t.shape[d]);
                std::printf("{\"file\":\"%s\",\"name\":\"%s\",\"dtype\":\"%s\",\"file_dtype\":\"%s\",\"shape\":[%s],\"xxh3\":\"%016" PRIx64
                            "\",\"bytes\":%" PRIu64 "}\n",
                            path.substr(path.rfind('/') + 1).c_str(), t.name.c_str(), t.dtype.c_str(), std::string(t.file_dtype).c_str(),
                            shape.c_str(), h5ser::detail::hash_bytes(bytes.data(), bytes.size()), t.length);
            }
            for (const auto& [key, value] : h.metadata)
                std::printf("{\"file\":\"%s\",\"metadata\":\"%s\",\"value\":\"%s\"}\n", path.substr(path.rfind('/') + 1).c_str(),
                            key.c_str(), value.c_str());
        } catch (const h5ser::error& e) {
            std::printf("error: %s\n", e.what());
            return 1;
        }
        ::close(fd);
    }
    return 0;
}
