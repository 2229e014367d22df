// The libtorch side of bench_gpt2, in its own program so that only its own processes load
// libtorch's libraries: saves the tensors of a flat file (bench_gpt2's table of places) with
// torch::serialize::OutputArchive, the archive torch::save writes, and loads such an archive back
// with InputArchive, as torch::load does.
//
//     bench_torch_io save PLACES FLAT OUT.pt
//     bench_torch_io load OUT.pt PLACES
#include <torch/torch.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "bench_common.hpp"

namespace {

using bench::read_places;

/// "/h/0/attn/c_attn/weight" -> "h.0.attn.c_attn.weight", a state dict's key.
std::string key(const std::string& path) {
    std::string k = path.substr(1);
    for (char& c : k)
        if (c == '/') c = '.';
    return k;
}

volatile std::int64_t sink = 0;

}  // namespace

int main(int argc, char** argv) {
    if (argc == 5 && std::strcmp(argv[1], "save") == 0) {
        const auto places = read_places(argv[2]);
        std::ifstream flat(argv[3], std::ios::binary);
        torch::serialize::OutputArchive archive;
        for (const auto& p : places) {
            torch::Tensor t = torch::empty({static_cast<std::int64_t>(p.bytes / sizeof(float))}, torch::kFloat32);
            flat.seekg(static_cast<std::streamoff>(p.offset));
            flat.read(static_cast<char*>(t.data_ptr()), static_cast<std::streamsize>(p.bytes));
            archive.write(key(p.path), t);
        }
        archive.save_to(argv[4]);
        return flat ? 0 : 1;
    }
    if (argc == 4 && std::strcmp(argv[1], "load") == 0) {
        torch::serialize::InputArchive archive;
        archive.load_from(argv[2]);
        for (const auto& p : read_places(argv[3])) {
            torch::Tensor t;
            archive.read(key(p.path), t);
            if (static_cast<std::uint64_t>(t.numel()) * sizeof(float) != p.bytes) return 1;
            sink = sink + static_cast<std::int64_t>(t.data_ptr<float>()[t.numel() / 2]);
        }
        return 0;
    }
    std::fprintf(stderr, "usage: bench_torch_io save PLACES FLAT OUT.pt | load OUT.pt PLACES\n");
    return 2;
}
