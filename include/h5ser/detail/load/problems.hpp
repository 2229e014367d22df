// h5ser/detail/load/problems.hpp: collects every problem of a load before one error reports them all.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "h5ser/config.hpp"
#include "h5ser/error.hpp"

namespace h5ser::detail {

/// How a shape is written: "[4, 8]" (h5ser's messages and listings), or as Python prints a tuple,
/// "(4, 8)", "(40,)", "()" (Keras's messages, which h5ser's Keras interop repeats).
enum class shape_style { brackets, python_tuple };

/// The one way h5ser turns a shape into text.
template <class Dim>
std::string dims_text(const Dim* dims, std::size_t rank, shape_style style = shape_style::brackets) {
    std::string s(1, style == shape_style::brackets ? '[' : '(');
    for (std::size_t i = 0; i < rank; ++i) {
        if (i) s += ", ";
        s += std::to_string(dims[i]);
    }
    if (style == shape_style::python_tuple && rank == 1) s += ',';
    s += style == shape_style::brackets ? ']' : ')';
    return s;
}
template <class Dims>
std::string dims_text(const Dims& dims, shape_style style = shape_style::brackets) {
    return dims_text(dims.data(), dims.size(), style);
}

class problem_list {
public:
    /// Adds `p` (compiled once: every check of a walk adds its problems here).
    H5SER_CORE_INLINE void add(problem p);
    [[nodiscard]] bool empty() const noexcept { return items_.empty(); }
    [[nodiscard]] std::size_t size() const noexcept { return items_.size(); }
    [[nodiscard]] const std::vector<problem>& items() const noexcept { return items_; }
    [[nodiscard]] std::vector<problem>& items() noexcept { return items_; }
    /// Throws one h5ser::error listing every problem, if there is any.
    void throw_if_any(const std::string& file) {
        if (!items_.empty()) throw error(file, std::move(items_));
    }

private:
    std::vector<problem> items_;
};

}  // namespace h5ser::detail

#if H5SER_CORE_DEFINITIONS
#include "h5ser/detail/load/problems-inl.hpp"
#endif
