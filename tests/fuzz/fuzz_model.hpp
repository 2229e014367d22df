// The model the fuzz target loads: every kind of node h5ser maps.
#pragma once

#include <h5ser/h5ser.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace fuzzing {
struct Layer {
    h5ser::tensor<float, 2> kernel;
    h5ser::tensor<float, 1> bias;
    int units = 0;
    std::string activation;
};
struct Model {
    Layer first;
    std::vector<Layer> blocks;
    std::map<std::string, double> schedule;
    std::optional<h5ser::tensor<std::int64_t, 1>> ids;
    std::vector<std::string> tags;
    h5ser::tensor<h5ser::bfloat16, 1> brain;
    bool flag = false;
    h5ser::optimizer_state<Layer> adam;
};

inline Model sample(int variant) {
    Model m;
    m.first = {h5ser::tensor<float, 2>({3, 2}, {1, 2, 3, 4, 5, 6}), h5ser::tensor<float, 1>({2}, {7, 8}), 2, "relu"};
    for (int i = 0; i < variant; ++i) m.blocks.push_back(m.first);
    m.schedule = {{"lr", 0.1 * variant}};
    if (variant % 2) m.ids = h5ser::tensor<std::int64_t, 1>({3}, {1, -2, 3});
    m.tags = std::vector<std::string>(static_cast<std::size_t>(variant), "tag");
    m.brain = h5ser::tensor<h5ser::bfloat16, 1>({2}, {h5ser::bfloat16(1.0f), h5ser::bfloat16(2.0f)});
    m.flag = variant % 2 == 0;
    m.adam->kernel = h5ser::tensor<float, 2>({1, 1}, {0.5f});
    return m;
}
}  // namespace fuzzing
