// `h5ser diff A B`: tensor by tensor, are two files equal? For "the loaded model predicts
// differently": equal, shape or dtype differs, or the largest absolute and relative difference.
// Either file may be HDF5 or .safetensors: a file and its conversion compare equal.
#pragma once

#include <h5ser/h5ser.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
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

/// One side of a diff: the tree of an HDF5 or .safetensors file (h5ser::inspect's), and its tensors'
/// elements as stored, numbers in little-endian order (a .safetensors file's, whatever order an
/// HDF5 file keeps them in), so that a file and its conversion to the other format compare equal
/// byte for byte. A .safetensors file is opened once: its tree and its tensors come from one header.
class tensor_source {
public:
    explicit tensor_source(const std::string& path) : path_(path), opened_file_(internal::opened_file::open(path)) {
        namespace d = internal;
        if (const auto header = d::header_if_safetensors(opened_file_)) {
            tree_ = d::tree_of(*header);
            const auto paths = d::safetensors::tensor_paths(*header, false);
            for (std::size_t i = 0; i < paths.size(); ++i) spans_[paths[i]] = {header->tensors[i].offset, header->tensors[i].length};
        } else {
            tree_ = h5ser::inspect(path);
            // The file the descriptor holds, its seal checked as open_for_reading checks it: one file
            // even if another is renamed over the path meanwhile.
            const d::where at{path, {}, "/"};
            d::check_opened(opened_file_, true);
            hdf5_ = opened_file_.open_hdf5(d::file_access(at).get(), at);
        }
    }

    [[nodiscard]] const h5ser::file_node& tree() const noexcept { return tree_; }

    /// The elements of dataset `n` of the tree, or nothing when they cannot be read (h5ser refuses
    /// to read the dataset: unsafe, a missing filter; a read error).
    [[nodiscard]] std::optional<std::vector<unsigned char>> read(const h5ser::file_node& n) const {
        namespace d = internal;
        if (!hdf5_) {
            const auto it = spans_.find(n.path);
            if (it == spans_.end()) return std::nullopt;
            std::vector<unsigned char> bytes(static_cast<std::size_t>(it->second.second));
            if (!bytes.empty() && !d::read_exact(opened_file_.fd(), bytes.data(), bytes.size(), it->second.first)) return std::nullopt;
            return bytes;
        }
        d::handle ds(H5Dopen2(hdf5_.get(), n.path.c_str(), H5P_DEFAULT));
        if (!ds) return std::nullopt;
        const d::dataset_view view = d::inspect_dataset(ds.get(), d::where{path_, {}, n.path});
        // Numbers as this machine and the .safetensors format keep them: little-endian.
        d::handle memory(H5Tcopy(view.type.get()));
        const H5T_class_t type_class = H5Tget_class(memory.get());
        if ((type_class == H5T_INTEGER || type_class == H5T_FLOAT) && H5Tget_size(memory.get()) > 1)
            H5Tset_order(memory.get(), H5T_ORDER_LE);
        std::vector<unsigned char> bytes;
        if (!d::read_elements(ds.get(), view, memory.get(), bytes).empty()) return std::nullopt;
        return bytes;
    }

private:
    std::string path_;
    internal::opened_file opened_file_;
    h5ser::file_node tree_;
    internal::handle hdf5_;
    std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> spans_;  ///< a .safetensors file's tensors: offset, length
};

/// The elements `raw` (little-endian, as tensor_source reads them) of a numeric dtype, as doubles;
/// empty for a dtype that is not one.
inline std::vector<double> as_doubles(const std::vector<unsigned char>& raw, const std::string& dtype) {
    std::vector<double> out;
    const auto kind = h5ser::element_kind_named(dtype);
    if (!kind) return out;
    h5ser::with_element_type(*kind, [&]<class T>() {
        using stored = std::conditional_t<std::is_same_v<T, bool>, std::uint8_t, T>;  // a bool's byte, whatever it holds
        out.resize(raw.size() / sizeof(stored));
        for (std::size_t i = 0; i < out.size(); ++i) {
            stored value;
            std::memcpy(&value, raw.data() + i * sizeof(stored), sizeof(stored));
            if constexpr (std::is_same_v<stored, h5ser::float16> || std::is_same_v<stored, h5ser::bfloat16>)
                out[i] = static_cast<float>(value);
            else out[i] = static_cast<double>(value);
        }
    });
    return out;
}

inline int diff(const std::string& a_path, const std::string& b_path, bool as_json) {
    internal::hdf5_scope hdf5;
    const tensor_source a_file(a_path), b_file(b_path);
    std::vector<const h5ser::file_node*> a, b;
    collect_datasets(a_file.tree(), a);
    collect_datasets(b_file.tree(), b);
    std::map<std::string, const h5ser::file_node*> in_b;
    for (const auto* n : b) in_b[n->path] = n;

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
                const auto x = a_file.read(*n), y = b_file.read(m);
                r.count = elements(*n);
                if (!x || !y) r.status = "unreadable";
                else if (*x == *y) r.status = "equal";
                else {
                    r.status = "different";
                    const auto u = as_doubles(*x, n->dtype), v = as_doubles(*y, m.dtype);
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
