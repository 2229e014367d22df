// Writes the files the CLI golden tests run on, with deterministic contents:
//   model.h5          full model: layers, hyperparameters, a compressed embedding, Adam state
//   model_changed.h5  the same with one weight changed by 1e-3
//   model_later_step.h5  the same tensors, a later epoch and optimizer step (attributes differ)
//   weights.h5        weights only
//   leaky.h5          a model that also saved its training set (and a huge "notes" attribute)
//   model_v1.h5, model_v2.h5  one model at two versions of its layer struct (float64 kernels, then
//                     float32, a hyperparameter renamed): what `h5ser check` says of the older
//     cli_make_files OUTDIR
//     cli_make_files --load-converted FILE   loads `h5ser convert k2.3.1_mlp_sparse_xent.h5` output into a struct
//     cli_make_files --load-model A B        loads both as Model (strict, verified) and compares them
//     cli_make_files --load-gpt H5 ST        loads `h5ser convert dotted_names.safetensors` output and
//                                            its conversion back into a GPT-2-style struct, compares them
//     cli_make_files --weights-from ST H5    loads Model's weights from ST (converted from H5) into the
//                                            Model H5 holds, compares with H5's
//     cli_make_files --metadata ST           prints the __metadata__ of a .safetensors file
#include <h5ser/h5ser.hpp>

#include "../safetensors/gpt.hpp"

#include <cstdio>
#include <string>
#include <vector>

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

// One model at two versions: version 2 of the layer keeps float32 kernels of another width and
// calls `units` `width`.
namespace v1 {
struct Layer {
    h5ser::tensor<double, 2> kernel;
    int units = 4;
};
struct Model {
    std::vector<Layer> layers;
};
}  // namespace v1
namespace v2 {
struct Layer {
    h5ser::tensor<float, 2> kernel;
    int width = 4;
};
struct Model {
    std::vector<Layer> layers;
};
}  // namespace v2
}  // namespace cli_files

template <>
struct h5ser::evolution<cli_files::v2::Layer> {
    static constexpr int version = 2;
};

using namespace cli_files;

int main(int argc, char** argv) {
    if (argc == 3 && std::string(argv[1]) == "--load-converted") {
        struct Kernel {  // Keras's Dense layer "dense_1", converted: /dense_1/kernel, /dense_1/bias
            h5ser::tensor<float, 2> kernel;
            h5ser::tensor<float, 1> bias;
        };
        struct Converted {
            Kernel dense_1;
        } m;
        h5ser::load_into<h5ser::weights_only>(m, argv[2]);  // strict and verified: checksums and fingerprint
        std::printf("loaded dense_1.kernel [%zu, %zu], dense_1.bias [%zu]; fingerprint %s matches the file\n", m.dense_1.kernel.shape()[0],
                    m.dense_1.kernel.shape()[1], m.dense_1.bias.shape()[0], h5ser::fingerprint<h5ser::weights_only>(m).c_str());
        return h5ser::fingerprint<h5ser::weights_only>(m) == h5ser::file_fingerprint(argv[2]) ? 0 : 1;
    }
    if (argc == 4 && std::string(argv[1]) == "--load-gpt") {
        using test_gpt::Gpt;
        const auto from_h5 = h5ser::load<Gpt>(argv[2]);  // strict and verified
        const auto from_st = h5ser::load<Gpt>(argv[3]);  // strict, its fingerprint checked
        const bool same = h5ser::fingerprint(from_h5) == h5ser::fingerprint(from_st);
        std::printf("both load as Gpt: %zu blocks, wte.weight [%zu, %zu]; fingerprints %s\n", from_h5.h.size(),
                    from_h5.wte.weight.shape()[0], from_h5.wte.weight.shape()[1], same ? "equal" : "DIFFERENT");
        return same ? 0 : 1;
    }
    if (argc == 4 && std::string(argv[1]) == "--weights-from") {
        auto m = h5ser::load<Model>(argv[3]);
        const auto saved = h5ser::fingerprint<h5ser::weights_only>(m);
        m.encoder.kernel = h5ser::tensor<float, 2>();
        h5ser::load_into<h5ser::weights_only>(m, argv[2]);
        const bool same = h5ser::fingerprint<h5ser::weights_only>(m) == saved;
        std::printf("Model's weights load from the .safetensors file; epochs still %d; weights %s the .h5 file's\n", m.epochs,
                    same ? "equal" : "DIFFER FROM");
        return same ? 0 : 1;
    }
    if (argc == 3 && std::string(argv[1]) == "--metadata") {
        const auto header = h5ser::detail::safetensors::header_if_safetensors(std::string(argv[2]));
        if (!header) return std::puts("not a .safetensors file"), 1;
        for (const auto& [key, value] : header->metadata) std::printf("%s = %s\n", key.c_str(), value.c_str());
        return 0;
    }
    if (argc == 4 && std::string(argv[1]) == "--load-model") {
        const auto a = h5ser::load<Model>(argv[2]);
        const auto b = h5ser::load<Model>(argv[3]);
        const bool same = h5ser::fingerprint(a) == h5ser::fingerprint(b) && a.encoder.activation == b.encoder.activation &&
                          a.epochs == b.epochs && a.adam.value.step == b.adam.value.step;
        std::printf("both load as Model; %s\n", same ? "same tensors, hyperparameters and optimizer state" : "DIFFERENT");
        return same ? 0 : 1;
    }
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
    // The same tensors a step later: only attributes differ.
    m.epochs = 4;
    m.adam.value.step = 43;
    h5ser::save(m, dir + "/model_later_step.h5");
    m.epochs = 3;
    m.adam.value.step = 42;
    h5ser::save<h5ser::weights_only>(m, dir + "/weights.h5");
    m.encoder.kernel(3, 7) += 1e-3f;
    h5ser::save(m, dir + "/model_changed.h5");
    LeakyModel leaky{
        {filled(784, 10, 0.1f), h5ser::tensor<float, 1>({10}), 10, "softmax"}, filled(1000, 784, 1.0f), std::string(100000, 'n')};
    for (std::size_t i = 0; i < 10; ++i) leaky.classifier.bias(i) = 0.0f;
    h5ser::save(leaky, dir + "/leaky.h5");
    v1::Model old_model{{{h5ser::tensor<double, 2>({2, 3}), 3}, {h5ser::tensor<double, 2>({3, 3}), 3}}};
    h5ser::save(old_model, dir + "/model_v1.h5");
    v2::Model new_model{{{h5ser::tensor<float, 2>({2, 4}), 4}, {h5ser::tensor<float, 2>({4, 4}), 4}}};
    h5ser::save(new_model, dir + "/model_v2.h5");
    return 0;
}
