// h5ser/detail/model/model_checks.hpp: what a type must be to be the root of a file, checked when a
// save or a load compiles, with messages that say what to write.
#pragma once

#include <string_view>
#include <type_traits>

#include "h5ser/detail/format/format.hpp"
#include "h5ser/detail/model/field_kind.hpp"
#include "h5ser/reflect.hpp"

namespace h5ser::detail {

template <class T>
consteval bool root_fields_avoid_reserved_names() {
    for (std::string_view field : field_names_v<T>)
        if (format::is_reserved_root_name(field)) return false;
    return true;
}

/// Fails compilation unless T can be the root of a file: a struct whose field names do not
/// collide with the root attributes, or a std::map<std::string, X> (a state dict), whose keys are
/// checked when it is saved.
template <class T>
constexpr bool assert_model_type() {
    if constexpr (string_map_traits<T>::value) {
        return assert_field_storable<T, field_named<'[', ']'>, contained_t<T>>();
    } else {
        static_assert(std::is_class_v<T> && kind_of<T>() == field_kind::group,
                      "h5ser: save and load take a struct (the model) whose fields are stored, or a "
                      "std::map<std::string, X>; wrap a lone tensor or other container in a struct");
        if constexpr (assert_storable<T>() && assert_fields_storable<T>()) {
            static_assert(root_fields_avoid_reserved_names<T>(),
                          "h5ser: a field of the model struct is named like one of h5ser's root attributes "
                          "(model_type, schema, fingerprint, or any name starting with h5ser_); rename it or move it "
                          "into a nested struct");
            return true;
        }
        return false;
    }
}

}  // namespace h5ser::detail
