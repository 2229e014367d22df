// Sharded checkpoints: write and read throughput of h5ser::mpi against the raw parallel HDF5 C API
// doing the same collective I/O, in the same processes.
//
//     mpirun -np 1 build/bench/bench_mpi [MiB=1024] [repetitions=5] [dir=.]
//     mpirun -np 2 build/bench/bench_mpi [MiB=1024] [repetitions=5] [dir=.]
//
// The model is one float32 tensor of MiB mebibytes split by rows across the ranks, plus 100 small
// replicated layers. Times are from the barrier before to the barrier after (all ranks done);
// the programs run interleaved, round by round, each after an untimed sync(). The raw save is as
// durable as h5ser's: collective write, flush, close, then fsync of the file. Loads read a file
// just written, so mostly from the page cache.
#include <fcntl.h>
#include <mpi.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <h5ser/mpi.hpp>

#include "bench_common.hpp"

namespace {

struct Layer {
    h5ser::tensor<float, 2> kernel;
    h5ser::tensor<float, 1> bias;
};

struct Model {
    h5ser::tensor<float, 2> embedding;
    std::vector<Layer> layers;
};

constexpr std::size_t columns = 1024;

void raw_save(const std::string& path, const h5ser::tensor<float, 2>& local, std::size_t rows, std::size_t offset) {
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fapl_mpio(fapl, MPI_COMM_WORLD, MPI_INFO_NULL);
    H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST);
    H5Pset_alignment(fapl, 1 << 20, 4096);
    hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    const hsize_t dims[2] = {rows, columns};
    hid_t space = H5Screate_simple(2, dims, nullptr);
    hid_t dataset = H5Dcreate2(file, "embedding", H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    const hsize_t start[2] = {offset, 0};
    const hsize_t count[2] = {local.shape()[0], columns};
    H5Sselect_hyperslab(space, H5S_SELECT_SET, start, nullptr, count, nullptr);
    hid_t memory = H5Screate_simple(2, count, nullptr);
    hid_t dxpl = H5Pcreate(H5P_DATASET_XFER);
    H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE);
    if (H5Dwrite(dataset, H5T_NATIVE_FLOAT, memory, space, dxpl, local.data()) < 0) std::abort();
    H5Fflush(file, H5F_SCOPE_GLOBAL);
    H5Pclose(dxpl);
    H5Sclose(memory);
    H5Sclose(space);
    H5Dclose(dataset);
    H5Fclose(file);
    H5Pclose(fapl);
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (rank == 0) {
        const int fd = ::open(path.c_str(), O_RDONLY);
        ::fsync(fd);
        ::close(fd);
    }
}

h5ser::tensor<float, 2> raw_load(const std::string& path, std::size_t offset, std::size_t count) {
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fapl_mpio(fapl, MPI_COMM_WORLD, MPI_INFO_NULL);
    hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl);
    hid_t dataset = H5Dopen2(file, "embedding", H5P_DEFAULT);
    hid_t space = H5Dget_space(dataset);
    const hsize_t start[2] = {offset, 0};
    const hsize_t counts[2] = {count, columns};
    H5Sselect_hyperslab(space, H5S_SELECT_SET, start, nullptr, counts, nullptr);
    hid_t memory = H5Screate_simple(2, counts, nullptr);
    hid_t dxpl = H5Pcreate(H5P_DATASET_XFER);
    H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE);
    h5ser::tensor<float, 2> out({count, columns}, h5ser::uninitialized);
    if (H5Dread(dataset, H5T_NATIVE_FLOAT, memory, space, dxpl, out.data()) < 0) std::abort();
    H5Pclose(dxpl);
    H5Sclose(memory);
    H5Sclose(space);
    H5Dclose(dataset);
    H5Fclose(file);
    H5Pclose(fapl);
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    MPI_Init(&argc, &argv);
    int rank = 0;
    int ranks = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &ranks);
    const std::size_t mib = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 1024;
    const int reps = argc > 2 ? std::atoi(argv[2]) : 5;
    const std::filesystem::path dir = argc > 3 ? argv[3] : ".";
    const std::string h5ser_file = (dir / "bench_mpi_h5ser.h5").string();
    const std::string raw_file = (dir / "bench_mpi_raw.h5").string();

    const std::size_t rows = mib * (std::size_t{1} << 20) / sizeof(float) / columns;
    const std::size_t offset = rank * (rows / ranks) + std::min<std::size_t>(rank, rows % ranks);
    const std::size_t count = rows / ranks + (static_cast<std::size_t>(rank) < rows % ranks ? 1 : 0);
    Model model;
    model.embedding = h5ser::tensor<float, 2>({count, columns}, h5ser::uninitialized);
    for (std::size_t i = 0; i < model.embedding.size(); ++i)
        model.embedding.data()[i] = static_cast<float>((offset * columns + i) % 1000003);
    for (int i = 0; i < 100; ++i) model.layers.push_back({h5ser::tensor<float, 2>({64, 64}), h5ser::tensor<float, 1>({64})});
    const h5ser::mpi::sharding shards{{"embedding", h5ser::mpi::shard::split(0)}};

    const auto collective = [](std::function<void()> f) {
        return [f = std::move(f)] {
            MPI_Barrier(MPI_COMM_WORLD);
            f();
            MPI_Barrier(MPI_COMM_WORLD);
        };
    };
    const auto settle = [&] {
        if (rank == 0) ::sync();
        MPI_Barrier(MPI_COMM_WORLD);
    };
    const std::vector<bench::row> saves = bench::interleaved_medians(
        reps,
        {{"raw parallel HDF5: collective write + flush + fsync", collective([&] { raw_save(raw_file, model.embedding, rows, offset); })},
         {"h5ser::mpi::save (split rows; checksums, seal, rename)",
          collective([&] { h5ser::mpi::save(model, h5ser_file, MPI_COMM_WORLD, shards); })}},
        settle);
    const std::vector<bench::row> loads = bench::interleaved_medians(
        reps,
        {{"raw parallel HDF5: collective read of the slice", collective([&] { (void)raw_load(raw_file, offset, count); })},
         {"h5ser::mpi::load (split rows; checksums verified)",
          collective([&] { (void)h5ser::mpi::load<Model>(h5ser_file, MPI_COMM_WORLD, shards); })}},
        settle);
    const Model loaded = h5ser::mpi::load<Model>(h5ser_file, MPI_COMM_WORLD, shards);
    const bool same = std::memcmp(loaded.embedding.data(), model.embedding.data(), model.embedding.size_bytes()) == 0;
    if (rank == 0) {
        const double bytes = static_cast<double>(rows) * columns * sizeof(float);
        std::printf(
            "bench_mpi: %zu MiB float32 [%zu, %zu] split by rows over %d rank(s), + 100 replicated 64x64 layers; "
            "median of %d interleaved rounds\n",
            mib, rows, columns, ranks, reps);
        bench::print("save (all ranks, durable)", saves, bytes, saves[0]);
        bench::print("load (each rank its rows)", loads, bytes, loads[0]);
        std::printf("\nloaded slices equal the saved ones: %s\n", same ? "yes" : "NO");
        std::filesystem::remove(h5ser_file);
        std::filesystem::remove(raw_file);
    }
    MPI_Finalize();
    return same ? 0 : 1;
}
