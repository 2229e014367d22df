// h5ser/detail/save/sealed_file.hpp: the one writer of h5ser files, used by h5ser::save, the
// checkpoint manager, h5ser::mpi::save and `h5ser convert`.
//
// A file is written to a temporary beside its target (file.hpp's atomic_file), with a userblock
// sized for the seal and the manifest; the writer keeps the fingerprint, the seal's data ranges
// and the manifest (manifest.hpp) of what is written, writes the format's root attributes
// (format.hpp), then seals the closed file (seal.hpp) and renames it over the target. Until then
// the target is untouched.
#pragma once

#include <hdf5.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "h5ser/config.hpp"
#include "h5ser/detail/format/format.hpp"
#include "h5ser/detail/format/hash.hpp"
#include "h5ser/detail/format/manifest.hpp"
#include "h5ser/detail/format/seal.hpp"
#include "h5ser/detail/hdf5/dataset.hpp"
#include "h5ser/detail/hdf5/group.hpp"
#include "h5ser/detail/hdf5/hdf5.hpp"
#include "h5ser/detail/posix/file.hpp"

namespace h5ser::detail {

/// Adds attribute `name` of `object` (at `object_path`), as stored in an HDF5 file, to `m`.
H5SER_CORE_INLINE void add_stored_attribute(manifest_builder& m, hid_t object, std::string_view object_path, const std::string& name,
                                            const where& at);

/// The file access of a scratch file (sealed_file_writer's in_place): as writer_file_access, with
/// every object 64-byte aligned.
H5SER_CORE_INLINE handle scratch_file_access(const where& at);

/// Tag of the sealed_file_writer that writes into an existing file in place.
struct in_place_t {};

class sealed_file_writer {
public:
    /// Creates the temporary file for `path`, with room in the userblock for the data ranges of
    /// `datasets` and a manifest of `manifest_bytes` (a manifest_builder given the same records).
    sealed_file_writer(const std::string& path, std::size_t datasets, std::size_t manifest_bytes);

    /// For the ranks of an MPI save: every rank creates the same temporary `temp` through `fapl`
    /// (MPI-IO) with the same `userblock`; `owner` is the atomic_file of the rank that seals and
    /// commits (rank 0), null on the others.
    sealed_file_writer(const std::string& path, const std::string& temp, std::uint64_t userblock, hid_t fapl, atomic_file* owner);

    /// Writes into the existing file `path` in place: no temporary, no fsync, no rename. For the
    /// memory file an isolated child sends a loaded model back in, which nothing else reads.
    sealed_file_writer(in_place_t, const std::string& path, std::size_t datasets, std::size_t manifest_bytes);

    sealed_file_writer(const sealed_file_writer&) = delete;
    sealed_file_writer& operator=(const sealed_file_writer&) = delete;

    [[nodiscard]] hid_t root() const noexcept { return root_.get(); }
    /// Starts the disk's writeback of what was written so far (a serial save's; empty for MPI
    /// ranks): for write_dataset to call between the pieces of a large tensor.
    [[nodiscard]] const std::function<void()>* writeback() const noexcept { return &writeback_; }
    [[nodiscard]] const creation_plists& plists() const noexcept { return plists_; }
    [[nodiscard]] const where& at() const noexcept { return at_; }
    /// The file being written (the temporary, or the file itself when written in place).
    [[nodiscard]] const std::string& written_path() const noexcept { return temp_; }

    /// Adds a tensor written at `h5_path`, stored as `plan` says, to the fingerprint and the
    /// manifest, and its contiguous data to the seal's data ranges. Call in field order: the
    /// fingerprint depends on it.
    void add_tensor(std::string_view h5_path, std::string_view dtype, const written_tensor& w, const storage_plan& plan);
    /// Adds a group written at `h5_path` to the manifest.
    void add_group(std::string_view h5_path) { manifest_.group(h5_path); }
    /// Adds attribute `name` of the object at `object_path` to the manifest.
    void add_attribute(std::string_view object_path, std::string_view name, const attribute_view& value) {
        manifest_.attribute(object_path, name, value);
    }
    /// Adds attribute `name` of `object` (at `object_path`), as stored in another h5ser file, to the
    /// manifest (`h5ser convert` copies attributes it did not write from C++ values).
    void add_stored_attribute(hid_t object, std::string_view object_path, const std::string& name, const where& at) {
        detail::add_stored_attribute(manifest_, object, object_path, name, at);
    }
    /// The mode the manifest records, for writers that copy the root attributes instead of
    /// calling write_root_attributes.
    void set_mode(save_mode mode) noexcept { mode_ = mode; }
    [[nodiscard]] std::string fingerprint() const { return fingerprint_.hex(); }
    /// Records `fingerprint` in the manifest instead of the one of the tensors added (a copy that
    /// keeps its source's: tree_copy.hpp).
    void carry_fingerprint(std::uint64_t fingerprint) noexcept { carried_fingerprint_ = fingerprint; }

    /// Writes the format's root attributes, with the fingerprint of the tensors added so far.
    void write_root_attributes(save_mode mode, std::string_view model_type = {}, std::string_view schema = {});

    /// Closes the HDF5 file; `flush_all` first flushes every rank's data (collective with MPI-IO).
    void close(bool flush_all = false);

    /// Seals the closed file and renames it over the target, durably (the owner's part).
    void seal_and_commit();

private:
    std::string path_;
    where at_;
    std::optional<atomic_file> own_;  ///< the temporary of a serial save
    atomic_file* owner_ = nullptr;    ///< who commits: own_, rank 0's, or nobody
    std::string temp_;
    std::uint64_t userblock_ = 0;
    handle file_;
    creation_plists plists_;
    handle root_;
    fingerprint_builder fingerprint_;
    std::vector<byte_range> ranges_;
    manifest_builder manifest_;
    save_mode mode_ = save_mode::full_model;
    std::optional<std::uint64_t> carried_fingerprint_;
    std::uint64_t unflushed_bytes_ = 0;  ///< tensor bytes written since writeback was last started
    std::function<void()> writeback_;
};

/// Adds the manifest record of a tensor (`w`, stored as `plan` says) to `m`.
H5SER_CORE_INLINE void add_dataset_record(manifest_builder& m, std::string_view h5_path, std::string_view dtype, const written_tensor& w,
                                          const storage_plan& plan);

}  // namespace h5ser::detail

#if H5SER_CORE_DEFINITIONS
#include "h5ser/detail/save/sealed_file-inl.hpp"
#endif
