// W4: partial reads from a chunked (N, 784) float32 dataset (an MNIST-shaped training set) of at
// least 512 MiB, through h5ser::row_dataset: 100 contiguous rows, and random batches of 64 rows,
// against reading all of it. Besides time, it counts the bytes the process read from the file
// (rchar in /proc/self/io), which does not depend on the page cache: a partial read must touch
// only the chunks it needs.
//
//     bench_partial_read [MiB=512] [repetitions=5] [directory=.]
#include <h5ser/h5ser.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "bench_common.hpp"

namespace {

constexpr std::size_t features = 784;

/// Bytes this process has read through read(2) and friends so far.
unsigned long long bytes_read() {
    std::ifstream io("/proc/self/io");
    std::string key;
    unsigned long long value = 0;
    while (io >> key >> value)
        if (key == "rchar:") return value;
    return 0;
}

struct measured {
    double seconds;
    double bytes;
};

template <class F>
measured measure(int repetitions, const std::string& path, F&& read) {
    std::vector<double> bytes;
    const double seconds = bench::time_median(repetitions, [&] {
        auto file = h5ser::data_file::open(path, false);  // a fresh open: HDF5's chunk cache starts empty
        const auto rows = file.rows<float, 1>("train/images");
        const auto before = bytes_read();
        read(rows);
        bytes.push_back(static_cast<double>(bytes_read() - before));
    });
    return {seconds, bench::median(bytes)};
}

}  // namespace

int main(int argc, char** argv) {
    const std::size_t mib = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 512;
    const int repetitions = argc > 2 ? std::atoi(argv[2]) : 5;
    const std::filesystem::path dir = argc > 3 ? argv[3] : ".";
    const std::size_t rows = std::max<std::size_t>(mib * (std::size_t{1} << 20) / (features * sizeof(float)), 200);
    const std::string path = (dir / "bench_partial_read.h5").string();

    {  // write the dataset in batches of 4096 rows (256 KiB chunks: h5ser's default for row datasets)
        auto file = h5ser::data_file::create(path);
        auto images = file.create_rows<float, 1>("train/images", {features});
        std::mt19937 gen(1);
        std::uniform_real_distribution<float> pixel(0.0f, 1.0f);
        h5ser::tensor<float, 2> batch({4096, features});
        for (std::size_t done = 0; done < rows;) {
            const std::size_t n = std::min<std::size_t>(4096, rows - done);
            for (std::size_t i = 0; i < n * features; ++i) batch.data()[i] = pixel(gen);
            images.append(batch.data(), n);
            done += n;
        }
    }
    const double total_bytes = static_cast<double>(rows) * features * sizeof(float);
    std::printf("W4: chunked (%zu, %zu) float32 dataset, %.0f MiB, %d repetitions\n", rows, features, total_bytes / (1 << 20), repetitions);

    std::vector<float> everything(rows * features);
    const measured full = measure(repetitions, path, [&](const auto& d) { d.read(0, rows, everything.data()); });
    std::vector<float> hundred(100 * features);
    const measured contiguous = measure(repetitions, path, [&](const auto& d) { d.read(rows / 2, 100, hundred.data()); });
    std::mt19937 gen(2);
    std::uniform_int_distribution<std::size_t> pick(0, rows - 1);
    std::vector<float> batch(64 * features);
    const measured random64 = measure(repetitions, path, [&](const auto& d) {
        std::vector<std::size_t> indices(64);
        for (auto& i : indices) i = pick(gen);
        d.read_rows(indices, batch.data());
    });

    std::printf("\n%-40s %10s %12s %14s %14s\n", "read", "median s", "bytes read", "time vs full", "bytes vs full");
    const auto line = [&](const char* name, const measured& m) {
        std::printf("%-40s %10.4f %12.0f %13.3f%% %13.3f%%\n", name, m.seconds, m.bytes, 100 * m.seconds / full.seconds,
                    100 * m.bytes / full.bytes);
    };
    line("all rows (baseline)", full);
    line("100 contiguous rows", contiguous);
    line("64 random rows (read_rows)", random64);
    std::printf("(warm page cache; bytes read = rchar of /proc/self/io, what the process read from the file)\n");
    std::filesystem::remove(path);
    return 0;
}
