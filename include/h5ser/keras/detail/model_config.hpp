// h5ser/keras/detail/model_config.hpp: reading what a Keras file says about its model
// (h5ser::keras::read_model_config, which runs it in a child process unless trusted).
#pragma once

#include <map>
#include <stdexcept>
#include <string>

#include "h5ser/detail/hdf5/hdf5.hpp"
#include "h5ser/detail/json/reader.hpp"
#include "h5ser/error.hpp"
#include "h5ser/keras/detail/layers.hpp"
#include "h5ser/keras/detail/loader.hpp"
#include "h5ser/keras/detail/reader.hpp"
#include "h5ser/keras/types.hpp"

namespace h5ser::keras::detail {

/// The layout, versions, configuration and layers of the Keras file `path`, parsed in this process.
inline model_config read_config(const std::string& path) {
    h5ser::detail::hdf5_scope hdf5;
    const auto file = open_store(path);
    model_config out;
    out.format = flavour_name(file.kind);
    out.keras_version = file.keras_version;
    out.backend = file.backend;
    out.json = file.config_json;
    out.training_json = file.training_json;
    std::map<std::string, std::string> classes;
    if (!file.config_json.empty()) {
        try {
            class_names(parse_json(file.config_json), classes);
        } catch (const std::runtime_error& e) {
            throw error(path, problem{errc::invalid_value, {}, "model_config", "JSON", {}, e.what()});
        }
    }
    const auto describe = [&](const weight_ref& w) {
        weight_info info{w.name, w.path, {}, {}};
        info.dtype = dataset_dtype(file.h5.get(), w.path, h5ser::detail::where{path, {}, w.path}, info.shape);
        return info;
    };
    for (const auto& layer : file.layers) {
        layer_info info{layer.name, {}, {}};
        if (const auto it = classes.find(layer.name); it != classes.end()) info.class_name = it->second;
        for (const auto& w : layer.weights) info.weights.push_back(describe(w));
        out.layers.push_back(std::move(info));
    }
    if (file.optimizer)
        for (const auto& w : *file.optimizer) out.optimizer_weights.push_back(describe(w));
    return out;
}

}  // namespace h5ser::keras::detail
