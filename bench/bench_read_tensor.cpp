// W7: reading the tensors of a sealed file by path, without a struct: N tensors of K KiB each
// (default 256 of 256 KiB, contiguous), every one read by its path,
//   - with h5ser::read_tensor, one call per tensor (each opens the file and checks its seal);
//   - with one h5ser::tensor_reader (the file opened and its seal checked once);
//   - with h5ser::load of the whole file into a std::map<std::string, h5ser::any_tensor>;
// against the baseline of a verified read: the file mapped and each tensor's bytes hashed with
// XXH3 (the offsets found with the HDF5 C API beforehand), in the same process, interleaved.
//
//     bench_read_tensor [tensors=256] [KiB=256] [rounds=7] [directory=.]
#include <fcntl.h>
#include <hdf5.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <h5ser/h5ser.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "bench_common.hpp"

#define XXH_INLINE_ALL  // the baseline hashes as h5ser does: libxxhash inlined
#include <xxhash.h>

namespace {

/// Each tensor's offset and length in the file, read with the HDF5 C API (untimed).
std::vector<bench::tensor_place> places_of(const std::string& path, const std::vector<std::string>& names) {
    std::vector<bench::tensor_place> places;
    const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    for (const auto& name : names) {
        const hid_t d = H5Dopen2(f, name.c_str(), H5P_DEFAULT);
        places.push_back({name, H5Dget_offset(d), H5Dget_storage_size(d)});
        H5Dclose(d);
    }
    H5Fclose(f);
    return places;
}

}  // namespace

int main(int argc, char** argv) {
    const std::size_t count = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 256;
    const std::size_t kib = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 256;
    const int rounds = argc > 3 ? std::atoi(argv[3]) : 7;
    const std::filesystem::path dir = argc > 4 ? argv[4] : ".";
    const std::string path = (dir / "bench_read_tensor.h5").string();

    std::map<std::string, h5ser::tensor<float, 1>> model;
    std::vector<std::string> names;
    const std::size_t elements = kib * 1024 / sizeof(float);
    for (std::size_t i = 0; i < count; ++i) {
        char name[32];
        std::snprintf(name, sizeof name, "layer%04zu", i);
        h5ser::tensor<float, 1> t({elements}, h5ser::uninitialized);
        for (std::size_t j = 0; j < elements; ++j) t.data()[j] = static_cast<float>(i * 31 + j);
        model.emplace(name, std::move(t));
        names.push_back(std::string("/") + name);
    }
    h5ser::save<h5ser::contiguous>(model, path);
    const auto places = places_of(path, names);
    const double bytes = static_cast<double>(count * elements * sizeof(float));

    volatile float sink = 0;
    const std::vector<bench::program> programs{
        {"mmap + XXH3 of each tensor (baseline)",
         [&] {
             const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
             struct stat st {};
             ::fstat(fd, &st);
             void* map = ::mmap(nullptr, static_cast<std::size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
             const auto* file = static_cast<const unsigned char*>(map);
             for (const auto& p : places) sink = sink + static_cast<float>(XXH3_64bits(file + p.offset, p.bytes) & 1);
             ::munmap(map, static_cast<std::size_t>(st.st_size));
             ::close(fd);
         }},
        {"h5ser::read_tensor, one call per tensor",
         [&] {
             for (const auto& name : names) sink = sink + h5ser::read_tensor<float, 1>(path, name)(1);
         }},
        {"h5ser::tensor_reader, opened once",
         [&] {
             h5ser::tensor_reader file(path);
             for (const auto& name : names) sink = sink + file.read<float, 1>(name)(1);
         }},
        {"h5ser::load into a map of any_tensor (all at once)",
         [&] {
             const auto all = h5ser::load<std::map<std::string, h5ser::any_tensor>>(path);
             sink = sink + static_cast<float>(all.size());
         }},
    };
    std::printf("W7: %zu tensors of %zu KiB read by path from a sealed file (%.0f MiB), %d interleaved rounds, warm page cache\n", count,
                kib, bytes / (1 << 20), rounds);
    const auto rows = bench::interleaved_medians(rounds, programs);
    bench::print("every tensor read by its path, verified", rows, bytes, rows.front());
    std::filesystem::remove(path);
    return 0;
}
