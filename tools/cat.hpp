// `h5ser cat FILE /path [--slice a:b,c:d]`: one tensor, or a part of it, printed as numpy prints an
// array, read with h5ser::read_tensor (verified when h5ser sealed the file).
#pragma once

#include <h5ser/h5ser.hpp>

#include "internals.hpp"

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

namespace h5ser_cli {

/// The dimensions of the dataset `object` of `path` (from the file's tree, as `ls` reads it);
/// nothing when there is no such dataset (read_tensor then says why).
inline std::optional<std::vector<std::size_t>> dataset_dims(const std::string& path, const std::string& object) {
    const h5ser::file_node tree = h5ser::inspect<h5ser::trusted>(path);
    const h5ser::file_node* node = &tree;
    const auto names = internal::object_path_names(object);
    if (!names) return std::nullopt;
    for (const std::string& name : *names) {
        const h5ser::file_node* next = nullptr;
        for (const auto& child : node->children)
            if (child.name == name) next = &child;
        if (!next) return std::nullopt;
        node = next;
    }
    if (node->kind != h5ser::file_node::kind_type::dataset) return std::nullopt;
    return node->shape;
}

/// The part `text` names ("a:b", "a:", ":b", ":" or "i" per dimension, comma-separated: numpy's
/// slices, end excluded) of a tensor of `dims`; an h5ser::error when it is not one.
inline h5ser::slice parse_slice(const std::string& text, const std::vector<std::size_t>& dims, const std::string& file,
                                const std::string& object) {
    const std::string dataset = object.starts_with('/') ? object : "/" + object;
    const auto refuse = [&](const std::string& found) -> h5ser::slice {
        throw h5ser::error(file, h5ser::problem{h5ser::errc::invalid_value,
                                                dataset.substr(1),
                                                dataset,
                                                "--slice of at most " + std::to_string(dims.size()) +
                                                    " comma-separated ranges a:b (a: and :b open, one index i)",
                                                "'" + found + "'",
                                                {}});
    };
    const auto number = [&](const std::string& s, std::size_t fallback) -> std::size_t {
        if (s.empty()) return fallback;
        if (s.find_first_not_of("0123456789") != std::string::npos || s.size() > 18) refuse(text);
        return static_cast<std::size_t>(std::stoull(s));
    };
    h5ser::slice part;
    std::size_t at = 0;
    for (std::size_t d = 0; at <= text.size(); ++d) {
        const std::size_t comma = std::min(text.find(',', at), text.size());
        const std::string range = text.substr(at, comma - at);
        if (d >= dims.size() || range.empty()) return refuse(text);
        const std::size_t colon = range.find(':');
        const std::size_t first = number(range.substr(0, colon), 0);
        const std::size_t end = colon == std::string::npos ? first + 1 : number(range.substr(colon + 1), dims[d]);
        part.start.push_back(first);
        part.count.push_back(end > first ? end - first : 0);  // numpy: an empty range when end <= start
        at = comma + 1;
    }
    return part;
}

/// Appends the elements of `t` (C order) from element `offset` on, dimension `d` and beyond, as
/// numpy prints them: nested brackets, rows on lines of their own, wrapped at 75 columns; with
/// `summarize`, the first and last three of each dimension of more than six, "..." between.
inline void append_elements(std::string& out, const h5ser::any_tensor& t, std::size_t d, std::size_t offset, bool summarize) {
    const auto& shape = t.shape();
    const std::size_t element = h5ser::element_size(t.kind());
    if (d == shape.size()) {
        out += internal::element_text(t.kind(), static_cast<const unsigned char*>(t.data()) + offset * element);
        return;
    }
    std::size_t stride = 1;
    for (std::size_t i = d + 1; i < shape.size(); ++i) stride *= shape[i];
    const std::size_t n = shape[d];
    const bool cut = summarize && n > 6;
    const bool innermost = d + 1 == shape.size();
    const std::string between_rows = "," + std::string(shape.size() - d - 1, '\n') + std::string(d + 1, ' ');
    const auto separate = [&](const std::string& next) {
        if (!innermost) return void(out += between_rows);
        const std::size_t column = out.size() - (out.rfind('\n') == std::string::npos ? 0 : out.rfind('\n') + 1);
        if (column + 2 + next.size() + 2 > 75) out += ",\n" + std::string(d + 1, ' ');
        else out += ", ";
    };
    out += '[';
    for (std::size_t i = 0; i < n; ++i) {
        if (cut && i == 3) {
            separate("...");
            out += "...";
            i = n - 3;
        }
        if (i != 0) {
            std::string next;
            if (innermost) append_elements(next, t, d + 1, offset + i * stride, summarize);
            separate(next);
            if (innermost) {
                out += next;
                continue;
            }
        }
        append_elements(out, t, d + 1, offset + i * stride, summarize);
    }
    out += ']';
}

/// The tool parses a file h5ser did not seal in a child process (run_command), so the read itself
/// is h5ser::trusted: in that child, or in place for a sealed file (mapped, verified) or --trusted.
inline int cat(const std::string& path, const std::string& object, const std::string& slice_text) {
    h5ser::any_tensor t;
    std::string title = object;
    if (slice_text.empty()) {
        t = h5ser::read_tensor<h5ser::trusted>(path, object);
    } else {
        const auto dims = dataset_dims(path, object);
        if (!dims) {
            t = h5ser::read_tensor<h5ser::trusted>(path, object);  // throws, saying why there is no such tensor
            return 1;
        }
        t = h5ser::read_tensor<h5ser::trusted>(path, object, parse_slice(slice_text, *dims, path, object));
        title += "[" + slice_text + "]";
    }
    title += "  " + t.describe();
    // numpy's threshold: arrays of more than 1,000 elements are summarized.
    std::string text;
    append_elements(text, t, 0, 0, t.size() > 1000);
    std::printf("%s\n%s\n", title.c_str(), text.c_str());
    return 0;
}

}  // namespace h5ser_cli
