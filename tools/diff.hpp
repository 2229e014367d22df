// `h5ser diff A B`: tensor by tensor, are two files equal? For "the loaded model predicts
// differently": equal, shape or dtype differs, or the largest absolute and relative difference.
#pragma once

#include <h5ser/h5ser.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "internals.hpp"
#include "ls.hpp"
#include "output.hpp"

namespace h5ser_cli {

struct tensor_diff {
    std::string path;
    std::string status;  ///< "equal", "different", "dtype differs", "shape differs", "only in A", "only in B", "unreadable"
    std::string a, b;    ///< dtype[shape] on each side
    std::uint64_t differing = 0, count = 0;
    double max_abs = 0, max_rel = 0;
};

inline void collect_datasets(const h5ser::file_node& n, std::vector<const h5ser::file_node*>& out) {
    if (n.kind == h5ser::file_node::kind_type::dataset) out.push_back(&n);
    for (const auto& c : n.children) collect_datasets(c, out);
}

/// The elements of a dataset as stored (or converted to `mem_type`), or nothing when h5ser refuses
/// to read it (unsafe, missing filter).
inline std::optional<std::vector<unsigned char>> read_raw(hid_t file, const std::string& path, const std::string& name, hid_t mem_type) {
    namespace d = internal;
    d::handle ds(H5Dopen2(file, path.c_str(), H5P_DEFAULT));
    if (!ds) return std::nullopt;
    std::vector<unsigned char> bytes;
    if (!d::read_elements(ds.get(), d::inspect_dataset(ds.get(), d::where{name, {}, path}), mem_type, bytes).empty()) return std::nullopt;
    return bytes;
}

inline bool numeric(const std::string& dtype) {
    return dtype == "float16" || dtype == "float32" || dtype == "float64" || dtype == "bfloat16" || dtype.rfind("int", 0) == 0 ||
           dtype.rfind("uint", 0) == 0 || dtype == "bool";
}

inline std::vector<double> as_doubles(const std::vector<unsigned char>& raw, const std::string& dtype, hid_t file, const std::string& path,
                                      const std::string& name) {
    std::vector<double> out;
    if (dtype == "bfloat16") {  // an opaque type to HDF5: widen the bits ourselves
        for (std::size_t i = 0; i + 1 < raw.size(); i += 2) {
            const std::uint32_t bits = static_cast<std::uint32_t>(raw[i] | (raw[i + 1] << 8)) << 16;
            float f;
            std::memcpy(&f, &bits, 4);
            out.push_back(f);
        }
        return out;
    }
    if (auto d = read_raw(file, path, name, H5T_NATIVE_DOUBLE)) {
        out.resize(d->size() / sizeof(double));
        std::memcpy(out.data(), d->data(), d->size());
    }
    return out;
}

inline int diff(const std::string& a_path, const std::string& b_path, bool as_json) {
    namespace d = internal;
    d::hdf5_scope hdf5;
    const h5ser::file_node a_tree = h5ser::inspect(a_path), b_tree = h5ser::inspect(b_path);
    std::vector<const h5ser::file_node*> a, b;
    collect_datasets(a_tree, a);
    collect_datasets(b_tree, b);
    std::map<std::string, const h5ser::file_node*> in_b;
    for (const auto* n : b) in_b[n->path] = n;
    d::handle fa = d::open_for_reading(a_path), fb = d::open_for_reading(b_path);

    std::uint64_t total = 0, done = 0;
    for (const auto* n : a) total += n->stored_bytes;
    progress_bar bar("diff", !as_json);
    std::vector<tensor_diff> rows;
    for (const auto* n : a) {
        tensor_diff r{n->path, {}, n->dtype + internal::dims_text(n->shape), {}, 0, 0, 0, 0};
        const auto it = in_b.find(n->path);
        if (it == in_b.end()) {
            r.status = "only in A";
        } else {
            const h5ser::file_node& m = *it->second;
            in_b.erase(it);
            r.b = m.dtype + internal::dims_text(m.shape);
            if (n->dtype != m.dtype) r.status = "dtype differs";
            else if (n->shape != m.shape) r.status = "shape differs";
            else {
                const auto x = read_raw(fa.get(), n->path, a_path, H5I_INVALID_HID),
                           y = read_raw(fb.get(), m.path, b_path, H5I_INVALID_HID);
                r.count = elements(*n);
                if (!x || !y) r.status = "unreadable";
                else if (*x == *y) r.status = "equal";
                else {
                    r.status = "different";
                    if (numeric(n->dtype)) {
                        const auto u = as_doubles(*x, n->dtype, fa.get(), n->path, a_path),
                                   v = as_doubles(*y, m.dtype, fb.get(), m.path, b_path);
                        for (std::size_t i = 0; i < std::min(u.size(), v.size()); ++i) {
                            const bool same_bits =
                                std::memcmp(x->data() + i * n->element_bytes, y->data() + i * n->element_bytes, n->element_bytes) == 0;
                            if (same_bits) continue;
                            ++r.differing;
                            const double abs = std::fabs(u[i] - v[i]);
                            const double scale = std::max(std::fabs(u[i]), std::fabs(v[i]));
                            if (std::isnan(abs)) {
                                r.max_abs = r.max_rel = std::numeric_limits<double>::infinity();
                                continue;
                            }
                            r.max_abs = std::max(r.max_abs, abs);
                            if (scale > 0) r.max_rel = std::max(r.max_rel, abs / scale);
                        }
                    }
                }
            }
        }
        done += n->stored_bytes;
        bar(done, total);
        rows.push_back(std::move(r));
    }
    for (const auto* n : b)
        if (in_b.count(n->path)) rows.push_back({n->path, "only in B", {}, n->dtype + internal::dims_text(n->shape), 0, 0, 0, 0});
    const bool equal = std::all_of(rows.begin(), rows.end(), [](const tensor_diff& r) { return r.status == "equal"; });

    if (as_json) {
        json j;
        j.begin_object().string("a", a_path).string("b", b_path).boolean("equal", equal).begin_array("tensors");
        for (const auto& r : rows) {
            j.begin_object().string("path", r.path).string("status", r.status);
            if (!r.a.empty()) j.string("a", r.a);
            if (!r.b.empty()) j.string("b", r.b);
            if (r.status == "different") {
                j.number("differing_elements", static_cast<double>(r.differing)).number("elements", static_cast<double>(r.count));
                j.number("max_abs_diff", r.max_abs).number("max_rel_diff", r.max_rel);
            }
            j.end_object();
        }
        j.end_array().end_object();
        print_json(j);
        return equal ? 0 : 1;
    }
    std::string out = "A: " + a_path + "\nB: " + b_path + "\n";
    std::size_t same = 0;
    for (const auto& r : rows) {
        if (r.status == "equal") {
            ++same;
            continue;
        }
        out += r.path + ": " + r.status;
        if (r.status == "different") {
            char buf[160];
            std::snprintf(buf, sizeof buf, " (%s elements of %s; max abs diff %.6g, max rel diff %.6g)", grouped(r.differing).c_str(),
                          grouped(r.count).c_str(), r.max_abs, r.max_rel);
            out += buf;
        } else if (r.status == "dtype differs" || r.status == "shape differs") {
            out += " (A " + r.a + ", B " + r.b + ")";
        }
        out += "\n";
    }
    out += std::to_string(same) + " of " + std::to_string(rows.size()) + " tensors equal\n";
    out += equal ? "EQUAL\n" : "DIFFERENT\n";
    std::fputs(out.c_str(), stdout);
    return equal ? 0 : 1;
}

}  // namespace h5ser_cli
