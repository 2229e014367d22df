// `h5ser verify FILE`: the seal, every checksum and the fingerprint of a file h5ser wrote.
#pragma once

#include <h5ser/h5ser.hpp>

#include <string>

#include "output.hpp"

namespace h5ser_cli {

inline int verify(const std::string& path, const std::string& expect_fingerprint, bool as_json) {
    progress_bar bar("verify", !as_json);
    const h5ser::verify_report r = h5ser::verify_file(path, [&](std::uint64_t done, std::uint64_t total) { bar(done, total); });
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
            j.begin_object().string("path", d.path).string("status", h5ser::to_string(d.result)).string("expected", d.expected).string("found", d.found).end_object();
        }
        j.end_array().end_object();
        print_json(j);
        return ok ? 0 : 1;
    }
    std::string out = "file: " + path + "\nseal: " + r.seal + "\n";
    for (const auto& d : r.datasets) {
        if (d.result == h5ser::dataset_check::status::ok) continue;
        out += "BAD " + d.path + ": " + h5ser::to_string(d.result);
        if (!d.expected.empty()) out += " (stored " + d.expected + ", data " + d.found + ")";
        else if (!d.found.empty() && d.result != h5ser::dataset_check::status::no_checksum) out += " (" + d.found + ")";
        out += "\n";
    }
    out += "datasets: " + std::to_string(r.datasets.size() - bad) + " of " + std::to_string(r.datasets.size()) + " match their checksums\n";
    out += "fingerprint: " + (r.stored_fingerprint.empty() ? std::string("none stored") : r.stored_fingerprint) +
           (r.fingerprint_ok() ? " (matches the tensors)" : ", tensors give " + r.computed_fingerprint) + "\n";
    if (!expect_fingerprint.empty())
        out += "expected fingerprint " + expect_fingerprint + (expected_ok ? ": matches\n" : ": DIFFERENT\n");
    out += ok ? "OK\n" : "FAILED\n";
    std::fputs(out.c_str(), stdout);
    return ok ? 0 : 1;
}

}  // namespace h5ser_cli
