// h5ser/mapping.hpp: how each C++ type maps onto HDF5 (DESIGN.md section 3).
//
//   aggregate struct                         -> group named after the field
//   h5ser::tensor, std::vector<element>,
//   any type with an h5ser::tensor_adapter   -> dataset
//   element scalar, enum, std::string,
//   std::vector<std::string>, std::array<element or std::string, N>  -> attribute
//   std::vector<X>, std::array<X, N> (other X)  -> group with children "0", "1", ...
//   std::map<std::string, X>                 -> group with one child per key
//   std::optional<X>                         -> X, absent when empty
//   h5ser::optimizer_state<X>                -> X; skipped in weights-only files
#pragma once

#include <array>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "h5ser/detail/attribute.hpp"
#include "h5ser/optimizer_state.hpp"
#include "h5ser/policy.hpp"
#include "h5ser/reflect.hpp"
#include "h5ser/storage_policy.hpp"
#include "h5ser/tensor_adapter.hpp"

namespace h5ser::detail {

enum class node_kind { group, dataset, attribute, sequence, map, optional, optimizer_wrapper, storage_wrapper, unsupported };

template <class T>
struct storage_wrapper_traits {
    static constexpr bool value = false;
};
template <class T, class... P>
struct storage_wrapper_traits<stored<T, P...>> {
    static constexpr bool value = true;
    using element = T;
    using storage = storage_of<flatten_t<P...>>;
    static_assert((storage_policy<P> && ...) || (requires { typename P::h5ser_bundle; } && ...),
                  "h5ser::stored<T, Policies...>: only storage policies (layouts, filters, presets) apply to one field");
};

template <class T>
struct sequence_traits {
    static constexpr bool value = false;
};
template <class T, class Alloc>
struct sequence_traits<std::vector<T, Alloc>> {
    static constexpr bool value = true;
    static constexpr bool fixed_size = false;
    using element = T;
};
template <class T, std::size_t N>
struct sequence_traits<std::array<T, N>> {
    static constexpr bool value = true;
    static constexpr bool fixed_size = true;
    static constexpr std::size_t size = N;
    using element = T;
};

template <class T>
struct string_map_traits {
    static constexpr bool value = false;
};
template <class T, class Compare, class Alloc>
struct string_map_traits<std::map<std::string, T, Compare, Alloc>> {
    static constexpr bool value = true;
    using element = T;
};

template <class T>
struct optional_traits {
    static constexpr bool value = false;
};
template <class T>
struct optional_traits<std::optional<T>> {
    static constexpr bool value = true;
    using element = T;
};

template <class T>
struct is_optimizer_wrapper : std::false_type {};
template <class T>
struct is_optimizer_wrapper<optimizer_state<T>> : std::true_type {};

template <class T>
constexpr node_kind kind_of() {
    if constexpr (storage_wrapper_traits<T>::value) return node_kind::storage_wrapper;
    else if constexpr (is_optimizer_wrapper<T>::value) return node_kind::optimizer_wrapper;
    else if constexpr (optional_traits<T>::value) return node_kind::optional;
    else if constexpr (adapted_tensor<T>) return node_kind::dataset;
    else if constexpr (attribute_value<T>) return node_kind::attribute;
    else if constexpr (sequence_traits<T>::value) return node_kind::sequence;
    else if constexpr (string_map_traits<T>::value) return node_kind::map;
    else if constexpr (std::is_class_v<T> && !std::is_union_v<T>) return node_kind::group;
    else return node_kind::unsupported;
}

/// Fails compilation for types h5ser cannot store, with a message that says what to write.
template <class T>
constexpr bool assert_storable() {
    static_assert(!std::is_union_v<T>, "h5ser: unions cannot be stored; store the active member in a struct instead");
    static_assert(!std::is_pointer_v<T>,
                  "h5ser: pointers cannot be stored; hold the value itself, or an h5ser::tensor for arrays");
    static_assert(!std::is_reference_v<T>, "h5ser: reference members cannot be stored; hold the value itself");
    static_assert(!is_char_like_v<T>,
                  "h5ser: char is not a portable element type; use std::int8_t, std::uint8_t or std::string");
    static_assert(!std::is_same_v<T, long double>, "h5ser: long double differs between platforms; use double");
    static_assert(!std::is_same_v<T, std::vector<bool>>,
                  "h5ser: std::vector<bool> is not contiguous; use h5ser::tensor<bool, 1>");
    static_assert(!std::is_array_v<T>, "h5ser: C arrays cannot be stored; use std::array or h5ser::tensor");
    static_assert(!(std::is_class_v<T> && !std::is_union_v<T>) || kind_of<T>() != node_kind::group ||
                      std::is_aggregate_v<T>,
                  "h5ser: this type is neither a tensor, an attribute value, a supported container nor an aggregate "
                  "struct. For a struct of your own: remove its user-declared constructors (use default member "
                  "initializers), make all data members public and remove virtual functions. Otherwise use "
                  "h5ser::tensor, an arithmetic type, std::string, std::vector, std::array, std::map<std::string, T>, "
                  "std::optional, or specialize h5ser::tensor_adapter for your array type");
    static_assert(kind_of<T>() != node_kind::unsupported || std::is_union_v<T> || std::is_pointer_v<T> || std::is_reference_v<T> ||
                      is_char_like_v<T> || std::is_same_v<T, long double> || std::is_array_v<T>,
                  "h5ser: this type cannot be stored. Use h5ser::tensor, an arithmetic type, std::string, "
                  "std::vector, std::array, std::map<std::string, T>, std::optional or a plain struct");
    if constexpr (kind_of<T>() == node_kind::group) return assert_reflectable<T>();
    else return kind_of<T>() != node_kind::unsupported;
}

/// Is anything of T written in `mode`? Weights-only files hold tensors outside optimizer state.
template <class T, save_mode Mode>
constexpr bool is_stored() {
    if constexpr (Mode != save_mode::weights_only) {
        return true;
    } else if constexpr (is_optimizer_state_v<T>) {
        return false;
    } else {
        constexpr node_kind kind = kind_of<T>();
        if constexpr (kind == node_kind::dataset) return true;
        else if constexpr (kind == node_kind::attribute || kind == node_kind::unsupported) return false;
        else if constexpr (kind == node_kind::optional) return is_stored<typename optional_traits<T>::element, Mode>();
        else if constexpr (kind == node_kind::sequence) return is_stored<typename sequence_traits<T>::element, Mode>();
        else if constexpr (kind == node_kind::map) return is_stored<typename string_map_traits<T>::element, Mode>();
        else if constexpr (kind == node_kind::optimizer_wrapper) return false;
        else if constexpr (kind == node_kind::storage_wrapper) return is_stored<typename storage_wrapper_traits<T>::element, Mode>();
        else if constexpr (is_reflectable_v<T>) {
            return []<std::size_t... I>(std::index_sequence<I...>) {
                return (is_stored<field_type_t<T, I>, Mode>() || ...);
            }(std::make_index_sequence<field_count_v<T>>{});
        } else {
            return false;
        }
    }
}

}  // namespace h5ser::detail
