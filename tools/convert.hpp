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
//   safetensors <-> h5ser: dotted names to groups and back, tensor bytes as they are, the
//     fingerprint checked and kept (docs/safetensors.md).
#pragma once

#include <h5ser/h5ser.hpp>
#include <h5ser/keras.hpp>

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "audit.hpp"
#include "diff.hpp"
#include "internals.hpp"
#include "keras_places.hpp"
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

inline conversion keras_to_h5ser(const std::string& in, const std::string& out, const d::storage_plan& plan, progress_bar& bar) {
    d::hdf5_scope hdf5;
    const auto store = d::open_store(in);
    const std::vector<keras_weight_place> weights = keras_weight_places(store);
    copy_progress progress{bar};
    std::vector<d::planned_tensor> planned;
    for (const auto& w : weights) {
        const d::where at{in, {}, w.from};
        const d::handle ds = d::checked(H5Dopen2(store.h5.get(), w.from.c_str(), H5P_DEFAULT), at, "cannot open dataset");
        const d::dataset_view view = d::inspect_dataset(ds.get(), at);
        planned.push_back({w.to, view.dtype, {view.shape.dims.begin(), view.shape.dims.end()}, H5Tget_size(view.type.get())});
        progress.total += view.stored_bytes;
    }
    d::tree_writer file(out, plan, weights.size(), d::manifest_size_of(planned, plan));
    for (const auto& w : weights) {
        const d::raw_tensor t = d::read_raw_tensor(store.h5.get(), w.from, in);
        file.dataset(w.to, t);
        progress.add(t.bytes.size());
    }
    file.write_weights_only_header();
    const std::string fingerprint = file.fingerprint();
    file.commit();
    std::size_t layers = 0;
    for (const auto& l : store.layers) layers += l.weights.empty() ? 0 : 1;
    return {std::string(d::flavour_name(store.kind)) + ", keras " + (store.keras_version.empty() ? "?" : store.keras_version),
            "h5ser weights-only file",
            layers,
            weights.size(),
            fingerprint,
            store.optimizer ? "optimizer weights left out" : ""};
}

/// The groups of an h5ser file that hold optimizer state, as its schema (`schema`, if it has one)
/// says, e.g. "/opt".
inline std::set<std::string> optimizer_state_groups(const std::optional<std::string>& schema) {
    std::set<std::string> groups;
    if (schema)
        walk_schema(d::parse_json(*schema), "", [&](const std::string& at, const d::json_value& node) {
            const auto* optimizer = node.find("optimizer_state");
            if (optimizer && optimizer->boolean) groups.insert(at);
            return !(optimizer && optimizer->boolean);
        });
    return groups;
}

/// Does `path` lie in one of `groups`?
inline bool lies_in(const std::string& path, const std::set<std::string>& groups) {
    for (const auto& g : groups)
        if (path.rfind(g + "/", 0) == 0) return true;
    return false;
}

inline conversion h5ser_to_keras(const std::string& in, const std::string& out, progress_bar& bar) {
    d::hdf5_scope hdf5;
    const h5ser::file_node tree = h5ser::inspect(in);
    d::handle file = d::open_for_reading(in);
    d::handle root = d::open_root(file.get(), in);
    const std::set<std::string> skip = optimizer_state_groups(schema_text(root.get(), in));  // not in Keras weight files

    // Each top-level group or dataset is one Keras layer; its tensors, as read, are the layer's
    // weights. They are handed to the writer behind h5ser::keras::save_weights as struct layers.
    std::vector<std::vector<d::raw_tensor>> tensors;
    std::vector<d::struct_layer> layers;
    std::vector<std::vector<std::string>> rels;
    for (const auto& child : tree.children) {
        if (skip.count(child.path) || child.kind == h5ser::file_node::kind_type::other) continue;
        std::vector<const h5ser::file_node*> found;
        collect_datasets(child, found);
        std::vector<d::raw_tensor> read;
        std::vector<std::string> rel;
        for (const auto* ds : found) {
            if (lies_in(ds->path, skip)) continue;
            rel.push_back(ds->path == child.path ? child.name : ds->path.substr(child.path.size() + 1));
            read.push_back(d::read_raw_tensor(file.get(), ds->path, in));
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
            const d::raw_tensor& t = tensors[l][i];
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
    return {"h5ser file", "Keras save_weights layout (tf.keras 2.x)",    layers.size(), count,
            {},           skip.empty() ? "" : "optimizer state left out"};
}

/// The reserved root attribute of an h5ser file converted from a .safetensors file that keeps the
/// file's `__metadata__` (as a JSON object of strings), so that a conversion back restores it.
inline constexpr const char* safetensors_metadata_attribute = "h5ser_safetensors_metadata";

/// A .safetensors file to a sealed weights-only h5ser file: its dotted names as groups (as loads
/// read them), each tensor's bytes as they are, `__metadata__` kept in safetensors_metadata_attribute.
/// When the file keeps h5ser's fingerprint, the copy lands only if its tensors give that fingerprint.
/// `file`: the input, open; `h`: its checked header.
inline conversion safetensors_to_h5ser(const d::opened_file& file, const d::safetensors::header& h, const std::string& out,
                                       const d::storage_plan& plan, progress_bar& bar) {
    d::hdf5_scope hdf5;
    const std::string& in = file.path();
    const d::manifest contents = d::safetensors::manifest_of(h, file.size(), in, false);
    std::vector<const d::manifest_record*> records;
    std::vector<d::planned_tensor> planned;
    copy_progress progress{bar};
    for (const d::manifest_record& r : contents.records()) {
        if (r.kind != d::record_kind::dataset) continue;
        records.push_back(&r);
        std::vector<std::size_t> dims;
        for (std::size_t i = 0; i < r.rank; ++i) dims.push_back(static_cast<std::size_t>(r.dim(i)));
        planned.push_back({std::string(r.path), std::string(r.dtype), dims, d::manifest_element_size(r.dtype)});
        progress.total += r.length;
    }
    d::tree_writer writer(out, plan, records.size(), d::manifest_size_of(planned, plan));
    // Each tensor is read once, through a small buffer, hashed (its checksum in the manifest) and
    // written on the way: no mapping and no fresh memory for the model (copy_and_hash says why).
    for (std::size_t i = 0; i < records.size(); ++i) {
        const d::manifest_record* r = records[i];
        const d::where at{out, {}, std::string(r->path)};
        d::raw_tensor t;
        t.dtype = std::string(r->dtype);
        t.type = h5ser::with_element_type(*h5ser::element_kind_named(r->dtype), [&]<class T>() { return d::file_type<T>(at); });
        for (std::size_t k = 0; k < r->rank; ++k) t.dims.push_back(r->dim(k));
        writer.copied_dataset(std::string(r->path), std::move(t), file.fd(), r->offset, r->length, in);
        progress.add(r->length);
    }
    writer.write_weights_only_header();
    d::json_writer metadata;
    metadata.begin_object();
    std::size_t kept = 0;
    for (const auto& [key, value] : h.metadata) {
        if (key == d::safetensors::fingerprint_key) continue;  // the h5ser file's own fingerprint says it
        metadata.string(key, value);
        ++kept;
    }
    metadata.end_object();
    if (kept != 0) d::write_attribute(writer.root(), safetensors_metadata_attribute, metadata.str(), d::where{out, {}, "/"});
    const std::string fingerprint = writer.fingerprint();
    if (contents.keeps_fingerprint() && d::to_hex(contents.fingerprint()) != fingerprint)
        throw h5ser::error(in,
                           h5ser::problem{h5ser::errc::checksum_mismatch,
                                          {},
                                          "/",
                                          "fingerprint " + d::to_hex(contents.fingerprint()),
                                          "fingerprint " + fingerprint,
                                          "the tensors differ from the ones h5ser saved in this .safetensors file; nothing was written"});
    writer.commit();
    return {"safetensors",
            "h5ser weights-only file",
            0,
            records.size(),
            fingerprint,
            contents.keeps_fingerprint() ? "fingerprint checked against the file's" : "the file kept no fingerprint to check"};
}

/// An h5ser file to a .safetensors file: its tensors in field order (optimizer state left out),
/// named by their paths joined with '.', the `__metadata__` a conversion from safetensors kept (or
/// {"format": "pt"}) and the fingerprint. Each tensor must have the checksum the file's manifest
/// keeps for it and, when nothing is left out, the tensors the file's fingerprint, which is kept;
/// otherwise nothing is written. `in_file`: the input, open.
///
/// At the disk's pace: a sealed file's tensors that lie contiguous in it are read once, through a
/// small buffer, hashed and written on the way (copy_and_hash), the fingerprint going into the
/// header last. Other tensors (chunked, or of a
/// file without a manifest) are read through HDF5.
inline conversion h5ser_to_safetensors(const d::opened_file& in_file, const std::string& out, progress_bar& bar) {
    d::hdf5_scope hdf5;
    const std::string& in = in_file.path();
    const d::where at{in, {}, "/"};
    // A sealed file's tensors are read through its manifest, on the descriptor its seal was checked
    // on (once); libhdf5 reads the root's reserved attributes (schema, fingerprint,
    // kept metadata: not in the manifest), and tensors only when they are chunked or the file keeps
    // no manifest.
    const std::optional<d::manifest> contents = d::check_opened(in_file, true);
    const d::handle file = in_file.open_hdf5(d::file_access(at).get(), at);
    const d::handle root = d::open_root(file.get(), in);
    const auto root_text = [&](const char* name) { return d::read_string_attribute(root.get(), name, at); };
    const std::set<std::string> skip = optimizer_state_groups(root_text(d::format::schema_attribute));
    std::vector<std::string> found;  // the datasets, in field (save) order
    if (contents) {
        for (const d::manifest_record& r : contents->records())
            if (r.kind == d::record_kind::dataset) found.emplace_back(r.path);
    } else {
        std::vector<const h5ser::file_node*> nodes;
        const h5ser::file_node tree = h5ser::inspect(in);
        collect_datasets(tree, nodes);
        for (const auto* n : nodes) found.push_back(n->path);
    }
    struct source_tensor {
        std::string path;
        std::span<const unsigned char> elements;     ///< in memory (compact, or read through HDF5); else in the file
        const d::manifest_record* record = nullptr;  ///< its manifest record when it is copied from the file
    };
    std::vector<source_tensor> sources;
    std::vector<d::raw_tensor> read;
    std::vector<d::safetensors::tensor_to_write> tensors;
    read.reserve(found.size());
    for (const std::string& path : found) {
        if (lies_in(path, skip)) continue;
        const d::manifest_record* r = contents ? contents->dataset(path) : nullptr;
        if (r && r->layout != d::record_layout::contiguous && r->layout != d::record_layout::compact) r = nullptr;
        d::safetensors::tensor_to_write w;
        std::string_view stored_dtype;
        source_tensor source{path, {}, r};
        if (r) {
            stored_dtype = r->dtype;
            for (std::size_t i = 0; i < r->rank; ++i) w.shape.push_back(r->dim(i));
            if (r->layout == d::record_layout::compact)
                source.elements = {reinterpret_cast<const unsigned char*>(r->value.data()), r->value.size()};
        } else {
            read.push_back(d::read_raw_tensor(file.get(), path, in));
            stored_dtype = read.back().dtype;
            w.shape.assign(read.back().dims.begin(), read.back().dims.end());
            source.elements = read.back().elements();
        }
        const auto kind = h5ser::element_kind_named(stored_dtype);
        if (!kind)
            throw h5ser::error(
                in,
                h5ser::problem{h5ser::errc::dtype_mismatch, {}, path, "a dtype of the safetensors format", std::string(stored_dtype), {}});
        w.dtype = h5ser::dtype_name(*kind);
        w.name = d::safetensors::tensor_name(d::where{in, {}, path}, false);
        w.bytes = r && r->layout == d::record_layout::contiguous ? r->length : source.elements.size();
        if (r && r->layout == d::record_layout::contiguous) {
            w.source_fd = in_file.fd();
            w.source_offset = r->offset;
        } else {
            w.data = source.elements.empty() ? nullptr : source.elements.data();
        }
        tensors.push_back(std::move(w));
        sources.push_back(std::move(source));
    }
    const std::string stored = root_text(d::format::fingerprint_attribute).value_or("");
    std::vector<std::pair<std::string, std::string>> metadata;
    if (const auto kept = root_text(safetensors_metadata_attribute)) {
        const d::json_value object = d::parse_json(*kept);
        for (std::size_t i = 0; i < object.keys.size(); ++i) metadata.emplace_back(object.keys[i], object.items[i].text);
    } else {
        metadata.emplace_back("format", "pt");
    }
    // Once the bytes are copied (each read once and hashed on the way): each tensor against its
    // checksum, all against the fingerprint.
    std::string written;
    const auto fingerprint_of_copies = [&](const std::vector<std::uint64_t>& hashes) {
        d::fingerprint_builder fingerprint;
        for (std::size_t i = 0; i < sources.size(); ++i) {
            const source_tensor& source = sources[i];
            const std::uint64_t hash = hashes[i];
            if (source.record && source.record->has_checksum && hash != source.record->checksum)
                throw h5ser::error(in,
                                   h5ser::problem{h5ser::errc::checksum_mismatch,
                                                  {},
                                                  source.path,
                                                  "data with " + d::checksum_text(source.record->checksum),
                                                  "data with " + d::checksum_text(hash),
                                                  "the data differs from what was saved (corruption or tampering); nothing was written"});
            fingerprint.add_tensor(source.path, tensors[i].dtype, tensors[i].shape.data(), tensors[i].shape.size(), hash);
        }
        written = fingerprint.hex();
        if (skip.empty() && !stored.empty() && stored != written)
            throw h5ser::error(in, h5ser::problem{h5ser::errc::checksum_mismatch,
                                                  {},
                                                  "/",
                                                  "fingerprint " + stored,
                                                  "fingerprint " + written,
                                                  "the tensors differ from what was saved; nothing was written"});
        return written;
    };
    std::uint64_t total = 0;
    for (const auto& t : tensors) total += t.bytes;
    d::safetensors::write_file(
        out, tensors, metadata, [&](std::uint64_t done, std::uint64_t) { bar(done, total); }, fingerprint_of_copies);
    return {"h5ser file", "safetensors", 0, tensors.size(), written, skip.empty() ? "" : "optimizer state left out"};
}

/// An h5ser file re-stored under another preset, or (`accept_foreign`, --from hdf5) another
/// program's HDF5 file sealed into an h5ser file of the same tree.
inline conversion h5ser_to_h5ser(const std::string& in, const std::string& out, const d::storage_plan& plan, const std::string& preset,
                                 bool accept_foreign, progress_bar& bar) {
    d::hdf5_scope hdf5;
    std::optional<d::manifest> source_manifest;
    d::handle file = d::open_for_reading(in, true, &source_manifest);
    d::handle root = d::open_root(file.get(), in);
    const d::file_header header = d::read_header(root.get(), in, source_manifest ? &*source_manifest : nullptr, true, accept_foreign);
    d::tree_copy_options options;
    options.plan = plan;
    // The copy of an h5ser file lands only when its tensors are the ones the source was saved with.
    if (!header.foreign)
        options.expected_fingerprint =
            d::read_string_attribute(root.get(), d::format::fingerprint_attribute, d::where{in, {}, "/"}).value_or("");
    options.progress = [&bar](std::uint64_t done, std::uint64_t total) { bar(done, total); };
    const d::tree_copy_result copied =
        d::copy_h5ser_file(file.get(), in, source_manifest ? &*source_manifest : nullptr, header, out, options);
    if (header.foreign)
        return {"HDF5 file", "h5ser file, preset " + preset, 0, copied.tensors, copied.fingerprint, "same tree and attributes, sealed"};
    return {"h5ser file",
            "h5ser file, preset " + preset,
            0,
            copied.tensors,
            copied.fingerprint,
            "same tree and attributes; fingerprint unchanged"};
}

inline d::storage_plan preset_plan(const std::string& name) {
    using namespace h5ser::detail;
    if (name == "fast") return storage_of<flatten_t<h5ser::fast>>::plan();
    if (name == "compressed" || name == "compact") return storage_of<flatten_t<h5ser::compressed>>::plan();  // compact: its former name
    if (name == "archival") return storage_of<flatten_t<h5ser::archival>>::plan();
    return storage_plan{};  // "default": what h5ser::save does without storage policies
}

/// Does `path` name a .safetensors file (`h5ser convert` writes one there without --to)?
inline bool safetensors_name(const std::string& path) {
    const std::string suffix = ".safetensors";
    return path.size() >= suffix.size() && path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// `from`: "hdf5" reads IN as any HDF5 file (another program's is sealed as it is), "keras" as a
/// Keras file; empty: what IN is (an HDF5 file neither h5ser's nor a .safetensors file is Keras's).
inline int convert(const std::string& in, const std::string& out, std::string to, const std::string& from, const std::string& preset,
                   bool as_json) {
    const d::opened_file in_file = d::opened_file::open(in);
    const std::optional<d::safetensors::header> safetensors_header = d::safetensors::header_if_safetensors(in_file);
    const bool safetensors_input = safetensors_header.has_value();
    // A file h5ser sealed is h5ser's: only others are read to find out.
    const bool keras_input =
        from == "keras" || (from.empty() && !safetensors_input && (d::has_zip_signature(in) || (!d::has_seal(in) && [&] {
                                                                       const auto tree = h5ser::inspect(in);
                                                                       return attribute_text(tree, "h5ser_mode").empty();
                                                                   }())));
    if (to.empty()) to = safetensors_name(out) && !safetensors_input ? "safetensors" : "h5ser";
    if ((keras_input || safetensors_input) && to != "h5ser")
        throw h5ser::error(in, h5ser::problem{h5ser::errc::invalid_value,
                                              {},
                                              {},
                                              std::string("--to h5ser for a ") + (keras_input ? "Keras" : "safetensors") + " file",
                                              "--to " + to,
                                              {}});
    if (from == "hdf5" && to != "h5ser")
        throw h5ser::error(in, h5ser::problem{h5ser::errc::invalid_value, {}, {}, "--to h5ser with --from hdf5", "--to " + to, {}});
    progress_bar bar("convert", !as_json);
    // An HDF5 file taken for Keras's that is not: say how to convert it as it is.
    const auto from_keras = [&] {
        try {
            return keras_to_h5ser(in, out, preset_plan(preset), bar);
        } catch (const h5ser::error& e) {
            if (e.code() != h5ser::errc::not_keras_file || !from.empty()) throw;
            std::vector<h5ser::problem> problems = e.problems();
            problems.front().detail += std::string(problems.front().detail.empty() ? "" : "; ") +
                                       "an HDF5 file of another program converts as it is with --from hdf5";
            throw h5ser::error(e.file(), std::move(problems), e.hdf5_stack());
        }
    };
    const conversion c = safetensors_input     ? safetensors_to_h5ser(in_file, *safetensors_header, out, preset_plan(preset), bar)
                         : keras_input         ? from_keras()
                         : to == "keras"       ? h5ser_to_keras(in, out, bar)
                         : to == "safetensors" ? h5ser_to_safetensors(in_file, out, bar)
                                               : h5ser_to_h5ser(in, out, preset_plan(preset), preset, from == "hdf5", bar);
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
    print_text(text + "\n");
    return 0;
}

}  // namespace h5ser_cli
