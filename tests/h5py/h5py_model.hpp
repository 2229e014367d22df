// The model both h5py cross-checks use: every kind of field h5ser maps.
#pragma once

#include <h5ser/h5ser.hpp>

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace crosscheck {

struct Dense {
    h5ser::tensor<float, 2> kernel;
    h5ser::tensor<float, 1> bias;
    int units = 0;
    std::string activation;
};

struct Adam {
    h5ser::tensor<float, 2> momentum;
    std::int64_t iterations = 0;
};

struct Model {
    Dense layer_1;
    std::vector<Dense> blocks;
    std::map<std::string, double> schedule;
    h5ser::tensor<std::int64_t, 1> token_ids;
    h5ser::tensor<h5ser::float16, 1> half;
    h5ser::tensor<h5ser::bfloat16, 1> brain;
    h5ser::tensor<bool, 1> mask;
    h5ser::tensor<double, 0> temperature;
    std::vector<std::uint16_t> counts;
    bool trainable = false;
    std::string name;
    std::vector<std::string> tags;
    std::array<double, 3> betas{};
    std::optional<std::int32_t> seed;
    h5ser::optimizer_state<Adam> adam;
};

}  // namespace crosscheck
