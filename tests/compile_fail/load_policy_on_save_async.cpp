// expect: saves (save, save_async, checkpoint saves, fingerprint, mpi::save) take h5ser::full_model or h5ser::weights_only and storage policies
#include <h5ser/h5ser.hpp>
struct Model {
    h5ser::tensor<float, 1> w;
};
int main() { h5ser::save_async<h5ser::weights_only, h5ser::owned_memory>(Model{}, "m.h5").wait(); }
