// Writes the files the CLI golden tests run on, with deterministic contents:
//   model.h5          full model: layers, hyperparameters, a compressed embedding, Adam state
//   model_changed.h5  the same with one weight changed by 1e-3
//   weights.h5        weights only
//   leaky.h5          a model that also saved its training set (and a huge "notes" attribute)
//     cli_make_files OUTDIR
#include <h5ser/h5ser.hpp>

#include <cstdio>
#include <string>

// A named namespace: GCC and Clang spell anonymous namespaces differently in type names, which the
// schema golden output shows.
namespace cli_files {

struct Dense {
    h5ser::tensor<float, 2> kernel;
    h5ser::tensor<float, 1> bias;
    int units = 0;
    std::string activation = "relu";
};
struct AdamState {
    std::int64_t step = 0;
    h5ser::tensor<float, 2> m_kernel, v_kernel;
};
struct Model {
    h5ser::stored<h5ser::tensor<float, 2>, h5ser::shuffle, h5ser::deflate<4>> embedding;
    Dense encoder;  // 64 x 64 kernel: 16 KiB, stored contiguous
    Dense head;     // 64 x 10 kernel: small, stored compact
    int epochs = 3;
    h5ser::optimizer_state<AdamState> adam;
};

h5ser::tensor<float, 2> filled(std::size_t rows, std::size_t cols, float scale) {
    h5ser::tensor<float, 2> t({rows, cols});
    for (std::size_t i = 0; i < rows; ++i)
        for (std::size_t j = 0; j < cols; ++j) t(i, j) = scale * static_cast<float>((i * 31 + j * 17) % 97) / 97.0f;
    return t;
}

struct LeakyModel {
    Dense classifier;
    h5ser::tensor<float, 2> x_train;  // 1,000 MNIST-sized samples: should never ship with the weights
    std::string notes;
};

}  // namespace cli_files

using namespace cli_files;

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: cli_make_files OUTDIR\n");
        return 2;
    }
    const std::string dir = argv[1];
    Model m;
    m.embedding.value = h5ser::tensor<float, 2>({256, 32});
    for (std::size_t i = 0; i < 256; ++i)
        for (std::size_t j = 0; j < 32; ++j) m.embedding.value(i, j) = static_cast<float>((i % 8) * 0.25);  // compressible
    m.encoder = {filled(64, 64, 0.5f), h5ser::tensor<float, 1>({64}), 64, "relu"};
    for (std::size_t i = 0; i < 64; ++i) m.encoder.bias(i) = 0.01f * static_cast<float>(i);
    m.head = {filled(64, 10, 0.1f), h5ser::tensor<float, 1>({10}), 10, "softmax"};
    for (std::size_t i = 0; i < 10; ++i) m.head.bias(i) = 0.0f;
    m.adam.value = {42, filled(64, 64, 0.001f), filled(64, 64, 0.0001f)};
    h5ser::save(m, dir + "/model.h5");
    h5ser::save<h5ser::weights_only>(m, dir + "/weights.h5");
    m.encoder.kernel(3, 7) += 1e-3f;
    h5ser::save(m, dir + "/model_changed.h5");
    LeakyModel leaky{{filled(784, 10, 0.1f), h5ser::tensor<float, 1>({10}), 10, "softmax"}, filled(1000, 784, 1.0f), std::string(100000, 'n')};
    for (std::size_t i = 0; i < 10; ++i) leaky.classifier.bias(i) = 0.0f;
    h5ser::save(leaky, dir + "/leaky.h5");
    return 0;
}
