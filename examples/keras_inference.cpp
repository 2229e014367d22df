// Inference in plain C++ with weights trained in Keras.
//
// Loads two real Keras files into structs with h5ser::keras::load_weights, runs their forward passes
// (Dense, softmax, LSTM) and compares with the predictions Keras itself stored next to them:
//   - k2.3.1_mlp_sparse_xent.h5: Dense(4 -> 3) + softmax (Keras 2.3.1)
//   - k1.2.2_lstm_theano.h5:     LSTM(50) + Dense(1), Keras 1.2.2 with the Theano backend, whose
//     LSTM keeps one tensor per gate. The example also repacks them into the fused Keras 2 layout
//     (kernel (in, 4u), gates i, f, c, o) and checks that both layouts predict the same.
//
//     keras_inference FIXTURES_DIR      (the folder holding keras/ from the project's shared notes)
// Exits 0 when every prediction is within 1e-5 of Keras's, 1 otherwise, 77 when the files are absent.
#include <h5ser/h5ser.hpp>
#include <h5ser/keras.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

namespace {

using vec = std::vector<float>;
template <std::size_t R>
using tensor = h5ser::tensor<float, R>;

// ---- the model structs: one field per Keras layer with weights ----------------------------------

struct Dense {
    tensor<2> kernel;  // (in, out)
    tensor<1> bias;
};
struct SoftmaxClassifier {  // Dense then a weightless Activation("softmax") layer
    Dense dense_1;
};

struct Keras1LSTM {  // Keras 1 lists weights per gate in the order i, c, f, o
    tensor<2> W_i, U_i;
    tensor<1> b_i;
    tensor<2> W_c, U_c;
    tensor<1> b_c;
    tensor<2> W_f, U_f;
    tensor<1> b_f;
    tensor<2> W_o, U_o;
    tensor<1> b_o;
};
struct Keras1Dense {
    tensor<2> W;
    tensor<1> b;
};
struct SequenceRegressor {
    Keras1LSTM lstm_1;
    Keras1Dense dense_1;
};

struct LSTM {  // Keras 2+: kernel (in, 4u), recurrent_kernel (u, 4u), bias (4u); gates i, f, c, o
    tensor<2> kernel, recurrent_kernel;
    tensor<1> bias;
};

// ---- layers ---------------------------------------------------------------------------------------

/// x W: a row vector times a (in, out) matrix.
vec matvec(const vec& x, const tensor<2>& w) {
    vec y(w.shape()[1], 0.0f);
    for (std::size_t i = 0; i < w.shape()[0]; ++i)
        for (std::size_t j = 0; j < w.shape()[1]; ++j) y[j] += x[i] * w(i, j);
    return y;
}

vec dense(const tensor<2>& kernel, const tensor<1>& bias, const vec& x) {
    vec y = matvec(x, kernel);
    for (std::size_t j = 0; j < y.size(); ++j) y[j] += bias(j);
    return y;
}

vec softmax(vec z) {
    const float top = *std::max_element(z.begin(), z.end());
    float sum = 0;
    for (float& v : z) sum += (v = std::exp(v - top));
    for (float& v : z) v /= sum;
    return z;
}

float hard_sigmoid(float x) { return std::clamp(0.2f * x + 0.5f, 0.0f, 1.0f); }  // Keras's, with Theano too

/// One LSTM over a sequence (rows of `xs`), fused Keras 2 layout; returns the last hidden state.
vec lstm(const LSTM& w, const std::vector<vec>& xs) {
    const std::size_t units = w.recurrent_kernel.shape()[0];
    vec h(units, 0.0f), c(units, 0.0f);
    for (const vec& x : xs) {
        vec z = dense(w.kernel, w.bias, x);  // (4u): x W + b + h U
        const vec r = matvec(h, w.recurrent_kernel);
        for (std::size_t k = 0; k < z.size(); ++k) z[k] += r[k];
        for (std::size_t u = 0; u < units; ++u) {
            const float i = hard_sigmoid(z[u]);              // input gate
            const float f = hard_sigmoid(z[units + u]);      // forget gate
            const float g = std::tanh(z[2 * units + u]);     // cell candidate
            const float o = hard_sigmoid(z[3 * units + u]);  // output gate
            c[u] = f * c[u] + i * g;
            h[u] = o * std::tanh(c[u]);
        }
    }
    return h;
}

/// The Keras 1 LSTM, gate by gate, exactly as Keras 1.2.2 computed it.
vec lstm(const Keras1LSTM& w, const std::vector<vec>& xs) {
    const std::size_t units = w.U_i.shape()[0];
    vec h(units, 0.0f), c(units, 0.0f);
    for (const vec& x : xs) {
        const auto gate = [&](const tensor<2>& W, const tensor<2>& U, const tensor<1>& b) {
            vec z = dense(W, b, x);
            const vec r = matvec(h, U);
            for (std::size_t k = 0; k < units; ++k) z[k] += r[k];
            return z;
        };
        const vec zi = gate(w.W_i, w.U_i, w.b_i), zf = gate(w.W_f, w.U_f, w.b_f);
        const vec zc = gate(w.W_c, w.U_c, w.b_c), zo = gate(w.W_o, w.U_o, w.b_o);
        for (std::size_t u = 0; u < units; ++u) {
            c[u] = hard_sigmoid(zf[u]) * c[u] + hard_sigmoid(zi[u]) * std::tanh(zc[u]);
            h[u] = hard_sigmoid(zo[u]) * std::tanh(c[u]);
        }
    }
    return h;
}

/// Keras 1's per-gate tensors packed the way Keras 2 stores an LSTM (what Keras's own
/// preprocess_weights_for_loading does when it reads a Keras 1 file).
LSTM to_fused(const Keras1LSTM& w) {
    const std::size_t in = w.W_i.shape()[0], units = w.U_i.shape()[0];
    LSTM out{tensor<2>({in, 4 * units}), tensor<2>({units, 4 * units}), tensor<1>({4 * units})};
    const tensor<2>* W[] = {&w.W_i, &w.W_f, &w.W_c, &w.W_o};  // Keras 2 gate order: i, f, c, o
    const tensor<2>* U[] = {&w.U_i, &w.U_f, &w.U_c, &w.U_o};
    const tensor<1>* b[] = {&w.b_i, &w.b_f, &w.b_c, &w.b_o};
    for (std::size_t g = 0; g < 4; ++g) {
        for (std::size_t u = 0; u < units; ++u) {
            for (std::size_t i = 0; i < in; ++i) out.kernel(i, g * units + u) = (*W[g])(i, u);
            for (std::size_t r = 0; r < units; ++r) out.recurrent_kernel(r, g * units + u) = (*U[g])(r, u);
            out.bias(g * units + u) = (*b[g])(u);
        }
    }
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    const std::filesystem::path fixtures = argc > 1 ? argv[1] : "../shared/fixtures";
    const auto keras = fixtures / "keras";
    if (!std::filesystem::exists(keras / "k2.3.1_mlp_sparse_xent.h5")) {
        std::printf("SKIPPED: the Keras files are not in %s\n", keras.c_str());
        return 77;
    }
    bool ok = true;

    // 1. Dense + softmax (Keras 2.3.1). Input (3, 4): rows are samples.
    SoftmaxClassifier mlp;
    h5ser::keras::load_weights(mlp, (keras / "k2.3.1_mlp_sparse_xent.h5").string());
    {
        auto file = h5ser::data_file::open((keras / "expected/k2.3.1_mlp_sparse_xent.inputs_and_outputs.h5").string(), false);
        const auto inputs = file.rows<float, 1>("inputs/dense_1_input");
        const auto x = inputs.read(0, inputs.size());
        const auto y = file.rows<float, 1>("predictions/activation_1").read(0, inputs.size());
        float error = 0;
        for (std::size_t s = 0; s < inputs.size(); ++s) {
            const vec p = softmax(dense(mlp.dense_1.kernel, mlp.dense_1.bias, vec(&x(s, 0), &x(s, 0) + x.shape()[1])));
            for (std::size_t j = 0; j < p.size(); ++j) error = std::max(error, std::abs(p[j] - y(s, j)));
        }
        std::printf("Dense + softmax (Keras 2.3.1):        max |C++ - Keras| = %.3g over %zu samples\n", static_cast<double>(error),
                    inputs.size());
        ok = ok && error <= 1e-5f;
    }

    // 2. LSTM + Dense (Keras 1.2.2, Theano). Input (100, 1, 1): samples, time steps, features.
    SequenceRegressor rnn;
    h5ser::keras::load_weights(rnn, (keras / "k1.2.2_lstm_theano.h5").string());
    const LSTM fused = to_fused(rnn.lstm_1);
    const std::string reference = (keras / "expected/k1.2.2_lstm_theano.inputs_and_outputs.h5").string();
    const auto steps_of = [](const tensor<3>& x, std::size_t s) {
        std::vector<vec> steps;
        for (std::size_t t = 0; t < x.shape()[1]; ++t) steps.emplace_back(&x(s, t, 0), &x(s, t, 0) + x.shape()[2]);
        return steps;
    };
    auto file = h5ser::data_file::open(reference, false);
    const auto inputs = file.rows<float, 2>("inputs/lstm_input_1");
    const auto x = inputs.read(0, inputs.size());
    const auto y = file.rows<float, 1>("predictions/dense_1").read(0, inputs.size());
    float per_gate_error = 0, fused_error = 0;
    for (std::size_t s = 0; s < inputs.size(); ++s) {
        const vec a = dense(rnn.dense_1.W, rnn.dense_1.b, lstm(rnn.lstm_1, steps_of(x, s)));
        const vec b = dense(rnn.dense_1.W, rnn.dense_1.b, lstm(fused, steps_of(x, s)));
        per_gate_error = std::max(per_gate_error, std::abs(a[0] - y(s, 0)));
        fused_error = std::max(fused_error, std::abs(b[0] - y(s, 0)));
    }
    std::printf("LSTM + Dense (Keras 1.2.2, per gate): max |C++ - Keras| = %.3g over %zu sequences\n", static_cast<double>(per_gate_error),
                inputs.size());
    std::printf("LSTM + Dense (repacked as Keras 2):   max |C++ - Keras| = %.3g\n", static_cast<double>(fused_error));
    ok = ok && per_gate_error <= 1e-5f && fused_error <= 1e-5f;

    std::printf(ok ? "C++ reproduces Keras's predictions\n" : "MISMATCH with Keras's predictions\n");
    return ok ? 0 : 1;
}
