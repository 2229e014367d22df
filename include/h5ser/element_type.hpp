// h5ser/element_type.hpp: which C++ types can be tensor elements and scalar attributes.
#pragma once

#include <array>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>

#include "h5ser/float16.hpp"

namespace h5ser {

namespace detail {
template <class T>
inline constexpr bool is_char_like_v = std::is_same_v<T, char> || std::is_same_v<T, wchar_t> || std::is_same_v<T, char8_t> ||
                                       std::is_same_v<T, char16_t> || std::is_same_v<T, char32_t>;
}  // namespace detail

/// Element types h5ser stores bit for bit: bool, the signed and unsigned integer types (8 to 64
/// bits), float, double, h5ser::float16 and h5ser::bfloat16. `char` is excluded because its
/// signedness is not portable (use std::int8_t, std::uint8_t or std::string), and `long double`
/// because its layout differs between platforms (use double).
template <class T>
concept element_type = std::is_same_v<T, bool> || std::is_same_v<T, float> || std::is_same_v<T, double> || std::is_same_v<T, float16> ||
    std::is_same_v<T, bfloat16> ||(std::is_integral_v<T> && !detail::is_char_like_v<T> && !std::is_same_v<T, bool> && sizeof(T) <= 8);

/// The numpy-style name of an element type: "float32", "int64", "bool", "bfloat16", ...
template <element_type T>
constexpr std::string_view dtype_name() noexcept {
    if constexpr (std::is_same_v<T, bool>) return "bool";
    else if constexpr (std::is_same_v<T, float>) return "float32";
    else if constexpr (std::is_same_v<T, double>) return "float64";
    else if constexpr (std::is_same_v<T, float16>) return "float16";
    else if constexpr (std::is_same_v<T, bfloat16>) return "bfloat16";
    else if constexpr (std::is_signed_v<T>) {
        constexpr std::string_view names[] = {"int8", "int16", "", "int32", "", "", "", "int64"};
        return names[sizeof(T) - 1];
    } else {
        constexpr std::string_view names[] = {"uint8", "uint16", "", "uint32", "", "", "", "uint64"};
        return names[sizeof(T) - 1];
    }
}

/// An element type as a run-time value, for tensors whose element type is known only at run time
/// (torch::Tensor; see the run-time form of h5ser::tensor_adapter).
enum class element_kind : std::uint8_t {
    bool_,
    int8,
    int16,
    int32,
    int64,
    uint8,
    uint16,
    uint32,
    uint64,
    float16,
    bfloat16,
    float32,
    float64
};

/// Every element_kind, in declaration order.
inline constexpr std::array<element_kind, 13> all_element_kinds = {
    element_kind::bool_,    element_kind::int8,    element_kind::int16,  element_kind::int32,  element_kind::int64,
    element_kind::uint8,    element_kind::uint16,  element_kind::uint32, element_kind::uint64, element_kind::float16,
    element_kind::bfloat16, element_kind::float32, element_kind::float64};

/// Calls `f.template operator()<T>()` with the element type T of `kind`, and returns its result.
template <class F>
constexpr decltype(auto) with_element_type(element_kind kind, F&& f) {
    switch (kind) {
        case element_kind::bool_:
            return std::forward<F>(f).template operator()<bool>();
        case element_kind::int8:
            return std::forward<F>(f).template operator()<std::int8_t>();
        case element_kind::int16:
            return std::forward<F>(f).template operator()<std::int16_t>();
        case element_kind::int32:
            return std::forward<F>(f).template operator()<std::int32_t>();
        case element_kind::int64:
            return std::forward<F>(f).template operator()<std::int64_t>();
        case element_kind::uint8:
            return std::forward<F>(f).template operator()<std::uint8_t>();
        case element_kind::uint16:
            return std::forward<F>(f).template operator()<std::uint16_t>();
        case element_kind::uint32:
            return std::forward<F>(f).template operator()<std::uint32_t>();
        case element_kind::uint64:
            return std::forward<F>(f).template operator()<std::uint64_t>();
        case element_kind::float16:
            return std::forward<F>(f).template operator()<float16>();
        case element_kind::bfloat16:
            return std::forward<F>(f).template operator()<bfloat16>();
        case element_kind::float32:
            return std::forward<F>(f).template operator()<float>();
        case element_kind::float64:
            break;
    }
    return std::forward<F>(f).template operator()<double>();
}

/// The numpy-style name of `kind`, as dtype_name<T>() names its type.
constexpr std::string_view dtype_name(element_kind kind) noexcept {
    return with_element_type(kind, []<class T>() { return dtype_name<T>(); });
}

/// The element_kind of element type T.
template <element_type T>
constexpr element_kind element_kind_of() noexcept {
    for (const element_kind kind : all_element_kinds)
        if (dtype_name(kind) == dtype_name<T>()) return kind;
    return element_kind::float64;  // not reached: every element type has its kind
}

/// The size in bytes of an element of `kind`.
constexpr std::size_t element_size(element_kind kind) noexcept {
    return with_element_type(kind, []<class T>() { return sizeof(T); });
}

/// The element_kind dtype_name() names `name`; nothing for any other name.
constexpr std::optional<element_kind> element_kind_named(std::string_view name) noexcept {
    for (const element_kind kind : all_element_kinds)
        if (dtype_name(kind) == name) return kind;
    return std::nullopt;
}

}  // namespace h5ser
