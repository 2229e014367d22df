// Asynchronous checkpoints of the GPT-2-small-shaped model (498 MB, weights only), against
// synchronous saves of the same model in the same run:
//
//   stall      how long save_async blocks the caller (after the first, which allocates the
//              staging memory), against a whole synchronous h5ser::save; rounds interleaved
//   loop       a training loop of single-threaded compute that checkpoints every N steps, N steps
//              taking at least 5x a synchronous save: without checkpoints, with save_async, with
//              save (the final checkpoint's wait counts); rounds interleaved
//   memory     peak resident memory (VmHWM) of a fresh process that builds the model and saves it
//              3 times with save_async, and of one that saves it 3 times with save, against the
//              model's bytes
//   latency    how long the caller's own small loads take while a checkpoint is written in the
//              background, against the same loads with nothing in the background (the writer
//              holds libhdf5's lock only for pieces of ~32 MiB)
//
//     bench_async_checkpoint [rounds] [dir] [--tiny]
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <h5ser/h5ser.hpp>

#include "bench_common.hpp"
#include "gpt2_model.hpp"

namespace {

using bench::gpt2::Gpt2;
using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t0) { return std::chrono::duration<double>(clock_type::now() - t0).count(); }

std::uint64_t model_bytes(const Gpt2& m) {
    std::uint64_t n = 0;
    n += m.wte.size_bytes() + m.wpe.size_bytes() + m.ln_f.weight.size_bytes() + m.ln_f.bias.size_bytes();
    for (const auto& b : m.h) {
        for (const auto* t : {&b.ln_1.weight, &b.ln_1.bias, &b.ln_2.weight, &b.ln_2.bias, &b.attn.c_attn.bias, &b.attn.c_proj.bias,
                              &b.mlp.c_fc.bias, &b.mlp.c_proj.bias})
            n += t->size_bytes();
        for (const auto* t : {&b.attn.c_attn.weight, &b.attn.c_proj.weight, &b.mlp.c_fc.weight, &b.mlp.c_proj.weight}) n += t->size_bytes();
    }
    return n;
}

std::uint64_t peak_resident_bytes() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line))
        if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
    return 0;
}

/// One step of "training": single-threaded arithmetic on a cache-sized buffer, and an update of
/// one row of the model (so the model does change between checkpoints).
struct trainer {
    std::vector<float> scratch = std::vector<float>(1 << 16, 1.0f);
    float sink = 0.0f;
    void step(Gpt2& m, std::size_t index) {
        for (int pass = 0; pass < 8; ++pass)
            for (float& x : scratch) x = x * 0.999f + 0.001f * std::sqrt(x + 1.0f);
        sink += scratch[index % scratch.size()];
        const std::size_t row = index % m.wte.shape()[0];
        for (std::size_t j = 0; j < m.wte.shape()[1]; ++j) m.wte(row, j) += 1e-6f;
    }
};

enum class checkpointing { none, async, sync };

double training_loop(Gpt2& m, trainer& t, std::size_t intervals, std::size_t steps_per_interval, checkpointing how,
                     const std::string& dir) {
    const auto t0 = clock_type::now();
    h5ser::pending_save pending;
    for (std::size_t i = 0; i < intervals; ++i) {
        for (std::size_t s = 0; s < steps_per_interval; ++s) t.step(m, i * steps_per_interval + s);
        const std::string path = dir + "/loop-" + std::to_string(i % 2) + ".h5";
        if (how == checkpointing::async) pending = h5ser::save_async<h5ser::weights_only>(m, path);
        if (how == checkpointing::sync) h5ser::save<h5ser::weights_only>(m, path);
    }
    pending.wait();
    return seconds_since(t0);
}

/// The memory part, in a fresh process: builds the model, saves it 3 times, prints VmHWM.
int memory_child(const std::string& how, const std::string& dir, bool tiny) {
    bench::gpt2::shape s;
    if (tiny) s = {1000, 64, 64, 2};
    Gpt2 m = bench::gpt2::make_model(s);
    for (int i = 0; i < 3; ++i) {
        m.wte(0, 0) = static_cast<float>(i);
        if (how == "async") h5ser::save_async<h5ser::weights_only>(m, dir + "/memory.h5").wait();
        else h5ser::save<h5ser::weights_only>(m, dir + "/memory.h5");
    }
    std::printf("%llu %llu\n", static_cast<unsigned long long>(peak_resident_bytes()), static_cast<unsigned long long>(model_bytes(m)));
    return 0;
}

std::pair<double, double> measure_memory(const char* self, const std::string& how, const std::string& dir, bool tiny) {
    const std::string command = std::string(self) + " --memory-child " + how + " " + dir + (tiny ? " --tiny" : "");
    FILE* out = ::popen(command.c_str(), "r");
    if (!out) return {0, 0};
    unsigned long long peak = 0, bytes = 0;
    if (std::fscanf(out, "%llu %llu", &peak, &bytes) != 2) peak = bytes = 0;
    ::pclose(out);
    return {static_cast<double>(peak), static_cast<double>(bytes)};
}

struct Small {
    h5ser::tensor<float, 2> w;
    std::int64_t step = 0;
};

}  // namespace

int main(int argc, char** argv) {
    if (argc >= 4 && std::string(argv[1]) == "--memory-child")
        return memory_child(argv[2], argv[3], argc > 4 && std::string(argv[4]) == "--tiny");
    int rounds = argc > 1 ? std::atoi(argv[1]) : 7;
    const std::string dir = argc > 2 ? argv[2] : ".";
    const bool tiny = argc > 3 && std::string(argv[3]) == "--tiny";
    if (rounds < 1) rounds = 1;
    std::filesystem::create_directories(dir);

    bench::gpt2::shape s;
    if (tiny) s = {1000, 64, 64, 2};
    Gpt2 m = bench::gpt2::make_model(s);
    const double bytes = static_cast<double>(model_bytes(m));
    std::printf("model: %zu blocks, %.0f MB (weights only)\n\n", m.h.size(), bytes / 1e6);

    // ---- stall: save_async's return against a whole synchronous save -------------------------
    h5ser::save_async<h5ser::weights_only>(m, dir + "/async.h5").wait();  // the first allocates staging memory
    std::vector<double> stall, async_total;
    const auto rows =
        bench::interleaved_medians(rounds,
                                   {{"h5ser::save (synchronous)", [&] { h5ser::save<h5ser::weights_only>(m, dir + "/sync.h5"); }},
                                    {"h5ser::save_async until committed (wait)",
                                     [&] {
                                         const auto t0 = clock_type::now();
                                         auto pending = h5ser::save_async<h5ser::weights_only>(m, dir + "/async.h5");
                                         stall.push_back(seconds_since(t0));
                                         m.wte(0, 0) += 1.0f;  // the caller may change the model at once
                                         pending.wait();
                                         async_total.push_back(seconds_since(t0));
                                     }}},
                                   [] { ::sync(); });
    const double sync_save = rows[0].seconds;
    const double stall_median = bench::median(stall);
    std::printf("%-48s %9s %9s %9s\n", "calling thread blocked", "median", "fastest", "slowest");
    std::printf("%-48s %8.3fs %8.3fs %8.3fs\n", rows[0].name.c_str(), rows[0].seconds, rows[0].fastest, rows[0].slowest);
    std::printf("%-48s %8.3fs %8.3fs %8.3fs\n", "h5ser::save_async (the stall)", stall_median,
                *std::min_element(stall.begin(), stall.end()), *std::max_element(stall.begin(), stall.end()));
    std::printf("%-48s %8.3fs %8.3fs %8.3fs\n", rows[1].name.c_str(), bench::median(async_total),
                *std::min_element(async_total.begin(), async_total.end()), *std::max_element(async_total.begin(), async_total.end()));
    std::printf("stall / synchronous save: %.3f (target <= 0.20); staging copy at %.1f GB/s\n\n", stall_median / sync_save,
                bytes / stall_median / 1e9);

    // ---- loop: checkpoints every N steps, N steps >= 5x a synchronous save --------------------
    trainer t;
    const auto t0 = clock_type::now();
    for (int i = 0; i < 20; ++i) t.step(m, static_cast<std::size_t>(i));
    const double step_seconds = seconds_since(t0) / 20;
    const auto steps = static_cast<std::size_t>(std::ceil(5.0 * sync_save / step_seconds));
    const std::size_t intervals = 10;  // the last checkpoint is waited for: its time counts once per loop
    std::printf("training loop: %zu intervals of %zu steps (%.3f s each, %.1fx a synchronous save), a checkpoint after each\n", intervals,
                steps, static_cast<double>(steps) * step_seconds, static_cast<double>(steps) * step_seconds / sync_save);
    const auto loops = bench::interleaved_medians(
        std::max(3, rounds * 2 / 3),
        {{"no checkpoints", [&] { training_loop(m, t, intervals, steps, checkpointing::none, dir); }},
         {"h5ser::save_async every N steps", [&] { training_loop(m, t, intervals, steps, checkpointing::async, dir); }},
         {"h5ser::save every N steps", [&] { training_loop(m, t, intervals, steps, checkpointing::sync, dir); }}},
        [] { ::sync(); });
    std::printf("%-48s %9s %9s %9s %9s\n", "loop", "median", "fastest", "slowest", "ratio");
    for (const auto& r : loops)
        std::printf("%-48s %8.3fs %8.3fs %8.3fs %8.3fx\n", r.name.c_str(), r.seconds, r.fastest, r.slowest, r.seconds / loops[0].seconds);
    std::printf("save_async loop / loop without checkpoints: %.3f (target <= 1.10)\n\n", loops[1].seconds / loops[0].seconds);

    // ---- memory: fresh processes ---------------------------------------------------------------
    const auto [async_peak, model_size] = measure_memory(argv[0], "async", dir, tiny);
    const auto [sync_peak, model_size_2] = measure_memory(argv[0], "sync", dir, tiny);
    if (model_size > 0 && model_size_2 > 0) {
        std::printf("peak resident memory (VmHWM), fresh process, 3 saves of a %.0f MB model:\n", model_size / 1e6);
        std::printf("  save_async  %7.0f MB  %.2fx the model (target <= 2.1x)\n", async_peak / 1e6, async_peak / model_size);
        std::printf("  save        %7.0f MB  %.2fx the model\n\n", sync_peak / 1e6, sync_peak / model_size);
    } else {
        std::printf("peak resident memory: the child process failed\n\n");
    }

    // ---- latency: the caller's own HDF5 work during a background checkpoint -------------------
    Small small{h5ser::tensor<float, 2>({256, 256}), 1};
    h5ser::save(small, dir + "/small.h5");
    const auto small_loads = [&](const h5ser::pending_save* running, std::vector<double>& out) {
        do {
            const auto l0 = clock_type::now();
            const auto loaded = h5ser::load<Small>(dir + "/small.h5");
            out.push_back(seconds_since(l0));
            if (loaded.step != 1) std::abort();
        } while (running ? !running->ready() : out.size() < 200);
    };
    std::vector<double> idle, busy;
    small_loads(nullptr, idle);
    for (int r = 0; r < std::max(2, rounds / 2); ++r) {
        auto pending = h5ser::save_async<h5ser::weights_only>(m, dir + "/async.h5");
        small_loads(&pending, busy);
        pending.wait();
    }
    std::printf("a 256 KiB h5ser::load on the calling thread      %9s %9s %9s  loads\n", "median", "p99", "slowest");
    for (auto* v : {&idle, &busy}) {
        std::sort(v->begin(), v->end());
        std::printf("  %-46s %7.2fms %7.2fms %7.2fms  %zu\n", v == &idle ? "nothing in the background" : "during a background checkpoint",
                    1e3 * (*v)[v->size() / 2], 1e3 * (*v)[v->size() * 99 / 100], 1e3 * v->back(), v->size());
    }
    for (const char* f : {"/sync.h5", "/async.h5", "/loop-0.h5", "/loop-1.h5", "/memory.h5", "/small.h5"}) std::filesystem::remove(dir + f);
    return 0;
}
