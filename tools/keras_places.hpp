// Where `h5ser convert` puts each weight of a Keras file in the h5ser file it writes: one group per
// layer, one dataset per weight named after it ("dense_1/kernel:0" in layer dense_1 ->
// /dense_1/kernel). `convert` writes them there and `diff` matches a Keras file with its
// conversion by them.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "internals.hpp"

namespace h5ser_cli {

/// One weight of a Keras file: its dataset there, and its path in the converted h5ser file.
struct keras_weight_place {
    std::string from, to;
};

/// Every layer weight of `store` (not the optimizer's), in model order, with its place in the
/// h5ser file: /layer/field, fields unique within their layer.
inline std::vector<keras_weight_place> keras_weight_places(const internal::keras_store& store) {
    std::vector<keras_weight_place> weights;
    for (const auto& layer : store.layers) {
        std::set<std::string> used;
        for (const auto& weight : layer.weights) {
            std::string field = internal::weight_name_in_layer(layer.name, weight.name);
            for (int k = 1; used.count(field); ++k)
                field = internal::weight_name_in_layer(layer.name, weight.name) + "_" + std::to_string(k);
            used.insert(field);
            weights.push_back({weight.path, "/" + layer.name + "/" + field});
        }
    }
    return weights;
}

}  // namespace h5ser_cli
