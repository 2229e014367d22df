// h5ser/keras/detail/writer.hpp: writing the tf.keras save_weights layout: layer groups, weight
// datasets, the name lists (split as Keras splits them) and root attributes.
#pragma once

#include <hdf5.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

#include "h5ser/detail/hdf5/hdf5.hpp"
#include "h5ser/detail/posix/file.hpp"
#include "h5ser/error.hpp"
#include "h5ser/keras/detail/layers.hpp"
#include "h5ser/keras/types.hpp"

namespace h5ser::keras::detail {

using namespace h5ser::detail;  // the core's internals: handle, where, checked, problem_list, ...

inline constexpr std::size_t object_header_limit = 64512;  // Keras's HDF5_OBJECT_HEADER_LIMIT

// Attributes with HDF5's default (ASCII) name encoding, as h5py writes them for Keras.
inline void write_attribute_bytes(hid_t object, const std::string& name, hid_t type, hid_t space, const void* data, const where& at) {
    handle attr = checked(H5Acreate2(object, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT), at, "cannot create attribute");
    check(H5Awrite(attr.get(), type, data), at, "cannot write attribute");
}

inline void write_string_list(hid_t object, const std::string& name, const std::vector<std::string>& values, string_encoding encoding,
                              const where& at) {
    const where w{at.file, at.field, at.h5_or_root() + "@" + name};
    if (values.empty()) {  // what h5py makes of []: float64, shape (0,)
        const hsize_t zero = 0;
        handle space = checked(H5Screate_simple(1, &zero, nullptr), w, "H5Screate_simple");
        handle attr =
            checked(H5Acreate2(object, name.c_str(), H5T_IEEE_F64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT), w, "cannot create attribute");
        return;
    }
    std::size_t width = 1;
    for (const auto& v : values) {
        if (v.size() > object_header_limit)
            throw error(std::string(at.file), problem{errc::invalid_value,
                                                      {},
                                                      w.h5,
                                                      "names of at most 64512 bytes",
                                                      "a name of " + std::to_string(v.size()) + " bytes",
                                                      "Keras cannot store it either"});
        width = std::max(width, v.size());
    }
    // Keras's rule (save_attributes_to_hdf5_group): split into name0, name1, ... when the list as a
    // fixed-width array exceeds the object header limit; chunks are fixed-width arrays.
    std::size_t chunks = 1;
    const auto fits = [&](std::size_t k) { return ((values.size() + k - 1) / k) * width <= object_header_limit; };
    while (!fits(chunks)) ++chunks;
    const auto write = [&](const std::string& attr_name, std::size_t first, std::size_t count, bool fixed) {
        const hsize_t n = count;
        handle space = checked(H5Screate_simple(1, &n, nullptr), w, "H5Screate_simple");
        handle type = checked(H5Tcopy(H5T_C_S1), w, "H5Tcopy");
        check(H5Tset_cset(type.get(), H5T_CSET_ASCII), w, "H5Tset_cset");
        if (fixed) {
            check(H5Tset_size(type.get(), width), w, "H5Tset_size");
            check(H5Tset_strpad(type.get(), H5T_STR_NULLPAD), w, "H5Tset_strpad");
            std::vector<char> buffer(width * count, '\0');
            for (std::size_t i = 0; i < count; ++i)
                std::memcpy(buffer.data() + i * width, values[first + i].data(), values[first + i].size());
            write_attribute_bytes(object, attr_name, type.get(), space.get(), buffer.data(), w);
        } else {
            check(H5Tset_size(type.get(), H5T_VARIABLE), w, "H5Tset_size");
            std::vector<const char*> pointers;
            for (std::size_t i = 0; i < count; ++i) pointers.push_back(values[first + i].c_str());
            write_attribute_bytes(object, attr_name, type.get(), space.get(), pointers.data(), w);
        }
    };
    if (chunks == 1) {
        write(name, 0, values.size(), encoding == string_encoding::fixed_length);
        return;
    }
    // numpy.array_split: the first (n % k) chunks hold one element more.
    const std::size_t base = values.size() / chunks, extra = values.size() % chunks;
    std::size_t first = 0;
    for (std::size_t c = 0; c < chunks; ++c) {
        const std::size_t count = base + (c < extra ? 1 : 0);
        write(name + std::to_string(c), first, count, true);
        first += count;
    }
}

inline void write_string(hid_t object, const char* name, const std::string& value, string_encoding encoding, const where& at) {
    const where w{at.file, at.field, at.h5_or_root() + "@" + name};
    handle space = checked(H5Screate(H5S_SCALAR), w, "H5Screate");
    handle type = checked(H5Tcopy(H5T_C_S1), w, "H5Tcopy");
    check(H5Tset_cset(type.get(), H5T_CSET_ASCII), w, "H5Tset_cset");
    if (encoding == string_encoding::fixed_length) {
        check(H5Tset_size(type.get(), std::max<std::size_t>(value.size(), 1)), w, "H5Tset_size");
        check(H5Tset_strpad(type.get(), H5T_STR_NULLPAD), w, "H5Tset_strpad");
        std::string padded = value;
        padded.resize(std::max<std::size_t>(value.size(), 1), '\0');
        write_attribute_bytes(object, name, type.get(), space.get(), padded.data(), w);
    } else {
        check(H5Tset_size(type.get(), H5T_VARIABLE), w, "H5Tset_size");
        const char* p = value.c_str();
        write_attribute_bytes(object, name, type.get(), space.get(), &p, w);
    }
}

/// One layer to write: its name, weight names, and the struct tensors behind them (none for
/// weightless layers taken from a layout).
struct layer_to_write {
    std::string name;
    std::vector<std::string> weight_names;
    const struct_layer* source = nullptr;
};

inline std::vector<layer_to_write> plan_names(const std::vector<struct_layer>& layers, const save_options& options,
                                              const std::string& file);

inline std::vector<layer_to_write> plan_layers(const std::vector<struct_layer>& layers, const save_options& options,
                                               const std::string& file) {
    std::vector<layer_to_write> plan = plan_names(layers, options, file);
    std::vector<std::string> names;
    for (const auto& l : plan) names.push_back(l.name);
    std::sort(names.begin(), names.end());
    if (const auto dup = std::adjacent_find(names.begin(), names.end()); dup != names.end())
        throw error(file, problem{errc::invalid_value,
                                  {},
                                  "/" + *dup,
                                  "one layer per name",
                                  "two layers named " + *dup,
                                  "Keras files address layers by name"});
    return plan;
}

inline std::vector<layer_to_write> plan_names(const std::vector<struct_layer>& layers, const save_options& options,
                                              const std::string& file) {
    std::vector<layer_to_write> plan;
    if (options.layout.empty()) {
        for (const auto& layer : layers) {
            layer_to_write out{layer.name, {}, &layer};
            for (const auto& t : layer.tensors) out.weight_names.push_back(layer.name + "/" + t.rel + ":0");
            plan.push_back(std::move(out));
        }
        return plan;
    }
    std::size_t with_weights = 0;
    for (const auto& l : options.layout) with_weights += l.weights.empty() ? 0 : 1;
    if (with_weights != layers.size()) {
        throw error(file,
                    problem{errc::layer_count_mismatch,
                            {},
                            "/",
                            std::to_string(with_weights) + " layers with weights in the layout",
                            std::to_string(layers.size()) + " layers with weights in the struct (" + name_list(names_of(layers)) + ")",
                            "Layer count mismatch when loading weights from file. Model expected " + std::to_string(with_weights) +
                                " layers, found " + std::to_string(layers.size()) + " saved layers."});
    }
    std::size_t k = 0;
    for (const auto& l : options.layout) {
        layer_to_write out{l.name, {}, nullptr};
        for (const auto& w : l.weights) out.weight_names.push_back(w.name);
        if (!l.weights.empty()) {
            const struct_layer& layer = layers[k];
            if (layer.tensors.size() != l.weights.size())
                throw error(file,
                            problem{errc::weight_count_mismatch, layer.field, "/" + l.name, std::to_string(l.weights.size()) + " weight(s)",
                                    std::to_string(layer.tensors.size()) + " weight(s)",
                                    "Weight count mismatch for layer #" + std::to_string(k) + " (named " + l.name + " in the layout, " +
                                        layer.field + " in the struct). Layer expects " + std::to_string(l.weights.size()) +
                                        " weight(s). Received " + std::to_string(layer.tensors.size()) + " weight(s)"});
            for (std::size_t i = 0; i < layer.tensors.size(); ++i) {
                const auto& t = layer.tensors[i];
                const auto& w = l.weights[i];
                if (!w.dtype.empty() && (w.shape != t.shape || w.dtype != t.dtype))
                    throw error(file,
                                problem{errc::shape_mismatch, t.field, "/" + l.name + "/" + w.name,
                                        std::string(t.dtype) + " " + tuple_text(w.shape), std::string(t.dtype) + " " + tuple_text(t.shape),
                                        "Shape mismatch in layer #" + std::to_string(k) + " (named " + l.name + ") for weight " + w.name +
                                            ". Weight expects shape " + tuple_text(w.shape) + ". Received saved weight with shape " +
                                            tuple_text(t.shape)});
            }
            out.source = &layer;
            ++k;
        }
        plan.push_back(std::move(out));
    }
    return plan;
}

/// Writes `layers` (their tensors' write functions) in the tf.keras save_weights layout; what
/// save_weights does once it has the struct's layers.
inline void save_layers(const std::vector<struct_layer>& layers, const std::string& path, const save_options& options) {
    const auto plan = plan_layers(layers, options, path);
    hdf5_scope hdf5;
    atomic_file out(path);
    {
        handle file = create_for_writing(out, 0, file_style::earliest);
        const where root{path, {}, "/"};
        std::vector<std::string> names;
        for (const auto& l : plan) names.push_back(l.name);
        // Keras creates the layer groups sorted by name, and so do we (the order itself comes from layer_names).
        std::vector<const layer_to_write*> sorted;
        for (const auto& l : plan) sorted.push_back(&l);
        std::stable_sort(sorted.begin(), sorted.end(), [](const auto* a, const auto* b) { return a->name < b->name; });
        for (const auto* l : sorted) {
            const where at{path, l->source ? l->source->field : std::string(), "/" + l->name};
            handle group =
                checked(H5Gcreate2(file.get(), l->name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), at, "cannot create layer group");
            write_string_list(group.get(), "weight_names", l->weight_names, options.strings, at);
            if (!l->source) continue;
            for (std::size_t i = 0; i < l->weight_names.size(); ++i) {
                const where wat{path, l->source->tensors[i].field, at.h5 + "/" + l->weight_names[i]};
                l->source->tensors[i].write(group.get(), l->weight_names[i], wat);
            }
        }
        write_string_list(file.get(), "layer_names", names, options.strings, root);
        write_string(file.get(), "backend", options.backend, options.strings, root);
        write_string(file.get(), "keras_version", options.keras_version, options.strings, root);
        if (file.close() < 0) throw_hdf5(root, "cannot write file", errc::io);
    }
    out.commit();
}

}  // namespace h5ser::keras::detail
