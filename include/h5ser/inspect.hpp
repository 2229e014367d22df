// h5ser/inspect.hpp: what is in an HDF5 file, as a tree of groups, datasets and attributes.
// Works on any HDF5 file, not only h5ser's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "h5ser/config.hpp"
#include "h5ser/element_type.hpp"
#include "h5ser/file_node.hpp"
#include "h5ser/policy.hpp"

namespace h5ser {

namespace detail {
class manifest;
/// The tree a checked manifest lists (a sealed file's, read without HDF5): its groups, datasets
/// and attributes, and the root's h5ser_format_version, h5ser_mode and fingerprint from its header.
H5SER_CORE_INLINE file_node tree_of(const manifest& contents);
/// inspect, in this process.
H5SER_CORE_INLINE file_node inspect_file(const std::string& path);
/// inspect, in a child process when `mode` says so for this file.
H5SER_CORE_INLINE file_node inspect(const std::string& path, isolation mode);
/// The text of one element of `kind` at `element`, as numpy prints it: integers in full, bools
/// True and False, floats as the shortest text that reads back as the same value of their own
/// precision (a float32 0.9 is "0.9", not 0.899999976; nan, inf, -inf).
H5SER_CORE_INLINE std::string element_text(element_kind kind, const void* element);
}  // namespace detail

/// Reads the tree of any HDF5 file: groups, datasets (dtype, shape) and attributes (dtype, shape,
/// short values). Soft and external links are listed, never followed. A .safetensors file
/// (recognised by its content) gives the tree of its tensors, its dotted names as groups
/// (docs/safetensors.md). An http:// or https:// URL of a sealed h5ser file (in a program that
/// includes <h5ser/remote.hpp>) gives the tree its manifest lists, read in one request
/// (docs/remote.md).
///
/// A file h5ser did not seal is read in a child process, so that a damaged one cannot crash or
/// hang the program; `Policies` may be h5ser::trusted (read it here) or h5ser::untrusted (read
/// sealed files in a child too). See docs/integrity.md.
template <class... Policies>
file_node inspect(const std::string& path) {
    static_assert(((detail::policy_category_of<Policies>() == static_cast<int>(detail::policy_category::trust)) && ...),
                  "h5ser::inspect takes h5ser::trusted or h5ser::untrusted");
    static_assert(sizeof...(Policies) <= 1, "h5ser::inspect: give at most one of h5ser::trusted and h5ser::untrusted");
    return detail::inspect(path,
                           detail::pick_policy<detail::policy_category::trust, detail::isolate_hdf5_parses, Policies...>::type::isolate);
}

/// The tree as indented text, one object or attribute per line:
///
///     /
///       @h5ser_mode  string = "full_model"
///       layer_1/
///         @units  int32 = 16
///         kernel  dataset float32[4, 16]
H5SER_CORE_INLINE std::string to_string(const file_node& node);

}  // namespace h5ser

#if H5SER_CORE_DEFINITIONS
#include "h5ser/detail/load/inspect-inl.hpp"
#endif
