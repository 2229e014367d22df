// h5ser/detail/format.hpp: the h5ser file format's names and versions, in one place: root
// attributes, reserved names, save modes, and reading and writing a file's header. docs/format.md
// specifies the format; the seal has a header of its own (seal.hpp).
#pragma once

#include <hdf5.h>

#include <string>
#include <string_view>
#include <type_traits>

#include "h5ser/config.hpp"
#include "h5ser/detail/attribute.hpp"
#include "h5ser/detail/field_kind.hpp"
#include "h5ser/detail/hdf5.hpp"
#include "h5ser/detail/manifest.hpp"
#include "h5ser/detail/seal.hpp"
#include "h5ser/policy.hpp"
#include "h5ser/reflect.hpp"
#include "h5ser/version.hpp"

namespace h5ser::detail {

namespace format {

// Root attributes. Every file: the format version, the mode and the fingerprint. Full-model files
// add the library version, the model's type name and the JSON schema.
inline constexpr const char* version_attribute = "h5ser_format_version";
inline constexpr const char* mode_attribute = "h5ser_mode";
inline constexpr const char* fingerprint_attribute = "fingerprint";
inline constexpr const char* library_version_attribute = "h5ser_version";
inline constexpr const char* model_type_attribute = "model_type";
inline constexpr const char* schema_attribute = "schema";
// Checkpoint files (h5ser::checkpoint_manager) add their step and metric.
inline constexpr const char* checkpoint_step_attribute = "h5ser_checkpoint_step";
inline constexpr const char* checkpoint_metric_attribute = "h5ser_checkpoint_metric";

// Dataset attributes: the XXH3-64 of the element bytes, "xxh3-64:<16 hex digits>", on every
// dataset; and Keras 3's bfloat16 marker dtype="bfloat16" on bfloat16 datasets.
inline constexpr const char* checksum_attribute = "h5ser_checksum";
// Group attributes: the version of the struct a group (or the root) holds, when its
// h5ser::evolution declares one; every file, weights-only ones too.
inline constexpr const char* struct_version_attribute = "h5ser_struct_version";
inline constexpr const char* dtype_marker_attribute = "dtype";

/// The value of `h5ser_mode`.
constexpr std::string_view mode_name(save_mode mode) noexcept {
    return mode == save_mode::weights_only ? "weights_only" : "full_model";
}

/// Attribute names h5ser keeps for itself in every group: those starting with "h5ser_".
constexpr bool is_reserved_name(std::string_view name) noexcept { return name.substr(0, 6) == "h5ser_"; }

/// Root attribute names h5ser keeps for itself: everything starting with "h5ser_", and
/// model_type, schema and fingerprint. A root field of such a name would collide.
constexpr bool is_reserved_root_name(std::string_view name) noexcept {
    return is_reserved_name(name) || name == model_type_attribute || name == schema_attribute || name == fingerprint_attribute;
}

}  // namespace format

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

/// What a file's root attributes say about how to read it.
struct file_header {
    save_mode mode = save_mode::full_model;
    int format_version = 0;
};

/// Reads and checks the root attributes of an h5ser file: not an h5ser file, a newer format, or an
/// unknown mode is an h5ser::error. With `sealed_read` (the seal was checked), a format-2 file
/// must have come with its manifest, `contents`, and agree with it.
H5SER_CORE_INLINE file_header read_header(hid_t root, const std::string& path, const manifest* contents = nullptr, bool sealed_read = false);

/// The root attributes of a file being written; a weights-only file has no schema or model type.
struct root_attributes {
    save_mode mode = save_mode::full_model;
    std::string_view model_type;
    std::string_view schema;
    std::string_view fingerprint;
};

/// Writes the root attributes of the format: version, mode, fingerprint and, for full models, the
/// library version, model type and schema.
H5SER_CORE_INLINE void write_root_attributes(hid_t root, const root_attributes& attributes, const where& at, const attribute_ids& ids);

}  // namespace h5ser::detail

#if H5SER_CORE_DEFINITIONS
#include "h5ser/detail/format-inl.hpp"
#endif
