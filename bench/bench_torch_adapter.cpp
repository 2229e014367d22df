// What the libtorch adapter costs: a state dict (std::map<std::string, torch::Tensor>, GPT-2-small-
// like shapes) saved and loaded through h5ser, against the same tensors as h5ser::tensor (the
// adapter's own baseline: torch::Tensor fields should cost nothing more) and against libtorch's own
// archive (torch::serialize::OutputArchive / InputArchive, what torch::save / torch::load write and
// read), in interleaved rounds, warm page cache, one process. Every load touches one element per
// 4 KiB page of every tensor, so that mapped and read loads do the same work. Prints medians,
// ranges and ratios.
//
//     bench_torch_adapter ROUNDS WORK_DIR [LAYERS]     (LAYERS blocks of 4 x 768 x 768 floats; default 12: 108 MiB)
#include <h5ser/torch.hpp>
#include <torch/serialize.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>

#include "bench_common.hpp"

namespace {

using torch_state = std::map<std::string, at::Tensor>;
using tensor_state = std::map<std::string, h5ser::tensor<float, 2>>;

volatile float sink = 0;

/// Reads one float per 4 KiB page of `data`.
void touch(const float* data, std::size_t count) {
    float sum = 0;
    for (std::size_t i = 0; i < count; i += 1024) sum += data[i];
    sink = sink + sum;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: bench_torch_adapter ROUNDS WORK_DIR [LAYERS]\n");
        return 2;
    }
    const int rounds = std::atoi(argv[1]);
    const std::string work = argv[2];
    const int layers = argc > 3 ? std::atoi(argv[3]) : 12;
    std::filesystem::create_directories(work);

    torch_state state;
    tensor_state tensors;
    double bytes = 0;
    for (int l = 0; l < layers; ++l) {
        for (const char* part : {"attn.q", "attn.k", "attn.v", "mlp.proj"}) {
            const std::string key = "h." + std::to_string(l) + "." + part + ".weight";
            at::Tensor t = at::randn({768, 768});
            h5ser::tensor<float, 2> copy({768, 768}, h5ser::uninitialized);
            std::memcpy(copy.data(), t.data_ptr(), copy.size_bytes());
            bytes += static_cast<double>(copy.size_bytes());
            state[key] = t;
            tensors[key] = std::move(copy);
        }
    }
    const std::string torch_h5 = work + "/torch.h5", tensor_h5 = work + "/tensor.h5", archive_pt = work + "/archive.pt";
    const auto save_archive = [&] {
        torch::serialize::OutputArchive archive;
        for (const auto& [key, t] : state) archive.write(key, t);
        archive.save_to(archive_pt);
    };

    const auto saves =
        bench::interleaved_medians(rounds, {{"save h5ser::tensor state dict", [&] { h5ser::save(tensors, tensor_h5); }},
                                            {"save torch::Tensor state dict (h5ser/torch.hpp)", [&] { h5ser::save(state, torch_h5); }},
                                            {"save torch OutputArchive (torch::save)", save_archive}});
    bench::print("saves", saves, bytes, saves[0]);

    const auto loads =
        bench::interleaved_medians(rounds, {{"load h5ser::tensor state dict (mapped, verified)",
                                             [&] {
                                                 for (const auto& [key, t] : h5ser::load<tensor_state>(tensor_h5))
                                                     touch(t.data(), t.size());
                                             }},
                                            {"load torch::Tensor state dict (mapped, verified)",
                                             [&] {
                                                 for (const auto& [key, t] : h5ser::load<torch_state>(torch_h5))
                                                     touch(t.data_ptr<float>(), static_cast<std::size_t>(t.numel()));
                                             }},
                                            {"load torch::Tensor state dict, owned_memory (verified)",
                                             [&] {
                                                 for (const auto& [key, t] : h5ser::load<torch_state, h5ser::owned_memory>(torch_h5))
                                                     touch(t.data_ptr<float>(), static_cast<std::size_t>(t.numel()));
                                             }},
                                            {"load torch InputArchive (torch::load, unverified)", [&] {
                                                 torch::serialize::InputArchive archive;
                                                 archive.load_from(archive_pt);
                                                 for (const auto& entry : state) {
                                                     at::Tensor t;
                                                     archive.read(entry.first, t);
                                                     touch(t.data_ptr<float>(), static_cast<std::size_t>(t.numel()));
                                                 }
                                             }}});
    bench::print("loads", loads, bytes, loads[0]);
    std::printf("\ntorch::Tensor state dict against h5ser::tensor: load %.2fx, save %.2fx; against torch::load: %.2fx\n",
                loads[0].seconds / loads[1].seconds, saves[0].seconds / saves[1].seconds, loads[3].seconds / loads[1].seconds);
    for (const auto& f : {torch_h5, tensor_h5, archive_pt}) std::filesystem::remove(f);
    return 0;
}
