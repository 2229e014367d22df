// Storage presets and filters on realistic weights: save and load time (medians) and file size,
// as ratios against contiguous storage, with POSIX write/read of the same bytes as a floor.
//
//     bench_presets [MiB=64] [repetitions=5] [DIR=.]
//
// Weights: normal(0, 0.05) as float32 ("normal"), and the same quantized to 256 levels
// ("quantized"), the case where compression pays.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <h5ser/h5ser.hpp>

namespace {

struct Weights {
    h5ser::tensor<float, 2> kernel;
};

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

template <class F>
double time_median(int repetitions, F&& f) {
    std::vector<double> times;
    for (int i = 0; i < repetitions; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        f();
        times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    return median(times);
}

struct Row {
    std::string name;
    double save_s, load_s;
    std::uintmax_t bytes;
};

template <class... Policies>
Row measure(const char* name, const Weights& w, const std::string& path, int repetitions) {
    Row r{name, 0, 0, 0};
    r.save_s = time_median(repetitions, [&] { h5ser::save<Policies...>(w, path); });
    r.bytes = std::filesystem::file_size(path);
    r.load_s = time_median(repetitions, [&] {
        const auto loaded = h5ser::load<Weights>(path);
        if (loaded.kernel.size() != w.kernel.size()) std::abort();
    });
    return r;
}

Row posix(const Weights& w, const std::string& path, int repetitions) {
    const std::size_t bytes = w.kernel.size_bytes();
    Row r{"POSIX write/read (floor)", 0, 0, bytes};
    r.save_s = time_median(repetitions, [&] {
        const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || ::write(fd, w.kernel.data(), bytes) != static_cast<ssize_t>(bytes) || ::fsync(fd) != 0) std::abort();
        ::close(fd);
    });
    r.load_s = time_median(repetitions, [&] {
        h5ser::tensor<float, 2> t(w.kernel.shape(), h5ser::uninitialized);
        const int fd = ::open(path.c_str(), O_RDONLY);
        if (fd < 0 || ::read(fd, t.data(), bytes) != static_cast<ssize_t>(bytes)) std::abort();
        ::close(fd);
    });
    return r;
}

void table(const char* title, const std::vector<Row>& rows, std::size_t data_bytes) {
    const Row& base = rows[1];  // contiguous
    std::printf("\n%s (%.0f MiB of float32)\n", title, static_cast<double>(data_bytes) / (1 << 20));
    std::printf("%-36s %9s %9s %9s %9s %10s %7s\n", "storage", "save s", "load s", "save MB/s", "load MB/s", "size MiB", "size");
    for (const auto& r : rows) {
        std::printf("%-36s %9.3f %9.3f %9.0f %9.0f %10.2f %6.2fx\n", r.name.c_str(), r.save_s, r.load_s,
                    static_cast<double>(data_bytes) / r.save_s / 1e6, static_cast<double>(data_bytes) / r.load_s / 1e6,
                    static_cast<double>(r.bytes) / (1 << 20), static_cast<double>(r.bytes) / static_cast<double>(base.bytes));
    }
    std::printf("(size column: file size relative to contiguous; times are medians, warm page cache, saves include fsync)\n");
}

}  // namespace

int main(int argc, char** argv) {
    const std::size_t mib = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 64;
    const int repetitions = argc > 2 ? std::atoi(argv[2]) : 5;
    const std::filesystem::path dir = argc > 3 ? argv[3] : ".";
    const std::size_t rows = std::max<std::size_t>(1, mib * (1 << 20) / sizeof(float) / 1024);
    std::mt19937 rng(42);
    std::normal_distribution<float> normal(0.0f, 0.05f);
    Weights normal_w{h5ser::tensor<float, 2>({rows, 1024}, h5ser::uninitialized)};
    for (float& x : normal_w.kernel) x = normal(rng);
    Weights quantized_w = normal_w;
    for (float& x : quantized_w.kernel) x = std::clamp(std::round(x / 0.2f * 128.0f), -128.0f, 127.0f) * (0.2f / 128.0f);

    std::printf("bench_presets: %zu x 1024 float32, %d repetitions, HDF5 %u.%u.%u\n", rows, repetitions, H5_VERS_MAJOR, H5_VERS_MINOR,
                H5_VERS_RELEASE);
    for (const auto* variant : {&normal_w, &quantized_w}) {
        const Weights& w = *variant;
        const std::string path = (dir / "bench_presets.h5").string();
        std::vector<Row> rows_out;
        rows_out.push_back(posix(w, (dir / "bench_presets.bin").string(), repetitions));
        rows_out.push_back(measure<h5ser::fast>("h5ser::fast (contiguous)", w, path, repetitions));
        rows_out.push_back(measure<h5ser::shuffle, h5ser::deflate<1>>("shuffle + deflate<1>", w, path, repetitions));
        rows_out.push_back(measure<h5ser::compressed>("h5ser::compressed (shuffle + deflate<4>)", w, path, repetitions));
        rows_out.push_back(measure<h5ser::archival>("h5ser::archival (+deflate<6>, fletcher32)", w, path, repetitions));
        rows_out.push_back(measure<h5ser::shuffle, h5ser::deflate<9>>("shuffle + deflate<9>", w, path, repetitions));
        rows_out.push_back(measure<h5ser::lz4<>>("lz4", w, path, repetitions));
        rows_out.push_back(measure<h5ser::blosc<5, h5ser::blosc_codec::lz4>>("blosc lz4 + bitshuffle", w, path, repetitions));
        rows_out.push_back(measure<h5ser::blosc<5, h5ser::blosc_codec::zstd>>("blosc zstd + bitshuffle", w, path, repetitions));
        rows_out.push_back(measure<h5ser::bzip2<>>("bzip2", w, path, repetitions));
        table(variant == &normal_w ? "normal(0, 0.05) weights" : "quantized to 256 levels", rows_out, w.kernel.size_bytes());
        std::filesystem::remove(path);
        std::filesystem::remove(dir / "bench_presets.bin");
    }
    return 0;
}
