// Shared helpers for the benchmarks: medians of repeated timings and a result table with ratios.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

namespace bench {

inline double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

/// Runs `setup` (untimed) then `f` (timed) `repetitions` times; returns the median seconds.
template <class Setup, class F>
double time_median(int repetitions, Setup&& setup, F&& f) {
    std::vector<double> times;
    for (int i = 0; i < repetitions; ++i) {
        setup();
        const auto t0 = std::chrono::steady_clock::now();
        f();
        times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    return median(times);
}
template <class F>
double time_median(int repetitions, F&& f) {
    return time_median(
        repetitions, [] {}, std::forward<F>(f));
}

struct row {
    std::string name;
    double seconds;        ///< the median
    double fastest = 0.0;  ///< the fastest round (interleaved_medians only)
    double slowest = 0.0;  ///< the slowest round (interleaved_medians only)
};

/// Runs each program once per round, `rounds` times (A B C, A B C, ...), and returns each one's
/// median. On a VM whose disk and memory speed drift over minutes, interleaving keeps the drift
/// out of the ratios, which timing each program's repetitions in one block does not.
struct program {
    std::string name;
    std::function<void()> run;
};
/// `settle` runs untimed before every program, e.g. sync() so that no program pays for the
/// write-back of dirty pages another one left behind.
inline std::vector<row> interleaved_medians(int rounds, const std::vector<program>& programs, const std::function<void()>& settle = {}) {
    std::vector<std::vector<double>> times(programs.size());
    for (int r = 0; r < rounds; ++r) {
        for (std::size_t i = 0; i < programs.size(); ++i) {
            if (settle) settle();
            const auto t0 = std::chrono::steady_clock::now();
            programs[i].run();
            times[i].push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        }
    }
    std::vector<row> rows;
    for (std::size_t i = 0; i < programs.size(); ++i)
        rows.push_back({programs[i].name, median(times[i]), *std::min_element(times[i].begin(), times[i].end()),
                        *std::max_element(times[i].begin(), times[i].end())});
    if (std::getenv("H5SER_BENCH_ALL_TIMES")) {  // every round's time, to see the spread behind a median
        for (std::size_t i = 0; i < programs.size(); ++i) {
            std::printf("  %-56s", programs[i].name.c_str());
            for (const double t : times[i]) std::printf(" %7.3f", t);
            std::printf("\n");
        }
    }
    return rows;
}

/// Prints rows with MB/s and the ratio baseline_seconds / seconds (above 1: faster than the baseline).
/// Rows of interleaved_medians also show their range (fastest-slowest round).
inline void print(const char* title, const std::vector<row>& rows, double bytes, const row& baseline) {
    std::printf("\n%s\n%-58s %9s %15s %9s %14s\n", title, "program", "median s", "range s", "MB/s", "speed vs base");
    for (const auto& r : rows) {
        char range[32] = "";
        if (r.slowest > 0) std::snprintf(range, sizeof range, "%.3f-%.3f", r.fastest, r.slowest);
        std::printf("%-58s %9.3f %15s %9.0f %13.2fx\n", r.name.c_str(), r.seconds, range, bytes / r.seconds / 1e6,
                    baseline.seconds / r.seconds);
    }
    std::printf("(base: %s)\n", baseline.name.c_str());
}

/// Where a tensor lies in a flat file of tensors (bench_gpt2's baselines and bench_torch_io):
/// its path in the HDF5 file, its byte offset and length.
struct tensor_place {
    std::string path;
    std::uint64_t offset = 0;
    std::uint64_t bytes = 0;
};

inline void write_places(const std::string& file, const std::vector<tensor_place>& places) {
    std::ofstream out(file);
    for (const auto& p : places) out << p.path << ' ' << p.offset << ' ' << p.bytes << '\n';
}

inline std::vector<tensor_place> read_places(const std::string& file) {
    std::vector<tensor_place> out;
    std::ifstream in(file);
    tensor_place p;
    while (in >> p.path >> p.offset >> p.bytes) out.push_back(p);
    return out;
}

}  // namespace bench
