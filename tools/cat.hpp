// `h5ser cat FILE /path [--slice a:b,c:d]`: one tensor, or a part of it, printed as numpy prints an
// array, read with h5ser::read_tensor (verified when h5ser sealed the file).
#pragma once

#include <h5ser/h5ser.hpp>

#include "internals.hpp"

#include <cstdio>
#include <string>
#include <vector>

namespace h5ser_cli {

/// The part `text` names ("a:b", "a:", ":b", ":" or "i" per dimension, comma-separated: numpy's
/// slices, end excluded) of a tensor of `dims`; an h5ser::error when it is not one.
inline h5ser::slice parse_slice(const std::string& text, const h5ser::dynamic_shape& dims, const std::string& file,
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
    const auto element = [&](std::size_t at) {
        return internal::element_text(t.kind(), static_cast<const unsigned char*>(t.data()) + at * h5ser::element_size(t.kind()));
    };
    if (d == shape.size()) {  // rank 0
        out += element(offset);
        return;
    }
    std::size_t stride = 1;
    for (std::size_t i = d + 1; i < shape.size(); ++i) stride *= shape[i];
    const std::size_t n = shape[d];
    const bool cut = summarize && n > 6;
    const bool innermost = d + 1 == shape.size();
    const std::string between_rows = "," + std::string(shape.size() - d - 1, '\n') + std::string(d + 1, ' ');
    // Before an element of a row that is not its first: ", ", or a new line where the element
    // would pass 75 columns.
    const auto before_element = [&](std::size_t width) {
        const std::size_t line = out.rfind('\n');
        const std::size_t column = out.size() - (line == std::string::npos ? 0 : line + 1);
        out += column + width + 4 > 75 ? ",\n" + std::string(d + 1, ' ') : std::string(", ");
    };
    out += '[';
    for (std::size_t i = 0; i < n; ++i) {
        if (cut && i == 3) {
            if (innermost) before_element(3);
            else out += between_rows;
            out += "...";
            i = n - 3;
        }
        if (!innermost) {
            if (i != 0) out += between_rows;
            append_elements(out, t, d + 1, offset + i * stride, summarize);
            continue;
        }
        const std::string text = element(offset + i);
        if (i != 0) before_element(text.size());
        out += text;
    }
    out += ']';
}

/// The tool parses a file h5ser did not seal in a child process (run_command), so the read itself
/// is h5ser::trusted: in that child, or in place for a sealed file (mapped, verified) or --trusted.
/// A part is cut from the tensor read whole, as a verified h5ser::read_tensor of a part does: the
/// whole tensor gives the dimensions open ranges ("5:") run to.
inline int cat(const std::string& path, const std::string& object, const std::string& slice_text) {
    h5ser::any_tensor t = h5ser::read_tensor<h5ser::trusted>(path, object);
    std::string title = object;
    if (!slice_text.empty()) {
        t = internal::part_of(t, parse_slice(slice_text, t.shape(), path, object), path, object);
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
