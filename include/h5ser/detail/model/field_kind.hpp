// h5ser/detail/model/field_kind.hpp: the one dispatch on the kind of a field. Every walk over a model
// (the save walk, the load walk, the Keras mapping) is a visitor called through visit_field, so
// the rules of h5ser/type_mapping.hpp are written once, here.
#pragma once

#include <array>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "h5ser/detail/hdf5/attribute.hpp"
#include "h5ser/optimizer_state.hpp"
#include "h5ser/policy.hpp"
#include "h5ser/reflect.hpp"
#include "h5ser/storage_policy.hpp"
#include "h5ser/tensor_adapter.hpp"

namespace h5ser::detail {

/// What a field is stored as (see h5ser/type_mapping.hpp).
enum class field_kind {
    tensor,           ///< a dataset: h5ser::tensor, std::vector<element>, any adapted tensor
    attribute,        ///< an attribute: element scalars, enums, strings, short lists
    group,            ///< an aggregate struct: a group with one member per field
    sequence,         ///< std::vector / std::array of non-attributes: a group with children 0..n-1
    map,              ///< std::map<std::string, X>: a group with one child per key
    optional,         ///< std::optional<X>: X, absent when empty
    optimizer_state,  ///< h5ser::optimizer_state<X>: X, left out of weights-only files
    stored,           ///< h5ser::stored<X, Policies...>: X with storage policies of its own
    unsupported,
};

template <class T>
struct stored_traits {
    static constexpr bool value = false;
};
template <class T, class... P>
struct stored_traits<stored<T, P...>> {
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
constexpr field_kind kind_of() {
    if constexpr (stored_traits<T>::value) return field_kind::stored;
    else if constexpr (is_optimizer_wrapper<T>::value) return field_kind::optimizer_state;
    else if constexpr (optional_traits<T>::value) return field_kind::optional;
    else if constexpr (stored_tensor<T>) return field_kind::tensor;
    else if constexpr (attribute_value<T>) return field_kind::attribute;
    else if constexpr (sequence_traits<T>::value) return field_kind::sequence;
    else if constexpr (string_map_traits<T>::value) return field_kind::map;
    else if constexpr (std::is_class_v<T> && !std::is_union_v<T>) return field_kind::group;
    else return field_kind::unsupported;
}

/// Is T a container or wrapper kind (optional, sequence, map, optimizer_state, stored), whose
/// rules apply to the type it holds?
template <class T>
inline constexpr bool holds_one_type_v = [] {
    constexpr field_kind k = kind_of<T>();
    return k == field_kind::optional || k == field_kind::sequence || k == field_kind::map || k == field_kind::optimizer_state ||
           k == field_kind::stored;
}();

template <class T>
struct contained;
template <class T>
requires(optional_traits<T>::value) struct contained<T> : std::type_identity<typename optional_traits<T>::element> {
};
template <class T>
requires(sequence_traits<T>::value) struct contained<T> : std::type_identity<typename sequence_traits<T>::element> {
};
template <class T>
requires(string_map_traits<T>::value) struct contained<T> : std::type_identity<typename string_map_traits<T>::element> {
};
template <class T>
requires(is_optimizer_wrapper<T>::value || stored_traits<T>::value) struct contained<T> : std::type_identity<decltype(T::value)> {
};

/// The type a container or wrapper kind holds (see holds_one_type_v).
template <class T>
using contained_t = typename contained<T>::type;

/// Fails compilation for types h5ser cannot store, with a message that says what to write.
template <class T>
constexpr bool assert_storable() {
    static_assert(!std::is_union_v<T>, "h5ser: unions cannot be stored; store the active member in a struct instead");
    static_assert(!std::is_pointer_v<T>, "h5ser: pointers cannot be stored; hold the value itself, or an h5ser::tensor for arrays");
    static_assert(!std::is_reference_v<T>, "h5ser: reference members cannot be stored; hold the value itself");
    static_assert(!is_char_like_v<T>, "h5ser: char is not a portable element type; use std::int8_t, std::uint8_t or std::string");
    static_assert(!std::is_same_v<T, long double>, "h5ser: long double differs between platforms; use double");
    static_assert(!std::is_same_v<T, std::vector<bool>>, "h5ser: std::vector<bool> is not contiguous; use h5ser::tensor<bool, 1>");
    static_assert(!std::is_array_v<T>, "h5ser: C arrays cannot be stored; use std::array or h5ser::tensor");
    static_assert(!(std::is_class_v<T> && !std::is_union_v<T>) || kind_of<T>() != field_kind::group || std::is_aggregate_v<T>,
                  "h5ser: this type is neither a tensor, an attribute value, a supported container nor an aggregate "
                  "struct. For a struct of your own: remove its user-declared constructors (use default member "
                  "initializers), make all data members public and remove virtual functions. For Eigen matrices "
                  "and arrays, #include <h5ser/eigen.hpp>. Otherwise use h5ser::tensor, an arithmetic type, "
                  "std::string, std::vector, std::array, std::map<std::string, T>, std::optional, or specialize "
                  "h5ser::tensor_adapter for your array type (h5ser/tensor_adapter.hpp)");
    static_assert(kind_of<T>() != field_kind::unsupported || std::is_union_v<T> || std::is_pointer_v<T> || std::is_reference_v<T> ||
                      is_char_like_v<T> || std::is_same_v<T, long double> || std::is_array_v<T>,
                  "h5ser: this type cannot be stored. Use h5ser::tensor, an arithmetic type, std::string, "
                  "std::vector, std::array, std::map<std::string, T>, std::optional or a plain struct");
    if constexpr (kind_of<T>() == field_kind::group) return assert_reflectable<T>();
    else return kind_of<T>() != field_kind::unsupported;
}

/// Fails compilation when a load reaches a tensor it cannot write into (save_only_tensor), and
/// says why; true for every other tensor. Walks that load call it as `if constexpr
/// (assert_loadable_tensor<X>())`, so that nothing else about the field fails to compile after it.
template <class X>
constexpr bool assert_loadable_tensor() {
    static_assert(!save_only_tensor<X>,
                  "h5ser: a load reached a std::span<const T> field (or a tensor whose tensor_adapter gives only a "
                  "const data()). h5ser saves such a field but cannot load into it: a load writes the file's elements "
                  "into the field's memory, which the span promises not to change. Load into a struct of your own "
                  "with std::span<T>, std::vector<T> or h5ser::tensor<T, 1> in its place");
    return !save_only_tensor<X>;
}

/// A field's name as a type (its characters): a check instantiated with it shows the name in the
/// compiler's "in instantiation of" line, which static_assert's literal message cannot. A pack of
/// chars, which GCC 12 and Clang 14 both print as characters ('i', 'd', 's'); Clang prints a
/// char-array template argument as numbers.
template <char... Name>
struct field_named {};
template <class T, std::size_t I, std::size_t... C>
field_named<field_name<T, I>()[C]...> field_named_of(std::index_sequence<C...>);  // for decltype only
template <class T, std::size_t I>
using field_named_t = decltype(field_named_of<T, I>(std::make_index_sequence<field_name<T, I>().size()>{}));

template <class T>
constexpr bool assert_fields_storable();

/// Checks that field `Name` of struct `Parent`, of type `Field`, can be stored. Its instantiation
/// names all three, so the first error about a field says which field it is and what its type is:
///
///     In instantiation of 'constexpr bool h5ser::detail::assert_field_storable() [with Parent = Dense;
///       Name = h5ser::detail::field_named<'i', 'd', 's'>; Field = std::set<int>]'
///     error: static assertion failed: h5ser: this type is neither a tensor, ...
/// Is a field of this name one h5ser keeps for itself (h5ser_struct_version, h5ser_checksum)?
template <char... C>
constexpr bool is_reserved_field_name(field_named<C...>) noexcept {
    constexpr char name[] = {C..., '\0'};
    return std::string_view(name).substr(0, 6) == "h5ser_";
}

template <class Parent, class Name, class Field>
constexpr bool assert_field_storable() {
    static_assert(!is_reserved_field_name(Name{}),
                  "h5ser: a field's name starts with h5ser_, which h5ser keeps for the attributes it writes into "
                  "every group (h5ser_struct_version); rename the field");
    if constexpr (!assert_storable<Field>()) return false;
    else if constexpr (holds_one_type_v<Field>) return assert_field_storable<Parent, Name, contained_t<Field>>();
    else if constexpr (kind_of<Field>() == field_kind::group) return assert_fields_storable<Field>();
    else return true;
}

/// Checks every field of struct T, nested ones included (assert_field_storable), before any walk
/// instantiates them.
template <class T>
constexpr bool assert_fields_storable() {
    return []<std::size_t... I>(std::index_sequence<I...>) {
        return (assert_field_storable<T, field_named_t<T, I>, field_type_t<T, I>>() && ...);
    }
    (std::make_index_sequence<field_count_v<T>>{});
}

/// Is anything of T written in `Mode`? Weights-only files hold tensors outside optimizer state.
template <class T, save_mode Mode>
constexpr bool is_stored() {
    constexpr field_kind kind = kind_of<T>();
    if constexpr (Mode != save_mode::weights_only) return true;
    else if constexpr (is_optimizer_state_v<T> || kind == field_kind::optimizer_state) return false;
    else if constexpr (kind == field_kind::tensor) return true;
    else if constexpr (holds_one_type_v<T>) return is_stored<contained_t<T>, Mode>();
    else if constexpr (kind == field_kind::group && is_reflectable_v<T>) {
        return []<std::size_t... I>(std::index_sequence<I...>) { return (is_stored<field_type_t<T, I>, Mode>() || ...); }
        (std::make_index_sequence<field_count_v<T>>{});
    } else return false;  // attributes, and types the walk refuses anyway
}

/// Does a weights-only file hold everything of T (no attributes, no optimizer state)?
template <class T>
constexpr bool weights_cover_everything() {
    constexpr field_kind kind = kind_of<T>();
    if constexpr (is_optimizer_state_v<T> || kind == field_kind::optimizer_state || kind == field_kind::attribute) return false;
    else if constexpr (kind == field_kind::tensor) return true;
    else if constexpr (holds_one_type_v<T>) return weights_cover_everything<contained_t<T>>();
    else if constexpr (kind == field_kind::group && is_reflectable_v<T>) {
        return []<std::size_t... I>(std::index_sequence<I...>) { return (weights_cover_everything<field_type_t<T, I>>() && ...); }
        (std::make_index_sequence<field_count_v<T>>{});
    } else return false;
}

/// Is a field of type T stored as an attribute (as opposed to a link: group or dataset)?
template <class T>
constexpr bool stored_as_attribute() {
    constexpr field_kind kind = kind_of<T>();
    if constexpr (kind == field_kind::optional || kind == field_kind::optimizer_state || kind == field_kind::stored)
        return stored_as_attribute<contained_t<T>>();
    else return kind == field_kind::attribute;
}

/// A visitor of fields of type T (`const` for walks that read the model): it has the member
/// function for T's kind, taking the field (`tensor(x)`, `attribute(x)`, `group(x)`, `sequence(x)`,
/// `map(x)`, `optional(x)`, `optimizer_state(x)` and `stored(x)` for the two wrappers).
template <class V, class T, field_kind K = kind_of<std::remove_const_t<T>>()>
concept field_visitor_for = (K != field_kind::tensor || requires(V & v, T& x) { v.tensor(x); }) &&
                            (K != field_kind::attribute || requires(V & v, T& x) { v.attribute(x); }) &&
                            (K != field_kind::group || requires(V & v, T& x) { v.group(x); }) &&
                            (K != field_kind::sequence || requires(V & v, T& x) { v.sequence(x); }) &&
                            (K != field_kind::map || requires(V & v, T& x) { v.map(x); }) &&
                            (K != field_kind::optional || requires(V & v, T& x) { v.optional(x); }) &&
                            (K != field_kind::optimizer_state || requires(V & v, T& x) { v.optimizer_state(x); }) &&
                            (K != field_kind::stored || requires(V & v, T& x) { v.stored(x); });

/// Calls the member of `visitor` for the kind of `value`'s type, after checking that h5ser can
/// store that type at all (with a message that says what to write instead).
template <class Visitor, class T>
decltype(auto) visit_field(Visitor&& visitor, T& value) {
    using plain = std::remove_const_t<T>;
    static_assert(assert_storable<plain>());
    constexpr field_kind kind = kind_of<plain>();
    if constexpr (kind != field_kind::unsupported) {
        static_assert(field_visitor_for<std::remove_reference_t<Visitor>, T>,
                      "h5ser (internal): this walk has no member function for the kind of this field");
        if constexpr (kind == field_kind::tensor) return visitor.tensor(value);
        else if constexpr (kind == field_kind::attribute) return visitor.attribute(value);
        else if constexpr (kind == field_kind::group) return visitor.group(value);
        else if constexpr (kind == field_kind::sequence) return visitor.sequence(value);
        else if constexpr (kind == field_kind::map) return visitor.map(value);
        else if constexpr (kind == field_kind::optional) return visitor.optional(value);
        else if constexpr (kind == field_kind::optimizer_state) return visitor.optimizer_state(value);
        else return visitor.stored(value);
    }
}

}  // namespace h5ser::detail
