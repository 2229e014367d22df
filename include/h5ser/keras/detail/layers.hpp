// h5ser/keras/detail/layers.hpp: the struct side of the Keras mapping: which fields are layers, and
// the tensors of each in declaration order (see h5ser/keras.hpp for the rules).
#pragma once

#include <hdf5.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "h5ser/detail/hdf5/dataset.hpp"
#include "h5ser/detail/hdf5/hdf5.hpp"
#include "h5ser/detail/load/commit.hpp"
#include "h5ser/detail/load/problems.hpp"
#include "h5ser/detail/load/tensor_target.hpp"
#include "h5ser/detail/model/c_order.hpp"
#include "h5ser/detail/model/field_kind.hpp"
#include "h5ser/keras/detail/reader.hpp"
#include "h5ser/keras/detail/weights.hpp"
#include "h5ser/reflect.hpp"
#include "h5ser/tensor_adapter.hpp"

namespace h5ser::keras::detail {

using namespace h5ser::detail;  // the core's internals: handle, where, checked, problem_list, ...

/// One tensor of the struct. Load slots read into staged storage; save slots write the tensor.
struct tensor_slot {
    std::string field;  ///< C++ path: "encoder.dense_1.kernel"
    std::string rel;    ///< path inside the layer: "kernel", "forward/kernel", "cells/0/kernel"
    std::string_view dtype;
    std::size_t rank = 0;
    std::vector<std::size_t> shape;  ///< current shape
    bool unsized = false;            ///< owning and empty: takes the file's shape
    std::function<void(commit_list&, hid_t dataset, hid_t file_type, const std::vector<std::size_t>& shape, const where& at,
                       problem_list& problems)>
        read;                                                                          ///< loads only
    std::function<void(hid_t group, const std::string& name, const where& at)> write;  ///< saves only
};

struct struct_layer {
    std::string field;  ///< C++ path of the layer field
    std::string name;   ///< Keras name it stands for: field name, map key, or "<field>_<i>"
    bool named = true;  ///< false for sequence elements, which by_name cannot address
    std::vector<tensor_slot> tensors;
};

template <class X>
tensor_slot make_slot(X& value, std::string field, std::string rel) {
    using T = std::remove_const_t<X>;
    static_assert(tensor_adapter<T>::rank != dynamic_rank,
                  "h5ser::keras: tensors whose rank is known only at run time (xt::xarray, torch::Tensor) cannot hold "
                  "Keras weights yet; use h5ser::tensor<T, Rank>, Eigen or xt::xtensor<T, N>");
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
        slot.write = [&value](hid_t group, const std::string& name, const where& at) {
            with_c_order(value, [&](const auto& c_order) { write_tensor(c_order, group, name, at); });
        };
    } else if constexpr (assert_loadable_tensor<T>()) {
        slot.read = [&value, unsized = slot.unsized](commit_list& commits, hid_t dataset, hid_t file_type,
                                                     const std::vector<std::size_t>& shape, const where& at, problem_list& problems) {
            const auto stage = [&](auto& target) {
                stage_dataset(commits, problems, tensor_target_of(target), dataset, file_type, shape, at);
            };
            if constexpr (adapted_tensor<T>) {
                (void)unsized;
                stage(value);
            } else {
                load_through_c_order(commits, value, unsized, stage);
            }
        };
    }
    return slot;
}

/// A tensor's path inside its layer ("kernel", "forward/kernel", "cells/0/kernel"): the HDF5 path
/// of `at`, which starts at the layer.
inline std::string path_in_layer(const where& at) { return at.h5.empty() ? std::string() : at.h5.substr(1); }

template <class F>
void collect_tensors(F& value, const where& at, std::vector<tensor_slot>& out);

/// The Keras mapping's visitor inside one layer: its tensors, depth first in declaration order.
/// `at.field` is the C++ path, `at.h5` the path inside the layer.
struct tensor_collector {
    std::vector<tensor_slot>& out;
    const where& at;

    template <class X>
    void tensor(X& x) {
        out.push_back(make_slot(x, at.field, path_in_layer(at)));
    }
    template <class X>
    void attribute(X&) {}  // hyperparameters hold no layer weights
    template <class X>
    void optimizer_state(X&) {}  // nor does optimizer state
    template <class X>
    void stored(X& x) {
        collect_tensors(x.value, at, out);
    }
    template <class X>
    void optional(X& x) {
        if (x) collect_tensors(*x, at, out);
    }
    template <class X>
    void sequence(X& x) {
        std::size_t i = 0;
        for (auto& element : x) collect_tensors(element, at.child(std::to_string(i++), true), out);
    }
    template <class X>
    void map(X& x) {
        for (auto& [key, element] : x) collect_tensors(element, at.key(key), out);
    }
    template <class X>
    void group(X& x) {
        for_each_field(x, [&](std::string_view name, auto& member) { collect_tensors(member, at.child(name), out); });
    }
};

template <class F>
void collect_tensors(F& value, const where& at, std::vector<tensor_slot>& out) {
    visit_field(tensor_collector{out, at}, value);
}

template <class F>
void collect_layer(F& value, const where& at, const std::string& name, bool named, std::vector<struct_layer>& out,
                   std::vector<std::string>* empty_vectors);

/// The Keras mapping's visitor for a top-level field: the Keras layers it stands for (see
/// h5ser/keras.hpp). `name` is the Keras name: the field name, a map key, or "<field>_<i>".
struct layer_collector {
    std::vector<struct_layer>& out;
    const where& at;
    const std::string& name;
    bool named;                               ///< false for sequence elements, which by_name cannot address
    std::vector<std::string>* empty_vectors;  ///< where to note empty std::vectors (they stand for no layer), or null

    template <class X>
    void tensor(X& x) {
        add_layer(x, where{{}, at.field, "/" + name});  // a lone tensor is a layer of one weight
    }
    template <class X>
    void group(X& x) {
        add_layer(x, where{{}, at.field, {}});
    }
    template <class X>
    void attribute(X&) {}
    template <class X>
    void optimizer_state(X&) {}
    template <class X>
    void stored(X& x) {
        collect_layer(x.value, at, name, named, out, empty_vectors);
    }
    template <class X>
    void optional(X& x) {
        if (x) collect_layer(*x, at, name, named, out, empty_vectors);
    }
    template <class X>
    void sequence(X& x) {
        if (x.empty() && empty_vectors) empty_vectors->push_back(at.field);
        std::size_t i = 0;
        for (auto& element : x) {
            const std::string index = std::to_string(i++);
            collect_layer(element, at.child(index, true), name + "_" + index, false, out, empty_vectors);
        }
    }
    template <class X>
    void map(X& x) {
        for (auto& [key, element] : x) collect_layer(element, at.key(key), key, true, out, empty_vectors);
    }

private:
    template <class X>
    void add_layer(X& x, const where& inside) {
        struct_layer layer{at.field, name, named, {}};
        collect_tensors(x, inside, layer.tensors);
        if (!layer.tensors.empty()) out.push_back(std::move(layer));
    }
};

template <class F>
void collect_layer(F& value, const where& at, const std::string& name, bool named, std::vector<struct_layer>& out,
                   std::vector<std::string>* empty_vectors) {
    visit_field(layer_collector{out, at, name, named, empty_vectors}, value);
}

/// The Keras layers `model` stands for, in declaration order; the C++ paths of its empty
/// std::vectors (which stand for no layer: a load does not size them) go into `empty_vectors`.
template <class Model>
std::vector<struct_layer> collect_layers(Model& model, std::vector<std::string>* empty_vectors = nullptr) {
    using T = std::remove_const_t<Model>;
    static_assert(is_reflectable_v<T> && kind_of<T>() == field_kind::group,
                  "h5ser::keras: the model must be a plain aggregate struct whose fields are its layers "
                  "(structs of h5ser::tensor, single tensors, or containers of them)");
    std::vector<struct_layer> layers;
    const where root{{}, {}, {}};
    for_each_field(model, [&](std::string_view name, auto& field) {
        collect_layer(field, root.child(name), std::string(name), true, layers, empty_vectors);
    });
    return layers;
}

inline std::vector<std::string> names_of(const std::vector<struct_layer>& layers) {
    std::vector<std::string> out;
    for (const auto& l : layers) out.push_back(l.field);
    return out;
}
inline std::vector<std::string> names_of(const std::vector<layer_ref>& layers) {
    std::vector<std::string> out;
    for (const auto& l : layers) out.push_back(l.name);
    return out;
}

}  // namespace h5ser::keras::detail
