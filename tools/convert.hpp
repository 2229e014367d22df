// `h5ser convert IN OUT`: Keras files to h5ser's layout and back, and h5ser files re-stored with
// another storage preset (re-chunked, recompressed). No C++ struct is needed: tensors are copied
// as the bytes and types the file holds.
//
//   Keras -> h5ser: one group per Keras layer with weights, one dataset per weight named after the
//     weight ("dense_1/kernel:0" -> /dense_1/kernel); a weights-only h5ser file with checksums,
//     fingerprint and seal, which h5ser::load_into<h5ser::weights_only> reads into a struct of layers.
//   h5ser -> Keras: each top-level group (or dataset) is a layer, its tensors in field order the
//     layer's weights; optimizer state is left out. The tf.keras save_weights layout.
//   h5ser -> h5ser: the same tree, attributes and all, with the tensors stored under a new preset.
#pragma once

#include <h5ser/h5ser.hpp>
#include <h5ser/keras.hpp>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "audit.hpp"
#include "internals.hpp"
#include "diff.hpp"
#include "output.hpp"

namespace h5ser_cli {

namespace d = internal;

/// What a conversion did, for the text or JSON report.
struct conversion {
    std::string from, to;  ///< layouts
    std::size_t layers = 0, tensors = 0;
    std::string fingerprint;  ///< of the h5ser output (empty for Keras output)
    std::string note;
};

/// Reports tensor bytes copied so far to the progress bar.
struct copy_progress {
    progress_bar& bar;
    std::uint64_t total = 0, done = 0;
    void add(std::uint64_t bytes) {
        done += bytes;
        bar(std::min(done, total), total);
    }
};

/// A tensor as a file holds it: its HDF5 type and its bytes.
struct raw_tensor {
    std::string dtype;
    d::handle type;
    std::vector<hsize_t> dims;
    std::vector<unsigned char> bytes;
};

inline raw_tensor read_tensor(hid_t file, const std::string& path, const std::string& file_name) {
    const d::where at{file_name, {}, path};
    d::handle ds = d::checked(H5Dopen2(file, path.c_str(), H5P_DEFAULT), at, "cannot open dataset");
    const d::dataset_view view = d::inspect_dataset(ds.get(), at);
    raw_tensor t;
    t.dtype = view.dtype;
    t.dims.assign(view.shape.dims.begin(), view.shape.dims.end());
    std::string why = H5Tget_class(view.type.get()) == H5T_STRING || H5Tdetect_class(view.type.get(), H5T_VLEN) > 0
                          ? "not a tensor (strings)"
                          : d::read_elements(ds.get(), view, H5I_INVALID_HID, t.bytes);
    if (!why.empty()) throw h5ser::error(file_name, h5ser::problem{h5ser::errc::unsafe_file, {}, path, "a tensor h5ser can copy", why, {}});
    t.type = d::checked(H5Tcopy(view.type.get()), at, "H5Tcopy");
    return t;
}

/// Copies attribute `name` of `from` to `to` as stored (any type).
inline void copy_attribute(hid_t from, hid_t to, const std::string& name, const d::where& at) {
    d::handle attr = d::checked(H5Aopen(from, name.c_str(), H5P_DEFAULT), at, "cannot open attribute");
    d::handle type = d::checked(H5Aget_type(attr.get()), at, "H5Aget_type");
    d::handle space = d::checked(H5Aget_space(attr.get()), at, "H5Aget_space");
    const hssize_t n = H5Sget_simple_extent_npoints(space.get());
    std::vector<unsigned char> buffer(static_cast<std::size_t>(std::max<hssize_t>(n, 1)) * H5Tget_size(type.get()));
    d::check(H5Aread(attr.get(), type.get(), buffer.data()), at, "cannot read attribute");
    d::create_and_write_attribute(to, name, type.get(), space.get(), buffer.data(), at);
    if (H5Tdetect_class(type.get(), H5T_VLEN) > 0 || H5Tis_variable_str(type.get()) > 0)
        H5Dvlen_reclaim(type.get(), space.get(), H5P_DEFAULT, buffer.data());
}

/// Writes an h5ser file object by object through the library's sealed-file writer: checksums,
/// fingerprint (in writing order, which is field order), seal and atomic rename.
class h5ser_file_writer {
public:
    /// `manifest_bytes`: at least the size of the manifest of what will be written.
    h5ser_file_writer(const std::string& path, d::storage_plan plan, std::size_t datasets, std::size_t manifest_bytes)
        : path_(path), plan_(std::move(plan)), file_(path, datasets, manifest_bytes) {}

    [[nodiscard]] hid_t root() const noexcept { return file_.root(); }

    /// The group at `path` ("/a/b"), created (with its parents) on first use.
    hid_t group(const std::string& path) {
        if (path.empty() || path == "/") return file_.root();
        if (const auto it = groups_.find(path); it != groups_.end()) return it->second.get();
        const auto slash = path.rfind('/');
        const hid_t parent = group(path.substr(0, slash));
        d::handle g = d::create_group(parent, path.substr(slash + 1), file_.plists(), d::where{path_, {}, path});
        file_.add_group(path);
        return groups_.emplace(path, std::move(g)).first->second.get();
    }

    /// Writes `t` at `path`, stored as the plan says; returns the dataset so attributes can be added.
    d::handle dataset(const std::string& path, const raw_tensor& t) {
        const d::where at{path_, {}, path};
        const auto slash = path.rfind('/');
        const hid_t parent = group(path.substr(0, slash));
        const std::uint64_t hash = d::hash_bytes(t.bytes.empty() ? static_cast<const void*>("") : t.bytes.data(), t.bytes.size());
        d::handle ds = d::write_new_dataset(parent, path.substr(slash + 1),
                                            {t.type.get(), t.type.get(), t.dims.data(), t.dims.size(), t.bytes.data(), t.dtype == "bfloat16"},
                                            file_.plists(), plan_, at);
        d::written_tensor w;
        w.rank = t.dims.size();
        std::copy(t.dims.begin(), t.dims.end(), w.dims.begin());
        w.data_hash = hash;
        if (!t.bytes.empty()) w.elements = t.bytes.data();
        d::note_storage(ds.get(), w);
        file_.add_tensor(path, t.dtype, w, plan_);
        return ds;
    }

    /// Copies every attribute of `from` to `to` (the object at `path`) as stored, except those
    /// named in `skip`, and lists them in the manifest.
    void copy_attributes(hid_t from, hid_t to, const std::string& path, const std::set<std::string>& skip, const d::where& at) {
        for (const auto& name : d::list_members(from, false, at).attributes) {
            if (skip.count(name)) continue;
            copy_attribute(from, to, name, at);
            file_.add_stored_attribute(from, path, name, at);
        }
    }

    /// Writes the root attributes of a file of `mode` copied from `source` (its root group): all
    /// but the format version, which is this library's.
    void copy_root_attributes(hid_t source, d::save_mode mode, const d::where& at) {
        for (const auto& name : d::list_members(source, false, at).attributes) {
            if (name == d::format::version_attribute) continue;
            copy_attribute(source, file_.root(), name, at);
            if (!d::format::is_reserved_root_name(name)) file_.add_stored_attribute(source, "/", name, at);
        }
        d::write_attribute(file_.root(), d::format::version_attribute, h5ser::format_version, at, file_.plists().attributes());
        file_.set_mode(mode);
    }

    [[nodiscard]] std::string fingerprint() const { return file_.fingerprint(); }
    [[nodiscard]] const d::creation_plists& plists() const noexcept { return file_.plists(); }
    /// The root attributes of a weights-only file.
    void write_weights_only_header() { file_.write_root_attributes(d::save_mode::weights_only); }

    void commit() {
        groups_.clear();
        file_.close();
        file_.seal_and_commit();
    }

private:
    std::string path_;
    d::storage_plan plan_;
    d::sealed_file_writer file_;
    std::map<std::string, d::handle> groups_;
};

/// A dataset a conversion will write: its path, rank and element bytes.
struct planned_dataset {
    std::string path;
    std::size_t rank = 0;
    std::uint64_t bytes = 0;
};

/// The bytes a dataset of `bytes` element bytes adds to a manifest's record when `plan` may store
/// it compact (the record keeps a copy of compact data).
inline std::uint64_t compact_copy_bound(std::uint64_t bytes, const d::storage_plan& plan) {
    return bytes < plan.compact_below ? bytes : 0;
}

/// An upper bound of the manifest of an h5ser file holding `datasets`, the groups above them and
/// no attributes, stored as `plan` says.
inline std::size_t manifest_bound(const std::vector<planned_dataset>& datasets, const d::storage_plan& plan) {
    std::size_t bytes = d::manifest_header_size;
    for (const auto& [path, rank, data] : datasets) {
        bytes += d::manifest_record_header_size + path.size() + 8 + 8 * rank + 4 * plan.filters.size() + 24 +
                 compact_copy_bound(data, plan);
        for (std::size_t slash = path.find('/', 1); slash != std::string::npos; slash = path.find('/', slash + 1))
            bytes += d::manifest_record_header_size + slash;  // each group above it, counted once per dataset
    }
    return bytes;
}

/// "dense_1/kernel:0" in layer dense_1 -> "kernel"; "bidirectional_1/forward_lstm_1/kernel:0" ->
/// "forward_lstm_1/kernel"; Keras 3's "sequential/dense/kernel" in layer dense -> "kernel".
inline std::string weight_field(const std::string& layer, std::string weight) {
    if (weight.size() > 2 && weight.compare(weight.size() - 2, 2, ":0") == 0) weight.resize(weight.size() - 2);
    std::vector<std::string> parts;
    for (std::size_t start = 0;;) {
        const auto slash = weight.find('/', start);
        parts.push_back(weight.substr(start, slash - start));
        if (slash == std::string::npos) break;
        start = slash + 1;
    }
    std::size_t first = parts.size() - 1;
    for (std::size_t i = 0; i + 1 < parts.size(); ++i)
        if (parts[i] == layer) first = i + 1;
    std::string out;
    for (std::size_t i = first; i < parts.size(); ++i) out += (out.empty() ? "" : "/") + parts[i];
    return out;
}

inline conversion keras_to_h5ser(const std::string& in, const std::string& out, const d::storage_plan& plan, progress_bar& bar) {
    d::hdf5_scope hdf5;
    const auto store = d::open_store(in);
    std::size_t count = 0;
    copy_progress progress{bar};
    std::vector<planned_dataset> planned;  // paths are bounds: the longest field name
    for (const auto& l : store.layers) {
        count += l.weights.size();
        for (const auto& w : l.weights) {
            d::handle ds(H5Dopen2(store.h5.get(), w.path.c_str(), H5P_DEFAULT));
            if (!ds) continue;
            progress.total += H5Dget_storage_size(ds.get());
            const d::handle space(H5Dget_space(ds.get()));
            const d::handle type(H5Dget_type(ds.get()));
            const int rank = space ? H5Sget_simple_extent_ndims(space.get()) : 0;
            const hssize_t points = space ? H5Sget_simple_extent_npoints(space.get()) : 0;
            const std::size_t element = type ? H5Tget_size(type.get()) : 0;
            planned.push_back({"/" + l.name + "/" + w.name + "_" + std::to_string(l.weights.size()),
                               static_cast<std::size_t>(std::max(rank, 0)), static_cast<std::uint64_t>(std::max<hssize_t>(points, 0)) * element});
        }
    }
    H5Eclear2(H5E_DEFAULT);
    h5ser_file_writer w(out, plan, count, manifest_bound(planned, plan));
    std::size_t tensors = 0;
    for (const auto& layer : store.layers) {
        std::set<std::string> used;
        for (const auto& weight : layer.weights) {
            std::string field = weight_field(layer.name, weight.name);
            for (int k = 1; used.count(field); ++k) field = weight_field(layer.name, weight.name) + "_" + std::to_string(k);
            used.insert(field);
            const raw_tensor t = read_tensor(store.h5.get(), weight.path, in);
            w.dataset("/" + layer.name + "/" + field, t);
            progress.add(t.bytes.size());
            ++tensors;
        }
    }
    w.write_weights_only_header();
    const std::string fingerprint = w.fingerprint();
    w.commit();
    std::size_t layers = 0;
    for (const auto& l : store.layers) layers += l.weights.empty() ? 0 : 1;
    return {std::string(d::flavour_name(store.kind)) + ", keras " + (store.keras_version.empty() ? "?" : store.keras_version),
            "h5ser weights-only file", layers, tensors, fingerprint, store.optimizer ? "optimizer weights left out" : ""};
}

inline conversion h5ser_to_keras(const std::string& in, const std::string& out, progress_bar& bar) {
    d::hdf5_scope hdf5;
    const h5ser::file_node tree = h5ser::inspect(in);
    d::handle file = d::open_for_reading(in);
    d::handle root = d::open_root(file.get(), in);
    std::set<std::string> skip;
    if (const auto schema = schema_text(root.get(), in))  // optimizer state stays out of Keras weight files
        walk_schema(d::parse_json(*schema), "", [&](const std::string& at, const d::json_value& node) {
            const auto* optimizer = node.find("optimizer_state");
            if (optimizer && optimizer->boolean) skip.insert(at);
            return !(optimizer && optimizer->boolean);
        });

    // Each top-level group or dataset is one Keras layer; its tensors, as read, are the layer's
    // weights. They are handed to the writer behind h5ser::keras::save_weights as struct layers.
    std::vector<std::vector<raw_tensor>> tensors;
    std::vector<d::struct_layer> layers;
    std::vector<std::vector<std::string>> rels;
    for (const auto& child : tree.children) {
        if (skip.count(child.path) || child.kind == h5ser::file_node::kind_type::other) continue;
        std::vector<const h5ser::file_node*> found;
        collect_datasets(child, found);
        std::vector<raw_tensor> read;
        std::vector<std::string> rel;
        for (const auto* ds : found) {
            bool optimizer = false;
            for (const auto& s : skip) optimizer = optimizer || ds->path.rfind(s + "/", 0) == 0;
            if (optimizer) continue;
            rel.push_back(ds->path == child.path ? child.name : ds->path.substr(child.path.size() + 1));
            read.push_back(read_tensor(file.get(), ds->path, in));
        }
        if (read.empty()) continue;
        layers.push_back({child.name, child.name, true, {}});
        tensors.push_back(std::move(read));
        rels.push_back(std::move(rel));
    }
    copy_progress progress{bar};
    std::size_t count = 0;
    for (std::size_t l = 0; l < layers.size(); ++l) {  // `tensors` no longer grows: pointers into it stay valid
        for (std::size_t i = 0; i < tensors[l].size(); ++i) {
            const raw_tensor& t = tensors[l][i];
            progress.total += t.bytes.size();
            ++count;
            d::tensor_slot slot;
            slot.field = layers[l].name + "." + rels[l][i];
            slot.rel = rels[l][i];
            slot.dtype = t.dtype;
            slot.rank = t.dims.size();
            slot.shape.assign(t.dims.begin(), t.dims.end());
            slot.write = [&t, &progress](hid_t group, const std::string& name, const d::where& at) {
                d::write_weight(group, name, t.type.get(), t.type.get(), t.dims.data(), t.dims.size(),
                                                   t.bytes.empty() ? nullptr : t.bytes.data(), t.dtype == "bfloat16", at);
                progress.add(t.bytes.size());
            };
            layers[l].tensors.push_back(std::move(slot));
        }
    }
    d::save_layers(layers, out, {});
    return {"h5ser file", "Keras save_weights layout (tf.keras 2.x)", layers.size(), count, {}, skip.empty() ? "" : "optimizer state left out"};
}

/// The bytes the attributes of `tree` (a format-1 file's, open as `file`'s root `root`) take in a
/// manifest: those copy_tree and copy_root_attributes list.
inline std::size_t attribute_bytes(hid_t root, const h5ser::file_node& tree, const std::string& in) {
    d::manifest_builder m;
    const auto add = [&](hid_t object, const std::string& path, bool dataset, bool is_root) {
        const d::where at{in, {}, path};
        for (const auto& name : d::list_members(object, false, at).attributes) {
            if (dataset && (name == d::format::checksum_attribute || name == d::format::dtype_marker_attribute)) continue;
            if (is_root && d::format::is_reserved_root_name(name)) continue;
            d::add_stored_attribute(m, object, path, name, at);
        }
    };
    add(root, "/", false, true);
    const auto visit = [&](const auto& self, const h5ser::file_node& n) -> void {
        for (const auto& c : n.children) {
            if (c.kind == h5ser::file_node::kind_type::other) continue;
            const d::handle object = d::checked(H5Oopen(root, c.path.c_str(), H5P_DEFAULT), d::where{in, {}, c.path}, "cannot open");
            add(object.get(), c.path, c.kind == h5ser::file_node::kind_type::dataset, false);
            self(self, c);
        }
    };
    visit(visit, tree);
    return m.size() - d::manifest_header_size;
}

inline void copy_tree(h5ser_file_writer& w, hid_t file, const h5ser::file_node& n, const std::string& in, copy_progress& progress) {
    for (const auto& c : n.children) {
        const d::where at{in, {}, c.path};
        if (c.kind == h5ser::file_node::kind_type::dataset) {
            const raw_tensor t = read_tensor(file, c.path, in);
            d::handle ds = w.dataset(c.path, t);
            progress.add(t.bytes.size());
            d::handle src = d::checked(H5Oopen(file, c.path.c_str(), H5P_DEFAULT), at, "cannot open");
            w.copy_attributes(src.get(), ds.get(), c.path, {d::format::checksum_attribute, d::format::dtype_marker_attribute}, at);
        } else if (c.kind == h5ser::file_node::kind_type::group) {
            const hid_t g = w.group(c.path);
            d::handle src = d::checked(H5Oopen(file, c.path.c_str(), H5P_DEFAULT), at, "cannot open");
            w.copy_attributes(src.get(), g, c.path, {}, at);
            copy_tree(w, file, c, in, progress);
        } else {
            throw h5ser::error(in, h5ser::problem{h5ser::errc::unsafe_file, {}, c.path, "groups and datasets", c.dtype, "links are not copied"});
        }
    }
}

inline conversion h5ser_to_h5ser(const std::string& in, const std::string& out, const d::storage_plan& plan,
                                 const std::string& preset, progress_bar& bar) {
    d::hdf5_scope hdf5;
    const h5ser::file_node tree = h5ser::inspect(in);
    std::optional<d::manifest> source_manifest;
    d::handle file = d::open_for_reading(in, true, &source_manifest);
    d::handle root = d::open_root(file.get(), in);
    const d::file_header header = d::read_header(root.get(), in, source_manifest ? &*source_manifest : nullptr, true);
    std::vector<const h5ser::file_node*> all;
    collect_datasets(tree, all);
    // The copy lists what the source lists: its manifest's size bounds the new one (filters
    // aside); a format-1 source has none, so its tree is measured, attributes included.
    std::size_t manifest_bytes = 0;
    if (source_manifest) {
        manifest_bytes = source_manifest->size_bytes() + all.size() * 4 * plan.filters.size();
        for (const auto* n : all) manifest_bytes += compact_copy_bound(elements(*n) * n->element_bytes, plan);
    } else {
        std::vector<planned_dataset> planned;
        for (const auto* n : all) planned.push_back({n->path, n->shape.size(), elements(*n) * n->element_bytes});
        manifest_bytes = manifest_bound(planned, plan) + attribute_bytes(root.get(), tree, in);
    }
    h5ser_file_writer w(out, plan, all.size(), manifest_bytes);
    copy_progress progress{bar};
    for (const auto* n : all) progress.total += elements(*n) * n->element_bytes;
    copy_tree(w, file.get(), tree, in, progress);
    w.copy_root_attributes(root.get(), header.mode, d::where{in, {}, "/"});
    const std::string stored = d::read_string_attribute(root.get(), d::format::fingerprint_attribute, d::where{in, {}, "/"}).value_or("");
    if (stored != w.fingerprint())
        throw h5ser::error(in, h5ser::problem{h5ser::errc::checksum_mismatch, {}, "/", "fingerprint " + stored, "fingerprint " + w.fingerprint(),
                                              "the tensors read differ from what was saved; run h5ser verify"});
    w.commit();
    return {"h5ser file", "h5ser file, preset " + preset, 0, all.size(), stored, "same tree and attributes; fingerprint unchanged"};
}

inline d::storage_plan preset_plan(const std::string& name) {
    using namespace h5ser::detail;
    if (name == "fast") return storage_of<flatten_t<h5ser::fast>>::plan();
    if (name == "compact") return storage_of<flatten_t<h5ser::compact>>::plan();
    if (name == "archival") return storage_of<flatten_t<h5ser::archival>>::plan();
    return storage_plan{};  // "default": what h5ser::save does without storage policies
}

inline int convert(const std::string& in, const std::string& out, const std::string& to, const std::string& preset, bool as_json) {
    const bool keras_input = d::has_zip_signature(in) || [&] {
        const auto tree = h5ser::inspect(in);
        return attribute_text(tree, "h5ser_mode").empty();
    }();
    if (keras_input && to == "keras")
        throw h5ser::error(in, h5ser::problem{h5ser::errc::invalid_value, {}, {}, "--to h5ser for a Keras file", "--to keras", {}});
    progress_bar bar("convert", !as_json);
    const conversion c = keras_input ? keras_to_h5ser(in, out, preset_plan(preset), bar)
                         : to == "keras" ? h5ser_to_keras(in, out, bar)
                                         : h5ser_to_h5ser(in, out, preset_plan(preset), preset, bar);
    if (as_json) {
        json j;
        j.begin_object().string("in", in).string("out", out).string("from", c.from).string("to", c.to);
        j.number("layers", static_cast<double>(c.layers)).number("tensors", static_cast<double>(c.tensors));
        if (c.fingerprint.empty()) j.null("fingerprint");
        else j.string("fingerprint", c.fingerprint);
        j.string("note", c.note).end_object();
        print_json(j);
        return 0;
    }
    std::string text = "converted " + in + " (" + c.from + ") to " + out + " (" + c.to + "): ";
    if (c.layers) text += std::to_string(c.layers) + " layers, ";
    text += std::to_string(c.tensors) + " tensors";
    if (!c.fingerprint.empty()) text += ", fingerprint " + c.fingerprint;
    if (!c.note.empty()) text += "; " + c.note;
    std::fputs((text + "\n").c_str(), stdout);
    return 0;
}

}  // namespace h5ser_cli
