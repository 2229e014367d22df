// Structs matching the real Keras files in ../shared/fixtures/keras (see its README), as a user
// would write them: one field per Keras layer with weights, tensors in Keras's weight order.
#pragma once

#include <h5ser/h5ser.hpp>

#include <array>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

namespace fixtures {

#ifdef H5SER_FIXTURES_DIR
/// The path of real Keras file `name` in H5SER_FIXTURES_DIR/keras, or "" (after printing
/// "SKIPPED:", which CTest reports as a skip) when the fixtures are not there.
inline std::string keras_fixture(const std::string& name) {
    const std::filesystem::path path = std::filesystem::path(H5SER_FIXTURES_DIR) / "keras" / name;
    if (!std::filesystem::exists(path)) {
        std::printf("SKIPPED: Keras fixture %s not found (configure with -DH5SER_FIXTURES_DIR=...)\n", path.c_str());
        return {};
    }
    return path.string();
}
#endif

template <std::size_t R>
using f32 = h5ser::tensor<float, R>;

struct Dense {
    f32<2> kernel;
    f32<1> bias;
};
struct LSTM {  // Keras 2+: gates i, f, c, o side by side in the last dimension
    f32<2> kernel;
    f32<2> recurrent_kernel;
    f32<1> bias;
};
struct Keras1LSTM {  // Keras 1 keeps one tensor per gate, in weight_names order i, c, f, o
    f32<2> W_i, U_i;
    f32<1> b_i;
    f32<2> W_c, U_c;
    f32<1> b_c;
    f32<2> W_f, U_f;
    f32<1> b_f;
    f32<2> W_o, U_o;
    f32<1> b_o;
};
struct Keras1Dense {
    f32<2> W;
    f32<1> b;
};

// k1.2.2_lstm_theano.h5
struct K1LstmModel {
    Keras1LSTM lstm_1;
    Keras1Dense dense_1;
};
// k2.0.6_lstm.h5, k2.0.6_lstm.weights_only.h5
struct LstmModel {
    LSTM lstm_1;
    Dense dense_1;
    int units = 50;  // a hyperparameter: no weights, skipped
};
struct RMSpropState206 {  // Keras 2.0.6 names them Variable:0 ... Variable_4:0
    f32<2> lstm_kernel;
    f32<2> lstm_recurrent_kernel;
    f32<1> lstm_bias;
    f32<2> dense_kernel;
    f32<1> dense_bias;
};
// k2.1.3_bidirectional_lstm.h5
struct Bidirectional {
    LSTM forward;
    LSTM backward;
};
struct BidirectionalModel {
    Bidirectional bidirectional_1;
};
// k2.1.3_embedding_lstm.h5: a layer with a single weight can be a tensor field
struct EmbeddingLstmModel {
    f32<2> embedding_1;
    LSTM lstm_1;
};
// k2.3.1_mlp_sparse_xent.h5 (its softmax Activation layer has no weights)
struct SoftmaxMlp {
    Dense dense_1;
};
// k3.14_legacy_mlp_adam.h5, k3_mlp_adam.weights.h5, k2.15_windows_backslash.keras
struct Mlp3 {
    Dense dense;
    Dense dense_1;
    Dense dense_2;
};
struct AdamSlots {  // Keras 3 (and tf.keras >= 2.11) interleave them per variable
    f32<2> kernel_m, kernel_v;
    f32<1> bias_m, bias_v;
};
struct Adam3State {
    h5ser::tensor<std::int64_t, 0> iteration;
    h5ser::tensor<float, 0> learning_rate;
    std::array<AdamSlots, 3> layers;
};
struct Adam215State {  // Keras 2.15 has no learning-rate variable
    h5ser::tensor<std::int64_t, 0> iteration;
    std::array<AdamSlots, 3> layers;
};
// tfk2.2.4_conv1d_bn_vlen.h5 (its InputLayer has no weights)
struct Conv1D {
    f32<3> kernel;
    f32<1> bias;
};
struct BatchNormalization {
    f32<1> gamma, beta, moving_mean, moving_variance;
};
struct ConvBnModel {
    Conv1D conv1d;
    BatchNormalization batch_normalization;
};

}  // namespace fixtures
