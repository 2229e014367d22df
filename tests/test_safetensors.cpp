// The .safetensors header parser (h5ser/detail/safetensors/header.hpp) on hostile headers: every
// malformed one is an h5ser::error naming the tensor and what was found, never a crash, an
// over-read or a huge allocation. (Files of an independent writer: tests/safetensors/.)
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <fstream>
#include <map>
#include <string>
#include <type_traits>
#include <vector>

#include "../bench/gpt2_model.hpp"
#include "safetensors/gpt.hpp"
#include "support.hpp"

namespace st = h5ser::detail::safetensors;

namespace {

/// A file: the 8-byte little-endian length of `json`, `json`, then `data_bytes` bytes of data.
std::string file_of(const std::string& json, std::size_t data_bytes) {
    std::string file(8, '\0');
    for (int i = 0; i < 8; ++i) file[static_cast<std::size_t>(i)] = static_cast<char>((json.size() >> (8 * i)) & 0xFF);
    return file + json + std::string(data_bytes, '\x5a');
}

/// Parses `file` as h5ser reads a header: its length from the first 8 bytes, then the JSON.
st::header parse(const std::string& file) {
    const auto* bytes = reinterpret_cast<const unsigned char*>(file.data());
    const std::uint64_t n = st::header_length(bytes, file.size(), "m.safetensors");
    return st::parse_header(std::string_view(file).substr(8, static_cast<std::size_t>(n)), file.size(), "m.safetensors");
}

/// The error parsing `json` followed by `data_bytes` bytes gives; fails the test if it parses.
h5ser::error refusal(const std::string& json, std::size_t data_bytes) {
    const std::string file = file_of(json, data_bytes);
    return test::expect_error([&] { (void)parse(file); });
}

}  // namespace

TEST_CASE("safetensors: a valid header gives every tensor, in data order, its offset in the file, and the metadata") {
    const std::string json =
        R"({"b":{"dtype":"F32","shape":[2,2],"data_offsets":[8,24]},"__metadata__":{"format":"pt"},)"
        R"("a":{"dtype":"BF16","shape":[4],"data_offsets":[0,8]},"s":{"dtype":"I64","shape":[],"data_offsets":[24,32]}})";
    const std::string file = file_of(json, 32);
    const st::header h = parse(file);
    REQUIRE(h.tensors.size() == 3);
    CHECK(h.data_start == 8 + json.size());
    CHECK(h.tensors[0].name == "a");
    CHECK(h.tensors[0].dtype == "bfloat16");
    CHECK(h.tensors[0].file_dtype == "BF16");
    CHECK(h.tensors[0].offset == h.data_start);
    CHECK(h.tensors[1].name == "b");
    CHECK(h.tensors[1].shape == std::vector<std::uint64_t>{2, 2});
    CHECK(h.tensors[1].offset == h.data_start + 8);
    CHECK(h.tensors[1].length == 16);
    CHECK(h.tensors[2].shape.empty());  // a scalar
    CHECK(h.tensors[2].length == 8);
    REQUIRE(h.metadata.size() == 1);
    CHECK(h.metadata[0] == std::pair<std::string, std::string>{"format", "pt"});
    CHECK(st::looks_like_safetensors(reinterpret_cast<const unsigned char*>(file.data()), file.size(), file.size()));
    const std::string hdf5_signature = "\x89HDF\r\n\x1a\n and more bytes";
    CHECK_FALSE(st::looks_like_safetensors(reinterpret_cast<const unsigned char*>(hdf5_signature.data()), hdf5_signature.size(), 1 << 20));
    CHECK(st::file_dtype_of("bool") == "BOOL");
    CHECK(st::file_dtype_of("complex64").empty());
}

TEST_CASE("safetensors: a header length past the end of the file or over 100 MiB is refused before it is read") {
    std::string file = file_of("{}", 0);
    file[0] = 100;  // 100 bytes of header in a file of 10
    auto e = test::expect_error([&] { (void)parse(file); });
    CHECK(e.code() == h5ser::errc::malformed_file);
    CHECK(test::contains(e.what(), "runs past the end of the file"));
    file[0] = 0;
    file[4] = 1;  // 4 GiB
    e = test::expect_error([&] { (void)parse(file); });
    CHECK(test::contains(e.what(), "at most 100 MiB"));
    const std::string short_file = "\x02\0\0";
    e = test::expect_error([&] { (void)st::header_length(reinterpret_cast<const unsigned char*>(short_file.data()), 3, "m.safetensors"); });
    CHECK(test::contains(e.what(), "too short"));
}

TEST_CASE("safetensors: headers that are not JSON, not UTF-8 or not an object of tensors are refused") {
    CHECK(test::contains(refusal(R"({"a":{"dtype":"F32")", 0).what(), "is not JSON"));
    CHECK(test::contains(refusal("{\"a\xC0\x80\":1}", 0).what(), "not UTF-8"));     // an overlong NUL
    CHECK(test::contains(refusal("{\"\xED\xA0\x80\":1}", 0).what(), "not UTF-8"));  // a surrogate
    CHECK(test::contains(refusal("[1,2]", 0).what(), "not an object of tensors"));
    CHECK(test::contains(refusal(R"({"a":[1]})", 0).what(), "describes tensor 'a' wrongly"));
    CHECK(test::contains(refusal(R"({"a":{"dtype":"F32","shape":[1]}})", 4).what(), "describes tensor 'a' wrongly"));
    CHECK(test::contains(refusal(R"({"__metadata__":{"k":1}})", 0).what(), "__metadata__ that is not text"));
    const auto e =
        refusal(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8);
    CHECK(e.code() == h5ser::errc::malformed_file);
    CHECK(test::contains(e.what(), "names a tensor twice"));
    CHECK(e.field_path() == "a");
}

TEST_CASE("safetensors: offsets out of order, overlapping, past the data, with holes or bytes left over are refused") {
    const std::string one = R"("dtype":"F32","shape":[1])";
    CHECK(test::contains(refusal(R"({"a":{)" + one + R"(,"data_offsets":[4,0]}})", 4).what(), "offsets out of order"));
    CHECK(test::contains(refusal(R"({"a":{)" + one + R"(,"data_offsets":[0,4]},"b":{)" + one + R"(,"data_offsets":[2,6]}})", 6).what(),
                         "overlaps tensor 'b'"));
    CHECK(test::contains(refusal(R"({"a":{)" + one + R"(,"data_offsets":[0,4]},"b":{)" + one + R"(,"data_offsets":[0,4]}})", 4).what(),
                         "overlaps tensor"));
    CHECK(test::contains(refusal(R"({"a":{)" + one + R"(,"data_offsets":[4,8]}})", 4).what(), "past the end of the file"));
    CHECK(test::contains(refusal(R"({"a":{)" + one + R"(,"data_offsets":[0,4]},"b":{)" + one + R"(,"data_offsets":[8,12]}})", 12).what(),
                         "leaves a hole before tensor 'b'"));
    CHECK(test::contains(refusal(R"({"a":{)" + one + R"(,"data_offsets":[0,4]}})", 6).what(), "leaves bytes after its last tensor"));
}

TEST_CASE("safetensors: a shape that does not match its bytes, overflows or is not whole numbers is refused") {
    auto e = refusal(R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}})", 20);
    CHECK(test::contains(e.what(), "gives tensor 'w' a shape that does not match its bytes"));
    CHECK(test::contains(e.what(), "6 elements of 4 bytes"));
    e = refusal(R"({"w":{"dtype":"F64","shape":[4294967296,4294967296,16],"data_offsets":[0,0]}})", 0);
    CHECK(test::contains(e.what(), "a shape whose size fits 64 bits"));
    e = refusal(R"({"w":{"dtype":"F32","shape":[1099511627776,1099511627776],"data_offsets":[0,0]}})", 0);  // 2^80 elements
    CHECK(test::contains(e.what(), "a shape whose size fits 64 bits"));
    for (const char* dim : {"1.5", "-1", "1e300", "\"4\"", "NaN"}) {
        CAPTURE(dim);
        e = refusal(std::string(R"({"w":{"dtype":"U8","shape":[)") + dim + R"(],"data_offsets":[0,4]}})", 4);
        CHECK(test::contains(e.what(), "gives tensor 'w' an invalid dimension"));
    }
}

TEST_CASE("safetensors: element types no C++ type holds bit for bit are refused, naming the tensor and the dtype") {
    for (const char* dtype : {"F8_E4M3", "F8_E5M2", "C64", "F4", "XYZ"}) {
        CAPTURE(dtype);
        const auto e = refusal(std::string(R"({"layer.w":{"dtype":")") + dtype + R"(","shape":[4],"data_offsets":[0,4]}})", 4);
        CHECK(e.code() == h5ser::errc::dtype_mismatch);
        CHECK(e.field_path() == "layer.w");
        CHECK(test::contains(e.what(), "tensor 'layer.w'"));
        CHECK(test::contains(e.what(), std::string("dtype ") + dtype));
    }
}

TEST_CASE("safetensors: the tree of a file nests dotted names as groups, or lists them whole when they are not paths") {
    const std::string f32 = R"("dtype":"F32","shape":[1])";
    const st::header nested =
        parse(file_of(R"({"h.0.w":{)" + f32 + R"(,"data_offsets":[0,4]},"h.1.w":{)" + f32 + R"(,"data_offsets":[4,8]},"wte":{)" + f32 +
                          R"(,"data_offsets":[8,12]},)" + R"("__metadata__":{"format":"pt"}})",
                      12));
    const h5ser::file_node tree = st::tree_of(nested);
    REQUIRE(tree.children.size() == 2);
    CHECK(tree.children[0].name == "h");
    REQUIRE(tree.children[0].children.size() == 2);
    CHECK(tree.children[0].children[1].path == "/h/1");
    REQUIRE(tree.children[0].children[1].children.size() == 1);
    CHECK(tree.children[0].children[1].children[0].path == "/h/1/w");
    CHECK(tree.children[0].children[1].children[0].stored_bytes == 4);
    CHECK(tree.children[1].path == "/wte");
    REQUIRE(tree.attributes.size() == 1);
    CHECK(tree.attributes[0].name == "__metadata__.format");
    CHECK(tree.attributes[0].value == "\"pt\"");
    // "a" is a tensor and the group of "a.b"; "x..y" has an empty part: neither is a path.
    for (const char* second : {"a.b", "x..y"}) {
        CAPTURE(second);
        const st::header flat =
            parse(file_of(R"({"a":{)" + f32 + R"(,"data_offsets":[0,4]},")" + second + R"(":{)" + f32 + R"(,"data_offsets":[4,8]}})", 8));
        const h5ser::file_node whole = st::tree_of(flat);
        REQUIRE(whole.children.size() == 2);
        CHECK(whole.children[0].path == "/a");
        CHECK(whole.children[1].name == second);
        CHECK(whole.children[1].kind == h5ser::file_node::kind_type::dataset);
    }
}

// ---- loading a .safetensors file into a struct ------------------------------------------------

namespace {

/// One tensor of a file written by write_file: its name, the format's dtype, shape and bytes.
struct file_tensor {
    std::string name;
    std::string dtype;
    std::vector<std::uint64_t> shape;
    std::string bytes;
};

/// Writes a .safetensors file of `tensors` (data in this order) and `metadata`, as the format says
/// and independently of h5ser: the header padded with spaces so that the data section starts at a
/// multiple of `align` (the reference writer pads to 8).
void write_file(const std::string& path, const std::vector<file_tensor>& tensors,
                const std::vector<std::pair<std::string, std::string>>& metadata = {}, std::size_t align = 8) {
    std::string json = "{";
    std::string data;
    for (const file_tensor& t : tensors) {
        std::string shape;
        for (std::size_t d = 0; d < t.shape.size(); ++d) shape += (d ? "," : "") + std::to_string(t.shape[d]);
        json += "\"" + t.name + "\":{\"dtype\":\"" + t.dtype + "\",\"shape\":[" + shape + "],\"data_offsets\":[" +
                std::to_string(data.size()) + "," + std::to_string(data.size() + t.bytes.size()) + "]},";
        data += t.bytes;
    }
    if (!metadata.empty()) {
        json += "\"__metadata__\":{";
        for (const auto& [key, value] : metadata) json += "\"" + key + "\":\"" + value + "\",";
        json.back() = '}';
        json += ",";
    }
    json.back() = '}';
    json += std::string((align - (8 + json.size()) % align) % align, ' ');
    std::ofstream(path, std::ios::binary) << file_of(json, 0) << data;
}

/// `count` elements of `T`, each byte distinct per `seed`, as the raw bytes of a tensor.
template <class T>
std::string bytes_of(std::size_t count, unsigned seed) {
    std::string b(count * sizeof(T), '\0');
    for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<char>((i * 131 + seed * 17 + 7) & 0xFF);
    if constexpr (std::is_same_v<T, bool>)
        for (char& c : b) c = static_cast<char>(c & 1);
    return b;
}

template <class T, std::size_t R>
std::string raw(const h5ser::tensor<T, R>& t) {
    return std::string(reinterpret_cast<const char*>(t.data()), t.size_bytes());
}

using test_gpt::Embedding;
using test_gpt::Gpt;

/// The tensors of a 2-block Gpt, their data in field order (as h5ser's writer lays them out).
std::vector<file_tensor> gpt_tensors() {
    std::vector<file_tensor> t;
    for (unsigned layer = 0; layer < 2; ++layer) {
        const std::string h = "h." + std::to_string(layer) + ".";
        t.push_back({h + "attn.c_attn.weight", "F32", {8, 24}, bytes_of<float>(8 * 24, 10 * layer + 2)});
        t.push_back({h + "attn.c_attn.bias", "F32", {24}, bytes_of<float>(24, 10 * layer + 1)});
        t.push_back({h + "ln_1.weight", "F32", {8}, bytes_of<float>(8, 10 * layer + 3)});
    }
    t.push_back({"wte.weight", "F32", {16, 8}, bytes_of<float>(16 * 8, 99)});
    return t;
}

const file_tensor& named(const std::vector<file_tensor>& tensors, const std::string& name) {
    for (const file_tensor& t : tensors)
        if (t.name == name) return t;
    FAIL("no tensor " << name);
    throw std::logic_error("unreachable");
}

void check_gpt(const Gpt& m, const std::vector<file_tensor>& tensors) {
    REQUIRE(m.h.size() == 2);
    for (std::size_t layer = 0; layer < 2; ++layer) {
        const std::string h = "h." + std::to_string(layer) + ".";
        CHECK(m.h[layer].attn.c_attn.weight.shape() == std::array<std::size_t, 2>{8, 24});
        CHECK(raw(m.h[layer].attn.c_attn.weight) == named(tensors, h + "attn.c_attn.weight").bytes);
        CHECK(raw(m.h[layer].attn.c_attn.bias) == named(tensors, h + "attn.c_attn.bias").bytes);
        CHECK(raw(m.h[layer].ln_1.weight) == named(tensors, h + "ln_1.weight").bytes);
    }
    CHECK(raw(m.wte.weight) == named(tensors, "wte.weight").bytes);
}

}  // namespace

TEST_CASE("safetensors: load<Model> takes dotted names as field paths, bytes as written, viewed when aligned, read with owned_memory") {
    test::scratch_dir dir;
    const auto tensors = gpt_tensors();
    // A name that does not end in .safetensors: the content decides.
    const std::string path = dir.file("gpt2.weights");
    for (const std::size_t align : {std::size_t{8}, std::size_t{64}}) {
        CAPTURE(align);
        write_file(path, tensors, {{"format", "pt"}}, align);
        const Gpt m = h5ser::load<Gpt>(path);
        check_gpt(m, tensors);
        // A tensor whose bytes lie 64-byte aligned in the file is viewed in the mapping
        // (h5ser::tensor's alignment), any other is copied.
        const st::header h = parse(test::file_bytes(path));
        const auto aligned = [&](const std::string& name) {
            for (const st::tensor_entry& t : h.tensors)
                if (t.name == name) return t.offset % 64 == 0;
            FAIL("no tensor " << name);
            return false;
        };
        CHECK(m.wte.weight.maps_file() == aligned("wte.weight"));
        CHECK(m.h[0].ln_1.weight.maps_file() == aligned("h.0.ln_1.weight"));
        CHECK(m.h[1].attn.c_attn.bias.maps_file() == aligned("h.1.attn.c_attn.bias"));
        if (align == 64) CHECK(m.h[0].attn.c_attn.weight.maps_file());  // the first tensor
        const Gpt owned = h5ser::load<Gpt, h5ser::owned_memory>(path);
        check_gpt(owned, tensors);
        CHECK_FALSE(owned.wte.weight.maps_file());
        Gpt into;
        h5ser::load_into(into, path);
        check_gpt(into, tensors);
        // Progress: the file's bytes, rising to its size.
        const std::uint64_t size = test::file_bytes(path).size();
        std::vector<std::uint64_t> seen;
        check_gpt(h5ser::load<Gpt>(path,
                                   [&](std::uint64_t done, std::uint64_t total) {
                                       CHECK(total == size);
                                       seen.push_back(done);
                                   }),
                  tensors);
        REQUIRE(seen.size() > 2);
        CHECK(std::is_sorted(seen.begin(), seen.end()));
        CHECK(seen.back() == size);
    }
}

TEST_CASE("safetensors: docs/safetensors.md's GPT-2 example: a file with the keys sorted loads into the bench's Gpt2 struct") {
    test::scratch_dir dir;
    // GPT-2's tensors at a small width, named as the struct's fields, keys and data sorted by name
    // as Hugging Face's writer lays them out.
    constexpr std::uint64_t width = 8, vocab = 64, context = 16;
    std::vector<file_tensor> tensors;
    unsigned seed = 0;
    const auto add = [&](const std::string& name, std::vector<std::uint64_t> shape) {
        std::uint64_t count = 1;
        for (const auto d : shape) count *= d;
        tensors.push_back({name, "F32", std::move(shape), bytes_of<float>(static_cast<std::size_t>(count), ++seed)});
    };
    add("wte", {vocab, width});
    add("wpe", {context, width});
    for (int layer = 0; layer < 2; ++layer) {
        const std::string h = "h." + std::to_string(layer) + ".";
        for (const char* norm : {"ln_1.", "ln_2."}) {
            add(h + norm + "weight", {width});
            add(h + norm + "bias", {width});
        }
        add(h + "attn.c_attn.weight", {width, 3 * width});
        add(h + "attn.c_attn.bias", {3 * width});
        add(h + "attn.c_proj.weight", {width, width});
        add(h + "attn.c_proj.bias", {width});
        add(h + "mlp.c_fc.weight", {width, 4 * width});
        add(h + "mlp.c_fc.bias", {4 * width});
        add(h + "mlp.c_proj.weight", {4 * width, width});
        add(h + "mlp.c_proj.bias", {width});
    }
    add("ln_f.weight", {width});
    add("ln_f.bias", {width});
    std::sort(tensors.begin(), tensors.end(), [](const file_tensor& a, const file_tensor& b) { return a.name < b.name; });
    const std::string path = dir.file("gpt2.safetensors");
    write_file(path, tensors, {{"format", "pt"}});

    const auto m = h5ser::load<bench::gpt2::Gpt2>(path);
    REQUIRE(m.h.size() == 2);
    CHECK(raw(m.wte) == named(tensors, "wte").bytes);
    CHECK(raw(m.wpe) == named(tensors, "wpe").bytes);
    CHECK(raw(m.ln_f.bias) == named(tensors, "ln_f.bias").bytes);
    for (std::size_t layer = 0; layer < 2; ++layer) {
        const std::string h = "h." + std::to_string(layer) + ".";
        const bench::gpt2::Block& b = m.h[layer];
        CHECK(raw(b.ln_1.weight) == named(tensors, h + "ln_1.weight").bytes);
        CHECK(raw(b.ln_2.bias) == named(tensors, h + "ln_2.bias").bytes);
        CHECK(raw(b.attn.c_attn.weight) == named(tensors, h + "attn.c_attn.weight").bytes);
        CHECK(raw(b.attn.c_proj.bias) == named(tensors, h + "attn.c_proj.bias").bytes);
        CHECK(raw(b.mlp.c_fc.weight) == named(tensors, h + "mlp.c_fc.weight").bytes);
        CHECK(raw(b.mlp.c_proj.weight) == named(tensors, h + "mlp.c_proj.weight").bytes);
    }
    // The bench's own model, saved as .safetensors and loaded back against its fingerprint.
    const auto model = bench::gpt2::make_model({vocab, context, width, 2});
    h5ser::safetensors::save(model, dir.file("bench.safetensors"));
    const auto back =
        h5ser::load<bench::gpt2::Gpt2>(dir.file("bench.safetensors"), h5ser::verify_with(h5ser::fingerprint<h5ser::weights_only>(model)));
    CHECK(raw(back.h[1].mlp.c_proj.weight) == raw(model.h[1].mlp.c_proj.weight));
}

TEST_CASE("safetensors: a map of tensors takes the whole names as keys, and a name no struct can hold is refused by name") {
    test::scratch_dir dir;
    const auto tensors = gpt_tensors();
    std::vector<file_tensor> matrices;
    for (const file_tensor& t : tensors)
        if (t.shape.size() == 2) matrices.push_back(t);
    const std::string path = dir.file("m.safetensors");
    write_file(path, matrices);
    const auto by_name = h5ser::load<std::map<std::string, h5ser::tensor<float, 2>>>(path);
    REQUIRE(by_name.size() == 3);
    for (const file_tensor& t : matrices) CHECK(raw(by_name.at(t.name)) == t.bytes);
    // A tensor of another rank is named whole, as the key it would be.
    write_file(path, tensors);
    auto e = test::expect_error([&] { (void)h5ser::load<std::map<std::string, h5ser::tensor<float, 2>>>(path); });
    CHECK(test::contains(e.what(), "shape mismatch at [\"h.0.ln_1.weight\"] (/h.0.ln_1.weight)"));
    write_file(path, {{"a/b", "F32", {1}, bytes_of<float>(1, 1)}});
    e = test::expect_error([&] { (void)h5ser::load<std::map<std::string, h5ser::tensor<float, 1>>>(path); });
    CHECK(e.code() == h5ser::errc::invalid_value);
    CHECK(test::contains(e.what(), "a/b"));
}

TEST_CASE("safetensors: a struct that does not match gets every problem by field path, and nothing it had changes") {
    test::scratch_dir dir;
    auto tensors = gpt_tensors();
    tensors.erase(tensors.begin() + 2);  // h.0.ln_1.weight
    tensors.push_back({"lm_head.weight", "F32", {2}, bytes_of<float>(2, 5)});
    const std::string path = dir.file("m.safetensors");
    write_file(path, tensors);
    Gpt model;
    model.wte.weight = h5ser::tensor<float, 2>({16, 8});
    model.wte.weight(0, 0) = 42.0F;
    auto e = test::expect_error([&] { h5ser::load_into(model, path); });
    CHECK(e.problems().size() == 2);
    CHECK(test::contains(e.what(), "missing field at h[0].ln_1 (/h/0/ln_1)"));
    CHECK(test::contains(e.what(), "unexpected object at lm_head (/lm_head)"));
    CHECK(model.wte.weight(0, 0) == 42.0F);  // all or nothing
    // What a lenient load skips, it says.
    h5ser::load_report report;
    h5ser::load_into<h5ser::lenient>(model, path, report);
    CHECK(report.missing == std::vector<std::string>{"h[0].ln_1 (group)"});
    CHECK(report.unexpected == std::vector<std::string>{"lm_head (group)"});
    CHECK(raw(model.wte.weight) == named(tensors, "wte.weight").bytes);
    // A tensor of another element type names the field and both types.
    tensors = gpt_tensors();
    tensors[1] = {"h.0.attn.c_attn.bias", "F16", {24}, bytes_of<std::uint16_t>(24, 1)};
    write_file(path, tensors);
    e = test::expect_error([&] { (void)h5ser::load<Gpt>(path); });
    CHECK(e.code() == h5ser::errc::dtype_mismatch);
    CHECK(test::contains(e.what(),
                         "h[0].attn.c_attn.bias (/h/0/attn/c_attn/bias): expected dataset float32 of rank 1, found dataset float16[24]"));
}

namespace {
struct WithHyperparameters {
    Embedding wte;
    int layers = 0;
};
}  // namespace

TEST_CASE("safetensors: the file holds weights only: load<Model> of a model with hyperparameters says to use load_into") {
    test::scratch_dir dir;
    const std::string path = dir.file("m.safetensors");
    write_file(path, {named(gpt_tensors(), "wte.weight")});
    const auto e = test::expect_error([&] { (void)h5ser::load<WithHyperparameters>(path); });
    CHECK(e.code() == h5ser::errc::mode_mismatch);
    WithHyperparameters m;
    m.layers = 12;
    h5ser::load_into<h5ser::weights_only>(m, path);
    CHECK(m.layers == 12);
    CHECK(raw(m.wte.weight) == named(gpt_tensors(), "wte.weight").bytes);
}

TEST_CASE("safetensors: the fingerprint h5ser keeps in __metadata__ is checked, and without one the bytes load as they are") {
    test::scratch_dir dir;
    const auto tensors = gpt_tensors();
    const Gpt saved = h5ser::load<Gpt>([&] {
        write_file(dir.file("plain.safetensors"), tensors);
        return dir.file("plain.safetensors");
    }());
    const std::string fingerprint = h5ser::fingerprint(saved);
    const std::string path = dir.file("m.safetensors");
    write_file(path, tensors, {{"h5ser.fingerprint", fingerprint}});
    check_gpt(h5ser::load<Gpt>(path), tensors);
    // One bit of one tensor flipped: the fingerprint differs; mapped and read loads both refuse.
    std::string bytes = test::file_bytes(path);
    bytes[bytes.size() - 3] = static_cast<char>(bytes[bytes.size() - 3] ^ 0x10);  // in wte.weight, the last tensor
    std::ofstream(path, std::ios::binary) << bytes;
    for (const bool mapped : {true, false}) {
        CAPTURE(mapped);
        const auto e = test::expect_error([&] {
            if (mapped) (void)h5ser::load<Gpt>(path);
            else (void)h5ser::load<Gpt, h5ser::owned_memory>(path);
        });
        CHECK(e.code() == h5ser::errc::checksum_mismatch);
        CHECK(test::contains(e.what(), "fingerprint " + fingerprint));
    }
    // A file without h5ser's fingerprint has nothing to check against: the flipped bit loads.
    write_file(path, tensors);
    bytes = test::file_bytes(path);
    bytes[bytes.size() - 3] = static_cast<char>(bytes[bytes.size() - 3] ^ 0x10);
    std::ofstream(path, std::ios::binary) << bytes;
    CHECK(h5ser::load<Gpt>(path).wte.weight.size() == 128);
    // A fingerprint that is not one is refused, by its key.
    write_file(path, tensors, {{"h5ser.fingerprint", "not hex"}});
    const auto e = test::expect_error([&] { (void)h5ser::load<Gpt>(path); });
    CHECK(e.code() == h5ser::errc::malformed_file);
    CHECK(test::contains(e.what(), "__metadata__.h5ser.fingerprint"));
    CHECK(test::contains(e.what(), "found \"not hex\";"));
}

TEST_CASE("safetensors: h5ser::verify_with checks a file against a fingerprint known apart from it, kept in the file or not") {
    test::scratch_dir dir;
    const auto tensors = gpt_tensors();
    const std::string path = dir.file("m.safetensors");
    write_file(path, tensors);
    const h5ser::verify_with published(h5ser::fingerprint(h5ser::load<Gpt>(path)));
    check_gpt(h5ser::load<Gpt>(path, published), tensors);
    check_gpt(h5ser::load<Gpt, h5ser::owned_memory>(path, published), tensors);
    // Other weights with a fingerprint of their own in __metadata__: consistent, so a plain load
    // takes them, but not the weights the fingerprint was published for.
    auto others = tensors;
    others[0].bytes[5] = static_cast<char>(others[0].bytes[5] ^ 0x01);
    write_file(path, others);
    const std::string theirs = h5ser::fingerprint(h5ser::load<Gpt>(path));
    write_file(path, others, {{"h5ser.fingerprint", theirs}});
    CHECK_NOTHROW((void)h5ser::load<Gpt>(path));
    for (const bool mapped : {true, false}) {
        CAPTURE(mapped);
        Gpt model;
        model.wte.weight = h5ser::tensor<float, 2>({16, 8});
        model.wte.weight(0, 0) = 42.0F;
        const auto e = test::expect_error([&] {
            if (mapped) h5ser::load_into(model, path, published);
            else h5ser::load_into<h5ser::owned_memory>(model, path, published);
        });
        CHECK(e.code() == h5ser::errc::checksum_mismatch);
        CHECK(test::contains(e.what(),
                             "expected fingerprint " + published.fingerprint() + " (h5ser::verify_with), found fingerprint " + theirs));
        CHECK(model.wte.weight(0, 0) == 42.0F);  // all or nothing
        CHECK(model.h.empty());
    }
    // Without h5ser's fingerprint in the file the given one is all there is to check.
    write_file(path, others);
    const auto e = test::expect_error([&] { (void)h5ser::load<Gpt>(path, published); });
    CHECK(e.code() == h5ser::errc::checksum_mismatch);
}

TEST_CASE("safetensors: verify_file reads every tensor, says the format keeps no checksums, and compares the fingerprint h5ser keeps") {
    test::scratch_dir dir;
    const auto tensors = gpt_tensors();
    const std::string path = dir.file("m.safetensors");
    write_file(path, tensors);
    std::uint64_t progressed = 0;
    h5ser::verify_report r = h5ser::verify_file(path, [&](std::uint64_t done, std::uint64_t) { progressed = done; });
    CHECK(r.file_format == "safetensors");
    CHECK_FALSE(r.written_by_h5ser);
    CHECK_FALSE(r.ok());
    REQUIRE(r.datasets.size() == tensors.size());
    CHECK(r.datasets[0].path == "/h/0/attn/c_attn/weight");
    CHECK(r.datasets[0].shape == std::vector<std::size_t>{8, 24});
    for (const auto& d : r.datasets) CHECK(d.result == h5ser::dataset_check::status::no_checksum);
    CHECK(progressed == 2 * (768 + 96 + 32) + 512);
    CHECK(r.stored_fingerprint.empty());
    // The fingerprint of the file's tensors is the one of the model they load into.
    const std::string fingerprint = h5ser::fingerprint(h5ser::load<Gpt>(path));
    CHECK(r.computed_fingerprint == fingerprint);
    write_file(path, tensors, {{"h5ser.fingerprint", fingerprint}});
    r = h5ser::verify_file(path);
    CHECK(r.stored_fingerprint == fingerprint);
    CHECK(r.fingerprint_ok());
    std::string bytes = test::file_bytes(path);
    bytes[bytes.size() - 1] = static_cast<char>(bytes[bytes.size() - 1] ^ 0x01);
    std::ofstream(path, std::ios::binary) << bytes;
    r = h5ser::verify_file(path);
    CHECK(r.stored_fingerprint == fingerprint);
    CHECK_FALSE(r.fingerprint_ok());
    // A malformed header is an error, as for a load.
    std::ofstream(path, std::ios::binary) << bytes.substr(0, bytes.size() - 10);
    CHECK(test::expect_error([&] { (void)h5ser::verify_file(path); }).code() == h5ser::errc::malformed_file);
}

// ---- writing ----------------------------------------------------------------------------------

namespace {

/// A 2-block Gpt whose tensors hold the bytes of gpt_tensors().
Gpt gpt_model(const test::scratch_dir& dir) {
    write_file(dir.file("source.safetensors"), gpt_tensors());
    return h5ser::load<Gpt, h5ser::owned_memory>(dir.file("source.safetensors"));
}

struct Trained {
    Embedding wte;
    float learning_rate = 0.5F;
    std::map<std::string, h5ser::tensor<float, 1>> extras;
};

}  // namespace

TEST_CASE("safetensors: save writes dotted names, sorted keys, the data 64-byte aligned in field order, and h5ser's fingerprint") {
    test::scratch_dir dir;
    const Gpt model = gpt_model(dir);
    const std::string path = dir.file("out.safetensors");
    std::uint64_t progressed = 0;
    h5ser::safetensors::save(model, path, {{"format", "pt"}, {"note", "trained in C++"}},
                             [&](std::uint64_t done, std::uint64_t) { progressed = done; });
    CHECK(progressed == 2 * (768 + 96 + 32) + 512);
    const std::string bytes = test::file_bytes(path);
    const st::header h = parse(bytes);
    CHECK(h.data_start % 64 == 0);
    const auto tensors = gpt_tensors();
    REQUIRE(h.tensors.size() == tensors.size());
    for (std::size_t i = 0; i < tensors.size(); ++i) {  // in field order, each with the bytes it had
        CHECK(h.tensors[i].name == tensors[i].name);
        CHECK(h.tensors[i].file_dtype == tensors[i].dtype);
        CHECK(h.tensors[i].shape == tensors[i].shape);
        CHECK(bytes.substr(h.tensors[i].offset, h.tensors[i].length) == tensors[i].bytes);
    }
    // The JSON's keys are sorted, "__metadata__" first.
    const std::string json = bytes.substr(8, h.data_start - 8);
    std::size_t previous = 0;
    for (const char* key : {"__metadata__", "h.0.attn.c_attn.bias", "h.0.attn.c_attn.weight", "h.0.ln_1.weight", "h.1.attn.c_attn.bias",
                            "h.1.attn.c_attn.weight", "h.1.ln_1.weight", "wte.weight"}) {
        CAPTURE(key);
        const std::size_t at = json.find(std::string("\"") + key + "\"");
        REQUIRE(at != std::string::npos);
        CHECK(at >= previous);
        previous = at;
    }
    const std::string fingerprint = h5ser::fingerprint<h5ser::weights_only>(model);
    CHECK(h.metadata == std::vector<std::pair<std::string, std::string>>{
                            {"format", "pt"}, {"h5ser.fingerprint", fingerprint}, {"note", "trained in C++"}});
    // Read back: the same bytes, the fingerprint checked by the load and by verify.
    check_gpt(h5ser::load<Gpt>(path), tensors);
    const h5ser::verify_report r = h5ser::verify_file(path);
    CHECK(r.stored_fingerprint == fingerprint);
    CHECK(r.fingerprint_ok());
}

TEST_CASE("safetensors: a conversion copies a tensor's range of the source file to its place, hashing it on the way") {
    test::scratch_dir dir;
    // Over 1 MiB, so that it takes more than one piece of the buffer.
    std::string source((std::size_t{1} << 20) + 10000, '\0');
    for (std::size_t i = 0; i < source.size(); ++i) source[i] = static_cast<char>((i * 7 + i / 256) & 0xFF);
    std::ofstream(dir.file("source"), std::ios::binary) << source;
    const h5ser::detail::file_descriptor in(::open(dir.file("source").c_str(), O_RDONLY | O_CLOEXEC));
    REQUIRE(in.get() >= 0);
    const std::size_t length = (std::size_t{1} << 20) + 5000;
    {
        const h5ser::detail::file_descriptor out(::open(dir.file("copy").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
        REQUIRE(h5ser::detail::write_all_at(out.get(), "head", 4, 0));
        std::uint64_t hash = 0;
        CHECK(h5ser::detail::copy_and_hash(out.get(), 4, in.get(), 100, length, hash));
        CHECK(hash == h5ser::detail::hash_bytes(source.data() + 100, length));
        CHECK(h5ser::detail::copy_and_hash(out.get(), 4 + length, in.get(), 0, 0, hash));
        CHECK(hash == h5ser::detail::hash_bytes("", 0));
        // A source that ends before the range does is an error, not a short file.
        CHECK_FALSE(h5ser::detail::copy_and_hash(out.get(), 4 + length, in.get(), source.size() - 1000, 2000, hash));
        CHECK(errno == EIO);
    }
    const std::string copy = test::file_bytes(dir.file("copy"));
    CHECK(copy.substr(0, 4 + length) == "head" + source.substr(100, length));
    // A target that cannot be written: the error is the system's.
    const h5ser::detail::file_descriptor read_only(::open(dir.file("copy").c_str(), O_RDONLY | O_CLOEXEC));
    std::uint64_t hash = 0;
    CHECK_FALSE(h5ser::detail::copy_and_hash(read_only.get(), 0, in.get(), 0, 10, hash));
    CHECK(errno == EBADF);
}

TEST_CASE("safetensors: save keeps tensors only, names a map of tensors by its keys, and refuses names it could not read back") {
    test::scratch_dir dir;
    Trained model;
    model.wte.weight = h5ser::tensor<float, 2>({2, 3});
    for (std::size_t i = 0; i < 6; ++i) model.wte.weight.data()[i] = static_cast<float>(i) * 1.5F;
    model.extras["bias"] = h5ser::tensor<float, 1>({2});
    const std::string path = dir.file("m.safetensors");
    h5ser::safetensors::save(model, path);
    Trained back;
    back.learning_rate = 0.25F;
    h5ser::load_into<h5ser::weights_only>(back, path);
    CHECK(test::same_bytes(back.wte.weight, model.wte.weight));
    CHECK(back.learning_rate == 0.25F);  // the format holds no hyperparameters
    CHECK(test::same_bytes(back.extras.at("bias"), model.extras.at("bias")));
    // A map of tensors at the root keeps its keys whole, dots and all.
    std::map<std::string, h5ser::tensor<float, 1>> state_dict;
    state_dict["conv1.weight"] = h5ser::tensor<float, 1>({3});
    state_dict["conv1.weight"](2) = 7.0F;
    h5ser::safetensors::save(state_dict, path);
    CHECK(parse(test::file_bytes(path)).tensors.at(0).name == "conv1.weight");
    CHECK(h5ser::load<std::map<std::string, h5ser::tensor<float, 1>>>(path).at("conv1.weight")(2) == 7.0F);
    // A '.' in a key below the root would read back as a path: refused by field, the file untouched.
    const std::string before = test::file_bytes(path);
    model.extras["a.b"] = h5ser::tensor<float, 1>({1});
    auto e = test::expect_error([&] { h5ser::safetensors::save(model, path); });
    CHECK(e.code() == h5ser::errc::invalid_value);
    CHECK(test::contains(e.what(), "extras[\"a.b\"]"));
    CHECK(test::file_bytes(path) == before);
    // A key that is a path would be groups in an .h5 file; .safetensors has none: refused by key.
    state_dict["encoder/0/w"] = h5ser::tensor<float, 1>({1});
    e = test::expect_error([&] { h5ser::safetensors::save(state_dict, path); });
    CHECK(e.code() == h5ser::errc::invalid_value);
    CHECK(test::contains(e.what(), "[\"encoder/0/w\"]"));
    CHECK(test::file_bytes(path) == before);
    state_dict.erase("encoder/0/w");
    e = test::expect_error([&] { h5ser::safetensors::save(state_dict, path, {{"h5ser.fingerprint", "0"}}); });
    CHECK(test::contains(e.what(), "__metadata__.h5ser.fingerprint"));
    CHECK(test::count_files(dir.path()) == 1);  // no temporary left behind
}
