// `h5ser seal FILE [--accept-changes]`: a file whose seal no longer matches (edited with h5py, say)
// checked tensor by tensor against what h5ser saved, and, when the changes are meant, sealed again.
//
// Without --accept-changes nothing is written: every tensor is hashed and compared with the
// checksum the file's manifest (or its checksum attribute) keeps, and each one that changed, was
// added or was removed is named; exit 1. With it, the file is copied, tree and attributes as they
// are now, into a new sealed file with new checksums and fingerprint, which replaces it atomically.
#pragma once

#include <h5ser/h5ser.hpp>

#include "convert.hpp"
#include "internals.hpp"
#include "output.hpp"

#include <algorithm>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

namespace h5ser_cli {

/// What `h5ser seal` found: the seal's state and each tensor's.
struct seal_findings {
    std::string seal;  ///< "intact", or what is wrong with it
    bool intact = false;
    std::vector<h5ser::dataset_check> datasets;  ///< as the file holds them now
    std::vector<std::string> removed;            ///< listed by the manifest, gone from the file
    std::string stored_fingerprint;
    std::string computed_fingerprint;

    [[nodiscard]] std::size_t changed() const {
        std::size_t n = removed.size();
        for (const auto& d : datasets) n += d.result != h5ser::dataset_check::status::ok;
        return n;
    }
};

inline seal_findings find_changes(const std::string& path, const h5ser::progress_callback& progress = {}) {
    namespace d = h5ser::detail;
    seal_findings f;
    std::optional<d::manifest> contents;
    try {
        contents = d::verify_seal(path);
        f.intact = d::has_seal(path);
        f.seal = f.intact ? "intact" : "none (not sealed by h5ser)";
    } catch (const h5ser::error& e) {
        f.seal = e.problems().empty() ? std::string(e.what()) : e.problems().front().detail;
        // The manifest keeps its own checksum: what was saved, even when the file changed since.
        contents = d::read_saved_manifest(path);
    }
    h5ser::verify_report report;
    report.file = path;
    const std::vector<std::string> present = d::check_datasets(report, path, contents ? &*contents : nullptr, progress);
    f.datasets = std::move(report.datasets);
    if (contents) {
        for (const auto& r : contents->records())
            if (r.kind == d::record_kind::dataset && std::find(present.begin(), present.end(), r.path) == present.end())
                f.removed.emplace_back(r.path);
    }
    f.stored_fingerprint = report.stored_fingerprint;
    f.computed_fingerprint = report.computed_fingerprint;
    return f;
}

/// "CHANGED /a/kernel: saved xxh3-64:..., now xxh3-64:..." for each tensor that is not as saved.
inline std::string describe_changes(const seal_findings& f) {
    std::string out;
    for (const auto& d : f.datasets) {
        using status = h5ser::dataset_check::status;
        if (d.result == status::ok) continue;
        if (d.result == status::unreadable) out += "UNREADABLE " + d.path + ": " + d.found + "\n";
        else if (d.result == status::no_checksum || d.expected == "a dataset listed in the manifest")
            out += "NEW " + d.path + ": no checksum saved for it, now " + d.found + "\n";
        else out += "CHANGED " + d.path + ": saved " + d.expected + ", now " + d.found + "\n";
    }
    for (const auto& r : f.removed) out += "REMOVED " + r + ": saved, no longer in the file\n";
    return out;
}

inline int seal(const std::string& path, bool accept, const std::string& preset, bool as_json) {
    namespace d = h5ser::detail;
    d::hdf5_scope hdf5;
    const seal_findings f = find_changes(path);
    bool unreadable = false;
    for (const auto& ds : f.datasets) unreadable = unreadable || ds.result == h5ser::dataset_check::status::unreadable;
    const bool as_saved = f.intact && f.changed() == 0 && f.stored_fingerprint == f.computed_fingerprint;
    std::string resealed;
    if (accept && !as_saved) {
        if (unreadable)
            throw h5ser::error(path, h5ser::problem{h5ser::errc::io,
                                                    {},
                                                    "/",
                                                    "every tensor readable",
                                                    "unreadable tensors",
                                                    "cannot seal a file whose tensors do not read"});
        const d::handle file = d::open_for_reading(path, false);
        const d::handle root = d::open_root(file.get(), path);
        const d::file_header header = d::read_header(root.get(), path, nullptr, false);
        d::tree_copy_options options;
        options.plan = preset_plan(preset);
        options.new_fingerprint = true;
        resealed = d::copy_h5ser_file(file.get(), path, nullptr, header, path, options).fingerprint;
    }
    const int code = as_saved || !resealed.empty() ? 0 : 1;
    if (as_json) {
        json j;
        j.begin_object().string("file", path).string("seal", f.seal).boolean("as_saved", as_saved);
        j.begin_array("changes");
        for (const auto& ds : f.datasets) {
            if (ds.result == h5ser::dataset_check::status::ok) continue;
            j.begin_object()
                .string("path", ds.path)
                .string("status", h5ser::to_string(ds.result))
                .string("saved", ds.expected)
                .string("now", ds.found)
                .end_object();
        }
        for (const auto& r : f.removed) j.begin_object().string("path", r).string("status", "removed").end_object();
        j.end_array();
        if (resealed.empty()) j.null("resealed_fingerprint");
        else j.string("resealed_fingerprint", resealed);
        j.end_object();
        print_json(j);
        return code;
    }
    std::string out = "file: " + path + "\nseal: " + f.seal + "\n" + describe_changes(f);
    const std::string tensors = std::to_string(f.datasets.size()) + " tensors";
    if (as_saved) out += "sealed and as saved: " + tensors + ", fingerprint " + f.computed_fingerprint + "; nothing to do\n";
    else if (!resealed.empty())
        out += "sealed again with the file as it is now: " + tensors + ", fingerprint " + resealed + " (was " +
               (f.stored_fingerprint.empty() ? std::string("none") : f.stored_fingerprint) + ")\n";
    else
        out += std::to_string(f.changed()) + " of " + tensors + (f.removed.empty() ? "" : " (and removed ones)") +
               " differ from what h5ser saved" + (f.changed() ? "" : " (the change is in the metadata)") +
               "; if the changes are meant, h5ser seal " + path + " --accept-changes seals the file again with them\n";
    print_text(out, code == 0 ? stdout : stderr);
    return code;
}

}  // namespace h5ser_cli
