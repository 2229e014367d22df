// h5ser/detail/safetensors/tree-inl.hpp: definitions of h5ser/detail/safetensors/tree.hpp
// (compiled once with the compiled core; see h5ser/config.hpp).
#pragma once

#include <algorithm>
#include <cerrno>

#include "h5ser/detail/format/seal.hpp"  // read_exact
#include "h5ser/detail/hdf5/hdf5.hpp"    // throw_io
#include "h5ser/detail/load/opened_file.hpp"
#include "h5ser/detail/safetensors/tree.hpp"

namespace h5ser::detail::safetensors {

namespace tree_detail {

/// The parts of `name` split at '.', or nothing when one is empty.
inline std::optional<std::vector<std::string>> path_parts(const std::string& name) {
    std::vector<std::string> parts;
    std::size_t from = 0;
    for (;;) {
        const std::size_t dot = name.find('.', from);
        parts.push_back(name.substr(from, dot == std::string::npos ? std::string::npos : dot - from));
        if (parts.back().empty()) return std::nullopt;
        if (dot == std::string::npos) return parts;
        from = dot + 1;
    }
}

inline file_node dataset_node(const tensor_entry& t, std::string name, std::string path) {
    file_node n;
    n.kind = file_node::kind_type::dataset;
    n.name = std::move(name);
    n.path = std::move(path);
    n.dtype = t.dtype;
    for (const std::uint64_t d : t.shape) n.shape.push_back(static_cast<std::size_t>(d));
    n.layout = "contiguous";
    n.element_bytes = t.element_size;
    n.stored_bytes = t.length;
    return n;
}

/// Places tensor `t` at `parts` under `root`; false when a part is already a dataset, or the
/// tensor's own name already a group.
inline bool place(file_node& root, const tensor_entry& t, const std::vector<std::string>& parts) {
    file_node* group = &root;
    std::string path;
    for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
        path += "/" + parts[i];
        auto it = std::find_if(group->children.begin(), group->children.end(), [&](const file_node& c) { return c.name == parts[i]; });
        if (it == group->children.end()) {
            file_node g;
            g.name = parts[i];
            g.path = path;
            group->children.push_back(std::move(g));
            it = group->children.end() - 1;
        }
        if (it->kind != file_node::kind_type::group) return false;
        group = &*it;
    }
    if (std::any_of(group->children.begin(), group->children.end(), [&](const file_node& c) { return c.name == parts.back(); }))
        return false;
    group->children.push_back(dataset_node(t, parts.back(), path + "/" + parts.back()));
    return true;
}

}  // namespace tree_detail

H5SER_CORE_INLINE file_node tree_of(const header& h) {
    file_node root;
    root.path = "/";
    for (const auto& [key, value] : h.metadata)
        root.attributes.push_back({std::string(metadata_prefix) + key, "string", "scalar", short_string_value(value)});
    bool nested = true;
    for (const tensor_entry& t : h.tensors) {
        const auto parts = tree_detail::path_parts(t.name);
        if (!parts || !tree_detail::place(root, t, *parts)) {
            nested = false;
            break;
        }
    }
    if (!nested) {
        root.children.clear();
        for (const tensor_entry& t : h.tensors) root.children.push_back(tree_detail::dataset_node(t, t.name, "/" + t.name));
    }
    return root;
}

H5SER_CORE_INLINE std::optional<header> header_if_safetensors(const std::string& path) {
    const opened_file file = opened_file::open(path);
    unsigned char prefix[9] = {};
    if (file.size() < sizeof prefix) return std::nullopt;
    if (!read_exact(file.fd(), prefix, sizeof prefix, 0)) throw_io(path, "cannot read the file", errno ? errno : EIO);
    if (!looks_like_safetensors(prefix, sizeof prefix, file.size())) return std::nullopt;
    return read_header(file.fd(), file.size(), path);
}

}  // namespace h5ser::detail::safetensors
