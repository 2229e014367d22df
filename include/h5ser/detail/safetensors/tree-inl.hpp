// h5ser/detail/safetensors/tree-inl.hpp: definitions of h5ser/detail/safetensors/tree.hpp
// (compiled once with the compiled core; see h5ser/config.hpp).
#pragma once

#include <algorithm>
#include <cerrno>
#include <functional>
#include <set>

#include "h5ser/detail/format/hash.hpp"  // from_hex
#include "h5ser/detail/format/seal.hpp"  // read_exact
#include "h5ser/detail/hdf5/hdf5.hpp"    // throw_io
#include "h5ser/detail/load/opened_file.hpp"
#include "h5ser/detail/safetensors/tree.hpp"

namespace h5ser::detail::safetensors {

namespace tree_detail {

/// The parts of `name` split at '.', or nothing when one is empty or holds a '/'.
inline std::optional<std::vector<std::string>> path_parts(const std::string& name) {
    std::vector<std::string> parts;
    std::size_t from = 0;
    for (;;) {
        const std::size_t dot = name.find('.', from);
        parts.push_back(name.substr(from, dot == std::string::npos ? std::string::npos : dot - from));
        if (parts.back().empty() || parts.back().find('/') != std::string::npos) return std::nullopt;
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

/// Calls `group(path)` for each group of `path` ("/a/b/w": "/a", "/a/b") not in `seen` yet, which
/// it then holds.
template <class F>
void new_groups(const std::string& path, std::set<std::string, std::less<>>& seen, F&& group) {
    for (std::size_t slash = path.find('/', 1); slash != std::string::npos; slash = path.find('/', slash + 1)) {
        std::string prefix = path.substr(0, slash);
        if (seen.insert(prefix).second) group(prefix);
    }
}

[[noreturn]] inline void refuse(const std::string& file, const tensor_entry& t, errc code, std::string expected, std::string found) {
    throw error(file, problem{code, {}, t.name, std::move(expected), std::move(found), "in the header of this .safetensors file"});
}

}  // namespace tree_detail

H5SER_CORE_INLINE std::vector<std::string> tensor_paths(const header& h, bool flat) {
    std::vector<std::string> paths;
    paths.reserve(h.tensors.size());
    if (!flat) {
        std::set<std::string, std::less<>> groups;
        bool nested = true;
        for (const tensor_entry& t : h.tensors) {
            const auto parts = tree_detail::path_parts(t.name);
            if (!parts) {
                nested = false;
                break;
            }
            std::string path;
            for (const std::string& part : *parts) path += "/" + part;
            tree_detail::new_groups(path, groups, [](const std::string&) {});
            paths.push_back(std::move(path));
        }
        // No tensor may also be the group of another ("a.b" beside "a.b.c").
        nested = nested && std::none_of(paths.begin(), paths.end(), [&](const std::string& p) { return groups.count(p) != 0; });
        if (nested) return paths;
        paths.clear();
    }
    for (const tensor_entry& t : h.tensors) paths.push_back("/" + t.name);
    return paths;
}

H5SER_CORE_INLINE file_node tree_of(const header& h) {
    file_node root;
    root.path = "/";
    for (const auto& [key, value] : h.metadata)
        root.attributes.push_back({std::string(metadata_prefix) + key, "string", "scalar", short_string_value(value)});
    const std::vector<std::string> paths = tensor_paths(h, false);
    for (std::size_t i = 0; i < paths.size(); ++i) {
        const tensor_entry& t = h.tensors[i];
        if (paths[i] == "/" + t.name) {  // its whole name at the root, whatever it holds
            root.children.push_back(tree_detail::dataset_node(t, t.name, paths[i]));
            continue;
        }
        file_node* group = &root;
        for (std::size_t slash = paths[i].find('/', 1); slash != std::string::npos; slash = paths[i].find('/', slash + 1)) {
            const std::string prefix = paths[i].substr(0, slash);
            auto it = std::find_if(group->children.begin(), group->children.end(), [&](const file_node& c) { return c.path == prefix; });
            if (it == group->children.end()) {
                file_node g;
                g.name = prefix.substr(prefix.rfind('/') + 1);
                g.path = prefix;
                group->children.push_back(std::move(g));
                it = group->children.end() - 1;
            }
            group = &*it;
        }
        group->children.push_back(tree_detail::dataset_node(t, paths[i].substr(paths[i].rfind('/') + 1), paths[i]));
    }
    return root;
}

H5SER_CORE_INLINE manifest manifest_of(const header& h, std::uint64_t file_size, const std::string& file, bool flat) {
    const std::vector<std::string> paths = tensor_paths(h, flat);
    std::optional<std::uint64_t> fingerprint;
    for (const auto& [key, value] : h.metadata) {
        if (key != fingerprint_key) continue;
        fingerprint = from_hex(value);
        if (!fingerprint)
            throw error(file, problem{errc::malformed_file,
                                      {},
                                      std::string(metadata_prefix) + key,
                                      "16 lowercase hex digits (an h5ser fingerprint)",
                                      short_string_value(value),
                                      "in the header of this .safetensors file"});
    }
    manifest_builder builder;
    std::set<std::string, std::less<>> groups;
    for (std::size_t i = 0; i < paths.size(); ++i) {
        const tensor_entry& t = h.tensors[i];
        if (t.name.find('\0') != std::string::npos || t.name.find('/') != std::string::npos)
            tree_detail::refuse(file, t, errc::invalid_value, "a name without '/' or NUL (a struct's field or a map's key)",
                                "a tensor named so");
        if (t.shape.size() > 32)
            tree_detail::refuse(file, t, errc::shape_mismatch, "at most 32 dimensions (HDF5's limit)",
                                std::to_string(t.shape.size()) + " dimensions");
        tree_detail::new_groups(paths[i], groups, [&](const std::string& group) { builder.group(group); });
        builder.dataset(paths[i], t.dtype, t.shape.data(), t.shape.size(), record_layout::contiguous, {}, t.offset, t.length, 0, nullptr);
    }
    return manifest::without_checksums(builder.finish(save_mode::weights_only, fingerprint.value_or(0)), file_size, h.data_start, file,
                                       fingerprint.has_value());
}

H5SER_CORE_INLINE std::optional<header> header_if_safetensors(const opened_file& file) {
    unsigned char prefix[9] = {};
    if (file.size() < sizeof prefix) return std::nullopt;
    if (!read_exact(file.fd(), prefix, sizeof prefix, 0)) throw_io(file.path(), "cannot read the file", errno ? errno : EIO);
    if (!looks_like_safetensors(prefix, sizeof prefix, file.size())) return std::nullopt;
    return read_header(file.fd(), file.size(), file.path());
}

H5SER_CORE_INLINE std::optional<header> header_if_safetensors(const std::string& path) {
    return header_if_safetensors(opened_file::open(path));
}

}  // namespace h5ser::detail::safetensors
