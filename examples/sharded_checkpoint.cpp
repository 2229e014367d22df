// A model too large for one process: each MPI rank holds a slice of the embedding table and of
// the output layer. All ranks write one checkpoint together; it is loaded back on the same ranks
// with another split, and read whole by the serial h5ser::load, as any h5ser file.
//
//     mpirun -np 2 build/gcc/examples/sharded_checkpoint
#include <mpi.h>

#include <cstdio>
#include <cstring>
#include <string>

#include <h5ser/mpi.hpp>

struct Dense {
    h5ser::tensor<float, 2> kernel;
    h5ser::tensor<float, 1> bias;
};

struct LanguageModel {
    h5ser::tensor<float, 2> embedding;  // vocabulary x width: rows split across the ranks
    Dense output;                       // width x vocabulary: columns split across the ranks
    int vocabulary = 0;                 // hyperparameters: the same on every rank
    int width = 0;
};

int main(int argc, char** argv) {
    MPI_Init(&argc, &argv);
    int rank = 0;
    int ranks = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &ranks);
    const std::size_t vocabulary = 10000;
    const std::size_t width = 128;
    // This rank's block of the vocabulary (the first ranks take one more when it does not divide).
    const std::size_t first = rank * (vocabulary / ranks) + std::min<std::size_t>(rank, vocabulary % ranks);
    const std::size_t count = vocabulary / ranks + (static_cast<std::size_t>(rank) < vocabulary % ranks ? 1 : 0);

    LanguageModel model;
    model.vocabulary = static_cast<int>(vocabulary);
    model.width = static_cast<int>(width);
    model.embedding = h5ser::tensor<float, 2>({count, width});
    model.output.kernel = h5ser::tensor<float, 2>({width, count});
    model.output.bias = h5ser::tensor<float, 1>({width});  // replicated: every rank holds all of it
    for (std::size_t i = 0; i < count; ++i)
        for (std::size_t j = 0; j < width; ++j) {
            model.embedding(i, j) = static_cast<float>(first + i) + static_cast<float>(j) / 1000.0f;
            model.output.kernel(j, i) = -static_cast<float>(first + i);
        }

    const std::string path = "sharded_checkpoint.h5";
    int status = 0;
    try {
        // Every rank passes its slices; the file holds the whole tensors.
        const h5ser::mpi::sharding shards{{"embedding", h5ser::mpi::shard::split(0)}, {"output.kernel", h5ser::mpi::shard::split(1)}};
        h5ser::mpi::save(model, path, MPI_COMM_WORLD, shards);

        // Loaded with another split: now each rank takes a block of the embedding's columns.
        const auto columns = h5ser::mpi::load<LanguageModel>(path, MPI_COMM_WORLD, {{"embedding", h5ser::mpi::shard::split(1)}});
        std::printf("rank %d of %d: saved embedding rows [%zu, %zu), loaded embedding [%zu x %zu], output kernel [%zu x %zu]\n", rank,
                    ranks, first, first + count, columns.embedding.shape()[0], columns.embedding.shape()[1],
                    columns.output.kernel.shape()[0], columns.output.kernel.shape()[1]);

        MPI_Barrier(MPI_COMM_WORLD);
        if (rank == 0) {
            // Any h5ser file: the serial loader reads the whole model, checksums and fingerprint checked.
            const auto whole = h5ser::load<LanguageModel>(path);
            const bool rows_ok = whole.embedding(vocabulary - 1, 5) == static_cast<float>(vocabulary - 1) + 0.005f;
            const bool columns_ok = whole.output.kernel(3, vocabulary - 1) == -static_cast<float>(vocabulary - 1);
            std::printf("serial load: embedding [%zu x %zu], fingerprint %s, last row %s, last column %s\n", whole.embedding.shape()[0],
                        whole.embedding.shape()[1], h5ser::file_fingerprint(path).c_str(), rows_ok ? "ok" : "WRONG",
                        columns_ok ? "ok" : "WRONG");
            status = rows_ok && columns_ok ? 0 : 1;
        }
    } catch (const h5ser::error& e) {
        std::fprintf(stderr, "rank %d: %s\n", rank, e.what());
        status = 1;
    }
    MPI_Bcast(&status, 1, MPI_INT, 0, MPI_COMM_WORLD);
    MPI_Finalize();
    return status;
}
