// h5ser/detail/save/tree_copy.hpp: an h5ser file (or another program's HDF5 file) copied object by
// object, without its C++ struct, into a new sealed format-2 file.
//
// Two users: `h5ser convert IN.h5 OUT.h5` (the same tree re-stored under another storage preset)
// and the isolated load (load_file.hpp), whose child process, once its load of a file that needs
// libhdf5 succeeded, sends the file back to the caller as a sealed copy the caller maps. Neither
// needs a save of the model: the copy is made of the bytes and types the file holds, by code
// compiled once (with the compiled core), not per model type.
#pragma once

#include <hdf5.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "h5ser/config.hpp"
#include "h5ser/detail/format/format.hpp"
#include "h5ser/detail/format/manifest.hpp"
#include "h5ser/detail/hdf5/hdf5.hpp"
#include "h5ser/detail/load/opened_file.hpp"  // file_descriptor
#include "h5ser/detail/model/storage_plan.hpp"
#include "h5ser/detail/posix/io.hpp"
#include "h5ser/detail/save/sealed_file.hpp"
#include "h5ser/progress.hpp"

namespace h5ser::detail {

/// A tensor as a file holds it: its HDF5 type and its element bytes.
struct raw_tensor {
    std::string dtype;
    handle type;
    std::vector<hsize_t> dims;
    std::vector<unsigned char> bytes;  ///< the elements

    [[nodiscard]] std::span<const unsigned char> elements() const noexcept { return bytes; }
};

/// Reads dataset `path` of `file` (named `file_name` in errors) whole, as stored; an error
/// (errc::unsafe_file) names it when it holds no tensor (strings, unsafe storage, a missing filter).
H5SER_CORE_INLINE raw_tensor read_raw_tensor(hid_t file, const std::string& path, const std::string& file_name);

/// Copies attribute `name` of `from` to `to` as stored (any type).
H5SER_CORE_INLINE void copy_attribute(hid_t from, hid_t to, const std::string& name, const where& at);

/// Writes an h5ser file object by object through the one sealed-file writer: checksums, fingerprint
/// (in writing order), manifest, seal, and the atomic rename (or, `in_place`, a scratch file
/// written where it is).
class tree_writer {
public:
    /// `manifest_bytes`: at least the size of the manifest of what will be written.
    tree_writer(const std::string& path, storage_plan plan, std::size_t datasets, std::size_t manifest_bytes, bool in_place = false);

    [[nodiscard]] hid_t root() const noexcept { return file_.root(); }
    [[nodiscard]] const creation_plists& plists() const noexcept { return file_.plists(); }

    /// The group at `path` ("/a/b"), created (with its parents) on first use.
    hid_t group(const std::string& path);

    /// Writes `t` at `path`, stored as the plan says, its manifest checksum `checksum` (the hash of
    /// its bytes when none is given); returns the dataset so attributes can be added.
    handle dataset(const std::string& path, const raw_tensor& t, std::optional<std::uint64_t> checksum = std::nullopt);

    /// Writes at `path` a tensor of `t`'s dtype, type and shape (`t` holds no elements) whose
    /// `length` bytes are those of the open file `source` (named `source_name` in errors) from
    /// `source_offset`, read once: stored contiguous, copied and hashed on the way into the space
    /// HDF5 allocates for them (copy_and_hash); stored otherwise, read and written as dataset()
    /// writes.
    handle copied_dataset(const std::string& path, raw_tensor t, int source, std::uint64_t source_offset, std::uint64_t length,
                          const std::string& source_name);

    /// Copies every attribute of `from` to `to` (the object at `path`) as stored, except those named
    /// in `skip`, and lists them in the manifest.
    void copy_attributes(hid_t from, hid_t to, const std::string& path, const std::set<std::string>& skip, const where& at);

    /// Writes the root attributes of a file of `mode` copied from `source` (its root group): all
    /// but the format version, which is this library's, and (`new_fingerprint`) the fingerprint,
    /// which is then the tensors' written; the mode too when `source` has none (another program's
    /// file).
    void copy_root_attributes(hid_t source, save_mode mode, const where& at, bool new_fingerprint = false);
    /// The root attributes of a weights-only file.
    void write_weights_only_header() { file_.write_root_attributes(save_mode::weights_only); }
    /// Records `fingerprint` in the manifest instead of the one of the tensors written.
    void carry_fingerprint(std::uint64_t fingerprint) noexcept { file_.carry_fingerprint(fingerprint); }

    [[nodiscard]] std::string fingerprint() const { return file_.fingerprint(); }

    void commit();

private:
    std::string path_;
    storage_plan plan_;
    sealed_file_writer file_;
    std::map<std::string, handle> groups_;
    file_descriptor copy_target_;  ///< the file being written, opened by copied_dataset's first copy
};

/// How copy_h5ser_file copies.
struct tree_copy_options {
    storage_plan plan;  ///< how the copy stores its tensors
    /// Each tensor's manifest checksum is the one the source keeps for it (its manifest's, or format
    /// 1's checksum attribute; the hash of the bytes copied when it keeps none), and the fingerprint
    /// the source's: a verified load of the copy then checks the bytes against what the source says
    /// was saved, wherever they changed since. Off: the copy's own hashes, as a new file has.
    bool carry_checksums = false;
    /// Leaves out links and objects h5ser files do not hold (soft and external links, named types,
    /// datasets of strings) instead of refusing them: for a copy of what a load already read.
    bool skip_foreign_objects = false;
    bool in_place = false;  ///< write `out` in place (a scratch file), not through a temporary
    /// When not empty, the path of the one object to copy ("/a/b"), with the groups above it.
    std::string only;
    /// The copy's root `fingerprint` attribute is the one of the tensors as copied, not the
    /// source's: a file sealed again after an accepted edit (`h5ser seal --accept-changes`).
    bool new_fingerprint = false;
    /// When given, the fingerprint of the tensors copied must be this (the source's record of what
    /// was saved), or the copy is abandoned before it replaces `out` (errc::checksum_mismatch).
    std::optional<std::string> expected_fingerprint;
    progress_callback progress;  ///< told the tensor bytes copied so far
};

/// What copy_h5ser_file copied.
struct tree_copy_result {
    std::string fingerprint;  ///< of the tensors as copied
    std::size_t tensors = 0;
    bool carried_fingerprint = false;  ///< carry_checksums, and the source keeps a fingerprint
};

/// A tensor a new file will hold: its path, dtype, dimensions and element size.
struct planned_tensor {
    std::string path;
    std::string dtype;
    std::vector<std::uint64_t> dims;
    std::uint64_t element_bytes = 0;
};

/// The size of the manifest of a file that holds `tensors` (stored as `plan` says), the groups
/// above them and no attributes: the manifest builder's, on records without data.
H5SER_CORE_INLINE std::size_t manifest_size_of(const std::vector<planned_tensor>& tensors, const storage_plan& plan);

/// Copies the h5ser file open as `file` (named `path`; `contents`: its manifest, when its seal
/// holds; `header`: its root attributes, read_header) into a new sealed format-2 file at `out`:
/// the same groups, datasets and attributes, in the order the file created them, datasets stored as
/// `options.plan` says. Another program's file (header.foreign) becomes an h5ser file of the same
/// tree, its fingerprint the one of its tensors.
H5SER_CORE_INLINE tree_copy_result copy_h5ser_file(hid_t file, const std::string& path, const manifest* contents, const file_header& header,
                                                   const std::string& out, const tree_copy_options& options);

}  // namespace h5ser::detail

#if H5SER_CORE_DEFINITIONS
#include "h5ser/detail/save/tree_copy-inl.hpp"
#endif
