#include <h5ser/mpi.hpp>

struct Model {
    h5ser::tensor<float, 1> w;
};

// Run as one rank (MPI's singleton mode, no mpirun): the sharded save and load of one rank.
int main(int argc, char** argv) {
    MPI_Init(&argc, &argv);
    int status = 1;
    {
        h5ser::mpi::save(Model{h5ser::tensor<float, 1>({2}, {1, 2})}, argv[1], MPI_COMM_WORLD, {});
        const auto m = h5ser::mpi::load<Model>(argv[1], MPI_COMM_WORLD, {});
        status = m.w(1) == 2.0f ? 0 : 1;
    }
    MPI_Finalize();
    return status;
}
