// h5ser/detail/load/verify-inl.hpp: definitions of h5ser/verify.hpp (compiled once with the compiled core; see
// h5ser/config.hpp).
#pragma once

#include "h5ser/detail/format/format.hpp"
#include "h5ser/detail/format/hash.hpp"
#include "h5ser/detail/format/seal.hpp"
#include "h5ser/detail/hdf5/attribute.hpp"
#include "h5ser/detail/hdf5/dataset.hpp"
#include "h5ser/detail/hdf5/group.hpp"
#include "h5ser/detail/hdf5/hdf5.hpp"
#include "h5ser/detail/isolation/isolation.hpp"
#include "h5ser/detail/load/inspect-inl.hpp"
#include "h5ser/detail/load/opened_file.hpp"
#include "h5ser/detail/posix/file.hpp"
#include "h5ser/detail/safetensors/tree.hpp"

#include "h5ser/verify.hpp"

namespace h5ser::detail {

struct verify_walk {
    hid_t file;
    const std::string& path;
    verify_report& report;
    const manifest* contents;  ///< format 2: where the checksums are
    fingerprint_builder fingerprint;
    std::vector<std::pair<std::string, std::uint64_t>> datasets;  ///< path, stored bytes: pass 1

    // Datasets in field order: creation order, which h5ser tracks in every group.
    void collect(hid_t group, const std::string& group_path, int depth);

    void check(const std::string& child, std::uint64_t& done, std::uint64_t total, const progress_callback& progress);
};

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

H5SER_CORE_INLINE void verify_walk::check(const std::string& child, std::uint64_t& done, std::uint64_t total,
                                          const progress_callback& progress) {
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
        const std::uint64_t hash =
            hash_bytes(bytes.empty() ? static_cast<const void*>("") : static_cast<const void*>(bytes.data()), bytes.size());
        std::vector<std::uint64_t> dims(view.shape.dims.begin(), view.shape.dims.end());
        fingerprint.add_tensor(child, view.dtype, dims.data(), dims.size(), hash);
        result.found = checksum_text(hash);
        const auto stored = stored_checksum(contents, dataset.get(), child, at);
        if (!stored) result.result = contents ? dataset_check::status::checksum_mismatch : dataset_check::status::no_checksum;
        else if (*stored != result.found) result.result = dataset_check::status::checksum_mismatch;
        result.expected = stored.value_or(contents ? "a dataset listed in the manifest" : "");
    }
    report.datasets.push_back(std::move(result));
    done += view.stored_bytes;
    if (progress) progress(std::min(done, total), total);
}

/// verify_file of the .safetensors file `file`, whose checked header is `h`: each tensor is read
/// whole (pread: a file cut short is an error, not a signal) and hashed, in the order of its data,
/// for the fingerprint, which is compared with the one the file keeps, if any; nothing else can be.
H5SER_CORE_INLINE verify_report verify_safetensors(const opened_file& file, const safetensors::header& h,
                                                   const progress_callback& progress) {
    verify_report report;
    report.file = file.path();
    report.file_format = "safetensors";
    report.written_by_h5ser = false;
    report.seal = "none (the .safetensors format keeps no checksums)";
    const manifest contents = safetensors::manifest_of(h, file.size(), file.path(), false);
    if (contents.keeps_fingerprint()) report.stored_fingerprint = to_hex(contents.fingerprint());
    std::uint64_t total = 0, done = 0;
    for (const manifest_record& r : contents.records()) total += r.length;
    std::vector<unsigned char> buffer(std::size_t{1} << 20);
    fingerprint_builder fingerprint;
    for (const manifest_record& r : contents.records()) {
        if (r.kind != record_kind::dataset) continue;
        xxh3_stream hash;
        for (std::uint64_t at = 0; at < r.length;) {
            const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), r.length - at));
            if (!read_exact(file.fd(), buffer.data(), n, r.offset + at))
                throw_io(file.path(), "cannot read the data of '" + std::string(r.path) + "'", errno ? errno : EIO);
            hash.update(buffer.data(), n);
            at += n;
            done += n;
            if (progress) progress(done, total);
        }
        std::vector<std::uint64_t> dims(r.rank);
        dataset_check d;
        d.path = std::string(r.path);
        d.dtype = std::string(r.dtype);
        for (std::size_t i = 0; i < r.rank; ++i) d.shape.push_back(static_cast<std::size_t>(dims[i] = r.dim(i)));
        d.result = dataset_check::status::no_checksum;
        d.found = checksum_text(hash.digest());
        fingerprint.add_tensor(r.path, r.dtype, dims.data(), r.rank, hash.digest());
        report.datasets.push_back(std::move(d));
    }
    if (progress) progress(total, total);
    report.computed_fingerprint = fingerprint.hex();
    return report;
}

}  // namespace h5ser::detail

namespace h5ser {

H5SER_CORE_INLINE verify_report verify_file(const std::string& path, const progress_callback& progress) {
    // A .safetensors file (by its content) is read without libhdf5.
    {
        const auto file = detail::opened_file::open(path);
        if (const auto header = detail::safetensors::header_if_safetensors(file))
            return detail::verify_safetensors(file, *header, progress);
    }
    if (detail::needs_isolation(detail::isolation::hdf5_parses, path))  // see detail/isolation/isolation.hpp
        return detail::run_isolated<verify_report>(
            path, [&](const progress_callback& p) { return verify_file(path, p); }, progress);
    detail::hdf5_scope hdf5;
    verify_report report;
    report.file = path;
    detail::handle file = detail::open_for_reading(path, false);  // "not found" and "not HDF5" are errors
    file.reset();
    bool broken = false;
    std::optional<detail::manifest> contents;
    try {
        contents = detail::verify_seal(path);
        report.seal_ok = detail::has_seal(path);
        report.seal = report.seal_ok ? "intact" : "none (h5ser did not write this file)";
    } catch (const error& e) {
        broken = true;
        report.seal = e.problems().empty() ? std::string(e.what()) : e.problems().front().detail;
    }
    // A broken seal means HDF5 must not parse the file: it may crash on corrupted metadata.
    if (broken) return report;
    const std::size_t datasets = detail::check_datasets(report, path, contents ? &*contents : nullptr, progress).size();
    if (contents) {  // the manifest must describe the same file as the root attributes
        std::size_t listed = 0;
        for (const auto& r : contents->records()) listed += r.kind == detail::record_kind::dataset;
        if (detail::to_hex(contents->fingerprint()) != report.stored_fingerprint || listed != datasets) {
            report.seal_ok = false;
            report.seal = "intact, but the manifest lists " + std::to_string(listed) + " datasets and fingerprint " +
                          detail::to_hex(contents->fingerprint()) + " where the file holds " + std::to_string(datasets) + " and says " +
                          report.stored_fingerprint;
        }
    }
    return report;
}

H5SER_CORE_INLINE std::vector<std::string> detail::check_datasets(verify_report& report, const std::string& path, const manifest* contents,
                                                                  const progress_callback& progress) {
    const handle file = open_for_reading(path, false);
    const where at{path, {}, "/"};
    const handle root = open_root(file.get(), path);
    report.stored_fingerprint = read_string_attribute(root.get(), format::fingerprint_attribute, at).value_or("");
    report.written_by_h5ser = report.seal_ok || H5Aexists(root.get(), format::version_attribute) > 0;
    verify_walk walk{file.get(), path, report, contents, {}, {}};
    walk.collect(root.get(), "/", 0);
    std::uint64_t total = 0, done = 0;
    for (const auto& d : walk.datasets) total += d.second;
    for (const auto& d : walk.datasets) walk.check(d.first, done, total, progress);
    if (progress && (walk.datasets.empty() || done < total)) progress(total, total);
    report.computed_fingerprint = walk.fingerprint.hex();
    std::vector<std::string> paths;
    for (const auto& d : walk.datasets) paths.push_back(d.first);
    return paths;
}

}  // namespace h5ser
