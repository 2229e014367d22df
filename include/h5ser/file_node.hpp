// h5ser/file_node.hpp: h5ser::file_node, one object of a file's tree as h5ser::inspect gives it
// (inspect.hpp), and as the readers of other formats build it (.safetensors).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace h5ser {

/// One group or dataset of a file, with its attributes.
struct file_node {
    enum class kind_type { group, dataset, other };
    struct attribute_info {
        std::string name;
        std::string dtype;  ///< "int32", "string", ...
        std::string shape;  ///< "scalar" or "[3]"
        /// Short text of the value: a number, true/false, a string quoted and cut to 60 characters,
        /// a list in brackets ("[1, 2, 3]"; of more than eight elements, the first six, "..." and
        /// the last; its strings cut to 20 characters). Empty for other types (compounds, references).
        std::string value;
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
/// The text file_node::attribute_info::value gives a string `s`: quoted, cut to 60 characters.
inline std::string short_string_value(std::string s) {
    if (s.size() > 60) s = s.substr(0, 57) + "...";
    return "\"" + s + "\"";
}
}  // namespace detail

}  // namespace h5ser
