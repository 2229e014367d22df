// h5ser/verify.hpp: checks a file h5ser wrote without knowing the struct it holds: the seal, every
// dataset's checksum, and the fingerprint over all tensors. What `h5ser verify` runs.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "h5ser/detail/attribute.hpp"
#include "h5ser/detail/dataset.hpp"
#include "h5ser/detail/file.hpp"
#include "h5ser/detail/group.hpp"
#include "h5ser/detail/hash.hpp"
#include "h5ser/detail/hdf5.hpp"
#include "h5ser/detail/seal.hpp"
#include "h5ser/inspect.hpp"
#include "h5ser/progress.hpp"
#include "h5ser/config.hpp"

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
        case dataset_check::status::ok: return "ok";
        case dataset_check::status::checksum_mismatch: return "checksum mismatch";
        case dataset_check::status::no_checksum: return "no checksum";
        case dataset_check::status::unreadable: return "unreadable";
    }
    return "?";
}

struct verify_report {
    std::string file;
    std::string seal;                  ///< "intact", or what is wrong with it
    bool seal_ok = false;
    std::string stored_fingerprint;    ///< the root `fingerprint` attribute ("" when absent)
    std::string computed_fingerprint;  ///< over the tensors as they are in the file
    std::vector<dataset_check> datasets;  ///< in field (creation) order

    [[nodiscard]] bool fingerprint_ok() const { return !stored_fingerprint.empty() && stored_fingerprint == computed_fingerprint; }
    /// Sealed, every dataset matches its checksum, and the fingerprint matches.
    [[nodiscard]] bool ok() const {
        for (const auto& d : datasets)
            if (d.result != dataset_check::status::ok) return false;
        return seal_ok && fingerprint_ok();
    }
};

namespace detail {

struct verify_walk {
    hid_t file;
    const std::string& path;
    verify_report& report;
    fingerprint_builder fingerprint;
    std::vector<std::pair<std::string, std::uint64_t>> datasets;  ///< path, stored bytes: pass 1

    // Datasets in field order: creation order, which h5ser tracks in every group.
    void collect(hid_t group, const std::string& group_path, int depth);

    void check(const std::string& child, std::uint64_t& done, std::uint64_t total, const progress_callback& progress);
};

#if H5SER_CORE_DEFINITIONS
// ---- core definitions (compiled once with H5SER_COMPILED_CORE; see h5ser/config.hpp) ----

H5SER_CORE_INLINE void verify_walk::collect(hid_t group, const std::string& group_path, int depth) {
    if (depth > 64) return;
    for (const auto& name : links_in_order(group, where{path, {}, group_path})) {
        const std::string child = (group_path == "/" ? "" : group_path) + "/" + name;
        H5L_info_t info{};
        if (H5Lget_info(group, name.c_str(), &info, H5P_DEFAULT) < 0 || info.type != H5L_TYPE_HARD) {
            H5Eclear2(H5E_DEFAULT);
            continue;  // inspect/audit report links; verify checks what the file holds
        }
        handle object(H5Oopen(group, name.c_str(), H5P_DEFAULT));
        if (!object) {
            H5Eclear2(H5E_DEFAULT);
            report.datasets.push_back({child, {}, {}, dataset_check::status::unreadable, {}, "cannot be opened"});
            continue;
        }
        if (H5Iget_type(object.get()) == H5I_GROUP) collect(object.get(), child, depth + 1);
        else if (H5Iget_type(object.get()) == H5I_DATASET) datasets.emplace_back(child, H5Dget_storage_size(object.get()));
    }
}

H5SER_CORE_INLINE void verify_walk::check(const std::string& child, std::uint64_t& done, std::uint64_t total, const progress_callback& progress) {
    const where at{path, {}, child};
    dataset_check result{child, {}, {}, dataset_check::status::ok, {}, {}};
    handle dataset(H5Dopen2(file, child.c_str(), H5P_DEFAULT));
    if (!dataset) {
        H5Eclear2(H5E_DEFAULT);
        result.result = dataset_check::status::unreadable;
        result.found = "cannot be opened";
        report.datasets.push_back(std::move(result));
        return;
    }
    const dataset_view view = inspect_dataset(dataset.get(), at);
    result.dtype = view.dtype;
    for (hsize_t d : view.shape.dims) result.shape.push_back(static_cast<std::size_t>(d));
    std::vector<unsigned char> bytes;
    const std::string why = read_elements(dataset.get(), view, H5I_INVALID_HID, bytes);  // as stored: what checksums cover
    if (!why.empty()) {
        result.result = dataset_check::status::unreadable;
        result.found = why;
    } else {
        const std::uint64_t hash = hash_bytes(bytes.empty() ? static_cast<const void*>("") : static_cast<const void*>(bytes.data()), bytes.size());
        std::vector<std::uint64_t> dims(view.shape.dims.begin(), view.shape.dims.end());
        fingerprint.add_tensor(child, view.dtype, dims.data(), dims.size(), hash);
        result.found = checksum_text(hash);
        const auto stored = read_string_attribute(dataset.get(), checksum_attribute, at);
        if (!stored) result.result = dataset_check::status::no_checksum;
        else if (*stored != result.found) result.result = dataset_check::status::checksum_mismatch;
        result.expected = stored.value_or("");
    }
    report.datasets.push_back(std::move(result));
    done += view.stored_bytes;
    if (progress) progress(std::min(done, total), total);
}

#endif  // H5SER_CORE_DEFINITIONS

}  // namespace detail

/// Checks a file h5ser wrote, without its struct: the seal (before HDF5 reads anything), every
/// dataset against its `h5ser_checksum`, and the tensors against the root `fingerprint`. Throws
/// h5ser::error only when the file cannot be opened as HDF5 at all; everything else is reported.
/// `progress` (optional) is told the stored bytes checked so far.
H5SER_CORE_INLINE verify_report verify_file(const std::string& path, const progress_callback& progress = {});

#if H5SER_CORE_DEFINITIONS
// ---- core definitions (compiled once with H5SER_COMPILED_CORE; see h5ser/config.hpp) ----

H5SER_CORE_INLINE verify_report verify_file(const std::string& path, const progress_callback& progress) {
    detail::quiet_hdf5_errors quiet;
    verify_report report;
    report.file = path;
    detail::handle file = detail::open_for_reading(path, false);  // "not found" and "not HDF5" are errors
    file.reset();
    bool broken = false;
    try {
        detail::verify_seal(path);
        report.seal_ok = detail::has_seal(path);
        report.seal = report.seal_ok ? "intact" : "none (h5ser did not write this file)";
    } catch (const error& e) {
        broken = true;
        report.seal = e.problems().empty() ? std::string(e.what()) : e.problems().front().detail;
    }
    // A broken seal means HDF5 must not parse the file: it may crash on corrupted metadata.
    if (broken) return report;
    file = detail::open_for_reading(path, false);
    const detail::where at{path, {}, "/"};
    detail::handle root = detail::checked(H5Gopen2(file.get(), "/", H5P_DEFAULT), at, "cannot open root group");
    report.stored_fingerprint = detail::read_string_attribute(root.get(), "fingerprint", at).value_or("");
    detail::verify_walk walk{file.get(), path, report, {}, {}};
    walk.collect(root.get(), "/", 0);
    std::uint64_t total = 0, done = 0;
    for (const auto& d : walk.datasets) total += d.second;
    for (const auto& d : walk.datasets) walk.check(d.first, done, total, progress);
    if (progress && (walk.datasets.empty() || done < total)) progress(total, total);
    report.computed_fingerprint = walk.fingerprint.hex();
    return report;
}

#endif  // H5SER_CORE_DEFINITIONS

}  // namespace h5ser
