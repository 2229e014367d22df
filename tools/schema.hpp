// `h5ser schema FILE`, and the walk over an h5ser schema that audit and convert share.
#pragma once

#include <h5ser/h5ser.hpp>

#include "internals.hpp"
#include "output.hpp"

#include <cstdio>
#include <optional>
#include <string>

namespace h5ser_cli {

/// The `schema` root attribute of a full-model h5ser file; nullopt for other files.
inline std::optional<std::string> schema_text(hid_t root, const std::string& path) {
    return internal::read_string_attribute(root, internal::format::schema_attribute, internal::where{path, {}, "/"});
}

/// Calls visit(hdf5_path, node) for every node of an h5ser schema, depth first, in field order;
/// when visit returns false, the node's children are skipped.
template <class Visit>
void walk_schema(const internal::json_value& node, const std::string& path, const Visit& visit, int depth = 0) {
    if (depth > 64 || !node.is_object() || !visit(path.empty() ? std::string("/") : path, node)) return;
    for (const char* key : {"fields", "elements", "entries"})
        if (const auto* children = node.find(key); children && children->is_object())
            for (std::size_t i = 0; i < children->keys.size(); ++i)
                walk_schema(children->items[i], path + "/" + children->keys[i], visit, depth + 1);
}

inline int schema(const std::string& path) {
    internal::hdf5_scope hdf5;
    internal::handle file = internal::open_for_reading(path);
    const internal::where at{path, {}, "/"};
    internal::handle root = internal::open_root(file.get(), path);
    const auto text = schema_text(root.get(), path);
    if (!text) {
        std::fprintf(stderr, "h5ser: %s has no schema (only full-model files written by h5ser have one)\n", path.c_str());
        return 1;
    }
    print_text(*text + "\n");
    return 0;
}

}  // namespace h5ser_cli
