// W1: one big float32 tensor (1 GiB by default), saved and loaded by h5ser, by the best raw HDF5 C
// program, and by POSIX write/read of the same bytes, in one process. Also: peak RSS of h5ser's
// load (measured in a fresh process) and the cost of checksum verification.
//
//     bench_one_big [MiB=1024] [repetitions=5] [DIR=.]
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include <h5ser/h5ser.hpp>

#include "bench_common.hpp"

namespace {

struct Model {
    h5ser::tensor<float, 2> weights;
};

void posix_write(const std::string& path, const void* data, std::size_t bytes, bool sync) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const auto* p = static_cast<const char*>(data);
    for (std::size_t done = 0; done < bytes;) {
        const ssize_t n = ::write(fd, p + done, bytes - done);
        if (n <= 0) std::abort();
        done += static_cast<std::size_t>(n);
    }
    if (sync && ::fsync(fd) != 0) std::abort();
    ::close(fd);
}
void posix_read(const std::string& path, void* data, std::size_t bytes) {
    const int fd = ::open(path.c_str(), O_RDONLY);
    auto* p = static_cast<char*>(data);
    for (std::size_t done = 0; done < bytes;) {
        const ssize_t n = ::read(fd, p + done, bytes - done);
        if (n <= 0) std::abort();
        done += static_cast<std::size_t>(n);
    }
    ::close(fd);
}

// The best plain HDF5 program: latest format, 4 KiB alignment, one contiguous dataset written
// straight from the caller's buffer.
void raw_hdf5_write(const std::string& path, const h5ser::tensor<float, 2>& t, bool sync) {
    const hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST);
    H5Pset_alignment(fapl, 4096, 4096);
    const hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    const hsize_t dims[2] = {t.shape()[0], t.shape()[1]};
    const hid_t space = H5Screate_simple(2, dims, nullptr);
    const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER);
    const hid_t d = H5Dcreate2(f, "weights", H5T_IEEE_F32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.data()) < 0) std::abort();
    H5Dclose(d);
    H5Pclose(dcpl);
    H5Sclose(space);
    H5Fclose(f);
    H5Pclose(fapl);
    if (sync) {
        const int fd = ::open(path.c_str(), O_RDONLY);
        ::fsync(fd);
        ::close(fd);
    }
}
void raw_hdf5_read(const std::string& path, float* out) {
    const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    const hid_t d = H5Dopen2(f, "weights", H5P_DEFAULT);
    if (H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) < 0) std::abort();
    H5Dclose(d);
    H5Fclose(f);
}

// Peak resident memory of a fresh process that only loads the file. Read as VmHWM from inside that
// process: getrusage's ru_maxrss would include this (large) process's peak, as it survives exec.
long peak_rss_kib_of_load(const char* self, const std::string& path) {
    const std::string command = std::string(self) + " --load-only " + path;
    std::FILE* child = ::popen(command.c_str(), "r");
    long kib = -1;
    if (child && std::fscanf(child, "%ld", &kib) != 1) kib = -1;
    if (child) ::pclose(child);
    return kib;
}
long own_peak_rss_kib() {
    std::FILE* status = std::fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (status && std::fgets(line, sizeof line, status))
        if (std::sscanf(line, "VmHWM: %ld kB", &kib) == 1) break;
    if (status) std::fclose(status);
    return kib;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc == 3 && std::strcmp(argv[1], "--load-only") == 0) {  // the fresh process of the RSS measurement
        const auto m = h5ser::load<Model>(argv[2]);
        std::printf("%ld\n", own_peak_rss_kib());
        return m.weights.size() > 0 ? 0 : 1;
    }
    const std::size_t mib = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 1024;
    const int reps = argc > 2 ? std::atoi(argv[2]) : 5;
    const std::filesystem::path dir = argc > 3 ? argv[3] : ".";
    const std::size_t rows = std::max<std::size_t>(1, mib * (1 << 20) / sizeof(float) / 4096);
    Model model{h5ser::tensor<float, 2>({rows, 4096}, h5ser::uninitialized)};
    for (std::size_t i = 0; i < model.weights.size(); ++i) model.weights.data()[i] = static_cast<float>(i % 65521) * 1e-3f;
    const double bytes = static_cast<double>(model.weights.size_bytes());
    const std::string h5 = (dir / "w1_h5ser.h5").string(), raw = (dir / "w1_raw.h5").string(), bin = (dir / "w1.bin").string();
    std::printf("W1: one %zu x 4096 float32 tensor (%.0f MiB), %d repetitions, medians\n", rows, bytes / (1 << 20), reps);

    using bench::row;
    // Interleaved rounds (see bench::interleaved_medians): each round saves once with every program.
    const auto saves = bench::interleaved_medians(
        reps,
        {
            {"POSIX write + fsync", [&] { posix_write(bin, model.weights.data(), model.weights.size_bytes(), true); }},
            {"POSIX write, no fsync", [&] { posix_write(bin, model.weights.data(), model.weights.size_bytes(), false); }},
            {"raw HDF5 C (latest format, aligned) + fsync", [&] { raw_hdf5_write(raw, model.weights, true); }},
            {"raw HDF5 C, no fsync", [&] { raw_hdf5_write(raw, model.weights, false); }},
            {"h5ser::save (atomic: temp file, seal, fsync, rename)", [&] { h5ser::save(model, h5); }},
        },
        [] { ::sync(); });  // the no-fsync programs leave 1 GiB of dirty pages: flush them untimed
    const row &posix_save = saves[0], &raw_save = saves[2], &h5ser_save = saves[4];
    bench::print("save", saves, bytes, raw_save);
    std::printf("h5ser save vs raw HDF5 + fsync: %.2fx, vs POSIX write + fsync: %.2fx (targets >= 0.95 and >= 0.80)\n",
                raw_save.seconds / h5ser_save.seconds, posix_save.seconds / h5ser_save.seconds);

    h5ser::tensor<float, 2> buffer(model.weights.shape(), h5ser::uninitialized);
    std::memset(static_cast<void*>(buffer.data()), 0, buffer.size_bytes());  // fault the pages in once
    const auto loads =
        bench::interleaved_medians(reps,
                                   {
                                       {"POSIX read into an existing buffer", [&] { posix_read(bin, buffer.data(), buffer.size_bytes()); }},
                                       {"POSIX read into a fresh buffer",
                                        [&] {
                                            h5ser::tensor<float, 2> fresh(model.weights.shape(), h5ser::uninitialized);
                                            posix_read(bin, fresh.data(), fresh.size_bytes());
                                        }},
                                       {"raw HDF5 C read into an existing buffer", [&] { raw_hdf5_read(raw, buffer.data()); }},
                                       {"raw HDF5 C read into a fresh buffer",
                                        [&] {
                                            h5ser::tensor<float, 2> fresh(model.weights.shape(), h5ser::uninitialized);
                                            raw_hdf5_read(raw, fresh.data());
                                        }},
                                       {"h5ser::load<Model> (fresh tensor, verified)", [&] { (void)h5ser::load<Model>(h5); }},
                                       {"h5ser::load<Model, no_verify>", [&] { (void)h5ser::load<Model, h5ser::no_verify>(h5); }},
                                   },
                                   [] { ::sync(); });
    const row &posix_load = loads[0], &posix_load_fresh = loads[1], &raw_load_fresh = loads[3], &h5ser_load = loads[4],
              &h5ser_load_noverify = loads[5];
    bench::print("load", loads, bytes, raw_load_fresh);
    // h5ser::load<Model> returns a new tensor, so its like-for-like baselines read into fresh memory too.
    std::printf(
        "h5ser load vs raw HDF5 into a fresh buffer: %.2fx, vs POSIX read into a fresh buffer: %.2fx (targets >= 0.95 and >= 0.80);"
        " vs POSIX read into an existing buffer: %.2fx\n",
        raw_load_fresh.seconds / h5ser_load.seconds, posix_load_fresh.seconds / h5ser_load.seconds,
        posix_load.seconds / h5ser_load.seconds);
    // A mapped load without verification reads nothing (pages come in when used): verification, hashing
    // the mapping on both cores, is what a verified load costs.
    std::printf("a verified mapped load hashes at %.1f GB/s; h5ser::no_verify maps without reading (%.4f s)\n",
                static_cast<double>(bytes) / h5ser_load.seconds / 1e9, h5ser_load_noverify.seconds);
    const long rss = peak_rss_kib_of_load(argv[0], h5);  // argv[0]: this program, run again
    std::printf("peak RSS of a process that loads the file: %.0f MiB for %.0f MiB of tensor (target <= tensor + 64 MiB)\n",
                static_cast<double>(rss) / 1024, bytes / (1 << 20));
    for (const auto& p : {h5, raw, bin}) std::filesystem::remove(p);
    return 0;
}
