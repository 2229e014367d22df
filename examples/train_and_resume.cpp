// train_and_resume: the flagship example.
//
// A small MLP trained with Adam, in plain C++, on synthetic data. It saves a weights-only
// checkpoint every epoch, in the background (h5ser::save_async), and a full model (weights,
// hyperparameters, optimizer state) halfway.
// Then it shows that
//   (a) training N epochs straight, and
//   (b) training N/2 epochs, saving the full model, loading it into a fresh model and training
//       N/2 more
// end in bit-identical weights: the optimizer state round-trips exactly. Resuming from the
// weights-only checkpoint instead (a fresh optimizer) ends elsewhere, which is why full-model
// files carry the optimizer state. Exits non-zero if (b) is not bit-identical to (a).
#include <h5ser/h5ser.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

// ---- the model: plain structs ------------------------------------------------------------------

struct Dense {
    h5ser::tensor<float, 2> kernel;  // (inputs, units)
    h5ser::tensor<float, 1> bias;    // (units)
    int units = 0;
    std::string activation;  // "tanh" or "linear"
};

struct AdamSlots {  // first and second moments, one pair per weight tensor
    h5ser::tensor<float, 2> m_kernel, v_kernel;
    h5ser::tensor<float, 1> m_bias, v_bias;
};

struct Adam {
    std::int64_t step = 0;
    float learning_rate = 0.01f;
    float beta_1 = 0.9f;
    float beta_2 = 0.999f;
    float epsilon = 1e-7f;
    std::vector<AdamSlots> slots;  // one per layer
};

struct TrainingConfig {
    int batch_size = 32;
    int epochs_done = 0;
    std::uint64_t shuffle_seed = 7;
};

struct Mlp {
    Dense hidden;
    Dense output;
    TrainingConfig config;
    h5ser::optimizer_state<Adam> adam;  // stored in full-model files, skipped in weights-only ones
};

// ---- plain C++ training ------------------------------------------------------------------------

constexpr std::size_t n_inputs = 4, n_hidden = 16, n_samples = 512;

struct Dataset {
    h5ser::tensor<float, 2> x{{n_samples, n_inputs}};
    h5ser::tensor<float, 1> y{{n_samples}};
};

Dataset make_data() {
    Dataset d;
    std::mt19937 rng(1234);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    for (std::size_t i = 0; i < n_samples; ++i) {
        for (std::size_t j = 0; j < n_inputs; ++j) d.x(i, j) = u(rng);
        d.y(i) = std::sin(2.0f * d.x(i, 0)) + d.x(i, 1) * d.x(i, 2) - 0.5f * d.x(i, 3);
    }
    return d;
}

Dense make_dense(std::size_t in, std::size_t out, const char* activation, std::mt19937& rng) {
    Dense l{h5ser::tensor<float, 2>({in, out}), h5ser::tensor<float, 1>({out}), static_cast<int>(out), activation};
    std::normal_distribution<float> n(0.0f, 1.0f / std::sqrt(static_cast<float>(in)));
    for (float& w : l.kernel) w = n(rng);
    return l;
}

AdamSlots make_slots(const Dense& l) {
    return {h5ser::tensor<float, 2>(l.kernel.shape()), h5ser::tensor<float, 2>(l.kernel.shape()), h5ser::tensor<float, 1>(l.bias.shape()),
            h5ser::tensor<float, 1>(l.bias.shape())};
}

Mlp make_model() {
    std::mt19937 rng(42);
    Mlp m;
    m.hidden = make_dense(n_inputs, n_hidden, "tanh", rng);
    m.output = make_dense(n_hidden, 1, "linear", rng);
    m.adam->slots = {make_slots(m.hidden), make_slots(m.output)};
    return m;
}

template <std::size_t R>
void adam_update(h5ser::tensor<float, R>& w, const h5ser::tensor<float, R>& g, h5ser::tensor<float, R>& m, h5ser::tensor<float, R>& v,
                 const Adam& opt) {
    const auto t = static_cast<float>(opt.step);
    const float correction_1 = 1.0f - std::pow(opt.beta_1, t);
    const float correction_2 = 1.0f - std::pow(opt.beta_2, t);
    for (std::size_t i = 0; i < w.size(); ++i) {
        m.data()[i] = opt.beta_1 * m.data()[i] + (1.0f - opt.beta_1) * g.data()[i];
        v.data()[i] = opt.beta_2 * v.data()[i] + (1.0f - opt.beta_2) * g.data()[i] * g.data()[i];
        const float m_hat = m.data()[i] / correction_1;
        const float v_hat = v.data()[i] / correction_2;
        w.data()[i] -= opt.learning_rate * m_hat / (std::sqrt(v_hat) + opt.epsilon);
    }
}

// One epoch of mini-batch Adam; returns the mean squared error over the epoch.
float train_epoch(Mlp& m, const Dataset& d) {
    std::vector<std::size_t> order(n_samples);
    for (std::size_t i = 0; i < n_samples; ++i) order[i] = i;
    std::shuffle(order.begin(), order.end(), std::mt19937_64(m.config.shuffle_seed + static_cast<std::uint64_t>(m.config.epochs_done)));

    const auto batch = static_cast<std::size_t>(m.config.batch_size);
    double loss_sum = 0;
    for (std::size_t start = 0; start < n_samples; start += batch) {
        const std::size_t count = std::min(batch, n_samples - start);
        h5ser::tensor<float, 2> g_k1(m.hidden.kernel.shape()), g_k2(m.output.kernel.shape());
        h5ser::tensor<float, 1> g_b1(m.hidden.bias.shape()), g_b2(m.output.bias.shape());
        for (std::size_t s = start; s < start + count; ++s) {
            const std::size_t i = order[s];
            float h[n_hidden];
            float out = m.output.bias(0);
            for (std::size_t u = 0; u < n_hidden; ++u) {
                float z = m.hidden.bias(u);
                for (std::size_t j = 0; j < n_inputs; ++j) z += d.x(i, j) * m.hidden.kernel(j, u);
                h[u] = std::tanh(z);
                out += h[u] * m.output.kernel(u, 0);
            }
            const float err = out - d.y(i);
            loss_sum += static_cast<double>(err) * err;
            const float d_out = 2.0f * err / static_cast<float>(count);
            g_b2(0) += d_out;
            for (std::size_t u = 0; u < n_hidden; ++u) {
                g_k2(u, 0) += d_out * h[u];
                const float d_z = d_out * m.output.kernel(u, 0) * (1.0f - h[u] * h[u]);
                g_b1(u) += d_z;
                for (std::size_t j = 0; j < n_inputs; ++j) g_k1(j, u) += d_z * d.x(i, j);
            }
        }
        Adam& opt = *m.adam;
        ++opt.step;
        adam_update(m.hidden.kernel, g_k1, opt.slots[0].m_kernel, opt.slots[0].v_kernel, opt);
        adam_update(m.hidden.bias, g_b1, opt.slots[0].m_bias, opt.slots[0].v_bias, opt);
        adam_update(m.output.kernel, g_k2, opt.slots[1].m_kernel, opt.slots[1].v_kernel, opt);
        adam_update(m.output.bias, g_b2, opt.slots[1].m_bias, opt.slots[1].v_bias, opt);
    }
    ++m.config.epochs_done;
    return static_cast<float>(loss_sum / n_samples);
}

template <std::size_t R>
bool same_bits(const h5ser::tensor<float, R>& a, const h5ser::tensor<float, R>& b) {
    return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), a.size_bytes()) == 0;
}
bool same_weights(const Mlp& a, const Mlp& b) {
    return same_bits(a.hidden.kernel, b.hidden.kernel) && same_bits(a.hidden.bias, b.hidden.bias) &&
           same_bits(a.output.kernel, b.output.kernel) && same_bits(a.output.bias, b.output.bias);
}

int main() {
    constexpr int epochs = 8;
    const std::filesystem::path dir = "train_and_resume_out";
    std::filesystem::create_directories(dir / "checkpoints");
    const Dataset data = make_data();

    std::printf("(a) %d epochs straight, a weights-only checkpoint after each, written in the background\n", epochs);
    Mlp straight = make_model();
    h5ser::pending_save checkpoint;
    const auto seconds_since = [](std::chrono::steady_clock::time_point t0) {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    };
    std::vector<double> epoch_times, waits, snapshots;
    for (int e = 0; e < epochs; ++e) {
        auto t0 = std::chrono::steady_clock::now();
        const float loss = train_epoch(straight, data);
        epoch_times.push_back(seconds_since(t0));
        char name[64];
        std::snprintf(name, sizeof name, "epoch-%02d.weights.h5", straight.config.epochs_done);
        t0 = std::chrono::steady_clock::now();
        checkpoint.wait();  // save_async would wait for the previous checkpoint too: timed apart here
        waits.push_back(seconds_since(t0));
        t0 = std::chrono::steady_clock::now();
        // Returns once the weights are copied; the next epoch trains while the file is written.
        checkpoint = h5ser::save_async<h5ser::weights_only>(straight, (dir / "checkpoints" / name).string());
        snapshots.push_back(seconds_since(t0));
        std::printf("    epoch %d  loss %.6f  -> checkpoints/%s\n", straight.config.epochs_done, loss, name);
    }
    checkpoint.wait();  // the last checkpoint is on disk
    const auto t0 = std::chrono::steady_clock::now();
    h5ser::save<h5ser::weights_only>(straight, (dir / "checkpoints" / "synchronous.weights.h5").string());
    const double synchronous = seconds_since(t0);
    const auto median_ms = [](std::vector<double> v) {
        std::sort(v.begin(), v.end());
        return 1e3 * v[v.size() / 2];
    };
    std::printf(
        "    per checkpoint (medians): save_async blocked training %.3f ms; a synchronous save takes %.3f ms.\n"
        "    An epoch here takes %.3f ms, so training also waited %.3f ms for the previous checkpoint.\n",
        median_ms(snapshots), 1e3 * synchronous, median_ms(epoch_times), median_ms(waits));

    std::printf("(b) %d epochs, save the full model, load it into a fresh model, %d more\n", epochs / 2, epochs / 2);
    const std::string half_path = (dir / "mlp_half.h5").string();
    {
        Mlp first_half = make_model();
        for (int e = 0; e < epochs / 2; ++e) std::printf("    epoch %d  loss %.6f\n", e + 1, train_epoch(first_half, data));
        h5ser::save(first_half, half_path);
    }  // the first half's model is gone: only the file remains
    Mlp resumed = h5ser::load<Mlp>(half_path);
    for (int e = epochs / 2; e < epochs; ++e) std::printf("    epoch %d  loss %.6f  (resumed)\n", e + 1, train_epoch(resumed, data));

    std::printf("(c) resume from the weights-only checkpoint of epoch %d with a fresh optimizer\n", epochs / 2);
    Mlp fresh_optimizer = make_model();
    char half_ckpt[64];
    std::snprintf(half_ckpt, sizeof half_ckpt, "epoch-%02d.weights.h5", epochs / 2);
    h5ser::load_into(fresh_optimizer, (dir / "checkpoints" / half_ckpt).string());
    fresh_optimizer.config.epochs_done = epochs / 2;
    for (int e = epochs / 2; e < epochs; ++e) train_epoch(fresh_optimizer, data);

    const std::string final_path = (dir / "mlp_final.h5").string();
    h5ser::save(resumed, final_path);
    std::printf("\nFile tree of %s:\n%s\n", final_path.c_str(), h5ser::to_string(h5ser::inspect(final_path)).c_str());

    const bool resumed_identical = same_weights(straight, resumed);
    const bool fresh_identical = same_weights(straight, fresh_optimizer);
    std::printf("(a) vs (b), full model with optimizer state: %s\n", resumed_identical ? "bit-identical" : "DIFFERENT");
    std::printf("(a) vs (c), weights only, fresh optimizer:     %s\n", fresh_identical ? "bit-identical" : "different (as expected)");
    return resumed_identical && !fresh_identical ? 0 : 1;
}
