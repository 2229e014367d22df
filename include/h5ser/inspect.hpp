// h5ser/inspect.hpp: what is in an HDF5 file, as a tree of groups, datasets and attributes.
// Works on any HDF5 file, not only h5ser's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "h5ser/config.hpp"
#include "h5ser/policy.hpp"

namespace h5ser {

/// One group or dataset of a file, with its attributes.
struct file_node {
    enum class kind_type { group, dataset, other };
    struct attribute_info {
        std::string name;
        std::string dtype;  ///< "int32", "string", ...
        std::string shape;  ///< "scalar" or "[3]"
        std::string value;  ///< short text of the value (strings and scalars; empty for long lists)
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
    std::vector<file_node> children;  ///< groups: in creation order when the file tracks it, else by name
};

namespace detail {
/// inspect, in this process.
H5SER_CORE_INLINE file_node inspect_file(const std::string& path);
/// inspect, in a child process when `mode` says so for this file.
H5SER_CORE_INLINE file_node inspect(const std::string& path, isolation mode);
}  // namespace detail

/// Reads the tree of any HDF5 file: groups, datasets (dtype, shape) and attributes (dtype, shape,
/// short values). Soft and external links are listed, never followed.
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
