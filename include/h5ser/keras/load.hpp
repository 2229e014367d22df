// h5ser/keras/load.hpp: loading Keras files (weights, optimizer weights, the model's description).
#pragma once

#include <map>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "h5ser/detail/hdf5.hpp"
#include "h5ser/error.hpp"
#include "h5ser/keras/detail/json_reader.hpp"
#include "h5ser/keras/detail/layers.hpp"
#include "h5ser/keras/detail/loader.hpp"
#include "h5ser/keras/detail/reader.hpp"
#include "h5ser/keras/types.hpp"
#include "h5ser/reflect.hpp"

namespace h5ser::keras {

/// Loads the weights of a Keras file into `model`: legacy .h5 from Keras 1, 2, tf.keras and
/// Keras 3 (full-model or save_weights files), Keras 3 .weights.h5, and .keras archives.
/// Mapping is by_order (Keras's default) or by_name. Throws h5ser::error listing every mismatch;
/// `model` is unchanged unless everything loads.
template <class Mapping = by_order, class Model>
void load_weights(Model& model, const std::string& path) {
    static_assert(std::is_same_v<Mapping, by_order> || std::is_same_v<Mapping, by_name>,
                  "h5ser::keras::load_weights<Mapping>: Mapping is h5ser::keras::by_order or h5ser::keras::by_name");
    const auto layers = detail::collect_layers(model);
    h5ser::detail::quiet_hdf5_errors quiet;
    const auto file = detail::open_store(path);
    detail::loader run{file, {}, {}};
    if constexpr (std::is_same_v<Mapping, by_order>) detail::load_by_order(run, layers);
    else detail::load_by_name(run, layers);
    run.problems.throw_if_any(path);
    run.commits.apply_all();
}

/// Loads the optimizer weights of a Keras file (legacy `optimizer_weights`, Keras 3
/// `optimizer/vars`) into a struct whose tensors, in declaration order, take them in the file's
/// order. Keras's own order: legacy files list them in weight_names (e.g. Adam: iterations, then
/// all m, then all v, depending on the version); Keras 3 stores: iteration, learning_rate (if a
/// plain float), then per trainable variable its slots (m, v). Scalars are rank-0 tensors.
template <class Optimizer>
void load_optimizer_weights(Optimizer& optimizer, const std::string& path) {
    static_assert(is_reflectable_v<Optimizer>, "h5ser::keras::load_optimizer_weights: the optimizer state must be a plain aggregate struct of tensors");
    std::vector<detail::tensor_slot> slots;
    detail::collect_tensors(optimizer, h5ser::detail::where{}, slots);
    h5ser::detail::quiet_hdf5_errors quiet;
    const auto file = detail::open_store(path);
    if (!file.optimizer)
        throw error(path, problem{errc::missing_field, {}, file.kind == detail::flavour::native ? "/optimizer/vars" : "/optimizer_weights",
                                  "optimizer weights", "none", "the model was saved without optimizer state"});
    const auto& saved = *file.optimizer;
    if (saved.size() != slots.size()) {
        std::vector<std::string> fields;
        for (const auto& s : slots) fields.push_back(s.field);
        throw error(path, problem{errc::weight_count_mismatch, {}, file.kind == detail::flavour::native ? "/optimizer" : "/optimizer_weights",
                                  std::to_string(slots.size()) + " weight(s) (" + detail::name_list(fields) + ")",
                                  std::to_string(saved.size()) + " weight(s)",
                                  "Optimizer weight count mismatch. The optimizer struct expects " + std::to_string(slots.size()) +
                                      " weight(s). Received " + std::to_string(saved.size()) + " saved weight(s)"});
    }
    detail::loader run{file, {}, {}};
    for (std::size_t i = 0; i < slots.size(); ++i) run.load_tensor(slots[i], saved[i], "the optimizer");
    run.problems.throw_if_any(path);
    run.commits.apply_all();
}

/// What a Keras file holds: its layout, versions, configuration JSON, and every layer with the
/// names, shapes and dtypes of its weights, so a program can check the architecture it loads into.
inline model_config read_model_config(const std::string& path) {
    h5ser::detail::quiet_hdf5_errors quiet;
    const auto file = detail::open_store(path);
    model_config out;
    out.format = detail::flavour_name(file.kind);
    out.keras_version = file.keras_version;
    out.backend = file.backend;
    out.json = file.config_json;
    out.training_json = file.training_json;
    std::map<std::string, std::string> classes;
    if (!file.config_json.empty()) {
        try {
            detail::class_names(detail::parse_json(file.config_json), classes);
        } catch (const std::runtime_error& e) {
            throw error(path, problem{errc::invalid_value, {}, "model_config", "JSON", {}, e.what()});
        }
    }
    const auto describe = [&](const detail::weight_ref& w) {
        weight_info info{w.name, w.path, {}, {}};
        info.dtype = detail::dataset_dtype(file.h5.get(), w.path, h5ser::detail::where{path, {}, w.path}, info.shape);
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

}  // namespace h5ser::keras
