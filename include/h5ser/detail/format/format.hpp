// h5ser/detail/format/format.hpp: the h5ser file format's names and versions, in one place: root
// attributes, reserved names, save modes, and reading and writing a file's header. docs/format.md
// specifies the format; the seal has a header of its own (seal.hpp).
#pragma once

#include <hdf5.h>

#include <string>
#include <string_view>

#include "h5ser/config.hpp"
#include "h5ser/detail/format/manifest.hpp"
#include "h5ser/detail/format/seal.hpp"
#include "h5ser/detail/hdf5/attribute.hpp"
#include "h5ser/detail/hdf5/hdf5.hpp"
#include "h5ser/policy.hpp"
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
constexpr std::string_view mode_name(save_mode mode) noexcept { return mode == save_mode::weights_only ? "weights_only" : "full_model"; }

/// Attribute names h5ser keeps for itself in every group: those starting with "h5ser_".
constexpr bool is_reserved_name(std::string_view name) noexcept { return name.substr(0, 6) == "h5ser_"; }

/// Root attribute names h5ser keeps for itself: everything starting with "h5ser_", and
/// model_type, schema and fingerprint. A root field of such a name would collide.
constexpr bool is_reserved_root_name(std::string_view name) noexcept {
    return is_reserved_name(name) || name == model_type_attribute || name == schema_attribute || name == fingerprint_attribute;
}

}  // namespace format

/// What a file's root attributes say about how to read it.
struct file_header {
    save_mode mode = save_mode::full_model;
    int format_version = 0;
    /// Written by another program (h5py, HighFive, MATLAB): no h5ser root attributes, so no
    /// checksums or fingerprint; read as a full model (its attributes are fields' values).
    bool foreign = false;
};

/// Reads and checks the root attributes of an h5ser file: not an h5ser file, a newer format, or an
/// unknown mode is an h5ser::error. With `sealed_read` (the seal was checked), a format-2 file
/// must have come with its manifest, `contents`, and agree with it. With `accept_foreign`
/// (h5ser::foreign), a file without h5ser's format version attribute is another program's.
H5SER_CORE_INLINE file_header read_header(hid_t root, const std::string& path, const manifest* contents = nullptr, bool sealed_read = false,
                                          bool accept_foreign = false);

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
#include "h5ser/detail/format/format-inl.hpp"
#endif
