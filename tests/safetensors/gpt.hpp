// A GPT-2-style model, shortened: the structs the safetensors tests load files with dotted names
// ("h.0.attn.c_attn.weight", ..., "wte.weight") into.
#pragma once

#include <h5ser/h5ser.hpp>

#include <vector>

namespace test_gpt {

struct Linear {
    h5ser::tensor<float, 2> weight;
    h5ser::tensor<float, 1> bias;
};
struct Attention {
    Linear c_attn;
};
struct Norm {
    h5ser::tensor<float, 1> weight;
};
struct Block {
    Attention attn;
    Norm ln_1;
};
struct Embedding {
    h5ser::tensor<float, 2> weight;
};
struct Gpt {
    std::vector<Block> h;
    Embedding wte;
};

}  // namespace test_gpt
