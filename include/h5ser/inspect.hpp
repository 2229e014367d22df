// h5ser/inspect.hpp: what is in an HDF5 file, as a tree of groups, datasets and attributes.
// Works on any HDF5 file, not only h5ser's.
#pragma once

#include <hdf5.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "h5ser/detail/attribute.hpp"
#include "h5ser/detail/dataset.hpp"
#include "h5ser/detail/dtype.hpp"
#include "h5ser/detail/file.hpp"
#include "h5ser/detail/seal.hpp"
#include "h5ser/detail/group.hpp"
#include "h5ser/detail/hdf5.hpp"
#include "h5ser/config.hpp"

namespace h5ser {

/// One group or dataset of a file, with its attributes.
struct file_node {
    enum class kind_type { group, dataset, other };
    struct attribute_info {
        std::string name;
        std::string dtype;   ///< "int32", "string", ...
        std::string shape;   ///< "scalar" or "[3]"
        std::string value;   ///< short text of the value (strings and scalars; empty for long lists)
    };

    std::string name;  ///< link name ("" for the root)
    std::string path;  ///< "/layer_1/kernel"
    kind_type kind = kind_type::group;
    std::string dtype;                 ///< datasets: element type
    std::vector<std::size_t> shape;    ///< datasets: dimensions (empty for scalars)
    std::string layout;                ///< datasets: "contiguous", "compact", "chunked", "virtual"
    std::uint64_t element_bytes = 0;   ///< datasets: bytes per element
    std::uint64_t stored_bytes = 0;    ///< datasets: bytes in the file (after compression)
    std::vector<std::string> filters;  ///< datasets: the filter pipeline ("shuffle", "deflate")
    std::vector<attribute_info> attributes;
    std::vector<file_node> children;   ///< groups: in creation order when the file tracks it, else by name
};

namespace detail {

H5SER_CORE_INLINE std::string attribute_value_text(hid_t attr, hid_t type, hid_t space, const extent& ext, const where& at);

H5SER_CORE_INLINE void inspect_attributes(hid_t object, file_node& node, const where& at);

H5SER_CORE_INLINE std::vector<std::string> links_in_order(hid_t group, const where& at);

H5SER_CORE_INLINE void inspect_object(hid_t object, file_node& node, const where& at);

H5SER_CORE_INLINE void render(const file_node& node, const std::string& indent, std::string& out);

#if H5SER_CORE_DEFINITIONS
// ---- core definitions (compiled once with H5SER_COMPILED_CORE; see h5ser/config.hpp) ----

H5SER_CORE_INLINE std::string attribute_value_text(hid_t attr, hid_t type, hid_t space, const extent& ext, const where& at) {
    const std::size_t count = ext.count();
    if (H5Tget_class(type) == H5T_STRING) {
        if (count != 1) return {};
        std::string s = read_strings(attr, type, space, 1, true, at).front();
        if (s.size() > 60) s = s.substr(0, 57) + "...";
        return "\"" + s + "\"";
    }
    if (count != 1) return {};
    const H5T_class_t cls = H5Tget_class(type);
    if (cls == H5T_INTEGER || cls == H5T_ENUM) {
        long long v = 0;
        if (H5Aread(attr, H5T_NATIVE_LLONG, &v) < 0) {
            H5Eclear2(H5E_DEFAULT);
            return {};
        }
        if (describe_type(type) == "bool") return v ? "true" : "false";
        return std::to_string(v);
    }
    if (cls == H5T_FLOAT) {
        double v = 0;
        if (H5Aread(attr, H5T_NATIVE_DOUBLE, &v) < 0) {
            H5Eclear2(H5E_DEFAULT);
            return {};
        }
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.9g", v);
        return buf;
    }
    return {};
}

H5SER_CORE_INLINE void inspect_attributes(hid_t object, file_node& node, const where& at) {
    const member_listing listing = list_members(object, false, at);
    for (const auto& name : listing.attributes) {
        handle attr = checked(H5Aopen(object, name.c_str(), H5P_DEFAULT), at, "cannot open attribute");
        handle type = checked(H5Aget_type(attr.get()), at, "H5Aget_type");
        handle space = checked(H5Aget_space(attr.get()), at, "H5Aget_space");
        const extent ext = read_extent(space.get(), at);
        node.attributes.push_back({name, describe_type(type.get()), ext.text(),
                                   attribute_value_text(attr.get(), type.get(), space.get(), ext, at)});
    }
}

H5SER_CORE_INLINE std::vector<std::string> links_in_order(hid_t group, const where& at) {
    std::vector<std::string> names;
    auto on_link = [](hid_t, const char* name, const H5L_info_t*, void* sink) -> herr_t {
        static_cast<std::vector<std::string>*>(sink)->emplace_back(name);
        return 0;
    };
    hsize_t index = 0;
    if (H5Literate(group, H5_INDEX_CRT_ORDER, H5_ITER_INC, &index, on_link, &names) >= 0) return names;
    H5Eclear2(H5E_DEFAULT);  // creation order not tracked: list by name
    names.clear();
    index = 0;
    check(H5Literate(group, H5_INDEX_NAME, H5_ITER_INC, &index, on_link, &names), at, "cannot list group");
    return names;
}

H5SER_CORE_INLINE void inspect_object(hid_t object, file_node& node, const where& at) {
    inspect_attributes(object, node, at);
    if (H5Iget_type(object) == H5I_DATASET) {
        node.kind = file_node::kind_type::dataset;
        const dataset_view view = inspect_dataset(object, at);
        node.dtype = view.dtype;
        for (hsize_t d : view.shape.dims) node.shape.push_back(static_cast<std::size_t>(d));
        node.layout = view.layout == H5D_COMPACT ? "compact" : view.layout == H5D_CHUNKED ? "chunked"
                    : view.layout == H5D_VIRTUAL ? "virtual" : "contiguous";
        node.element_bytes = H5Tget_size(view.type.get());
        node.stored_bytes = view.stored_bytes;
        for (const H5Z_filter_t id : view.filter_ids) node.filters.push_back(filter_name(id));
        return;
    }
    if (H5Iget_type(object) != H5I_GROUP) {
        node.kind = file_node::kind_type::other;
        return;
    }
    for (const auto& name : links_in_order(object, at)) {
        file_node child;
        child.name = name;
        child.path = (node.path == "/" ? "" : node.path) + "/" + name;
        H5L_info_t info{};
        check(H5Lget_info(object, name.c_str(), &info, H5P_DEFAULT), at, "H5Lget_info");
        if (info.type != H5L_TYPE_HARD) {  // never follow links out of the file
            child.kind = file_node::kind_type::other;
            child.dtype = link_type_name(info.type);
        } else {
            const where child_at{at.file, {}, child.path};
            handle opened = checked(H5Oopen(object, name.c_str(), H5P_DEFAULT), child_at, "cannot open object");
            inspect_object(opened.get(), child, child_at);
        }
        node.children.push_back(std::move(child));
    }
}

H5SER_CORE_INLINE void render(const file_node& node, const std::string& indent, std::string& out) {
    out += indent;
    if (node.kind == file_node::kind_type::dataset) {
        out += node.name + "  dataset " + node.dtype + "[";
        for (std::size_t i = 0; i < node.shape.size(); ++i) out += (i ? ", " : "") + std::to_string(node.shape[i]);
        out += "]\n";
    } else if (node.kind == file_node::kind_type::group) {
        out += (node.name.empty() ? std::string("/") : node.name + "/") + "\n";
    } else {
        out += node.name + "  " + (node.dtype.empty() ? std::string("other object") : node.dtype) + "\n";
    }
    for (const auto& a : node.attributes) {
        out += indent + "  @" + a.name + "  " + a.dtype + (a.shape == "scalar" ? std::string() : a.shape);
        if (!a.value.empty()) out += " = " + a.value;
        out += "\n";
    }
    for (const auto& child : node.children) render(child, indent + "  ", out);
}

#endif  // H5SER_CORE_DEFINITIONS

}  // namespace detail

/// Reads the tree of any HDF5 file: groups, datasets (dtype, shape) and attributes (dtype, shape,
/// short values). Soft and external links are listed, never followed.
H5SER_CORE_INLINE file_node inspect(const std::string& path);

/// The tree as indented text, one object or attribute per line:
///
///     /
///       @h5ser_mode  string = "full_model"
///       layer_1/
///         @units  int32 = 16
///         kernel  dataset float32[4, 16]
H5SER_CORE_INLINE std::string to_string(const file_node& node);

#if H5SER_CORE_DEFINITIONS
// ---- core definitions (compiled once with H5SER_COMPILED_CORE; see h5ser/config.hpp) ----

H5SER_CORE_INLINE file_node inspect(const std::string& path) {
    detail::quiet_hdf5_errors quiet;
    detail::handle file = detail::open_for_reading(path);
    const detail::where at{path, {}, "/"};
    detail::handle root = detail::checked(H5Gopen2(file.get(), "/", H5P_DEFAULT), at, "cannot open root group");
    file_node node;
    node.path.push_back('/');  // not = "/": GCC 12 warns falsely (-Wrestrict, bug 105329)
    detail::inspect_object(root.get(), node, at);
    return node;
}

H5SER_CORE_INLINE std::string to_string(const file_node& node) {
    std::string out;
    detail::render(node, "", out);
    return out;
}

#endif  // H5SER_CORE_DEFINITIONS

}  // namespace h5ser
