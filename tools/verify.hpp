// `h5ser verify FILE`: the seal, every checksum and the fingerprint of a file h5ser wrote; of
// another program's file, what can be checked (it reads whole) and what cannot.
#pragma once

#include <h5ser/h5ser.hpp>

#include <optional>
#include <string>

#include "output.hpp"
#include "seal.hpp"

namespace h5ser_cli {

/// The exit codes of `h5ser verify` (docs/cli.md).
enum verify_exit : int {
    verified = 0,        ///< h5ser's file is intact (or a foreign file matches --expect-fingerprint)
    damaged = 1,         ///< a bad seal, checksum or fingerprint, an unreadable dataset, or a different expected fingerprint
    not_verifiable = 3,  ///< a file h5ser did not write, which reads whole: nothing to check it against
};

/// `verify` of a file h5ser did not write: says what was checked and what cannot be.
inline int verify_foreign(const h5ser::verify_report& r, const std::string& path, const std::string& expect_fingerprint, bool as_json) {
    std::size_t unreadable = 0;
    for (const auto& d : r.datasets) unreadable += d.result == h5ser::dataset_check::status::unreadable;
    const bool compared = !expect_fingerprint.empty();
    const bool matches = compared && expect_fingerprint == r.computed_fingerprint;
    const int code = unreadable != 0 || (compared && !matches) ? damaged : matches ? verified : not_verifiable;
    if (as_json) {
        json j;
        j.begin_object().string("file", path).boolean("ok", code == verified).boolean("written_by_h5ser", false);
        j.string("cannot_check", "no seal, no checksums, no stored fingerprint: not written by h5ser");
        j.number("datasets", static_cast<double>(r.datasets.size())).number("unreadable", static_cast<double>(unreadable));
        j.string("computed_fingerprint", r.computed_fingerprint);
        if (compared) j.string("expected_fingerprint", expect_fingerprint);
        j.begin_array("problems");
        for (const auto& d : r.datasets) {
            if (d.result != h5ser::dataset_check::status::unreadable) continue;
            j.begin_object().string("path", d.path).string("status", h5ser::to_string(d.result)).string("found", d.found).end_object();
        }
        j.end_array().end_object();
        print_json(j);
        return code;
    }
    std::string out = "file: " + path + "\n";
    out += "not written by h5ser: no seal, no checksums and no stored fingerprint to check its tensors against\n";
    for (const auto& d : r.datasets)
        if (d.result == h5ser::dataset_check::status::unreadable) out += "UNREADABLE " + d.path + ": " + d.found + "\n";
    out += "checked: the file opens as HDF5; " + std::to_string(r.datasets.size() - unreadable) + " of " +
           std::to_string(r.datasets.size()) + " datasets read whole\n";
    out += "fingerprint of its tensors: " + r.computed_fingerprint;
    if (compared) out += matches ? ", as expected\n" : ", expected " + expect_fingerprint + ": DIFFERENT\n";
    else out += " (give it as --expect-fingerprint to check against it)\n";
    out += code == verified ? "OK (against the expected fingerprint)\n" : code == damaged ? "FAILED\n" : "NOT VERIFIABLE\n";
    print_text(out);
    return code;
}

/// `verify` of a .safetensors file: the format keeps no checksums; the header was checked, every
/// tensor read, and their fingerprint is compared with the one the file keeps (h5ser's writer puts
/// it in `__metadata__`) and with --expect-fingerprint.
inline int verify_safetensors(const h5ser::verify_report& r, const std::string& path, const std::string& expect_fingerprint, bool as_json) {
    const bool kept = !r.stored_fingerprint.empty(), expected = !expect_fingerprint.empty();
    const bool kept_ok = kept && r.stored_fingerprint == r.computed_fingerprint;
    const bool expected_ok = expected && expect_fingerprint == r.computed_fingerprint;
    const int code = (kept && !kept_ok) || (expected && !expected_ok) ? damaged : kept || expected ? verified : not_verifiable;
    if (as_json) {
        json j;
        j.begin_object().string("file", path).boolean("ok", code == verified).string("format", "safetensors");
        j.string("cannot_check", "no checksums in this format");
        j.number("datasets", static_cast<double>(r.datasets.size()));
        j.string("stored_fingerprint", r.stored_fingerprint).string("computed_fingerprint", r.computed_fingerprint);
        if (expected) j.string("expected_fingerprint", expect_fingerprint);
        j.end_object();
        print_json(j);
        return code;
    }
    std::string out = "file: " + path + "\n";
    out +=
        "safetensors: no checksums in this format; the header checks out, " + std::to_string(r.datasets.size()) + " tensors read whole\n";
    out += "fingerprint of its tensors: " + r.computed_fingerprint;
    if (kept)
        out += kept_ok ? ", as its __metadata__ h5ser.fingerprint says\n"
                       : ", its __metadata__ h5ser.fingerprint says " + r.stored_fingerprint + ": DIFFERENT\n";
    else out += expected ? "\n" : " (none kept in the file; give one as --expect-fingerprint to check against it)\n";
    if (expected) out += "expected fingerprint " + expect_fingerprint + (expected_ok ? ": matches\n" : ": DIFFERENT\n");
    out += code == verified ? "OK (against the fingerprint)\n" : code == damaged ? "FAILED\n" : "NOT VERIFIABLE\n";
    print_text(out);
    return code;
}

/// `verify` of a URL: its seal and manifest, read in one request; the tensors are checked by the
/// loads that read them, each as it arrives (docs/remote.md).
inline int verify_url(const std::string& url, const std::string& expect_fingerprint, bool as_json) {
    const auto opened = internal::open_sealed_url(url, true);
    const std::string fingerprint = h5ser::detail::to_hex(opened.contents.fingerprint());
    const bool ok = expect_fingerprint.empty() || expect_fingerprint == fingerprint;
    std::size_t datasets = 0;
    for (const auto& r : opened.contents.records()) datasets += r.kind == h5ser::detail::record_kind::dataset;
    if (as_json) {
        json j;
        j.begin_object().string("file", url).boolean("ok", ok).boolean("seal_ok", true).string("seal", "intact");
        j.string("stored_fingerprint", fingerprint).boolean("data_read", false);
        if (!expect_fingerprint.empty()) j.string("expected_fingerprint", expect_fingerprint);
        j.number("datasets", static_cast<double>(datasets)).begin_array("problems").end_array().end_object();
        print_json(j);
        return ok ? verified : damaged;
    }
    std::string out = "file: " + url + "\n";
    out += "seal: intact (its header, range table and manifest; the HDF5 metadata is not read over HTTP)\n";
    out += "manifest: " + std::to_string(datasets) + " datasets, fingerprint " + fingerprint;
    if (!expect_fingerprint.empty()) out += ok ? ", as expected" : ", expected " + expect_fingerprint + ": DIFFERENT";
    out += "\ndata: not read; h5ser::load checks each tensor against its checksum as it arrives\n";
    out += ok ? "OK\n" : "FAILED\n";
    print_text(out);
    return ok ? verified : damaged;
}

inline int verify(const std::string& path, const std::string& expect_fingerprint, bool as_json) {
    if (internal::is_url(path)) return verify_url(path, expect_fingerprint, as_json);
    progress_bar bar("verify", !as_json);
    const auto progress = [&](std::uint64_t done, std::uint64_t total) { bar(done, total); };
    h5ser::verify_report r = h5ser::verify_file(path, progress);
    if (r.file_format == "safetensors") return verify_safetensors(r, path, expect_fingerprint, as_json);
    if (!r.written_by_h5ser) return verify_foreign(r, path, expect_fingerprint, as_json);
    // An h5ser file whose seal no longer matches (edited by another program, truncated): the
    // library stops at the seal, since libhdf5 must not parse a damaged file in its caller. The
    // tool runs in a child process for such a file, so it goes on as `h5ser seal` does: each tensor
    // against the checksum the manifest keeps of what was saved, and the changed ones named.
    std::optional<seal_findings> changes;
    if (!r.seal_ok && r.datasets.empty()) {
        changes = find_changes(path, progress);
        r.datasets = changes->datasets;
        r.stored_fingerprint = changes->stored_fingerprint;
        r.computed_fingerprint = changes->computed_fingerprint;
    }
    const bool expected_ok = expect_fingerprint.empty() || expect_fingerprint == r.stored_fingerprint;
    const bool ok = r.ok() && expected_ok;
    std::size_t bad = 0;
    for (const auto& d : r.datasets) bad += d.result != h5ser::dataset_check::status::ok;
    if (as_json) {
        json j;
        j.begin_object().string("file", path).boolean("ok", ok).boolean("seal_ok", r.seal_ok).string("seal", r.seal);
        j.string("stored_fingerprint", r.stored_fingerprint).string("computed_fingerprint", r.computed_fingerprint);
        if (!expect_fingerprint.empty()) j.string("expected_fingerprint", expect_fingerprint);
        j.number("datasets", static_cast<double>(r.datasets.size())).begin_array("problems");
        for (const auto& d : r.datasets) {
            if (d.result == h5ser::dataset_check::status::ok) continue;
            j.begin_object()
                .string("path", d.path)
                .string("status", h5ser::to_string(d.result))
                .string("expected", d.expected)
                .string("found", d.found)
                .end_object();
        }
        if (changes)
            for (const auto& removed : changes->removed) j.begin_object().string("path", removed).string("status", "removed").end_object();
        j.end_array().end_object();
        print_json(j);
        return ok ? verified : damaged;
    }
    std::string out = "file: " + path + "\nseal: " + r.seal + "\n";
    if (changes) out += describe_changes(*changes);
    for (const auto& d : r.datasets) {
        if (changes || d.result == h5ser::dataset_check::status::ok) continue;
        out += "BAD " + d.path + ": " + h5ser::to_string(d.result);
        if (!d.expected.empty()) out += " (stored " + d.expected + ", data " + d.found + ")";
        else if (!d.found.empty() && d.result != h5ser::dataset_check::status::no_checksum) out += " (" + d.found + ")";
        out += "\n";
    }
    out += "datasets: " + std::to_string(r.datasets.size() - bad) + " of " + std::to_string(r.datasets.size()) +
           (changes ? " as h5ser saved them (the manifest keeps what was saved)\n" : " match their checksums\n");
    out += "fingerprint: " + (r.stored_fingerprint.empty() ? std::string("none stored") : r.stored_fingerprint) +
           (r.fingerprint_ok() ? " (matches the tensors)" : ", tensors give " + r.computed_fingerprint) + "\n";
    if (!expect_fingerprint.empty()) out += "expected fingerprint " + expect_fingerprint + (expected_ok ? ": matches\n" : ": DIFFERENT\n");
    out += ok ? "OK\n" : "FAILED\n";
    if (changes) out += "if the changes are meant, h5ser seal " + path + " --accept-changes seals the file again with them\n";
    print_text(out);
    return ok ? verified : damaged;
}

}  // namespace h5ser_cli
