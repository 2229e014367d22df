// h5ser/detail/load/dtype_conversion.hpp: the element casts h5ser::convert_dtypes allows on load, in one
// place: floating-point types among themselves (float64, float32, float16, bfloat16), and integers
// among themselves as long as every value fits the field's type.
#pragma once

#include <cstddef>
#include <string_view>
#include <type_traits>
#include <utility>

#include "h5ser/element_type.hpp"

namespace h5ser::detail {

constexpr bool is_floating_kind(element_kind kind) noexcept {
    return kind == element_kind::float16 || kind == element_kind::bfloat16 || kind == element_kind::float32 ||
           kind == element_kind::float64;
}
constexpr bool is_integer_kind(element_kind kind) noexcept { return kind != element_kind::bool_ && !is_floating_kind(kind); }

/// May h5ser::convert_dtypes read elements stored as `from` into a field of `to` elements?
constexpr bool convertible(element_kind from, element_kind to) noexcept {
    return from != to && ((is_floating_kind(from) && is_floating_kind(to)) || (is_integer_kind(from) && is_integer_kind(to)));
}
/// The same, by dtype names (dtype_name()); false for names that are no element type.
constexpr bool convertible(std::string_view from, std::string_view to) noexcept {
    const auto f = element_kind_named(from);
    const auto t = element_kind_named(to);
    return f && t && convertible(*f, *t);
}

/// A floating-point element as float (double stays double).
template <class T>
auto as_float(T value) noexcept {
    if constexpr (std::is_same_v<T, double>) return value;
    else return static_cast<float>(value);
}

/// Converts `count` elements from `in` to `out` (a convertible pair of types); returns the index of
/// the first integer that does not fit `To` (nothing written from it on), or `count`.
template <class To, class From>
std::size_t convert_elements(const From* in, To* out, std::size_t count) noexcept {
    for (std::size_t i = 0; i < count; ++i) {
        if constexpr (std::is_integral_v<From> && std::is_integral_v<To>) {
            if (!std::in_range<To>(in[i])) return i;
            out[i] = static_cast<To>(in[i]);
        } else if constexpr (std::is_same_v<To, double>) {
            out[i] = static_cast<double>(as_float(in[i]));
        } else if constexpr (std::is_same_v<From, double>) {
            out[i] = To(static_cast<float>(in[i]));
        } else {
            out[i] = To(as_float(in[i]));
        }
    }
    return count;
}

}  // namespace h5ser::detail
