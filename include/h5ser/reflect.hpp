// h5ser/reflect.hpp: compile-time reflection of aggregate structs: field count, field names
// (from __PRETTY_FUNCTION__ on pointers to subobjects), type names, and field iteration.
//
// Boost.PFR gives field access. Boost 1.81's PFR has no get_name, so names are read from the
// compiler's pretty function signature, with a probe struct that checks the parser at compile time.
// Every PFR precondition is checked here first, so users see h5ser's message, not PFR's.
#pragma once

#include <array>
#include <cstddef>
#include <string_view>
#include <type_traits>
#include <utility>

#include "h5ser/detail/model/reflection.hpp"

namespace h5ser {

// The probes and parsers behind these live in detail/model/reflection.hpp.

/// True for structs h5ser can walk: aggregates (public members, no user-declared constructors,
/// no virtual functions), no base classes, no C arrays, at most 100 fields.
template <class T>
inline constexpr bool is_reflectable_v = std::is_class_v<T>&& detail::reflection_check<std::remove_cv_t<T>>::ok;

/// Fails compilation with a message that says what to change. Call before touching PFR.
template <class T>
constexpr bool assert_reflectable() noexcept {
    using check = detail::reflection_check<std::remove_cv_t<T>>;
    static_assert(!std::is_union_v<T>, "h5ser: unions cannot be stored; store the active member in a struct instead");
    static_assert(std::is_union_v<T> || check::is_aggregate,
                  "h5ser: this struct is not an aggregate, so h5ser cannot list its fields. Remove user-declared "
                  "constructors (use default member initializers instead), make all data members public, and "
                  "remove virtual functions");
    static_assert(!check::has_base,
                  "h5ser: structs with base classes cannot be reflected. Hold the base as a named member instead "
                  "(struct Derived { Base base; ... };)");
    static_assert(!check::too_many_fields,
                  "h5ser: more than 100 fields (counting each C array element). Group fields into nested structs, "
                  "or use h5ser::tensor / std::array instead of C arrays");
    static_assert(!check::has_c_array,
                  "h5ser: C array members (T x[N]) cannot be reflected. Use std::array<T, N> for a few values, "
                  "or h5ser::tensor<T, Rank> for weights (a member without a usable default constructor or a "
                  "reference member also triggers this message)");
    static_assert(!check::fields_not_found,
                  "h5ser: h5ser finds no fields in this struct although it holds data: a member has no default "
                  "state, so the struct cannot be initialized member by member. A fixed-extent std::span<T, N> "
                  "does this: use std::span<T> (dynamic extent), or h5ser::tensor. So do reference members "
                  "(hold the value) and members whose type has no default constructor");
    return check::ok;
}

/// The number of fields of a reflectable struct.
template <class T>
inline constexpr std::size_t field_count_v = [] {
    if constexpr (assert_reflectable<T>()) return detail::reflection_check<std::remove_cv_t<T>>::flat_count;
    else return std::size_t{0};
}();

/// The name of field I of T, as written in the struct definition.
template <class T, std::size_t I>
consteval std::string_view field_name() noexcept {
    static_assert(assert_reflectable<T>());
    return detail::field_name_from(detail::raw_field_signature<std::remove_cv_t<T>, I>());
}

/// All field names of T, in declaration order.
template <class T>
inline constexpr auto field_names_v = []<std::size_t... I>(std::index_sequence<I...>) {
    return std::array<std::string_view, sizeof...(I)>{field_name<T, I>()...};
}
(std::make_index_sequence<field_count_v<T>>{});

/// The qualified name of a type, as the compiler spells it ("ns::Model", "std::array<int, 3>").
template <class T>
consteval std::string_view type_name() noexcept {
    constexpr std::string_view sig = detail::raw_type_signature<T>();
    return sig.substr(detail::type_prefix, sig.size() - detail::type_prefix - detail::type_suffix);
}

/// Calls f(name, field) for each field of `object`, in declaration order.
template <class T, class F>
constexpr void for_each_field(T& object, F&& f) {
    using plain = std::remove_cv_t<T>;
    [&]<std::size_t... I>(std::index_sequence<I...>) { (f(field_name<plain, I>(), detail::get_field<I>(object)), ...); }
    (std::make_index_sequence<field_count_v<plain>>{});
}

// ---- compile-time self-check of the name parser on this compiler ----------------------------

namespace detail {
using reflection_self_check = h5ser_reflection_probe::self_check;
static_assert(field_name<reflection_self_check, 0>() == "first" && field_name<reflection_self_check, 1>() == "second_field_2" &&
                  field_name<reflection_self_check, 2>() == "third" && field_name<reflection_self_check, 3>() == "fourth",
              "h5ser: this compiler prints __PRETTY_FUNCTION__ in a form h5ser cannot parse; please report it");
static_assert(type_name<reflection_self_check>() == "h5ser_reflection_probe::self_check" && type_name<int>() == "int",
              "h5ser: this compiler prints type names in a form h5ser cannot parse; please report it");
}  // namespace detail

}  // namespace h5ser
