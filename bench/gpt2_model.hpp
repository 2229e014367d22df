// The GPT-2-small-shaped model of the benchmarks (148 float32 tensors, 124,439,808 parameters,
// 498 MB with the default shape), filled with reproducible pseudo-random values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include <h5ser/h5ser.hpp>

namespace bench::gpt2 {

struct Linear {
    h5ser::tensor<float, 2> weight;
    h5ser::tensor<float, 1> bias;
};
struct LayerNorm {
    h5ser::tensor<float, 1> weight;
    h5ser::tensor<float, 1> bias;
};
struct Attention {
    Linear c_attn;
    Linear c_proj;
};
struct Mlp {
    Linear c_fc;
    Linear c_proj;
};
struct Block {
    LayerNorm ln_1;
    Attention attn;
    LayerNorm ln_2;
    Mlp mlp;
};
struct Gpt2 {
    h5ser::tensor<float, 2> wte;
    h5ser::tensor<float, 2> wpe;
    std::vector<Block> h;
    LayerNorm ln_f;
};

struct shape {
    std::size_t vocab = 50257, context = 1024, width = 768, layers = 12;
};

inline h5ser::tensor<float, 2> filled(std::size_t rows, std::size_t cols, std::uint32_t seed) {
    h5ser::tensor<float, 2> t({rows, cols}, h5ser::uninitialized);
    std::uint32_t x = seed * 2654435761u + 1;
    for (float& v : t) {
        x = x * 1664525u + 1013904223u;
        v = static_cast<float>(x >> 8) * (1.0f / 16777216.0f) - 0.5f;
    }
    return t;
}
inline h5ser::tensor<float, 1> filled(std::size_t n, std::uint32_t seed) {
    auto t2 = filled(1, n, seed);
    h5ser::tensor<float, 1> t({n}, h5ser::uninitialized);
    std::memcpy(t.data(), t2.data(), n * sizeof(float));
    return t;
}

inline Gpt2 make_model(const shape& s) {
    std::uint32_t seed = 1;
    const auto linear = [&](std::size_t in, std::size_t out) { return Linear{filled(in, out, seed++), filled(out, seed++)}; };
    const auto norm = [&] { return LayerNorm{filled(s.width, seed++), filled(s.width, seed++)}; };
    Gpt2 m{filled(s.vocab, s.width, seed++), filled(s.context, s.width, seed++), {}, {}};
    for (std::size_t i = 0; i < s.layers; ++i) {
        Block b;
        b.ln_1 = norm();
        b.attn = {linear(s.width, 3 * s.width), linear(s.width, s.width)};
        b.ln_2 = norm();
        b.mlp = {linear(s.width, 4 * s.width), linear(4 * s.width, s.width)};
        m.h.push_back(std::move(b));
    }
    m.ln_f = norm();
    return m;
}

}  // namespace bench::gpt2
