// h5ser/verify.hpp: checks a file h5ser wrote without knowing the struct it holds: the seal, every
// dataset's checksum, and the fingerprint over all tensors. What `h5ser verify` runs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "h5ser/config.hpp"
#include "h5ser/progress.hpp"

namespace h5ser {

/// The outcome for one dataset.
struct dataset_check {
    enum class status { ok, checksum_mismatch, no_checksum, unreadable };
    std::string path;
    std::string dtype;
    std::vector<std::size_t> shape;
    status result = status::ok;
    std::string expected;  ///< the stored checksum ("xxh3-64:...")
    std::string found;     ///< the checksum of the bytes in the file, or why they could not be read
};

inline const char* to_string(dataset_check::status s) noexcept {
    switch (s) {
        case dataset_check::status::ok:
            return "ok";
        case dataset_check::status::checksum_mismatch:
            return "checksum mismatch";
        case dataset_check::status::no_checksum:
            return "no checksum";
        case dataset_check::status::unreadable:
            return "unreadable";
    }
    return "?";
}

struct verify_report {
    std::string file;
    std::string seal;  ///< "intact", or what is wrong with it
    bool seal_ok = false;
    std::string stored_fingerprint;       ///< the root `fingerprint` attribute ("" when absent)
    std::string computed_fingerprint;     ///< over the tensors as they are in the file
    std::vector<dataset_check> datasets;  ///< in field (creation) order
    /// False for files of other programs (h5py, Keras): no seal and no h5ser root attributes, so
    /// there are no checksums and no fingerprint to check the tensors against. Their datasets are
    /// still read whole (status no_checksum when that works, unreadable when not), and
    /// computed_fingerprint is theirs, to compare with a fingerprint known some other way.
    bool written_by_h5ser = true;
    /// "HDF5", or "safetensors" for a .safetensors file: a format without checksums, whose header
    /// is checked (an error when it is malformed), each tensor then no_checksum, and whose
    /// stored_fingerprint is the `h5ser.fingerprint` of its `__metadata__`, if any
    /// (docs/safetensors.md).
    std::string file_format = "HDF5";

    [[nodiscard]] bool fingerprint_ok() const { return !stored_fingerprint.empty() && stored_fingerprint == computed_fingerprint; }
    /// Every dataset of a file h5ser did not write reads whole (nothing more can be checked).
    [[nodiscard]] bool readable() const {
        for (const auto& d : datasets)
            if (d.result == dataset_check::status::unreadable) return false;
        return true;
    }
    /// Sealed, every dataset matches its checksum, and the fingerprint matches.
    [[nodiscard]] bool ok() const {
        for (const auto& d : datasets)
            if (d.result != dataset_check::status::ok) return false;
        return seal_ok && fingerprint_ok();
    }
};

/// Checks a file h5ser wrote, without its struct: the seal (before HDF5 reads anything), every
/// dataset against its `h5ser_checksum`, and the tensors against the root `fingerprint`. Throws
/// h5ser::error only when the file cannot be opened as HDF5 at all (nor is a .safetensors file
/// with a valid header: file_format), or (errc::isolation_failed)
/// when a file h5ser did not seal crashes or hangs the child process that reads it (see
/// docs/integrity.md); everything else is reported. `progress` (optional) is told the stored bytes
/// checked so far.
H5SER_CORE_INLINE verify_report verify_file(const std::string& path, const progress_callback& progress = {});

namespace detail {
class manifest;

/// verify_file's check of the datasets, for a file whose seal it does not look at (`h5ser seal`
/// checks a file whose seal no longer matches against the manifest that keeps what was saved):
/// reads every dataset of `path` in creation order into `report.datasets`, against the checksums
/// of `contents` (or, without it, the datasets' checksum attributes), and sets the fingerprints.
/// Returns the paths of the datasets, in that order. HDF5 parses the file: call it in a child
/// process when the file may be damaged.
H5SER_CORE_INLINE std::vector<std::string> check_datasets(verify_report& report, const std::string& path, const manifest* contents,
                                                          const progress_callback& progress = {});
}  // namespace detail

}  // namespace h5ser

#if H5SER_CORE_DEFINITIONS
#include "h5ser/detail/load/verify-inl.hpp"
#endif
