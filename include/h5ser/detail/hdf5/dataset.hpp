// h5ser/detail/hdf5/dataset.hpp: tensors as HDF5 datasets (contiguous, native little-endian types).
#pragma once

#include <hdf5.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "h5ser/config.hpp"
#include "h5ser/detail/format/format.hpp"
#include "h5ser/detail/format/hash.hpp"
#include "h5ser/detail/format/manifest.hpp"
#include "h5ser/detail/hdf5/attribute.hpp"
#include "h5ser/detail/hdf5/dtype.hpp"
#include "h5ser/detail/hdf5/group.hpp"
#include "h5ser/detail/hdf5/hdf5.hpp"
#include "h5ser/detail/load/commit.hpp"
#include "h5ser/detail/load/problems.hpp"
#include "h5ser/storage_policy.hpp"
#include "h5ser/tensor_adapter.hpp"

namespace h5ser::detail {

/// "float32[4, 8]": a dtype name and `rank` dimensions.
H5SER_CORE_INLINE std::string shape_text(std::string_view dtype, const std::size_t* dims, std::size_t rank);
template <std::size_t Rank>
std::string shape_text(std::string_view dtype, const std::array<std::size_t, Rank>& shape) {
    return shape_text(dtype, shape.data(), Rank);
}

H5SER_CORE_INLINE handle make_dataspace(const hsize_t* dims, std::size_t rank, const where& at);

/// A tensor checksum as text, "xxh3-64:<16 hex digits>": the value of format 1's checksum
/// attribute (format::checksum_attribute), and how messages show checksums.
H5SER_CORE_INLINE std::string checksum_text(std::uint64_t hash);
/// The checksum `text` (checksum_text's form) stands for, or nothing when it is not of that form.
H5SER_CORE_INLINE std::optional<std::uint64_t> checksum_value(std::string_view text) noexcept;

/// What one stored tensor contributes to the file fingerprint.
struct written_tensor {
    std::array<std::uint64_t, 32> dims{};
    std::size_t rank = 0;
    std::uint64_t data_hash = 0;
    haddr_t offset = HADDR_UNDEF;  ///< where contiguous raw data starts in the file (for the seal)
    hsize_t stored_bytes = 0;
    /// The element bytes (little-endian), for the manifest record of a compact dataset, which keeps
    /// a copy; valid until the tensor is recorded.
    const void* elements = nullptr;
};

[[noreturn]] H5SER_CORE_INLINE void throw_missing_filter(const filter_spec& f, const where& at, const char* when);

/// Adds `filters` to a chunked dataset's creation property list, refusing any this HDF5 cannot load.
H5SER_CORE_INLINE void add_filters(hid_t dcpl, const std::vector<filter_spec>& filters, const where& at);

/// How `plan` stores a tensor of `rank` dimensions and `count` elements of `element_size` bytes.
H5SER_CORE_INLINE record_layout stored_layout(const storage_plan& plan, std::size_t rank, std::uint64_t count, std::size_t element_size);

/// For a tensor stored unfiltered (compact or contiguous), the save's shared creation plist for
/// it; H5I_INVALID_HID when `plan` chunks it. Scalars and empty tensors cannot be chunked in HDF5.
H5SER_CORE_INLINE hid_t unchunked_plist(const storage_plan& plan, const hsize_t* dims, std::size_t rank, std::size_t element_size,
                                        const creation_plists& plists);

/// The dataset creation property list for one tensor that `plan` chunks (see unchunked_plist for
/// the others), with the plan's filters.
H5SER_CORE_INLINE handle dataset_plist(const storage_plan& plan, const hsize_t* dims, std::size_t rank, std::size_t element_size,
                                       const where& at);

/// A tensor as the writes see it, whatever its type (tensor_view_of): its elements in C order in
/// memory and what they are, so that writing, counting, hashing and snapshotting it is compiled
/// once.
struct tensor_view {
    element_kind kind = element_kind::float32;
    std::size_t rank = 0;
    std::array<std::uint64_t, dynamic_shape::max_rank> dims{};
    std::uint64_t count = 0;     ///< its elements: the product of `dims`
    const void* data = nullptr;  ///< its elements (may be null when there are none)

    [[nodiscard]] std::string_view dtype() const noexcept { return dtype_name(kind); }
    [[nodiscard]] std::size_t element_size() const noexcept { return h5ser::element_size(kind); }
    [[nodiscard]] std::uint64_t bytes() const noexcept { return count * element_size(); }
    /// Its element bytes: a valid pointer even when there are none.
    [[nodiscard]] const void* element_bytes() const noexcept { return count ? data : static_cast<const void*>(""); }
    /// Its extent as written_tensor keeps it (dims, rank, and its elements when there are any).
    [[nodiscard]] H5SER_CORE_INLINE written_tensor extent() const noexcept;
    /// Its extent and the XXH3-64 of its element bytes: what a tensor contributes to its checksum
    /// and to the fingerprint, whether it is written or not.
    [[nodiscard]] H5SER_CORE_INLINE written_tensor digest() const;
};

/// `value` (a tensor whose elements lie in C order: saveable_tensor) as a tensor_view.
template <saveable_tensor X>
tensor_view tensor_view_of(const X& value) noexcept {
    using adapter = tensor_adapter<X>;
    constexpr element_kind kind = element_kind_of<typename adapter::element_type>();
    const auto& shape = adapter::shape(value);
    tensor_view t;
    t.kind = kind;
    t.rank = shape.size();
    t.count = 1;
    for (std::size_t i = 0; i < t.rank; ++i) {
        t.dims[i] = shape[i];
        t.count *= shape[i];
    }
    t.data = adapter::data(value);
    return t;
}

/// Elements to store: their types in the file and in memory, their shape and their bytes.
struct element_block {
    hid_t file_type;
    hid_t memory_type;
    const hsize_t* dims;
    std::size_t rank;
    const void* data;  ///< may be null when there are no elements
    bool bfloat16;     ///< marks the dataset dtype="bfloat16" (Keras 3's convention)
    /// When set, a contiguous tensor of written_in_pieces_from bytes or more is written in pieces of
    /// whole rows, and this is called after each (a save starts the disk's writeback there).
    const std::function<void()>* after_piece = nullptr;
};

/// Contiguous tensors this large are written in pieces when element_block::after_piece is set.
inline constexpr std::uint64_t written_in_pieces_from = std::uint64_t{64} << 20;

/// Creates dataset `name` in `parent` for elements of `file_type` in the shape `dims`, stored as
/// `plan` says; `compact` tells whether that is compact storage. Nothing is written yet; with
/// `allocate_now`, a contiguous dataset's space is allocated (its offset known) all the same.
H5SER_CORE_INLINE handle create_tensor_dataset(hid_t parent, std::string_view name, hid_t file_type, const hsize_t* dims, std::size_t rank,
                                               const creation_plists& plists, const storage_plan& plan, const where& at,
                                               bool* compact = nullptr, bool allocate_now = false);

/// The attributes of a written tensor's dataset: Keras 3's dtype="bfloat16" marker where it
/// applies. (Format 1 added the checksum attribute here; format 2 keeps checksums in the manifest.)
H5SER_CORE_INLINE void write_tensor_attributes(hid_t dataset, bool bfloat16, const creation_plists& plists, const where& at);

/// Creates dataset `name` in `parent`, stored as `plan` says, and writes `e` into it. Returns the
/// dataset, still open.
H5SER_CORE_INLINE handle write_new_dataset(hid_t parent, std::string_view name, const element_block& e, const creation_plists& plists,
                                           const storage_plan& plan, const where& at);

/// Notes where a written dataset's contiguous data lies in the file, and how many bytes it stores
/// (for the seal's data ranges).
H5SER_CORE_INLINE void note_storage(hid_t dataset, written_tensor& out);

/// Notes where a written dataset's data lies (for the seal) and closes it, which flushes HDF5's
/// buffers: a failing write can surface only here.
H5SER_CORE_INLINE void close_written_dataset(handle& dataset, written_tensor& out, const where& at);

/// Creates dataset `name` in `parent` and writes the tensor of extent `out` (`count` elements of
/// `element_size` bytes) from `e` (its types, dimensions and the caller's memory), hashing its
/// bytes while HDF5 writes them. Compiled once, whatever the tensor's type.
H5SER_CORE_INLINE written_tensor write_elements(hid_t parent, std::string_view name, written_tensor out, std::size_t count,
                                                std::size_t element_size, const element_block& e, const creation_plists& plists,
                                                const storage_plan& plan, const where& at);

/// Creates dataset `name` in `parent` and writes `tensor` straight from the caller's memory.
H5SER_CORE_INLINE written_tensor write_dataset(hid_t parent, std::string_view name, const tensor_view& tensor,
                                               const creation_plists& plists, const storage_plan& plan, const where& at,
                                               const std::function<void()>* after_piece = nullptr);

/// The facts about a dataset a loader checks before reading any element.
struct dataset_view {
    handle type;
    extent shape;
    std::string dtype;  ///< describe_type() of the file type
    H5D_layout_t layout = H5D_CONTIGUOUS;
    int external_files = 0;  ///< raw data kept in other files (H5Pset_external)
    int filters = 0;
    hsize_t stored_bytes = 0;
    std::string missing_filter;            ///< "lz4 (HDF5 filter 32004)" when a filter cannot be loaded
    std::vector<H5Z_filter_t> filter_ids;  ///< the filter pipeline, in order
};

H5SER_CORE_INLINE dataset_view inspect_dataset(hid_t dataset, const where& at);

// Deflate, the strongest common filter, compresses at most about 1032:1; a declared size beyond
// this many times the stored bytes (plus a MiB of slack) is a "shape bomb", not compressed data.
inline constexpr std::uint64_t max_compression_ratio = 1100;

/// Why a dataset must not be read, or empty: external or virtual storage (data from other
/// files), or a declared size the stored bytes cannot hold (a truncated file or a shape bomb,
/// which would make the loader allocate memory the file never backs).
H5SER_CORE_INLINE std::string unsafe_dataset_reason(const dataset_view& v, std::uint64_t declared_bytes);

/// Can the elements `view` declares, of `element_size` bytes each, be read? Records why not: a
/// missing filter plugin, an element count that overflows, or unsafe_dataset_reason.
H5SER_CORE_INLINE bool dataset_is_readable(problem_list& problems, const dataset_view& view, std::size_t element_size, const where& at);

/// The checksum the file keeps for the dataset at `h5_path`, as text: from the manifest of a
/// format-2 file (`contents`), else from format 1's checksum attribute of `dataset`; nullopt when
/// it keeps none.
H5SER_CORE_INLINE std::optional<std::string> stored_checksum(const manifest* contents, hid_t dataset, std::string_view h5_path,
                                                             const where& at);

/// Does the file keep, for the dataset at `h5_path`, a checksum no data can match (format 1's
/// attribute holding text not of checksum_text's form)? A verified load refuses that tensor
/// whatever its bytes, so a check without data (an isolated child's) reads it to refuse it alike.
H5SER_CORE_INLINE bool keeps_unmatchable_checksum(const manifest* contents, hid_t dataset, std::string_view h5_path, const where& at);

/// Checks `hash`, the XXH3-64 of a whole tensor as read, against the checksum the file keeps for
/// it (stored_checksum; a format-2 dataset missing from the manifest is a problem too), and adds
/// the tensor to `fingerprint`. A mismatch is a problem.
H5SER_CORE_INLINE bool verify_read_tensor(problem_list& problems, digest_list& fingerprint, const manifest* contents, hid_t dataset,
                                          std::uint64_t hash, std::string_view dtype, const std::uint64_t* dims, std::size_t rank,
                                          const where& at);

/// Reads every element of `dataset` into `out`, converted to `mem_type`, or as stored (the file's
/// own type: the bytes checksums cover) when `mem_type` is H5I_INVALID_HID. Returns "" on success,
/// else why nothing was read: a missing filter plugin, an unsafe dataset, an HDF5 error.
H5SER_CORE_INLINE std::string read_elements(hid_t dataset, const dataset_view& view, hid_t mem_type, std::vector<unsigned char>& out);

/// For bool tensors: are all `count` elements read into `buffer` 0 or 1? Records a problem if not.
template <class Element>
bool check_bool_elements(problem_list& problems, const void* buffer, std::size_t count, const where& at) {
    if constexpr (std::is_same_v<Element, bool>) {
        const auto* bytes = static_cast<const unsigned char*>(buffer);
        for (std::size_t i = 0; i < count; ++i) {
            if (bytes[i] > 1) {
                problems.add({errc::invalid_value,
                              at.field,
                              at.h5_or_root(),
                              "bool elements 0 or 1",
                              "byte value " + std::to_string(bytes[i]) + " at element " + std::to_string(i),
                              {}});
                return false;
            }
        }
    }
    return true;
}

/// Reads every element of `dataset` into `buffer` (`bytes` bytes as `mem_type`) and returns the
/// XXH3-64 of those bytes. Contiguous datasets of concurrent_hash::threshold bytes and more are read
/// in pieces of whole rows (first axis), each hashed on a second thread while the next is read.
H5SER_CORE_INLINE std::uint64_t read_and_hash(hid_t dataset, hid_t mem_type, void* buffer, std::size_t bytes, const where& at);

}  // namespace h5ser::detail

#if H5SER_CORE_DEFINITIONS
#include "h5ser/detail/hdf5/dataset-inl.hpp"
#endif
