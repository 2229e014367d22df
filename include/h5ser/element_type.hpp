// h5ser/element_type.hpp: which C++ types can be tensor elements and scalar attributes.
#pragma once

#include <climits>
#include <cstdint>
#include <string_view>
#include <type_traits>

#include "h5ser/float16.hpp"

namespace h5ser {

namespace detail {
template <class T>
inline constexpr bool is_char_like_v =
    std::is_same_v<T, char> || std::is_same_v<T, wchar_t> || std::is_same_v<T, char8_t> ||
    std::is_same_v<T, char16_t> || std::is_same_v<T, char32_t>;
}  // namespace detail

/// Element types h5ser stores bit for bit: bool, the signed and unsigned integer types (8 to 64
/// bits), float, double, h5ser::float16 and h5ser::bfloat16. `char` is excluded because its
/// signedness is not portable (use std::int8_t, std::uint8_t or std::string), and `long double`
/// because its layout differs between platforms (use double).
template <class T>
concept element_type =
    std::is_same_v<T, bool> || std::is_same_v<T, float> || std::is_same_v<T, double> ||
    std::is_same_v<T, float16> || std::is_same_v<T, bfloat16> ||
    (std::is_integral_v<T> && !detail::is_char_like_v<T> && !std::is_same_v<T, bool> && sizeof(T) <= 8);

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

}  // namespace h5ser
