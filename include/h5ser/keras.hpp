// h5ser/keras.hpp: Keras interop (opt-in; link the CMake target h5ser::keras, which adds libzip).
//
//     struct dense { h5ser::tensor<float, 2> kernel; h5ser::tensor<float, 1> bias; };
//     struct mlp { dense hidden; dense out; };
//
//     mlp m;
//     h5ser::keras::load_weights(m, "model.h5");                      // Keras's order rules
//     h5ser::keras::load_weights<h5ser::keras::by_name>(m, "w.h5");   // field names = layer names
//     h5ser::keras::save_weights(m, "for_keras.h5");                  // tf.keras 2.x save_weights layout
//
// How a struct meets a Keras file:
//   - Each top-level field that holds tensors is one Keras layer: a struct of tensors, a single
//     tensor, each element of a std::vector/std::array of those, or each entry of a
//     std::map<std::string, layer> (keyed by layer name). Fields without tensors (hyperparameters,
//     weightless layers) and h5ser::optimizer_state fields are skipped, as Keras skips layers
//     without weights.
//   - Inside a layer, tensors in declaration order (depth first through nested structs) take the
//     layer's weights in the file's order: `weight_names` in legacy files, vars/0, vars/1, ... in
//     Keras 3 stores. Keras lists trainable weights first: Dense (kernel, bias); LSTM (kernel,
//     recurrent_kernel, bias) with gates i, f, c, o; BatchNormalization (gamma, beta, moving_mean,
//     moving_variance); Keras 1 LSTM has 12 tensors (W_i, U_i, b_i, W_c, ..., b_o).
//   - Tensors that are empty take the file's shape; tensors with a shape must match it exactly,
//     and element types must match exactly: what is loaded is the file's bits.
//   - Nothing is changed unless every weight loads (strong guarantee).
#pragma once

#include <hdf5.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "h5ser/detail/attribute.hpp"
#include "h5ser/detail/commit.hpp"
#include "h5ser/detail/dataset.hpp"
#include "h5ser/detail/dtype.hpp"
#include "h5ser/detail/file.hpp"
#include "h5ser/detail/hdf5.hpp"
#include "h5ser/detail/json_reader.hpp"
#include "h5ser/detail/keras_store.hpp"
#include "h5ser/detail/problems.hpp"
#include "h5ser/error.hpp"
#include "h5ser/mapping.hpp"
#include "h5ser/reflect.hpp"
#include "h5ser/tensor_adapter.hpp"

namespace h5ser::keras {

/// Mapping policies for load_weights.
struct by_order {};  ///< Keras's default: the k-th struct layer takes the k-th file layer with weights
struct by_name {};   ///< struct field names are Keras layer names; file layers the struct lacks are ignored

/// One weight as a Keras file holds it.
struct weight_info {
    std::string name;                ///< "dense_1/kernel:0" (legacy), "vars/0" (Keras 3 store)
    std::string path;                ///< HDF5 path of the dataset
    std::string dtype;               ///< "float32", ...
    std::vector<std::size_t> shape;  ///< C order; empty for a scalar
};

/// One layer, in model order; weightless layers are listed too (with no weights).
struct layer_info {
    std::string name;        ///< Keras layer name
    std::string class_name;  ///< "Dense", "LSTM", ... from the model configuration; "" when the file has none
    std::vector<weight_info> weights;
};

/// What a Keras file says about the model it holds.
struct model_config {
    std::string format;         ///< which Keras layout the file uses
    std::string keras_version;  ///< "2.1.3"; "1" for legacy files that name none (Keras's rule); "" in bare Keras 3 stores
    std::string backend;        ///< "tensorflow", "theano", ...; "" when not recorded
    std::string json;           ///< model_config (legacy .h5) or config.json (.keras); "" for weights-only files
    std::string training_json;  ///< training_config, when saved
    std::vector<layer_info> layers;
    std::vector<weight_info> optimizer_weights;  ///< in the file's order; empty when none were saved
};

/// How save_weights writes the name lists and short strings.
enum class string_encoding {
    fixed_length,     ///< fixed-length ASCII (h5py 2 style): read by every Keras loader, old and new, with any h5py
    variable_length,  ///< variable-length ASCII, what tf.keras with h5py 3 writes
};

struct save_options {
    std::string keras_version = "2.15.0";  ///< recorded as keras_version; Keras converts weights only for "1"
    std::string backend = "tensorflow";
    string_encoding strings = string_encoding::fixed_length;
    /// Layer and weight names to write, e.g. read_model_config(original).layers: layers with
    /// weights pair with the struct's layers in order; weightless layers are written as Keras
    /// does (an empty group). Empty: names come from the struct (layer = field name, weight =
    /// "<layer>/<field>:0").
    std::vector<layer_info> layout;
};

namespace detail {

using h5ser::detail::check;
using h5ser::detail::checked;
using h5ser::detail::handle;
using h5ser::detail::node_kind;
using h5ser::detail::where;

/// "(4, 8)", "(40,)", "()": shapes as Keras prints them (Python tuples).
inline std::string tuple_text(const std::vector<std::size_t>& shape) {
    std::string s = "(";
    for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + (shape.size() == 1 ? ",)" : ")");
}

inline std::string name_list(const std::vector<std::string>& names) {
    std::string s;
    for (std::size_t i = 0; i < names.size(); ++i) s += (i ? ", " : "") + names[i];
    return s;
}

// ---- the struct side: layers and their tensors ------------------------------------------------

/// One tensor of the struct. Load slots read into staged storage; save slots write the tensor.
struct tensor_slot {
    std::string field;    ///< C++ path: "encoder.dense_1.kernel"
    std::string rel;      ///< path inside the layer: "kernel", "forward/kernel", "cells/0/kernel"
    std::string_view dtype;
    std::size_t rank = 0;
    std::vector<std::size_t> shape;  ///< current shape
    bool unsized = false;            ///< owning and empty: takes the file's shape
    std::function<void(h5ser::detail::commit_list&, hid_t dataset, hid_t file_type, const std::vector<std::size_t>& shape,
                       const where& at, h5ser::detail::problem_list& problems)>
        read;                                                      ///< loads only
    std::function<void(hid_t group, const std::string& name, const where& at)> write;  ///< saves only
};

struct struct_layer {
    std::string field;  ///< C++ path of the layer field
    std::string name;   ///< Keras name it stands for: field name, map key, or "<field>_<i>"
    bool named = true;  ///< false for sequence elements, which by_name cannot address
    std::vector<tensor_slot> tensors;
};

/// Creates weight dataset `name` in a layer group and writes `data` (of `mem_type`) into it. Weight
/// names contain '/', for which Keras (through h5py) creates intermediate groups; like Keras, the
/// dataset is contiguous and unfiltered, and a bfloat16 one carries Keras 3's dtype="bfloat16".
inline void write_weight(hid_t group, const std::string& name, hid_t file_type, hid_t mem_type, const hsize_t* dims, std::size_t rank,
                         const void* data, bool bfloat16_marker, const where& at) {
    handle space = h5ser::detail::make_dataspace(dims, rank, at);
    handle lcpl = checked(H5Pcreate(H5P_LINK_CREATE), at, "H5Pcreate(link)");
    check(H5Pset_create_intermediate_group(lcpl.get(), 1), at, "H5Pset_create_intermediate_group");
    handle dataset = checked(H5Dcreate2(group, name.c_str(), file_type, space.get(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT), at,
                             "cannot create dataset");
    std::size_t count = 1;
    for (std::size_t i = 0; i < rank; ++i) count *= dims[i];
    if (count != 0) check(H5Dwrite(dataset.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), at, "cannot write dataset");
    if (bfloat16_marker) h5ser::detail::write_attribute(dataset.get(), "dtype", std::string("bfloat16"), at);
}

template <class X>
void write_tensor(const X& value, hid_t group, const std::string& name, const where& at) {
    using adapter = tensor_adapter<X>;
    using element = typename adapter::element_type;
    constexpr std::size_t rank = adapter::rank;
    const auto shape = adapter::shape(value);
    std::array<hsize_t, rank == 0 ? 1 : rank> dims{};
    for (std::size_t i = 0; i < rank; ++i) dims[i] = shape[i];
    handle type = h5ser::detail::file_type<element>(at);
    handle mem = h5ser::detail::memory_type<element>(at);
    write_weight(group, name, type.get(), mem.get(), dims.data(), rank, adapter::data(value), std::is_same_v<element, bfloat16>, at);
}

template <class X>
tensor_slot make_slot(X& value, std::string field, std::string rel) {
    using T = std::remove_const_t<X>;
    using adapter = tensor_adapter<T>;
    tensor_slot slot;
    slot.field = std::move(field);
    slot.rel = std::move(rel);
    slot.dtype = dtype_name<typename adapter::element_type>();
    slot.rank = adapter::rank;
    const auto shape = adapter::shape(std::as_const(value));
    slot.shape.assign(shape.begin(), shape.end());
    if constexpr (resizable_tensor<T>)
        slot.unsized = adapter::rank > 0 && std::all_of(shape.begin(), shape.end(), [](std::size_t d) { return d == 0; });
    if constexpr (std::is_const_v<X>) {
        slot.write = [&value](hid_t group, const std::string& name, const where& at) { write_tensor(value, group, name, at); };
    } else {
        slot.read = [&value](h5ser::detail::commit_list& commits, hid_t dataset, hid_t file_type, const std::vector<std::size_t>& shape,
                             const where& at, h5ser::detail::problem_list& problems) {
            std::array<std::size_t, tensor_adapter<T>::rank> dims{};
            for (std::size_t i = 0; i < dims.size(); ++i) dims[i] = shape[i];  // std::copy into a rank-0 array trips GCC's -Wnonnull
            h5ser::detail::stage_dataset(commits, problems, value, dataset, file_type, dims, at, nullptr,
                                         [](const void*, std::size_t) { return true; });
        };
    }
    return slot;
}

inline std::string join_rel(const std::string& rel, std::string_view name) {
    return rel.empty() ? std::string(name) : rel + "/" + std::string(name);
}
inline std::string index_path(const std::string& field, std::size_t i) {
    std::string s = field;
    s.append("[").append(std::to_string(i)).append("]");
    return s;
}
inline std::string key_path(const std::string& field, std::string_view key) {
    std::string s = field;
    s.append("[\"").append(key).append("\"]");
    return s;
}

/// The tensors inside one layer field, depth first in declaration order.
template <class F>
void collect_tensors(F& value, const std::string& field, const std::string& rel, std::vector<tensor_slot>& out) {
    using T = std::remove_const_t<F>;
    static_assert(h5ser::detail::assert_storable<T>());
    constexpr node_kind kind = h5ser::detail::kind_of<T>();
    if constexpr (kind == node_kind::dataset) {
        out.push_back(make_slot(value, field, rel));
    } else if constexpr (kind == node_kind::storage_wrapper) {
        collect_tensors(value.value, field, rel, out);
    } else if constexpr (kind == node_kind::optional) {
        if (value) collect_tensors(*value, field, rel, out);
    } else if constexpr (kind == node_kind::sequence) {
        std::size_t i = 0;
        for (auto& element : value) {
            collect_tensors(element, index_path(field, i), join_rel(rel, std::to_string(i)), out);
            ++i;
        }
    } else if constexpr (kind == node_kind::map) {
        for (auto& [key, element] : value) collect_tensors(element, key_path(field, key), join_rel(rel, key), out);
    } else if constexpr (kind == node_kind::group) {
        for_each_field(value, [&](std::string_view name, auto& member) {
            collect_tensors(member, field.empty() ? std::string(name) : field + "." + std::string(name), join_rel(rel, name), out);
        });
    }
    // attributes (hyperparameters) and optimizer state hold no layer weights
}

template <class F>
void collect_layer(F& value, const std::string& field, const std::string& name, bool named, std::vector<struct_layer>& out) {
    using T = std::remove_const_t<F>;
    static_assert(h5ser::detail::assert_storable<T>());
    constexpr node_kind kind = h5ser::detail::kind_of<T>();
    if constexpr (kind == node_kind::storage_wrapper) {
        collect_layer(value.value, field, name, named, out);
    } else if constexpr (kind == node_kind::optional) {
        if (value) collect_layer(*value, field, name, named, out);
    } else if constexpr (kind == node_kind::sequence) {
        std::size_t i = 0;
        for (auto& element : value) {
            collect_layer(element, index_path(field, i), name + "_" + std::to_string(i), false, out);
            ++i;
        }
    } else if constexpr (kind == node_kind::map) {
        for (auto& [key, element] : value) collect_layer(element, key_path(field, key), key, true, out);
    } else if constexpr (kind == node_kind::dataset || kind == node_kind::group) {
        struct_layer layer{field, name, named, {}};
        collect_tensors(value, field, kind == node_kind::dataset ? name : std::string(), layer.tensors);
        if (!layer.tensors.empty()) out.push_back(std::move(layer));
    }
}

template <class Model>
std::vector<struct_layer> collect_layers(Model& model) {
    using T = std::remove_const_t<Model>;
    static_assert(is_reflectable_v<T> && h5ser::detail::kind_of<T>() == node_kind::group,
                  "h5ser::keras: the model must be a plain aggregate struct whose fields are its layers "
                  "(structs of h5ser::tensor, single tensors, or containers of them)");
    std::vector<struct_layer> layers;
    for_each_field(model, [&](std::string_view name, auto& field) { collect_layer(field, std::string(name), std::string(name), true, layers); });
    return layers;
}

inline std::vector<std::string> names_of(const std::vector<struct_layer>& layers) {
    std::vector<std::string> out;
    for (const auto& l : layers) out.push_back(l.field);
    return out;
}
inline std::vector<std::string> names_of(const std::vector<h5ser::detail::keras_store::layer_ref>& layers) {
    std::vector<std::string> out;
    for (const auto& l : layers) out.push_back(l.name);
    return out;
}

// ---- loading ----------------------------------------------------------------------------------

struct loader {
    const h5ser::detail::keras_store::store& file;
    h5ser::detail::problem_list problems;
    h5ser::detail::commit_list commits;

    /// Loads the file weights `weights` into `slots` (one layer). `layer_index`/`layer_name` are
    /// only for messages.
    void load_layer(const struct_layer& layer, const h5ser::detail::keras_store::layer_ref& saved, std::size_t layer_index) {
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
        for (std::size_t i = 0; i < layer.tensors.size(); ++i)
            load_tensor(layer.tensors[i], saved.weights[i], "layer #" + std::to_string(layer_index) + " (named " + saved.name + ")");
    }

    void load_tensor(const tensor_slot& slot, const h5ser::detail::keras_store::weight_ref& saved, const std::string& owner) {
        const where at{file.file, slot.field, saved.path};
        handle dataset = checked(H5Oopen(file.h5.get(), saved.path.c_str(), H5P_DEFAULT), at, "cannot open weight");
        if (H5Iget_type(dataset.get()) != H5I_DATASET) {
            problems.add({errc::kind_mismatch, slot.field, saved.path, "dataset", "group", {}});
            return;
        }
        const h5ser::detail::dataset_view view = h5ser::detail::inspect_dataset(dataset.get(), at);
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
        if (const std::string unsafe = h5ser::detail::unsafe_dataset_reason(view, bytes); !unsafe.empty()) {
            problems.add({errc::unsafe_file, slot.field, saved.path, "a dataset stored in this file", unsafe, {}});
            return;
        }
        slot.read(commits, dataset.get(), view.type.get(), file_shape, at, problems);
    }
};

inline std::vector<const h5ser::detail::keras_store::layer_ref*> weighted(const h5ser::detail::keras_store::store& s) {
    std::vector<const h5ser::detail::keras_store::layer_ref*> out;
    for (const auto& l : s.layers)
        if (!l.weights.empty()) out.push_back(&l);
    return out;
}

inline void load_by_order(loader& run, const std::vector<struct_layer>& layers) {
    if (run.file.order_problem) throw error(run.file.file, *run.file.order_problem);
    const auto saved = weighted(run.file);
    if (saved.size() != layers.size()) {
        std::vector<std::string> saved_names;
        for (const auto* l : saved) saved_names.push_back(l->name);
        throw error(run.file.file,
                    problem{errc::layer_count_mismatch, {}, run.file.weights_group,
                            std::to_string(layers.size()) + " layers with weights (" + name_list(names_of(layers)) + ")",
                            std::to_string(saved.size()) + " saved layers with weights (" + name_list(saved_names) + ")",
                            "Layer count mismatch when loading weights from file. Model expected " + std::to_string(layers.size()) +
                                " layers, found " + std::to_string(saved.size()) + " saved layers."});
    }
    for (std::size_t k = 0; k < layers.size(); ++k) run.load_layer(layers[k], *saved[k], k);
}

inline void load_by_name(loader& run, const std::vector<struct_layer>& layers) {
    for (const auto& layer : layers) {
        if (!layer.named) {
            throw error(run.file.file, problem{errc::invalid_value, layer.field, {}, "a field named after its Keras layer",
                                               "an element of a sequence", "by_name maps field names to layer names; use a "
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
}

inline std::string dataset_dtype(hid_t file, const std::string& path, const where& at, std::vector<std::size_t>& shape) {
    handle dataset = checked(H5Oopen(file, path.c_str(), H5P_DEFAULT), at, "cannot open weight");
    if (H5Iget_type(dataset.get()) != H5I_DATASET) return "group";
    const auto view = h5ser::detail::inspect_dataset(dataset.get(), at);
    shape.assign(view.shape.dims.begin(), view.shape.dims.end());
    return view.dtype;
}

/// Class names per layer name from a model configuration (legacy model_config or config.json):
/// Sequential configs of Keras <= 2.1 are a list of layers, later ones {"layers": [...]}; layer
/// names sit in "config": {"name"} or, in functional models, beside "class_name".
inline void class_names(const h5ser::detail::json_value& node, std::map<std::string, std::string>& out, int depth = 0) {
    if (depth > 64) return;
    const h5ser::detail::json_value* config = node.find("config");
    const h5ser::detail::json_value* list = config && config->is_array() ? config : (config ? config->find("layers") : nullptr);
    if (!list || !list->is_array()) return;
    for (const auto& layer : list->items) {
        std::string name(layer.string_at("name"));
        if (const auto* c = layer.find("config"); name.empty() && c) name = std::string(c->string_at("name"));
        if (!name.empty()) out.emplace(name, std::string(layer.string_at("class_name")));
        class_names(layer, out, depth + 1);  // nested models
    }
}

// ---- writing ----------------------------------------------------------------------------------

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
        handle attr = checked(H5Acreate2(object, name.c_str(), H5T_IEEE_F64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT), w, "cannot create attribute");
        return;
    }
    std::size_t width = 1;
    for (const auto& v : values) {
        if (v.size() > object_header_limit)
            throw error(std::string(at.file), problem{errc::invalid_value, {}, w.h5, "names of at most 64512 bytes",
                                         "a name of " + std::to_string(v.size()) + " bytes", "Keras cannot store it either"});
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
            for (std::size_t i = 0; i < count; ++i) std::memcpy(buffer.data() + i * width, values[first + i].data(), values[first + i].size());
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

inline std::vector<layer_to_write> plan_names(const std::vector<struct_layer>& layers, const save_options& options, const std::string& file);

inline std::vector<layer_to_write> plan_layers(const std::vector<struct_layer>& layers, const save_options& options, const std::string& file) {
    std::vector<layer_to_write> plan = plan_names(layers, options, file);
    std::vector<std::string> names;
    for (const auto& l : plan) names.push_back(l.name);
    std::sort(names.begin(), names.end());
    if (const auto dup = std::adjacent_find(names.begin(), names.end()); dup != names.end())
        throw error(file, problem{errc::invalid_value, {}, "/" + *dup, "one layer per name", "two layers named " + *dup,
                                  "Keras files address layers by name"});
    return plan;
}

inline std::vector<layer_to_write> plan_names(const std::vector<struct_layer>& layers, const save_options& options, const std::string& file) {
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
        throw error(file, problem{errc::layer_count_mismatch, {}, "/", std::to_string(with_weights) + " layers with weights in the layout",
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
                throw error(file, problem{errc::weight_count_mismatch, layer.field, "/" + l.name, std::to_string(l.weights.size()) + " weight(s)",
                                          std::to_string(layer.tensors.size()) + " weight(s)",
                                          "Weight count mismatch for layer #" + std::to_string(k) + " (named " + l.name +
                                              " in the layout, " + layer.field + " in the struct). Layer expects " +
                                              std::to_string(l.weights.size()) + " weight(s). Received " +
                                              std::to_string(layer.tensors.size()) + " weight(s)"});
            for (std::size_t i = 0; i < layer.tensors.size(); ++i) {
                const auto& t = layer.tensors[i];
                const auto& w = l.weights[i];
                if (!w.dtype.empty() && (w.shape != t.shape || w.dtype != t.dtype))
                    throw error(file, problem{errc::shape_mismatch, t.field, "/" + l.name + "/" + w.name, std::string(t.dtype) + " " + tuple_text(w.shape),
                                              std::string(t.dtype) + " " + tuple_text(t.shape),
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
    h5ser::detail::quiet_hdf5_errors quiet;
    h5ser::detail::atomic_file out(path);
    {
        handle file = h5ser::detail::create_for_writing(out, 0, h5ser::detail::file_style::earliest);
        const where root{path, {}, "/"};
        std::vector<std::string> names;
        for (const auto& l : plan) names.push_back(l.name);
        // Keras creates the layer groups sorted by name, and so do we (the order itself comes from layer_names).
        std::vector<const layer_to_write*> sorted;
        for (const auto& l : plan) sorted.push_back(&l);
        std::stable_sort(sorted.begin(), sorted.end(), [](const auto* a, const auto* b) { return a->name < b->name; });
        for (const auto* l : sorted) {
            const where at{path, l->source ? l->source->field : std::string(), "/" + l->name};
            handle group = checked(H5Gcreate2(file.get(), l->name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), at, "cannot create layer group");
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
        if (file.close() < 0) h5ser::detail::throw_hdf5(root, "cannot write file", errc::io);
    }
    out.commit();
}

}  // namespace detail

// ---- API --------------------------------------------------------------------------------------

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
    const auto file = h5ser::detail::keras_store::open(path);
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
    detail::collect_tensors(optimizer, std::string(), std::string(), slots);
    h5ser::detail::quiet_hdf5_errors quiet;
    const auto file = h5ser::detail::keras_store::open(path);
    if (!file.optimizer)
        throw error(path, problem{errc::missing_field, {}, file.kind == h5ser::detail::keras_store::flavour::native ? "/optimizer/vars" : "/optimizer_weights",
                                  "optimizer weights", "none", "the model was saved without optimizer state"});
    const auto& saved = *file.optimizer;
    if (saved.size() != slots.size()) {
        std::vector<std::string> fields;
        for (const auto& s : slots) fields.push_back(s.field);
        throw error(path, problem{errc::weight_count_mismatch, {}, file.kind == h5ser::detail::keras_store::flavour::native ? "/optimizer" : "/optimizer_weights",
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
    const auto file = h5ser::detail::keras_store::open(path);
    model_config out;
    out.format = h5ser::detail::keras_store::flavour_name(file.kind);
    out.keras_version = file.keras_version;
    out.backend = file.backend;
    out.json = file.config_json;
    out.training_json = file.training_json;
    std::map<std::string, std::string> classes;
    if (!file.config_json.empty()) {
        try {
            detail::class_names(h5ser::detail::parse_json(file.config_json), classes);
        } catch (const std::runtime_error& e) {
            throw error(path, problem{errc::invalid_value, {}, "model_config", "JSON", {}, e.what()});
        }
    }
    const auto describe = [&](const h5ser::detail::keras_store::weight_ref& w) {
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

/// Writes `model`'s weights as tf.keras 2.x `model.save_weights("w.h5")` does: root attributes
/// layer_names, backend, keras_version; one group per layer with weight_names; datasets at
/// <layer>/<weight name> ("dense/dense/kernel:0"). Keras's load_weights (tf.keras 2.x, and Keras 3
/// for files not named .weights.h5) reads it. Atomic like h5ser::save: the previous file survives
/// any failure.
template <class Model>
void save_weights(const Model& model, const std::string& path, const save_options& options = {}) {
    detail::save_layers(detail::collect_layers(model), path, options);
}

}  // namespace h5ser::keras
