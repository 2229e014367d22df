// Writes full-model and weights-only files that check_h5ser_files.py then reads with h5py.
#include <cstdio>
#include <string>

#include "h5py_model.hpp"

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    const std::string dir = argv[1];
    crosscheck::Model m;
    m.layer_1 = {h5ser::tensor<float, 2>({2, 3}, {0.5f, -1.25f, 3.0f, -0.0f, 1e-30f, 65504.0f}), h5ser::tensor<float, 1>({3}, {1, 2, 3}), 3,
                 "relu"};
    m.blocks = {{h5ser::tensor<float, 2>({1, 2}, {7, 8}), h5ser::tensor<float, 1>({2}, {9, 10}), 2, "tanh"}};
    m.schedule = {{"warmup", 0.25}, {"decay", 0.5}};
    m.token_ids = h5ser::tensor<std::int64_t, 1>({3}, {-9223372036854775807LL - 1, 0, 9223372036854775807LL});
    m.half = h5ser::tensor<h5ser::float16, 1>({3}, {h5ser::float16(1.5f), h5ser::float16(-2.0f), h5ser::float16::from_bits(0x7c00)});
    m.brain = h5ser::tensor<h5ser::bfloat16, 1>({2}, {h5ser::bfloat16(1.0f), h5ser::bfloat16(-3.0f)});
    m.mask = h5ser::tensor<bool, 1>({3}, {true, false, true});
    m.temperature() = 0.7;
    m.counts = {1, 65535};
    m.trainable = true;
    m.name = "mlp ünïcode";
    m.tags = {"a", "bc"};
    m.betas = {0.9, 0.999, 1e-7};
    m.seed = 42;
    m.adam->momentum = h5ser::tensor<float, 2>({2, 3}, {6, 5, 4, 3, 2, 1});
    m.adam->iterations = 12;
    h5ser::save(m, dir + "/full.h5");
    h5ser::save<h5ser::weights_only>(m, dir + "/weights.h5");
    // A checkpoint, whose manifest lists its step and metric as root attributes (docs/format.md).
    h5ser::checkpoint_manager<decltype(m)>(dir, {.keep_last = 0}).save(m, 7, 0.25);
    return 0;
}
