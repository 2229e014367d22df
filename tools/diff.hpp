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
#include "keras_places.hpp"
#include "ls.hpp"
#include "output.hpp"

namespace h5ser_cli {

/// How `diff` compares: exactly (the default), or elements within |a - b| <= atol + rtol * |b|
/// (numpy.allclose's rule); with or without checking each file's seal first.
struct diff_options {
    double atol = 0, rtol = 0;
    bool verify = true;  ///< --no-verify: compare a file whose seal no longer matches as it is now
    [[nodiscard]] bool tolerant() const noexcept { return atol > 0 || rtol > 0; }
};

struct tensor_diff {
    std::string path;
    std::string
        status;  ///< "equal", "within tolerance", "different", "dtype differs", "shape differs", "only in A", "only in B", "unreadable"
    std::string a, b;  ///< dtype[shape] on each side
    std::uint64_t differing = 0, count = 0;
    double max_abs = 0, max_rel = 0;
};

/// An attribute of either side: "/adam/@step", its type and value as text, and its whole value.
struct attribute_diff {
    std::string path;
    std::string status;  ///< "equal", "different", "only in A", "only in B"
    std::string a, b;    ///< dtype and short value on each side
};

inline void collect_datasets(const h5ser::file_node& n, std::vector<const h5ser::file_node*>& out) {
    if (n.kind == h5ser::file_node::kind_type::dataset) out.push_back(&n);
    for (const auto& c : n.children) collect_datasets(c, out);
}

/// A tensor of one side of a diff: the path it is compared by, and the dataset it is read from.
struct side_tensor {
    std::string key;
    h5ser::file_node node;
};

/// h5ser's bookkeeping, which differs between files that hold the same model: who wrote the file,
/// in which format version, and what follows from the tensors (compared themselves).
inline bool bookkeeping_attribute(const std::string& object, const std::string& name) {
    namespace format = internal::format;
    if (name == format::checksum_attribute) return true;
    return object == "/" &&
           (name == format::fingerprint_attribute || name == format::library_version_attribute || name == format::version_attribute);
}

/// The whole value of attribute `name` of `object`, as bytes to compare (strings joined with their
/// lengths), or nothing for a type read only as text (variable-length sequences, references).
inline std::optional<std::string> attribute_content(hid_t file, const std::string& object, const std::string& name,
                                                    const std::string& path) {
    namespace d = internal;
    d::handle attr(H5Aopen_by_name(file, object.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT));
    if (!attr) return std::nullopt;
    d::handle type(H5Aget_type(attr.get())), space(H5Aget_space(attr.get()));
    const hssize_t points = type && space ? H5Sget_simple_extent_npoints(space.get()) : -1;
    if (points < 0) return std::nullopt;
    const auto count = static_cast<std::size_t>(points);
    std::string out;
    if (H5Tget_class(type.get()) == H5T_STRING) {
        for (const auto& s : d::read_strings(attr.get(), type.get(), space.get(), count, true, d::where{path, {}, object}))
            out += std::to_string(s.size()) + ":" + s;
        return out;
    }
    if (H5Tdetect_class(type.get(), H5T_VLEN) > 0 || H5Tdetect_class(type.get(), H5T_REFERENCE) > 0) return std::nullopt;
    d::handle memory(H5Tget_native_type(type.get(), H5T_DIR_ASCEND));
    if (!memory) return std::nullopt;
    out.resize(H5Tget_size(memory.get()) * count);
    if (!out.empty() && H5Aread(attr.get(), memory.get(), out.data()) < 0) return std::nullopt;
    return out;
}

/// One side of a diff: the tree of an HDF5 or .safetensors file (h5ser::inspect's), and its tensors'
/// elements as stored, numbers in little-endian order (a .safetensors file's, whatever order an
/// HDF5 file keeps them in), so that a file and its conversion to the other format compare equal
/// byte for byte. A .safetensors file is opened once: its tree and its tensors come from one header.
/// A Keras file compared with an h5ser file is read through its layer list instead (keras()).
class tensor_source {
public:
    tensor_source(const std::string& path, bool verify) : path_(path) {
        namespace d = internal;
        if (d::has_zip_signature(path)) {  // a .keras archive: only its weights, through the layer list
            keras_.emplace(d::open_store(path));
            return;
        }
        opened_file_.emplace(d::opened_file::open(path));
        if (const auto header = d::header_if_safetensors(*opened_file_)) {
            tree_ = d::tree_of(*header);
            const auto paths = d::safetensors::tensor_paths(*header, false);
            for (std::size_t i = 0; i < paths.size(); ++i) spans_[paths[i]] = {header->tensors[i].offset, header->tensors[i].length};
            safetensors_ = true;
        } else {
            // The file the descriptor holds, its seal checked as open_for_reading checks it (unless
            // --no-verify): its tree and its tensors come from one file, even if another is renamed
            // over the path meanwhile. (The tool parses a file whose seal does not match in a child.)
            const d::where at{path, {}, "/"};
            d::check_opened(*opened_file_, verify);
            hdf5_ = opened_file_->open_hdf5(d::file_access(at).get(), at);
            tree_ = d::inspect_opened(hdf5_.get(), path);
        }
    }

    [[nodiscard]] bool safetensors() const noexcept { return safetensors_; }
    /// Written by h5ser: its root has h5ser's save mode.
    [[nodiscard]] bool h5ser_file() const { return !keras_ && !safetensors_ && !attribute_text(tree_, "h5ser_mode").empty(); }
    /// A Keras file (of any layout) read through its layer list: true when it is one. Called when
    /// the other side is an h5ser file, to compare by the paths `h5ser convert` gives its weights.
    bool keras() {
        if (keras_) return true;
        if (safetensors_ || h5ser_file()) return false;
        try {
            keras_.emplace(internal::open_store(path_));
        } catch (const h5ser::error&) {
            return false;  // not a Keras file: compared by path
        }
        return true;
    }
    /// Read through a Keras layer list (a .keras archive always is; keras() decides for the others).
    [[nodiscard]] bool read_as_keras() const noexcept { return keras_.has_value(); }
    /// How many optimizer weights a Keras file holds (not compared: `convert` leaves them out).
    [[nodiscard]] std::size_t keras_optimizer_weights() const { return keras_ && keras_->optimizer ? keras_->optimizer->size() : 0; }

    /// The tensors, by the path they are compared by: the file's own, or for a Keras file the path
    /// `h5ser convert` gives each layer weight.
    [[nodiscard]] std::vector<side_tensor> tensors() const {
        namespace d = internal;
        std::vector<side_tensor> out;
        if (keras_) {
            for (const auto& w : keras_weight_places(*keras_)) {
                const d::where at{path_, {}, w.from};
                const d::handle ds = d::checked(H5Dopen2(keras_->h5.get(), w.from.c_str(), H5P_DEFAULT), at, "cannot open dataset");
                const d::dataset_view view = d::inspect_dataset(ds.get(), at);
                h5ser::file_node n;
                n.kind = h5ser::file_node::kind_type::dataset;
                n.path = w.from;
                n.dtype = view.dtype;
                n.shape.assign(view.shape.dims.begin(), view.shape.dims.end());
                n.element_bytes = H5Tget_size(view.type.get());
                n.stored_bytes = view.stored_bytes;
                out.push_back({w.to, std::move(n)});
            }
            return out;
        }
        std::vector<const h5ser::file_node*> nodes;
        collect_datasets(tree_, nodes);
        for (const auto* n : nodes) out.push_back({n->path, *n});
        return out;
    }

    /// Every attribute but h5ser's bookkeeping, by "/group/@name": type and short value, and the
    /// whole value where it can be read as bytes. Empty for .safetensors and Keras-read files.
    [[nodiscard]] std::map<std::string, std::pair<std::string, std::optional<std::string>>> attributes() const {
        std::map<std::string, std::pair<std::string, std::optional<std::string>>> out;
        if (!hdf5_) return out;
        const auto walk = [&](const auto& self, const h5ser::file_node& n) -> void {
            for (const auto& a : n.attributes) {
                if (bookkeeping_attribute(n.path, a.name)) continue;
                const std::string key = (n.path == "/" ? std::string() : n.path) + "/@" + a.name;
                std::string text = a.dtype + (a.shape == "scalar" ? "" : a.shape) + (a.value.empty() ? "" : " " + a.value);
                out[key] = {std::move(text), attribute_content(hdf5_.get(), n.path, a.name, path_)};
            }
            for (const auto& c : n.children) self(self, c);
        };
        walk(walk, tree_);
        return out;
    }

    /// The elements of dataset `n` (of tensors()), or nothing when they cannot be read (h5ser
    /// refuses to read the dataset: unsafe, a missing filter; a read error).
    [[nodiscard]] std::optional<std::vector<unsigned char>> read(const h5ser::file_node& n) const {
        namespace d = internal;
        if (safetensors_) {
            const auto it = spans_.find(n.path);
            if (it == spans_.end()) return std::nullopt;
            std::vector<unsigned char> bytes(static_cast<std::size_t>(it->second.second));
            if (!bytes.empty() && !d::read_exact(opened_file_->fd(), bytes.data(), bytes.size(), it->second.first)) return std::nullopt;
            return bytes;
        }
        d::handle ds(H5Dopen2(keras_ ? keras_->h5.get() : hdf5_.get(), n.path.c_str(), H5P_DEFAULT));
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
    std::optional<internal::opened_file> opened_file_;
    h5ser::file_node tree_;
    internal::handle hdf5_;
    bool safetensors_ = false;
    std::optional<internal::keras_store> keras_;
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

/// Compares the elements of one tensor present on both sides with the same dtype and shape.
inline void compare_elements(tensor_diff& r, const h5ser::file_node& n, const std::vector<unsigned char>& x,
                             const std::vector<unsigned char>& y, const diff_options& options) {
    if (x == y) {
        r.status = "equal";
        return;
    }
    const auto u = as_doubles(x, n.dtype), v = as_doubles(y, n.dtype);
    bool close = options.tolerant() && !u.empty();
    for (std::size_t i = 0; i < std::min(u.size(), v.size()); ++i) {
        if (std::memcmp(x.data() + i * n.element_bytes, y.data() + i * n.element_bytes, n.element_bytes) == 0) continue;
        ++r.differing;
        const double abs = std::fabs(u[i] - v[i]);
        const double scale = std::max(std::fabs(u[i]), std::fabs(v[i]));
        close = close && abs <= options.atol + options.rtol * std::fabs(v[i]);  // false for NaN
        if (std::isnan(abs)) {
            r.max_abs = r.max_rel = std::numeric_limits<double>::infinity();
            continue;
        }
        r.max_abs = std::max(r.max_abs, abs);
        if (scale > 0) r.max_rel = std::max(r.max_rel, abs / scale);
    }
    if (u.empty()) r.differing = r.count;  // not numbers (strings): compared as bytes only
    r.status = close ? "within tolerance" : "different";
}

inline int diff(const std::string& a_path, const std::string& b_path, const diff_options& options, bool as_json) {
    internal::hdf5_scope hdf5;
    tensor_source a_file(a_path, options.verify), b_file(b_path, options.verify);
    // A Keras file and an h5ser file (its conversion, say) are matched by the paths `h5ser convert`
    // gives the Keras weights; any other pair by path.
    if (b_file.h5ser_file()) a_file.keras();
    else if (a_file.h5ser_file()) b_file.keras();
    // Which sides are read through a Keras layer list follows from the sources themselves.
    const bool by_keras_paths = a_file.read_as_keras() || b_file.read_as_keras();
    const std::vector<side_tensor> a = a_file.tensors(), b = b_file.tensors();
    std::map<std::string, const side_tensor*> in_b;
    for (const auto& t : b) in_b[t.key] = &t;

    std::uint64_t total = 0, done = 0;
    for (const auto& t : a) total += t.node.stored_bytes;
    progress_bar bar("diff", !as_json);
    std::vector<tensor_diff> rows;
    for (const auto& t : a) {
        const h5ser::file_node& n = t.node;
        tensor_diff r{t.key, {}, n.dtype + internal::dims_text(n.shape), {}, 0, 0, 0, 0};
        const auto it = in_b.find(t.key);
        if (it == in_b.end()) {
            r.status = "only in A";
        } else {
            const h5ser::file_node& m = it->second->node;
            in_b.erase(it);
            r.b = m.dtype + internal::dims_text(m.shape);
            if (n.dtype != m.dtype) r.status = "dtype differs";
            else if (n.shape != m.shape) r.status = "shape differs";
            else {
                const auto x = a_file.read(n), y = b_file.read(m);
                r.count = elements(n);
                if (!x || !y) r.status = "unreadable";
                else compare_elements(r, n, *x, *y, options);
            }
        }
        done += n.stored_bytes;
        bar(done, total);
        rows.push_back(std::move(r));
    }
    for (const auto& t : b)
        if (in_b.count(t.key)) rows.push_back({t.key, "only in B", {}, t.node.dtype + internal::dims_text(t.node.shape), 0, 0, 0, 0});

    // Attributes, where both sides keep them in the same layout: HDF5 files compared by path.
    std::string attributes_skipped;
    if (a_file.safetensors() || b_file.safetensors()) attributes_skipped = "a .safetensors file keeps no attributes";
    else if (by_keras_paths) attributes_skipped = "Keras's layout and h5ser's keep different ones";
    std::vector<attribute_diff> attributes;
    if (attributes_skipped.empty()) {
        auto a_attrs = a_file.attributes(), b_attrs = b_file.attributes();
        for (auto& [key, value] : a_attrs) {
            const auto it = b_attrs.find(key);
            if (it == b_attrs.end()) {
                attributes.push_back({key, "only in A", value.first, {}});
                continue;
            }
            const bool same = value.second && it->second.second ? *value.second == *it->second.second : value.first == it->second.first;
            attributes.push_back({key, same ? "equal" : "different", value.first, it->second.first});
            b_attrs.erase(it);
        }
        for (auto& [key, value] : b_attrs) attributes.push_back({key, "only in B", {}, value.first});
    }
    const std::size_t keras_optimizer = a_file.keras_optimizer_weights() + b_file.keras_optimizer_weights();

    const auto tensor_ok = [](const tensor_diff& r) { return r.status == "equal" || r.status == "within tolerance"; };
    const bool equal = std::all_of(rows.begin(), rows.end(), tensor_ok) &&
                       std::all_of(attributes.begin(), attributes.end(), [](const attribute_diff& r) { return r.status == "equal"; });

    if (as_json) {
        json j;
        j.begin_object().string("a", a_path).string("b", b_path).boolean("equal", equal);
        if (by_keras_paths) j.string("matched_by", "h5ser convert's paths for the Keras file's weights");
        if (options.tolerant()) j.number("atol", options.atol).number("rtol", options.rtol);
        j.begin_array("tensors");
        for (const auto& r : rows) {
            j.begin_object().string("path", r.path).string("status", r.status);
            if (!r.a.empty()) j.string("a", r.a);
            if (!r.b.empty()) j.string("b", r.b);
            if (r.status == "different" || r.status == "within tolerance") {
                j.number("differing_elements", static_cast<double>(r.differing)).number("elements", static_cast<double>(r.count));
                j.number("max_abs_diff", r.max_abs).number("max_rel_diff", r.max_rel);
            }
            j.end_object();
        }
        j.end_array();
        if (attributes_skipped.empty()) {
            j.begin_array("attributes");
            for (const auto& r : attributes) {
                j.begin_object().string("path", r.path).string("status", r.status);
                if (!r.a.empty()) j.string("a", r.a);
                if (!r.b.empty()) j.string("b", r.b);
                j.end_object();
            }
            j.end_array();
        } else {
            j.string("attributes_not_compared", attributes_skipped);
        }
        if (keras_optimizer) j.number("keras_optimizer_weights_not_compared", static_cast<double>(keras_optimizer));
        j.end_object();
        print_json(j);
        return equal ? 0 : 1;
    }
    std::string out = "A: " + a_path + "\nB: " + b_path + "\n";
    if (by_keras_paths) out += "the Keras file's weights matched by the paths h5ser convert gives them (/layer/weight)\n";
    std::size_t same = 0, close = 0;
    for (const auto& r : rows) {
        if (r.status == "equal") {
            ++same;
            continue;
        }
        close += r.status == "within tolerance";
        out += r.path + ": " + r.status;
        if (r.status == "different" || r.status == "within tolerance") {
            char buf[160];
            std::snprintf(buf, sizeof buf, " (%s elements of %s; max abs diff %.6g, max rel diff %.6g)", grouped(r.differing).c_str(),
                          grouped(r.count).c_str(), r.max_abs, r.max_rel);
            out += buf;
        } else if (r.status == "dtype differs" || r.status == "shape differs") {
            out += " (A " + r.a + ", B " + r.b + ")";
        }
        out += "\n";
    }
    std::size_t same_attributes = 0;
    for (const auto& r : attributes) {
        if (r.status == "equal") {
            ++same_attributes;
            continue;
        }
        out += r.path + ": " + r.status;
        if (r.status == "different") out += " (A " + r.a + ", B " + r.b + ")";
        else out += " (" + (r.a.empty() ? r.b : r.a) + ")";
        out += "\n";
    }
    out += std::to_string(same) + " of " + std::to_string(rows.size()) + " tensors equal";
    if (options.tolerant()) {
        char buf[120];
        std::snprintf(buf, sizeof buf, ", %zu within tolerance (atol %g, rtol %g)", close, options.atol, options.rtol);
        out += buf;
    }
    out += "\n";
    if (attributes_skipped.empty())
        out += std::to_string(same_attributes) + " of " + std::to_string(attributes.size()) + " attributes equal\n";
    else out += "attributes not compared: " + attributes_skipped + "\n";
    if (keras_optimizer) out += std::to_string(keras_optimizer) + " Keras optimizer weights not compared (h5ser convert leaves them out)\n";
    out += equal ? (close ? "EQUAL (within tolerance)\n" : "EQUAL\n") : "DIFFERENT\n";
    print_text(out);
    return equal ? 0 : 1;
}

}  // namespace h5ser_cli
