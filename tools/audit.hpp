// `h5ser audit FILE`: what should not be in a weights file. The seeds call the worst case data
// leakage: a training set saved next to the weights and shipped with the model.
#pragma once

#include <h5ser/h5ser.hpp>

#include <algorithm>
#include <cctype>
#include <set>
#include <string>
#include <vector>

#include "internals.hpp"
#include "ls.hpp"
#include "output.hpp"
#include "schema.hpp"

namespace h5ser_cli {

struct finding {
    std::string path;
    std::string kind;  ///< "data in a weights file", "large attribute", "link out of the file", ...
    std::string why;
};

/// Words that name samples rather than parameters, as whole components of a dataset name.
inline bool looks_like_samples(const std::string& name) {
    static const std::set<std::string> words = {"train",    "test",    "val",    "valid",  "validation", "dataset",
                                                "data",     "samples", "images", "labels", "inputs",     "targets",
                                                "features", "x",       "y",      "xtrain", "ytrain"};
    std::string token;
    for (const char c : name + "_") {
        if (std::isalnum(static_cast<unsigned char>(c))) {
            token += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        } else {
            if (words.count(token)) return true;
            token.clear();
        }
    }
    return false;
}

inline void audit_node(const h5ser::file_node& n, const std::set<std::string>* declared, const std::set<std::string>* keras_weights,
                       std::vector<finding>& out) {
    if (n.kind == h5ser::file_node::kind_type::other) {
        out.push_back({n.path, "link", n.dtype + " (not followed; may point outside the file)"});
        return;
    }
    if (n.kind == h5ser::file_node::kind_type::dataset) {
        const std::uint64_t bytes = elements(n) * n.element_bytes;
        if (n.layout == "virtual") out.push_back({n.path, "data outside the file", "a virtual dataset: its data comes from other files"});
        if (declared && !declared->count(n.path))
            out.push_back({n.path, "not a model tensor", "the model's schema does not declare this dataset (added after saving?)"});
        if (keras_weights && !keras_weights->count(n.path))
            out.push_back({n.path, "not a model tensor", "no Keras layer or optimizer lists this dataset in its weight_names"});
        if (looks_like_samples(n.name) && bytes >= (1u << 20))
            out.push_back({n.path, "data in a weights file",
                           "named like a set of samples and " + grouped(bytes) + " bytes: a training set saved with the model leaks it"});
    }
    for (const auto& c : n.children) audit_node(c, declared, keras_weights, out);
}

/// Attributes larger than `limit` bytes (h5ser's schema and Keras's configurations excepted).
inline void large_attributes(hid_t object, const std::string& path, std::uint64_t limit, std::vector<finding>& out, int depth = 0) {
    namespace d = internal;
    if (depth > 64) return;
    static const std::set<std::string> big_by_design = {"schema", "model_type", "model_config", "training_config"};
    const auto listing = d::list_members(object, H5Iget_type(object) == H5I_GROUP, d::where{{}, {}, path});
    for (const auto& name : listing.attributes) {
        d::handle attr(H5Aopen(object, name.c_str(), H5P_DEFAULT));
        if (!attr) continue;
        d::handle type(H5Aget_type(attr.get()));
        d::handle space(H5Aget_space(attr.get()));
        std::uint64_t bytes = H5Aget_storage_size(attr.get());
        if (H5Tis_variable_str(type.get()) > 0) {  // storage size counts heap references, not the text
            const d::extent ext = d::read_extent(space.get(), d::where{{}, {}, path});
            for (const auto& s : d::read_strings(attr.get(), type.get(), space.get(), ext.count(), true, d::where{{}, {}, path}))
                bytes += s.size();
        }
        if (bytes > limit && !big_by_design.count(name))
            out.push_back({path + (path == "/" ? "" : "/") + "@" + name, "large attribute",
                           grouped(bytes) + " bytes (limit " + grouped(limit) + "): attributes hold hyperparameters, not data"});
    }
    if (H5Iget_type(object) != H5I_GROUP) return;
    for (const auto& link : listing.links) {
        if (link.type != H5L_TYPE_HARD) continue;
        d::handle child(H5Oopen(object, link.name.c_str(), H5P_DEFAULT));
        if (child) large_attributes(child.get(), path + (path == "/" ? "" : "/") + link.name, limit, out, depth + 1);
    }
    H5Eclear2(H5E_DEFAULT);
}

inline int audit(const std::string& path, std::uint64_t max_attribute_bytes, bool as_json) {
    namespace d = internal;
    d::hdf5_scope hdf5;
    const h5ser::file_node tree = h5ser::inspect(path);
    std::vector<finding> findings;

    std::set<std::string> declared, keras_weights;
    const std::set<std::string>* declared_ptr = nullptr;
    const std::set<std::string>* keras_ptr = nullptr;
    d::handle file = d::open_for_reading(path, false);
    d::handle root = d::open_root(file.get(), path);
    if (const auto schema = schema_text(root.get(), path)) {
        try {
            walk_schema(d::parse_json(*schema), "", [&](const std::string& at, const d::json_value& node) {
                if (node.string_at("kind") == "dataset") declared.insert(at);
                return true;
            });
            declared_ptr = &declared;
        } catch (const std::runtime_error&) {
            findings.push_back({"/@schema", "unreadable schema", "the schema attribute is not valid JSON"});
        }
    }
    if (const auto keras = keras_facts(path)) {
        for (const auto& l : keras->layers)
            for (const auto& w : l.weights) keras_weights.insert(w.path);
        for (const auto& w : keras->optimizer_weights) keras_weights.insert(w.path);
        keras_ptr = &keras_weights;
    }
    audit_node(tree, declared_ptr, keras_ptr, findings);
    large_attributes(root.get(), "/", max_attribute_bytes, findings);

    if (as_json) {
        json j;
        j.begin_object().string("file", path).boolean("clean", findings.empty()).begin_array("findings");
        for (const auto& f : findings) j.begin_object().string("path", f.path).string("kind", f.kind).string("why", f.why).end_object();
        j.end_array().end_object();
        print_json(j);
        return findings.empty() ? 0 : 1;
    }
    std::string out = "file: " + path + "\n";
    for (const auto& f : findings) out += "FLAG " + f.path + ": " + f.kind + ": " + f.why + "\n";
    out += findings.empty() ? "clean: only model tensors and small attributes\n" : std::to_string(findings.size()) + " finding(s)\n";
    print_text(out);
    return findings.empty() ? 0 : 1;
}

}  // namespace h5ser_cli
