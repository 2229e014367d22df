// h5ser/detail/format/manifest.hpp: the manifest of a format-2 file, one table of everything h5ser wrote
// into it, kept in the userblock beside the seal and readable without the HDF5 library.
//
// For each group its path; for each dataset its path, dtype, shape, layout, filters, where its raw
// data lies (absolute file offset and stored bytes) and the XXH3-64 of its element bytes; for each
// attribute of the field tree its object, name, dtype, shape and value. Records come in save order:
// depth first, in field order, each group before what it holds. The root's own attributes
// (format.hpp) are not records; the manifest's header carries the format version, mode and
// fingerprint instead. docs/format.md specifies the bytes:
//
//   manifest header (48 bytes)
//   0   16  magic "h5ser manifest\0\0"
//   16  8   XXH3-64 of bytes 24 to the manifest's end (its own checksum)
//   24  4   format version (2)
//   28  4   mode: 0 full model, 1 weights only
//   32  8   fingerprint (the value of the root attribute, as a number)
//   40  8   number of records R
//   48      R records
//
//   record
//   0   1   kind: 1 group, 2 dataset, 3 attribute
//   1   1   layout of a dataset: 0 compact, 1 contiguous, 2 chunked (0 otherwise)
//   2   1   rank: a dataset's (0-32); an attribute's, 0 scalar or 1 list (0 for groups)
//   3   1   number F of filters (datasets)
//   4   4   byte length P of the path
//   8   4   byte length A of the attribute name (0 unless an attribute)
//   12  4   byte length D of the dtype name (0 for groups)
//   16      path (UTF-8, absolute: the object's, or for an attribute the object holding it), name, dtype
//           8 * rank: the dimensions
//           4 * F: the HDF5 filter ids, in pipeline order
//           datasets: 8 offset of the raw data in the file (0 when not contiguous or not allocated),
//                     8 stored bytes, 8 XXH3-64 of the element bytes; compact ones then their
//                     element bytes (a copy of what HDF5 keeps in the dataset's object header)
//           attributes: 8 byte length V of the value, then the value: each element's
//                     little-endian bytes (bool: one byte 0 or 1); strings each as a 4-byte
//                     length and UTF-8 bytes
//
// The parser trusts nothing: every length is checked against the bytes present, every data range
// against the file's size, every object's group against the records before it, before a record
// is handed out. A checked manifest is a tree a load can walk without the HDF5 library.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "h5ser/config.hpp"
#include "h5ser/detail/format/hash.hpp"
#include "h5ser/detail/hdf5/attribute.hpp"
#include "h5ser/policy.hpp"
#include "h5ser/version.hpp"

namespace h5ser::detail {

inline constexpr std::array<char, 16> manifest_magic = {'h', '5', 's', 'e', 'r', ' ', 'm', 'a', 'n', 'i', 'f', 'e', 's', 't', 0, 0};
inline constexpr std::size_t manifest_header_size = 48;
inline constexpr std::size_t manifest_record_header_size = 16;
inline constexpr std::uint32_t manifest_format_version = static_cast<std::uint32_t>(h5ser::format_version);

enum class record_kind : std::uint8_t { group = 1, dataset = 2, attribute = 3 };
enum class record_layout : std::uint8_t { compact = 0, contiguous = 1, chunked = 2 };

/// One record of a parsed manifest; its strings and arrays point into the manifest's bytes.
struct manifest_record {
    record_kind kind = record_kind::group;
    record_layout layout = record_layout::compact;
    std::size_t rank = 0;
    std::string_view path;
    std::string_view name;   ///< attributes only
    std::string_view dtype;  ///< datasets and attributes
    const unsigned char* dims_bytes = nullptr;
    const unsigned char* filter_bytes = nullptr;
    std::size_t filter_count = 0;
    std::uint64_t offset = 0;  ///< datasets: raw data's file offset, 0 when there is none
    std::uint64_t length = 0;  ///< datasets: stored bytes
    std::uint64_t checksum = 0;
    bool has_checksum = true;  ///< datasets: false when the file's format keeps none (manifest::without_checksums)
    std::string_view value;    ///< attributes: the encoded value; compact datasets: their element bytes

    /// The last component of the path: a group's or dataset's link name (the root's is empty).
    [[nodiscard]] std::string_view link_name() const noexcept { return path.substr(path.rfind('/') + 1); }

    [[nodiscard]] std::uint64_t dim(std::size_t i) const noexcept { return load_u64(dims_bytes + 8 * i); }
    [[nodiscard]] std::uint32_t filter(std::size_t i) const noexcept;
    [[nodiscard]] std::uint64_t element_count() const noexcept;
};

/// Bytes per element of a manifest dtype name; 0 for "string" and unknown names.
H5SER_CORE_INLINE std::size_t manifest_element_size(std::string_view dtype) noexcept;

/// What a group of a manifest holds: indices into manifest::records().
struct manifest_group {
    std::vector<std::size_t> links;       ///< its groups and datasets, in save order
    std::vector<std::size_t> attributes;  ///< its attributes, in save order
};

/// A parsed, checked manifest.
class manifest {
public:
    /// Parses `bytes`, the manifest of a file of `file_size` bytes whose HDF5 data starts at
    /// `userblock`. Anything inconsistent is an h5ser::error naming `file` and what is wrong.
    manifest(std::vector<unsigned char> bytes, std::uint64_t file_size, std::uint64_t userblock, const std::string& file);

    /// The manifest h5ser makes of a file in a format that keeps no checksums (a .safetensors file:
    /// safetensors/manifest_of.hpp): `bytes` from a manifest_builder, parsed and checked as above
    /// with `data_start` for the userblock. Its datasets have no checksum to compare
    /// (manifest_record::has_checksum); its fingerprint is compared only when `keeps_fingerprint`
    /// (the file says which one h5ser gave its tensors).
    static manifest without_checksums(std::vector<unsigned char> bytes, std::uint64_t file_size, std::uint64_t data_start,
                                      const std::string& file, bool keeps_fingerprint);

    manifest(const manifest&) = delete;
    manifest& operator=(const manifest&) = delete;
    manifest(manifest&&) noexcept;
    manifest& operator=(manifest&&) noexcept;
    ~manifest();

    [[nodiscard]] std::uint32_t format_version() const noexcept { return version_; }
    [[nodiscard]] save_mode mode() const noexcept { return mode_; }
    [[nodiscard]] std::uint64_t fingerprint() const noexcept { return fingerprint_; }
    [[nodiscard]] const std::vector<manifest_record>& records() const noexcept { return records_; }
    [[nodiscard]] std::size_t size_bytes() const noexcept { return bytes_.size(); }
    [[nodiscard]] const unsigned char* bytes() const noexcept { return bytes_.data(); }
    /// The size of the file the manifest was read from, which every data range lies within.
    [[nodiscard]] std::uint64_t file_size() const noexcept { return file_size_; }

    /// The record of the dataset at `path` ("/layer/kernel"), or null.
    [[nodiscard]] const manifest_record* dataset(std::string_view path) const;
    /// What the group at `path` holds ("/" is the root), or null when no group is there.
    [[nodiscard]] const manifest_group* group(std::string_view path) const;
    /// The record of attribute `name` of the object at `path`, or null.
    [[nodiscard]] const manifest_record* attribute(std::string_view path, std::string_view name) const;
    /// Does it list a chunked dataset (whose data only HDF5 can read)?
    [[nodiscard]] bool has_chunked_data() const noexcept { return has_chunked_; }
    /// Does fingerprint() say what the tensors' fingerprint was when the file was written (always,
    /// but for a manifest without_checksums whose file did not say)?
    [[nodiscard]] bool keeps_fingerprint() const noexcept { return keeps_fingerprint_; }

private:
    /// Does an attribute record's value hold exactly its elements?
    static bool attribute_value_fits(const manifest_record& r) noexcept;
    /// Adds record `r` (next in records_) to the tree; returns why it cannot be there, or "": its
    /// group must be listed before it, its name unique there.
    std::string place(const manifest_record& r);

    std::vector<unsigned char> bytes_;
    std::uint64_t file_size_ = 0;
    std::uint32_t version_ = 0;
    save_mode mode_ = save_mode::full_model;
    std::uint64_t fingerprint_ = 0;
    std::vector<manifest_record> records_;
    /// The records by path (manifest-inl.hpp: hash maps, which user code need not parse).
    struct path_index;
    std::unique_ptr<path_index> index_;  ///< null only in a moved-from manifest
    bool has_chunked_ = false;
    bool keeps_fingerprint_ = true;
};

/// Builds a manifest as a file is written; the same calls on a model not yet written give the
/// exact size its userblock must hold (size()).
class manifest_builder {
public:
    manifest_builder();

    void group(std::string_view path);
    /// A dataset; `elements` are its `length` element bytes when it is compact (kept in its record).
    void dataset(std::string_view path, std::string_view dtype, const std::uint64_t* dims, std::size_t rank, record_layout layout,
                 const std::vector<std::uint32_t>& filters, std::uint64_t offset, std::uint64_t length, std::uint64_t checksum,
                 const void* elements);
    /// An attribute of `object_path` whose value is already encoded (`value`; `count` elements,
    /// a list when `is_list`).
    void attribute(std::string_view object_path, std::string_view name, std::string_view dtype, bool is_list, std::size_t count,
                   std::string_view value);

    /// An attribute of `object_path` holding `value`.
    void attribute(std::string_view object_path, std::string_view name, const attribute_view& value);
    template <attribute_value T>
    void attribute(std::string_view object_path, std::string_view name, const T& value) {
        attribute(object_path, name, attribute_view_of(value));
    }

    /// The manifest's size in bytes, header included.
    [[nodiscard]] std::size_t size() const noexcept { return bytes_.size(); }
    [[nodiscard]] std::size_t record_count() const noexcept { return records_; }

    /// The finished manifest: its header with `mode` and `fingerprint`, then the records.
    [[nodiscard]] std::vector<unsigned char> finish(save_mode mode, std::uint64_t fingerprint) const;

private:
    void begin_record(record_kind kind, record_layout layout, std::size_t rank, std::size_t filters, std::string_view path,
                      std::string_view name, std::string_view dtype);
    void put_u32(std::uint32_t v);
    void put_u64(std::uint64_t v);
    void put(std::string_view bytes);

    std::vector<unsigned char> bytes_;
    std::size_t records_ = 0;
};

/// Appends the manifest encoding of one string element of an attribute to `out`: its byte length
/// (4 bytes, little-endian), then its bytes.
H5SER_CORE_INLINE void encode_attribute_string(std::string& out, std::string_view s);

/// The manifest encoding of `value`'s elements: strings as encode_attribute_string, bools one byte
/// each (0 or 1), numbers their bytes, little-endian (the file's order, as the host's: hash.hpp).
H5SER_CORE_INLINE std::string encode_attribute_value(const attribute_view& value);

/// The elements of attribute record `r` (checked by the parser: the value holds exactly its
/// elements) as `want` says; records a problem and returns nothing when the record's dtype or shape
/// is not the field's, or a bool byte is not 0 or 1 (as read_attribute_data does from HDF5).
H5SER_CORE_INLINE std::optional<attribute_data> decode_attribute_data(const manifest_record& r, const attribute_request& want,
                                                                      const where& at, problem_list& problems);

/// The value of attribute field T from its manifest record `r` (decode_attribute_data).
template <attribute_value T>
std::optional<T> decode_attribute(const manifest_record& r, const where& at, problem_list& problems) {
    std::optional<attribute_data> data = decode_attribute_data(r, attribute_request_of<T>(), at, problems);
    if (!data) return std::nullopt;
    return attribute_from<T>(std::move(*data));
}

}  // namespace h5ser::detail

#if H5SER_CORE_DEFINITIONS
#include "h5ser/detail/format/manifest-inl.hpp"
#endif
