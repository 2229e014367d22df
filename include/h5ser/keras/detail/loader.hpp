// h5ser/keras/detail/loader.hpp: loading a Keras file's weights into the struct's layers, by order
// or by name, with Keras's own messages for mismatches.
#pragma once

#include <hdf5.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "h5ser/detail/hdf5/dataset.hpp"
#include "h5ser/detail/hdf5/hdf5.hpp"
#include "h5ser/detail/json/reader.hpp"
#include "h5ser/detail/load/commit.hpp"
#include "h5ser/detail/load/problems.hpp"
#include "h5ser/error.hpp"
#include "h5ser/keras/detail/layers.hpp"
#include "h5ser/keras/detail/reader.hpp"
#include "h5ser/keras/detail/weights.hpp"
#include "h5ser/load_report.hpp"

namespace h5ser::keras::detail {

// Keras's configurations are JSON; the core's reader takes Python's NaN and Infinity too.
using h5ser::detail::json_value;
using h5ser::detail::parse_json;

using namespace h5ser::detail;  // the core's internals: handle, where, checked, problem_list, ...

struct loader {
    const store& file;
    problem_list problems;
    commit_list commits;

    /// Loads the file weights `weights` into `slots` (one layer). `layer_index`/`layer_name` are
    /// only for messages.
    void load_layer(const struct_layer& layer, const layer_ref& saved, std::size_t layer_index) {
        if (layer.tensors.size() != saved.weights.size()) {
            std::vector<std::string> fields, weights;
            for (const auto& t : layer.tensors) fields.push_back(t.field);
            for (const auto& w : saved.weights) weights.push_back(w.name);
            problems.add({errc::weight_count_mismatch, layer.field, saved.group,
                          std::to_string(layer.tensors.size()) + " weight(s) (" + name_list(fields) + ")",
                          std::to_string(saved.weights.size()) + " weight(s)" + (weights.empty() ? "" : " (" + name_list(weights) + ")"),
                          "Weight count mismatch for layer #" + std::to_string(layer_index) + " (named " + layer.field +
                              " in the current model, " + saved.name + " in the save file). Layer expects " +
                              std::to_string(layer.tensors.size()) + " weight(s). Received " + std::to_string(saved.weights.size()) +
                              " saved weight(s)"});
            return;
        }
        const auto matched = match_weights(layer, saved);
        if (!matched) return;
        for (std::size_t i = 0; i < layer.tensors.size(); ++i)
            load_tensor(layer.tensors[i], saved.weights[(*matched)[i]],
                        "layer #" + std::to_string(layer_index) + " (named " + saved.name + ")");
    }

    /// Which saved weight each tensor of the layer takes (as many as the layer has). When every
    /// field is named after a weight of the saved layer ("gamma", "moving_mean"), by name, in
    /// whatever order the struct declares them; when none is, by position, as Keras loads (the
    /// names of the file's weights are Keras's own: "W", "0" in a native store). Fields of which
    /// some are weight names and some are not are an error: the load cannot tell which rule the
    /// struct meant, and a guess could load gamma into moving_mean silently.
    std::optional<std::vector<std::size_t>> match_weights(const struct_layer& layer, const layer_ref& saved) {
        std::vector<std::string> names;
        for (const auto& w : saved.weights) names.push_back(weight_name_in_layer(saved.name, w.name));
        std::vector<std::size_t> by_name(layer.tensors.size()), by_position(layer.tensors.size());
        std::vector<std::size_t> unnamed;
        for (std::size_t i = 0; i < layer.tensors.size(); ++i) {
            by_position[i] = i;
            const auto it = std::find(names.begin(), names.end(), layer.tensors[i].rel);
            if (it == names.end()) unnamed.push_back(i);
            else by_name[i] = static_cast<std::size_t>(it - names.begin());
        }
        if (unnamed.size() == layer.tensors.size()) return by_position;
        // Every field named after a weight, each weight once (a file repeating a name maps by position).
        std::vector<std::size_t> taken = by_name;
        std::sort(taken.begin(), taken.end());
        if (unnamed.empty()) return std::adjacent_find(taken.begin(), taken.end()) == taken.end() ? by_name : by_position;
        for (const std::size_t i : unnamed)
            problems.add({errc::missing_field, layer.tensors[i].field, saved.group, "a weight named " + layer.tensors[i].rel,
                          "weights " + name_list(names),
                          "some fields of this layer are named after its Keras weights and this one is not; name every field "
                          "after its weight (they map by name, in any order) or none (they map by position, as Keras loads)"});
        return std::nullopt;
    }

    void load_tensor(const tensor_slot& slot, const weight_ref& saved, const std::string& owner) {
        const where at{file.file, slot.field, saved.path};
        handle dataset = checked(H5Oopen(file.h5.get(), saved.path.c_str(), H5P_DEFAULT), at, "cannot open weight");
        if (H5Iget_type(dataset.get()) != H5I_DATASET) {
            problems.add({errc::kind_mismatch, slot.field, saved.path, "dataset", "group", {}});
            return;
        }
        const dataset_view view = inspect_dataset(dataset.get(), at);
        std::vector<std::size_t> file_shape(view.shape.dims.begin(), view.shape.dims.end());
        const bool rank_ok = !view.shape.null && file_shape.size() == slot.rank;
        if (!rank_ok || (!slot.unsized && file_shape != slot.shape)) {
            const std::string expects = slot.unsized ? "of rank " + std::to_string(slot.rank) : tuple_text(slot.shape);
            problems.add({errc::shape_mismatch, slot.field, saved.path, std::string(slot.dtype) + " " + expects,
                          view.dtype + " " + (view.shape.null ? std::string("null dataspace") : tuple_text(file_shape)),
                          "Shape mismatch in " + owner + " for weight " + saved.name + ". Weight expects shape " + expects +
                              ". Received saved weight with shape " + tuple_text(file_shape)});
            return;
        }
        if (view.dtype != slot.dtype) {
            problems.add({errc::dtype_mismatch, slot.field, saved.path, std::string(slot.dtype), view.dtype,
                          "weight " + saved.name + " of " + owner + " has another element type; h5ser loads bits, it does not convert"});
            return;
        }
        if (!problems.empty()) return;  // the load fails anyway: check metadata only
        if (!view.missing_filter.empty()) {
            problems.add({errc::missing_filter, slot.field, saved.path, "filters this HDF5 can load", view.missing_filter, {}});
            return;
        }
        std::uint64_t bytes = 1;
        for (std::size_t d : file_shape) bytes *= d;
        bytes *= H5Tget_size(view.type.get());
        if (const std::string unsafe = unsafe_dataset_reason(view, bytes); !unsafe.empty()) {
            problems.add({errc::unsafe_file, slot.field, saved.path, "a dataset stored in this file", unsafe, {}});
            return;
        }
        slot.read(commits, dataset.get(), view.type.get(), file_shape, at, problems);
    }
};

inline std::vector<const layer_ref*> weighted(const store& s) {
    std::vector<const layer_ref*> out;
    for (const auto& l : s.layers)
        if (!l.weights.empty()) out.push_back(&l);
    return out;
}

/// `empty_vectors`: the C++ paths of the struct's empty std::vectors, named when the layer counts
/// differ (a load does not size a vector of layers: it stands for none).
inline void load_by_order(loader& run, const std::vector<struct_layer>& layers, const std::vector<std::string>& empty_vectors = {}) {
    if (run.file.order_problem) throw error(run.file.file, *run.file.order_problem);
    const auto saved = weighted(run.file);
    if (saved.size() != layers.size()) {
        std::vector<std::string> saved_names;
        for (const auto* l : saved) saved_names.push_back(l->name);
        std::string detail = "Layer count mismatch when loading weights from file. Model expected " + std::to_string(layers.size()) +
                             " layers, found " + std::to_string(saved.size()) + " saved layers.";
        if (!empty_vectors.empty())
            detail += " The std::vector " + name_list(empty_vectors) +
                      " is empty and stands for no layer: a load does not size it; resize it to the number of layers it holds "
                      "before load_weights";
        throw error(
            run.file.file,
            problem{errc::layer_count_mismatch, empty_vectors.empty() ? std::string() : empty_vectors.front(), run.file.weights_group,
                    std::to_string(layers.size()) + " layers with weights (" + name_list(names_of(layers)) + ")",
                    std::to_string(saved.size()) + " saved layers with weights (" + name_list(saved_names) + ")", std::move(detail)});
    }
    for (std::size_t k = 0; k < layers.size(); ++k) run.load_layer(layers[k], *saved[k], k);
}

inline void load_by_name(loader& run, const std::vector<struct_layer>& layers, load_report& report) {
    for (const auto& layer : layers) {
        if (!layer.named) {
            throw error(run.file.file, problem{errc::invalid_value,
                                               layer.field,
                                               {},
                                               "a field named after its Keras layer",
                                               "an element of a sequence",
                                               "by_name maps field names to layer names; use a "
                                               "std::map<std::string, layer> or named fields, or load by_order"});
        }
        const auto& all = run.file.layers;
        const auto it = std::find_if(all.begin(), all.end(), [&](const auto& l) { return l.name == layer.name; });
        if (it == all.end()) {
            run.problems.add({errc::missing_field, layer.field, run.file.weights_group, "a saved layer named " + layer.name,
                              "layers " + name_list(names_of(all)), "the save file has no layer of this name"});
            continue;
        }
        run.load_layer(layer, *it, static_cast<std::size_t>(it - all.begin()));
    }
    // As Keras, by_name leaves the file's layers the struct does not name; the report says which.
    for (const auto& saved : run.file.layers) {
        if (saved.weights.empty()) continue;
        if (std::none_of(layers.begin(), layers.end(), [&](const auto& l) { return l.name == saved.name; })) {
            report.unexpected.push_back(saved.name + " (layer with " + std::to_string(saved.weights.size()) + " weight" +
                                        (saved.weights.size() == 1 ? ")" : "s)"));
        }
    }
}

inline std::string dataset_dtype(hid_t file, const std::string& path, const where& at, std::vector<std::size_t>& shape) {
    handle dataset = checked(H5Oopen(file, path.c_str(), H5P_DEFAULT), at, "cannot open weight");
    if (H5Iget_type(dataset.get()) != H5I_DATASET) return "group";
    const auto view = inspect_dataset(dataset.get(), at);
    shape.assign(view.shape.dims.begin(), view.shape.dims.end());
    return view.dtype;
}

/// Class names per layer name from a model configuration (legacy model_config or config.json):
/// Sequential configs of Keras <= 2.1 are a list of layers, later ones {"layers": [...]}; layer
/// names sit in "config": {"name"} or, in functional models, beside "class_name".
inline void class_names(const json_value& node, std::map<std::string, std::string>& out, int depth = 0) {
    if (depth > 64) return;
    const json_value* config = node.find("config");
    const json_value* list = config && config->is_array() ? config : (config ? config->find("layers") : nullptr);
    if (!list || !list->is_array()) return;
    for (const auto& layer : list->items) {
        std::string name(layer.string_at("name"));
        if (const auto* c = layer.find("config"); name.empty() && c) name = std::string(c->string_at("name"));
        if (!name.empty()) out.emplace(name, std::string(layer.string_at("class_name")));
        class_names(layer, out, depth + 1);  // nested models
    }
}

}  // namespace h5ser::keras::detail
