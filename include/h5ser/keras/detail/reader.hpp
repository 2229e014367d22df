// h5ser/keras/detail/reader.hpp: the Keras reader: the layers and weights of a file of any Keras generation.
//
// docs/keras.md describes the layouts. In short:
//   legacy .h5 (Keras 1, 2, tf.keras, Keras 3's legacy writer): `layer_names` on the root (weights
//     only) or on /model_weights (full model) lists the layers in model order; each layer group's
//     `weight_names` lists its weights in order, as paths relative to the layer group.
//   Keras 3 native (.weights.h5, and model.weights.h5 inside a .keras zip): layers/<name>/vars/<i>;
//     no name lists, so layer order is creation order (see native_layers below).
// Order never comes from HDF5's iteration order, which is alphabetical.
#pragma once

#include <hdf5.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "h5ser/detail/format/seal.hpp"
#include "h5ser/detail/hdf5/attribute.hpp"
#include "h5ser/detail/hdf5/dataset.hpp"
#include "h5ser/detail/hdf5/group.hpp"
#include "h5ser/detail/hdf5/hdf5.hpp"
#include "h5ser/detail/json/reader.hpp"
#include "h5ser/detail/posix/file.hpp"
#include "h5ser/error.hpp"
#include "h5ser/keras/detail/archive.hpp"

namespace h5ser::keras::detail {

// Keras's configurations are JSON; the core's reader takes Python's NaN and Infinity too.
using h5ser::detail::json_value;
using h5ser::detail::parse_json;

using namespace h5ser::detail;  // the core's internals: handle, where, checked, problem_list, ...

enum class flavour {
    legacy_model,    ///< model.save("m.h5"): weights under /model_weights
    legacy_weights,  ///< model.save_weights("w.h5") (Keras 1/2): weights at the root
    native,          ///< Keras 3 .weights.h5, or the weights inside a .keras archive
};

inline const char* flavour_name(flavour f) noexcept {
    switch (f) {
        case flavour::legacy_model:
            return "Keras legacy HDF5 model (model_weights)";
        case flavour::legacy_weights:
            return "Keras legacy HDF5 weights (save_weights)";
        case flavour::native:
            return "Keras 3 weights store (layers/<name>/vars)";
    }
    return "?";
}

struct weight_ref {
    std::string name;  ///< as Keras names it: "dense_1/kernel:0", or "vars/0" in native stores
    std::string path;  ///< absolute HDF5 path of the dataset
};

/// A weight's name inside its layer, as a field of the layer's struct would be called:
/// "dense_1/kernel:0" in layer dense_1 -> "kernel"; "bidirectional_1/forward_lstm_1/kernel:0" ->
/// "forward_lstm_1/kernel"; Keras 3's "sequential/dense/kernel" in layer dense -> "kernel"; a
/// native store's "vars/0" -> "0" (its weights have no names). The layer's weights are matched to
/// the struct's fields by these names (loader.hpp), and `h5ser convert` names datasets after them.
inline std::string weight_name_in_layer(const std::string& layer, std::string weight) {
    if (weight.size() > 2 && weight.compare(weight.size() - 2, 2, ":0") == 0) weight.resize(weight.size() - 2);
    std::vector<std::string> parts;
    for (std::size_t start = 0;;) {
        const auto slash = weight.find('/', start);
        parts.push_back(weight.substr(start, slash - start));
        if (slash == std::string::npos) break;
        start = slash + 1;
    }
    std::size_t first = parts.size() - 1;
    for (std::size_t i = 0; i + 1 < parts.size(); ++i)
        if (parts[i] == layer) first = i + 1;
    std::string out;
    for (std::size_t i = first; i < parts.size(); ++i) out += (out.empty() ? "" : "/") + parts[i];
    return out;
}

struct layer_ref {
    std::string name;   ///< Keras layer name
    std::string group;  ///< absolute HDF5 path of the layer's group
    std::vector<weight_ref> weights;
};

struct store {
    std::string file;  ///< for messages
    flavour kind = flavour::legacy_model;
    handle h5;
    std::optional<std::vector<unsigned char>> image;  ///< the weights member of a .keras archive
    std::string keras_version;                        ///< "1" when a legacy file has none (Keras's rule)
    std::string backend;
    std::string config_json;                           ///< model_config, or config.json of a .keras archive
    std::string training_json;                         ///< training_config, when present
    std::string weights_group;                         ///< "/model_weights", "/" (legacy) or "/layers" (native)
    std::vector<layer_ref> layers;                     ///< model order, weightless layers included
    std::optional<std::vector<weight_ref>> optimizer;  ///< optimizer weights, when saved
    std::optional<problem> order_problem;              ///< why `layers` may not be in model order (native stores)
};

/// Reads a list of names stored the way Keras stores `layer_names` / `weight_names`: one attribute,
/// or (above 64 KB) the chunks name0, name1, ...; fixed or variable-length strings of either
/// charset; and an empty list as an empty float64 array (what h5py makes of []).
inline std::optional<std::vector<std::string>> read_name_list(hid_t object, const std::string& name, const where& at) {
    const auto read_one = [&](const std::string& attr_name) -> std::vector<std::string> {
        const where w{at.file, at.field, at.h5_or_root() + "@" + attr_name};
        handle attr = checked(H5Aopen(object, attr_name.c_str(), H5P_DEFAULT), w, "cannot open attribute");
        handle type = checked(H5Aget_type(attr.get()), w, "H5Aget_type");
        handle space = checked(H5Aget_space(attr.get()), w, "H5Aget_space");
        const extent ext = read_extent(space.get(), w);
        if (H5Tget_class(type.get()) != H5T_STRING) {
            if (ext.count() == 0) return {};  // [] written by h5py: float64, shape (0,)
            throw error(std::string(at.file),
                        problem{errc::dtype_mismatch, {}, w.h5, "a list of strings", describe_type(type.get()) + " " + ext.text(), {}});
        }
        if (ext.dims.size() > 1)
            throw error(std::string(at.file), problem{errc::shape_mismatch, {}, w.h5, "a list of strings", "strings " + ext.text(), {}});
        if (ext.count() > H5Aget_storage_size(attr.get()) + 1)
            throw error(std::string(at.file), problem{errc::unsafe_file,
                                                      {},
                                                      w.h5,
                                                      "an attribute stored in this file",
                                                      "an attribute declaring " + std::to_string(ext.count()) + " strings",
                                                      {}});
        return read_strings(attr.get(), type.get(), space.get(), ext.count(), true, w);
    };
    if (H5Aexists(object, name.c_str()) > 0) return read_one(name);
    std::vector<std::string> all;
    bool any = false;
    for (int chunk = 0;; ++chunk) {
        const std::string chunk_name = name + std::to_string(chunk);
        if (H5Aexists(object, chunk_name.c_str()) <= 0) break;
        any = true;
        auto part = read_one(chunk_name);
        all.insert(all.end(), std::make_move_iterator(part.begin()), std::make_move_iterator(part.end()));
    }
    H5Eclear2(H5E_DEFAULT);
    if (!any) return std::nullopt;
    return all;
}

inline std::string join_path(std::string_view base, std::string_view rel) {
    std::string out(base);
    if (out.empty() || out.back() != '/') out += '/';
    out.append(rel);
    return out;
}

/// Checks that `rel` (a weight name: a path relative to the layer group) leads, through hard links
/// only, to a dataset inside the file. Keras 3 refuses soft and external links the same way.
inline void check_weight_path(hid_t file, const std::string& group, const std::string& rel, const where& at) {
    if (rel.empty() || rel.front() == '/')
        throw error(std::string(at.file),
                    problem{errc::unsafe_file, {}, join_path(group, rel), "a weight path relative to its layer", "'" + rel + "'", {}});
    std::string path = group;
    std::size_t start = 0;
    while (start <= rel.size()) {
        const std::size_t slash = rel.find('/', start);
        const std::string part = rel.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
        path = join_path(path, part);
        H5L_info_t info;
        if (part.empty() || H5Lexists(file, path.c_str(), H5P_DEFAULT) <= 0 || H5Lget_info(file, path.c_str(), &info, H5P_DEFAULT) < 0) {
            H5Eclear2(H5E_DEFAULT);
            throw error(std::string(at.file), problem{errc::missing_field,
                                                      {},
                                                      join_path(group, rel),
                                                      "the weight '" + rel + "' listed in weight_names",
                                                      "no such object",
                                                      "the file lists a weight it does not hold"});
        }
        if (info.type != H5L_TYPE_HARD)
            throw error(std::string(at.file), problem{errc::unsafe_file,
                                                      {},
                                                      path,
                                                      "a hard link",
                                                      link_type_name(info.type),
                                                      "h5ser does not follow links that may leave the file"});
        if (slash == std::string::npos) break;
        start = slash + 1;
    }
}

inline std::string string_attribute_or(hid_t object, const char* name, const where& at, std::string fallback) {
    auto value = read_string_attribute(object, name, at);
    return value ? *value : std::move(fallback);
}

inline void read_legacy(store& s) {
    const where at{s.file, {}, "/"};
    handle root = open_root(s.h5.get(), s.file);
    s.config_json = string_attribute_or(root.get(), "model_config", at, {});
    s.training_json = string_attribute_or(root.get(), "training_config", at, {});
    // tf.keras's rule: a file without root layer_names but with model_weights is a full-model file.
    handle weights;
    if (read_name_list(root.get(), "layer_names", at)) {
        s.kind = flavour::legacy_weights;
        s.weights_group = "/";
        weights = open_root(s.h5.get(), s.file);
    } else {
        s.kind = flavour::legacy_model;
        s.weights_group = "/model_weights";
        check_weight_path(s.h5.get(), "/", "model_weights", at);
        weights = checked(H5Gopen2(s.h5.get(), "/model_weights", H5P_DEFAULT), at, "cannot open /model_weights");
    }
    const where wat{s.file, {}, s.weights_group};
    s.keras_version = string_attribute_or(weights.get(), "keras_version", wat, "");
    if (s.keras_version.empty()) s.keras_version = string_attribute_or(root.get(), "keras_version", at, "1");
    s.backend = string_attribute_or(weights.get(), "backend", wat, "");
    if (s.backend.empty()) s.backend = string_attribute_or(root.get(), "backend", at, "");
    const auto names = read_name_list(weights.get(), "layer_names", wat);
    if (!names)
        throw error(s.file, problem{errc::not_keras_file,
                                    {},
                                    s.weights_group,
                                    "a layer_names attribute (a Keras weights group)",
                                    "none",
                                    "this is not a Keras weights file"});
    for (const auto& name : *names) {
        layer_ref layer{name, join_path(s.weights_group, name), {}};
        check_weight_path(s.h5.get(), s.weights_group, name, wat);
        handle g =
            checked(H5Gopen2(s.h5.get(), layer.group.c_str(), H5P_DEFAULT), where{s.file, {}, layer.group}, "cannot open layer group");
        const auto weight_names = read_name_list(g.get(), "weight_names", where{s.file, {}, layer.group});
        for (const auto& w : weight_names.value_or(std::vector<std::string>{})) {
            check_weight_path(s.h5.get(), layer.group, w, wat);
            layer.weights.push_back({w, join_path(layer.group, w)});
        }
        s.layers.push_back(std::move(layer));
    }
    if (H5Lexists(s.h5.get(), "/optimizer_weights", H5P_DEFAULT) > 0) {
        check_weight_path(s.h5.get(), "/", "optimizer_weights", at);
        handle g = checked(H5Gopen2(s.h5.get(), "/optimizer_weights", H5P_DEFAULT), at, "cannot open /optimizer_weights");
        std::vector<weight_ref> opt;
        for (const auto& w :
             read_name_list(g.get(), "weight_names", where{s.file, {}, "/optimizer_weights"}).value_or(std::vector<std::string>{})) {
            check_weight_path(s.h5.get(), "/optimizer_weights", w, at);
            opt.push_back({w, join_path("/optimizer_weights", w)});
        }
        s.optimizer = std::move(opt);
    }
    H5Eclear2(H5E_DEFAULT);
}

// ---- Keras 3 native stores --------------------------------------------------------------------

struct child_link {
    std::string name;
    H5L_type_t type;
    H5O_type_t object = H5O_TYPE_UNKNOWN;
    haddr_t address = 0;
};

/// The links of a group with their object types and header addresses. Soft and external links
/// are refused here, before anything follows them.
inline std::vector<child_link> children(hid_t file, const std::string& group, const where& at) {
    std::vector<child_link> out;
    handle g = checked(H5Gopen2(file, group.c_str(), H5P_DEFAULT), where{at.file, {}, group}, "cannot open group");
    auto on_link = [](hid_t, const char* name, const H5L_info_t* info, void* sink) -> herr_t {
        static_cast<std::vector<child_link>*>(sink)->push_back({name, info->type, H5O_TYPE_UNKNOWN, 0});
        return 0;
    };
    hsize_t index = 0;
    check(H5Literate(g.get(), H5_INDEX_NAME, H5_ITER_INC, &index, on_link, &out), where{at.file, {}, group}, "cannot list group");
    for (auto& c : out) {
        const std::string path = join_path(group, c.name);
        if (c.type != H5L_TYPE_HARD)
            throw error(std::string(at.file), problem{errc::unsafe_file,
                                                      {},
                                                      path,
                                                      "a hard link",
                                                      link_type_name(c.type),
                                                      "h5ser does not follow links that may leave the file"});
        H5O_info_t info;
        check(H5Oget_info_by_name2(g.get(), c.name.c_str(), &info, H5O_INFO_BASIC, H5P_DEFAULT), where{at.file, {}, path}, "H5Oget_info");
        c.object = info.type;
        c.address = info.addr;
    }
    return out;
}

/// The weights of a native layer: its own vars/0, vars/1, ... (numeric order), then those of its
/// sub-objects (a Bidirectional's forward and backward layers), in creation order.
inline void native_weights(const store& s, const std::string& group, const std::string& prefix, std::vector<weight_ref>& out, int depth,
                           const where& at) {
    if (depth > 32) throw error(s.file, problem{errc::unsafe_file, {}, group, "layers nested at most 32 deep", "deeper nesting", {}});
    auto links = children(s.h5.get(), group, at);
    if (const auto vars = std::find_if(links.begin(), links.end(), [](const child_link& c) { return c.name == "vars"; });
        vars != links.end() && vars->object == H5O_TYPE_GROUP) {
        const std::string vars_path = join_path(group, "vars");
        auto entries = children(s.h5.get(), vars_path, at);
        std::vector<std::pair<std::size_t, std::string>> numbered;
        for (const auto& e : entries) {
            const bool digits = !e.name.empty() && e.name.size() < 10 && e.name.find_first_not_of("0123456789") == std::string::npos;
            if (!digits || e.object != H5O_TYPE_DATASET)
                throw error(s.file, problem{errc::unexpected_field,
                                            {},
                                            join_path(vars_path, e.name),
                                            "datasets named 0, 1, 2, ...",
                                            "'" + e.name + "'",
                                            "not a Keras 3 variable store"});
            numbered.emplace_back(std::stoul(e.name), e.name);
        }
        std::sort(numbered.begin(), numbered.end());
        for (std::size_t i = 0; i < numbered.size(); ++i) {
            if (numbered[i].first != i)
                throw error(s.file, problem{errc::missing_field,
                                            {},
                                            join_path(vars_path, std::to_string(i)),
                                            "variables 0 to " + std::to_string(numbered.size() - 1),
                                            "a gap in the numbering",
                                            {}});
            out.push_back({prefix + "vars/" + numbered[i].second, join_path(vars_path, numbered[i].second)});
        }
    }
    std::erase_if(links, [](const child_link& c) { return c.name == "vars" || c.object != H5O_TYPE_GROUP; });
    std::sort(links.begin(), links.end(), [](const child_link& a, const child_link& b) { return a.address < b.address; });
    for (const auto& c : links) native_weights(s, join_path(group, c.name), prefix + c.name + "/", out, depth + 1, at);
}

/// The trailing counter Keras appends to repeated names: "dense_3" -> ("dense", 3), "dense" -> ("dense", 0).
inline std::pair<std::string, unsigned long> split_counter(const std::string& name) {
    const auto underscore = name.rfind('_');
    if (underscore == std::string::npos || underscore + 1 == name.size() || underscore + 10 < name.size() ||
        name.find_first_not_of("0123456789", underscore + 1) != std::string::npos)
        return {name, 0};
    return {name.substr(0, underscore), std::stoul(name.substr(underscore + 1))};
}

/// Native stores have no name lists. Keras 3 creates each layer's group as its save walk reaches
/// the layer, in model order, and h5py allocates object headers in creation order, so the order
/// of the header addresses is the model order. Keras's own names cross-check it: dense, dense_1,
/// dense_2 of one class must appear in counter order, or h5ser refuses to guess.
inline void read_native(store& s) {
    const where at{s.file, {}, "/"};
    s.kind = flavour::native;
    auto top = children(s.h5.get(), "/", at);
    std::vector<child_link> layer_links;
    std::string container;
    for (const char* candidate : {"layers", "_layer_checkpoint_dependencies"}) {  // the latter: Keras 2.12-2.14
        const auto it = std::find_if(top.begin(), top.end(), [&](const child_link& c) { return c.name == candidate; });
        if (it != top.end() && it->object == H5O_TYPE_GROUP) {
            container = std::string("/") + candidate;
            layer_links = children(s.h5.get(), container, at);
            break;
        }
    }
    if (container.empty()) {
        // Keras 2 on Windows joined paths with '\': top-level links named "layers\dense".
        for (const auto& c : top)
            if (c.name.rfind("layers\\", 0) == 0 && c.object == H5O_TYPE_GROUP) layer_links.push_back(c);
        container = "/";
        const bool has_vars =
            std::any_of(top.begin(), top.end(), [](const child_link& c) { return c.name == "vars" || c.name == "optimizer"; });
        if (layer_links.empty() && !has_vars)
            throw error(s.file, problem{errc::not_keras_file,
                                        {},
                                        "/",
                                        "a Keras weights file (layer_names, model_weights, or layers/<name>/vars)",
                                        "none of these",
                                        "this HDF5 file was not written by Keras"});
    }
    std::sort(layer_links.begin(), layer_links.end(), [](const child_link& a, const child_link& b) { return a.address < b.address; });
    std::vector<std::pair<std::string, unsigned long>> last_seen;
    for (const auto& c : layer_links) {
        if (c.object != H5O_TYPE_GROUP) continue;
        std::string name = c.name.rfind("layers\\", 0) == 0 ? c.name.substr(7) : c.name;
        layer_ref layer{name, join_path(container, c.name), {}};
        native_weights(s, layer.group, "", layer.weights, 0, at);
        // Keras >= 3.6 records the user's layer name on the vars group.
        const std::string vars = join_path(layer.group, "vars");
        if (H5Lexists(s.h5.get(), vars.c_str(), H5P_DEFAULT) > 0) {
            handle g = checked(H5Gopen2(s.h5.get(), vars.c_str(), H5P_DEFAULT), where{s.file, {}, vars}, "cannot open group");
            if (auto user_name = read_string_attribute(g.get(), "name", where{s.file, {}, vars})) layer.name = *user_name;
        }
        H5Eclear2(H5E_DEFAULT);
        auto [base, counter] = split_counter(name);
        for (auto& [seen_base, seen_counter] : last_seen) {
            if (seen_base == base && seen_counter >= counter && !s.order_problem)
                s.order_problem = problem{errc::unsupported_format,
                                          {},
                                          layer.group,
                                          "layer groups created in model order",
                                          "'" + name + "' created after a layer with a higher counter",
                                          "cannot tell the layer order of this store; load it by_name"};
        }
        last_seen.emplace_back(std::move(base), counter);
        s.layers.push_back(std::move(layer));
    }
    s.weights_group = container;
    const auto opt = std::find_if(top.begin(), top.end(), [](const child_link& c) { return c.name == "optimizer"; });
    if (opt != top.end() && opt->object == H5O_TYPE_GROUP) {
        std::vector<weight_ref> weights;
        native_weights(s, "/optimizer", "", weights, 0, at);
        s.optimizer = std::move(weights);
    }
}

inline bool is_legacy(hid_t file) {
    handle root(H5Gopen2(file, "/", H5P_DEFAULT));
    const bool legacy = root && (H5Aexists(root.get(), "layer_names") > 0 || H5Aexists(root.get(), "layer_names0") > 0 ||
                                 H5Lexists(file, "/model_weights", H5P_DEFAULT) > 0);
    H5Eclear2(H5E_DEFAULT);
    return legacy;
}

/// h5ser's root attributes decide before any Keras detection: a model struct with a top-level field
/// named `layers`, `vars` or `optimizer` would otherwise look like a Keras 3 store.
inline void refuse_h5ser_file(const store& s) {
    handle root = open_root(s.h5.get(), s.file);
    if (H5Aexists(root.get(), format::version_attribute) > 0)
        throw error(s.file, problem{errc::not_keras_file,
                                    {},
                                    "/",
                                    "a Keras weights file",
                                    std::string("an h5ser file (") + format::version_attribute + " at its root)",
                                    "load it with h5ser::load, or with h5ser::load_into"});
    H5Eclear2(H5E_DEFAULT);
}

/// Opens any Keras weights file: legacy .h5, Keras 3 .weights.h5, or a .keras archive (by its zip
/// signature, as Keras detects it). An h5ser file is not one, whatever its groups are called.
inline store open_store(const std::string& path) {
    store s;
    s.file = path;
    hdf5_scope hdf5;
    if (has_zip_signature(path)) {
        zip_archive zip(path);
        s.image = zip.read("model.weights.h5");
        if (!s.image)
            throw error(path, problem{errc::missing_field,
                                      {},
                                      "/model.weights.h5",
                                      "a model.weights.h5 member",
                                      "none",
                                      "this .keras archive holds no HDF5 weights (saved with weights_format=\"npz\"?)"});
        if (auto config = zip.read("config.json")) s.config_json.assign(config->begin(), config->end());
        if (auto metadata = zip.read("metadata.json")) {
            try {
                const json_value meta = parse_json(std::string(metadata->begin(), metadata->end()));
                s.keras_version = std::string(meta.string_at("keras_version"));
            } catch (const std::runtime_error& e) {
                throw error(path, problem{errc::invalid_value, {}, "/metadata.json", "JSON", {}, e.what()});
            }
        }
        s.h5 = open_hdf5_image(*s.image, path + "/model.weights.h5");
        read_native(s);
        return s;
    }
    s.h5 = open_for_reading(path, false);
    refuse_h5ser_file(s);
    if (is_legacy(s.h5.get())) read_legacy(s);
    else read_native(s);
    return s;
}

}  // namespace h5ser::keras::detail
