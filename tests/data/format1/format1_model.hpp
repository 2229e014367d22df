// The model of the format-1 files in this folder, written by h5ser 0.1.0 (commit 42cf715, the
// last commit before format 2) with make_format1_files.cpp. Kept as test data: loaders of every
// later version must keep reading them bit for bit.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <h5ser/h5ser.hpp>

namespace format1 {

struct Dense {
    h5ser::tensor<float, 2> kernel;
    h5ser::tensor<float, 1> bias;
    std::int32_t units = 0;
    std::string activation;
};

struct Adam {
    double learning_rate = 0;
    std::int64_t step = 0;
    h5ser::tensor<float, 2> m;
};

struct Model {
    Dense first;
    std::vector<Dense> blocks;
    std::map<std::string, h5ser::tensor<double, 1>> experts;
    std::optional<Dense> head;
    std::optional<Dense> absent;
    h5ser::tensor<float, 2> embedding;  // 8 KiB: contiguous
    h5ser::tensor<std::int8_t, 1> bytes;
    h5ser::tensor<bool, 1> mask;
    h5ser::tensor<h5ser::float16, 2> half;
    h5ser::tensor<h5ser::bfloat16, 1> brain;
    h5ser::tensor<std::uint64_t, 0> counter;
    std::vector<std::string> tags;
    h5ser::stored<h5ser::tensor<float, 2>, h5ser::chunked<16, 16>, h5ser::deflate<4>> compressed;
    h5ser::optimizer_state<Adam> adam;
};

/// Deterministic contents: element i of every tensor is a function of a seed and i.
inline float value(std::uint32_t seed, std::size_t i) {
    std::uint32_t x = seed * 2654435761u + static_cast<std::uint32_t>(i) * 40503u;
    x ^= x >> 13;
    return static_cast<float>(x % 20001) / 1000.0f - 10.0f;
}

template <class T, std::size_t R>
h5ser::tensor<T, R> filled(std::array<std::size_t, R> shape, std::uint32_t seed) {
    h5ser::tensor<T, R> t(shape);
    for (std::size_t i = 0; i < t.size(); ++i) {
        if constexpr (std::is_same_v<T, bool>) t.data()[i] = (value(seed, i) > 0);
        else t.data()[i] = static_cast<T>(value(seed, i));
    }
    return t;
}

inline Dense dense(std::size_t in, std::size_t out, std::uint32_t seed) {
    return {filled<float, 2>({in, out}, seed), filled<float, 1>({out}, seed + 1), static_cast<std::int32_t>(out), "relu"};
}

inline Model make_model() {
    Model m;
    m.first = dense(8, 16, 1);
    m.blocks = {dense(16, 16, 10), dense(16, 4, 20)};
    m.experts["a"] = filled<double, 1>({5}, 30);
    m.experts["b"] = filled<double, 1>({300}, 31);
    m.head = dense(4, 2, 40);
    m.embedding = filled<float, 2>({32, 64}, 45);
    m.bytes = filled<std::int8_t, 1>({7}, 50);
    m.mask = filled<bool, 1>({9}, 51);
    m.half = filled<h5ser::float16, 2>({3, 5}, 52);
    m.brain = filled<h5ser::bfloat16, 1>({6}, 53);
    m.counter.data()[0] = 123456789012345ull;
    m.tags = {"alpha", "beta", ""};
    m.compressed.value = filled<float, 2>({64, 64}, 60);
    m.adam.value = {1e-3, 42, filled<float, 2>({8, 16}, 70)};
    return m;
}

}  // namespace format1
