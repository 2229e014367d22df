// h5ser/detail/sealed_file.hpp: the one writer of h5ser files, used by h5ser::save, the
// checkpoint manager, h5ser::mpi::save and `h5ser convert`.
//
// A file is written to a temporary beside its target (file.hpp's atomic_file), with a userblock
// sized for the seal; the writer keeps the fingerprint and the seal's data ranges of the tensors
// written, writes the format's root attributes (format.hpp), then seals the closed file
// (seal.hpp) and renames it over the target. Until then the target is untouched.
#pragma once

#include <hdf5.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "h5ser/config.hpp"
#include "h5ser/detail/dataset.hpp"
#include "h5ser/detail/file.hpp"
#include "h5ser/detail/format.hpp"
#include "h5ser/detail/group.hpp"
#include "h5ser/detail/hash.hpp"
#include "h5ser/detail/hdf5.hpp"
#include "h5ser/detail/seal.hpp"

namespace h5ser::detail {

class sealed_file_writer {
public:
    /// Creates the temporary file for `path`, with room in the seal for `datasets` data ranges.
    sealed_file_writer(const std::string& path, std::size_t datasets);

    /// For the ranks of an MPI save: every rank creates the same temporary `temp` through `fapl`
    /// (MPI-IO) with the same `userblock`; `owner` is the atomic_file of the rank that seals and
    /// commits (rank 0), null on the others.
    sealed_file_writer(const std::string& path, const std::string& temp, std::uint64_t userblock, hid_t fapl, atomic_file* owner);

    sealed_file_writer(const sealed_file_writer&) = delete;
    sealed_file_writer& operator=(const sealed_file_writer&) = delete;

    [[nodiscard]] hid_t root() const noexcept { return root_.get(); }
    [[nodiscard]] const creation_plists& plists() const noexcept { return plists_; }
    [[nodiscard]] const where& at() const noexcept { return at_; }

    /// Adds a tensor written at `h5_path` to the fingerprint and its contiguous data to the seal's
    /// data ranges. Call in field order: the fingerprint depends on it.
    void add_tensor(std::string_view h5_path, std::string_view dtype, const written_tensor& w);
    [[nodiscard]] std::string fingerprint() const { return fingerprint_.hex(); }

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
};

}  // namespace h5ser::detail

#if H5SER_CORE_DEFINITIONS
#include "h5ser/detail/sealed_file-inl.hpp"
#endif
