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
#include "diff.hpp"
#include "internals.hpp"
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
    // Each weight's place in the h5ser file: /layer/field, fields unique within their layer.
    struct placed {
        std::string from, to;
    };
    std::vector<placed> weights;
    for (const auto& layer : store.layers) {
        std::set<std::string> used;
        for (const auto& weight : layer.weights) {
            std::string field = weight_field(layer.name, weight.name);
            for (int k = 1; used.count(field); ++k) field = weight_field(layer.name, weight.name) + "_" + std::to_string(k);
            used.insert(field);
            weights.push_back({weight.path, "/" + layer.name + "/" + field});
        }
    }
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
            bool optimizer = false;
            for (const auto& s : skip) optimizer = optimizer || ds->path.rfind(s + "/", 0) == 0;
            if (optimizer) continue;
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

inline conversion h5ser_to_h5ser(const std::string& in, const std::string& out, const d::storage_plan& plan, const std::string& preset,
                                 progress_bar& bar) {
    d::hdf5_scope hdf5;
    std::optional<d::manifest> source_manifest;
    d::handle file = d::open_for_reading(in, true, &source_manifest);
    d::handle root = d::open_root(file.get(), in);
    const d::file_header header = d::read_header(root.get(), in, source_manifest ? &*source_manifest : nullptr, true);
    d::tree_copy_options options;
    options.plan = plan;
    // The copy lands only when its tensors are the ones the source was saved with.
    options.expected_fingerprint =
        d::read_string_attribute(root.get(), d::format::fingerprint_attribute, d::where{in, {}, "/"}).value_or("");
    options.progress = [&bar](std::uint64_t done, std::uint64_t total) { bar(done, total); };
    const d::tree_copy_result copied =
        d::copy_h5ser_file(file.get(), in, source_manifest ? &*source_manifest : nullptr, header, out, options);
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

inline int convert(const std::string& in, const std::string& out, const std::string& to, const std::string& preset, bool as_json) {
    const bool keras_input = d::has_zip_signature(in) || [&] {
        const auto tree = h5ser::inspect(in);
        return attribute_text(tree, "h5ser_mode").empty();
    }();
    if (keras_input && to == "keras")
        throw h5ser::error(in, h5ser::problem{h5ser::errc::invalid_value, {}, {}, "--to h5ser for a Keras file", "--to keras", {}});
    progress_bar bar("convert", !as_json);
    const conversion c = keras_input     ? keras_to_h5ser(in, out, preset_plan(preset), bar)
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
