// `h5ser ls FILE`: the tree of any HDF5 or .safetensors file as layers, with parameter counts, stored bytes,
// compression ratios and filters, totals per group and for the file; h5ser's and Keras's facts.
#pragma once

#include <h5ser/h5ser.hpp>
#include <h5ser/keras.hpp>

#include <cstdint>
#include <optional>
#include <string>

#include "cpp_struct.hpp"
#include "internals.hpp"
#include "output.hpp"

namespace h5ser_cli {

struct totals {
    std::uint64_t groups = 0, datasets = 0, params = 0, logical = 0, stored = 0;
    void add(const totals& o) {
        groups += o.groups;
        datasets += o.datasets;
        params += o.params;
        logical += o.logical;
        stored += o.stored;
    }
    [[nodiscard]] double ratio() const { return stored ? static_cast<double>(logical) / static_cast<double>(stored) : 1.0; }
};

inline std::uint64_t elements(const h5ser::file_node& n) {
    std::uint64_t count = 1;
    for (std::size_t d : n.shape) count *= d;
    return count;
}

inline totals sum(const h5ser::file_node& n) {
    totals t;
    if (n.kind == h5ser::file_node::kind_type::dataset) {
        t.datasets = 1;
        t.params = elements(n);
        t.logical = t.params * n.element_bytes;
        t.stored = n.stored_bytes;
    } else if (n.kind == h5ser::file_node::kind_type::group) {
        t.groups = 1;
        for (const auto& c : n.children) t.add(sum(c));
    }
    return t;
}

inline std::string attribute_text(const h5ser::file_node& n, const char* name) {
    for (const auto& a : n.attributes)
        if (a.name == name) return a.value.size() >= 2 && a.value.front() == '"' ? a.value.substr(1, a.value.size() - 2) : a.value;
    return {};
}

inline std::optional<h5ser::keras::model_config> keras_facts(const std::string& path) {
    try {
        return h5ser::keras::read_model_config(path);
    } catch (const h5ser::error&) {
        return std::nullopt;  // not a Keras file
    }
}

inline void ls_text(const h5ser::file_node& n, const std::string& indent, std::string& out) {
    const totals t = sum(n);
    std::string name = indent + (n.kind == h5ser::file_node::kind_type::group ? (n.name.empty() ? "/" : n.name + "/") : n.name);
    std::string type = n.kind == h5ser::file_node::kind_type::dataset ? n.dtype + internal::dims_text(n.shape)
                       : n.kind == h5ser::file_node::kind_type::group ? "group"
                                                                      : (n.dtype.empty() ? "other" : n.dtype);
    char line[512];
    const auto append_line = [&] {  // without the padding of its last column
        std::string text = line;
        text.erase(text.find_last_not_of(" \n") + 1);
        out += text + "\n";
    };
    if (n.kind == h5ser::file_node::kind_type::other) {
        std::snprintf(line, sizeof line, "%-40s %-24s", name.c_str(), type.c_str());
    } else {
        std::string filters;
        for (const auto& f : n.filters) filters += (filters.empty() ? "" : ",") + f;
        std::snprintf(line, sizeof line, "%-40s %-24s %12s %12s %6.2f  %s", name.c_str(), type.c_str(), grouped(t.params).c_str(),
                      grouped(t.stored).c_str(), t.ratio(), filters.c_str());
    }
    append_line();
    // Its attributes (hyperparameters, optimizer steps, Keras's names) with their values, before its
    // children; the root's h5ser bookkeeping is summed up in the header line instead.
    for (const auto& a : n.attributes) {
        if (n.path == "/" && internal::format::is_reserved_root_name(a.name)) continue;
        const std::string attribute_name = indent + "  @" + a.name;
        const std::string attribute_type = a.dtype + (a.shape == "scalar" ? "" : a.shape);
        std::snprintf(line, sizeof line, "%-40s %-24s %s", attribute_name.c_str(), attribute_type.c_str(), a.value.c_str());
        append_line();
    }
    for (const auto& c : n.children) ls_text(c, indent + "  ", out);
}

inline void ls_json(const h5ser::file_node& n, json& j, std::string_view key = {}) {
    const totals t = sum(n);
    j.begin_object(key);
    j.string("name", n.name).string("path", n.path);
    j.string("kind", n.kind == h5ser::file_node::kind_type::dataset ? "dataset"
                     : n.kind == h5ser::file_node::kind_type::group ? "group"
                                                                    : "other");
    if (n.kind == h5ser::file_node::kind_type::dataset) {
        j.string("dtype", n.dtype).begin_array("shape");
        for (std::size_t d : n.shape) j.number({}, static_cast<double>(d));
        j.end_array().string("layout", n.layout).begin_array("filters");
        for (const auto& f : n.filters) j.string({}, f);
        j.end_array();
    } else if (n.kind == h5ser::file_node::kind_type::other) {
        j.string("link", n.dtype);
    }
    j.begin_array("attributes");
    for (const auto& a : n.attributes) {
        j.begin_object().string("name", a.name).string("dtype", a.dtype).string("shape", a.shape);
        if (a.value.empty()) j.null("value");
        else j.string("value", a.value);
        j.end_object();
    }
    j.end_array();
    j.number("params", static_cast<double>(t.params)).number("logical_bytes", static_cast<double>(t.logical));
    j.number("stored_bytes", static_cast<double>(t.stored)).number("ratio", t.ratio());
    if (n.kind == h5ser::file_node::kind_type::group) {
        j.begin_array("children");
        for (const auto& c : n.children) ls_json(c, j);
        j.end_array();
    }
    j.end_object();
}

inline int ls(const std::string& path, bool as_json, bool as_cpp = false) {
    // A URL: a sealed h5ser file's tree from its manifest, one request (docs/remote.md).
    const bool url = internal::is_url(path);
    const auto safetensors = url ? std::nullopt : internal::header_if_safetensors(path);
    const auto keras = safetensors || url ? std::nullopt : keras_facts(path);
    if (as_cpp) {
        if (!keras)
            throw h5ser::error(path, h5ser::problem{h5ser::errc::not_keras_file,
                                                    {},
                                                    "/",
                                                    "a Keras file",
                                                    safetensors ? "a .safetensors file" : "another file",
                                                    "ls --cpp writes structs for Keras files; an h5ser full-model file's layout "
                                                    "is its schema (h5ser schema), from the struct that saved it"});
        print_text(cpp_structs(path, *keras));
        return 0;
    }
    std::optional<h5ser::file_node> tree;
    if (safetensors) tree = internal::tree_of(*safetensors);                          // the header read once
    else if (url || !internal::has_zip_signature(path)) tree = h5ser::inspect(path);  // a .keras zip is not HDF5 itself
    const bool is_h5ser = tree && !attribute_text(*tree, "h5ser_mode").empty();
    const bool sealed = url || internal::has_seal(path);  // a URL's tree comes from its seal's manifest
    const totals t = tree ? sum(*tree) : totals{};
    if (as_json) {
        json j;
        j.begin_object().string("file", path);
        if (is_h5ser) {
            j.begin_object("h5ser");
            j.string("mode", attribute_text(*tree, "h5ser_mode")).string("format_version", attribute_text(*tree, "h5ser_format_version"));
            j.string("version", attribute_text(*tree, "h5ser_version")).string("fingerprint", attribute_text(*tree, "fingerprint"));
            j.boolean("sealed", sealed).end_object();
        } else {
            j.null("h5ser");
        }
        if (safetensors) {
            j.begin_object("safetensors").number("tensors", static_cast<double>(safetensors->tensors.size()));
            j.number("header_bytes", static_cast<double>(safetensors->json_bytes)).boolean("checksums", false).end_object();
        } else {
            j.null("safetensors");
        }
        if (keras) {
            j.begin_object("keras")
                .string("format", keras->format)
                .string("keras_version", keras->keras_version)
                .string("backend", keras->backend);
            j.begin_array("layers");
            for (const auto& l : keras->layers) {
                j.begin_object().string("name", l.name).string("class_name", l.class_name).begin_array("weights");
                for (const auto& w : l.weights) {
                    j.begin_object().string("name", w.name).string("dtype", w.dtype).begin_array("shape");
                    for (std::size_t d : w.shape) j.number({}, static_cast<double>(d));
                    j.end_array().end_object();
                }
                j.end_array().end_object();
            }
            j.end_array().begin_array("optimizer_weights");
            for (const auto& w : keras->optimizer_weights) {
                j.begin_object().string("name", w.name).string("dtype", w.dtype).begin_array("shape");
                for (std::size_t d : w.shape) j.number({}, static_cast<double>(d));
                j.end_array().end_object();
            }
            j.end_array().end_object();
        } else {
            j.null("keras");
        }
        if (tree) ls_json(*tree, j, "tree");
        else j.null("tree");
        j.begin_object("totals").number("groups", static_cast<double>(t.groups)).number("datasets", static_cast<double>(t.datasets));
        j.number("params", static_cast<double>(t.params)).number("stored_bytes", static_cast<double>(t.stored)).number("ratio", t.ratio());
        j.end_object().end_object();
        print_json(j);
        return 0;
    }
    std::string out = "file: " + path + "\n";
    if (is_h5ser) {
        const std::string version = attribute_text(*tree, "h5ser_version");  // full-model files record it
        out += "h5ser: " + attribute_text(*tree, "h5ser_mode") + ", format " + attribute_text(*tree, "h5ser_format_version") +
               (version.empty() ? std::string() : ", written by h5ser " + version) + ", fingerprint " +
               attribute_text(*tree, "fingerprint") + (sealed ? ", sealed" : ", not sealed") + "\n";
    }
    if (safetensors)
        out += "safetensors: " + grouped(safetensors->tensors.size()) + " tensors, header " + grouped(safetensors->json_bytes) +
               " bytes, no checksums in this format\n";
    if (keras) {
        out += "keras: " + keras->format + ", keras_version " + (keras->keras_version.empty() ? "unknown" : keras->keras_version) +
               ", backend " + (keras->backend.empty() ? "unknown" : keras->backend) + "\n";
        out += "keras layers, in model order:\n";
        for (std::size_t i = 0; i < keras->layers.size(); ++i) {
            const auto& l = keras->layers[i];
            out += "  " + std::to_string(i) + ". " + l.name + (l.class_name.empty() ? "" : " (" + l.class_name + ")") + ": ";
            if (l.weights.empty()) out += "no weights";
            for (std::size_t k = 0; k < l.weights.size(); ++k)
                out += (k ? ", " : "") + l.weights[k].name + " " + l.weights[k].dtype + internal::dims_text(l.weights[k].shape);
            out += "\n";
        }
        if (!keras->optimizer_weights.empty()) {
            // In the file's order, which load_optimizer_weights follows: a struct written from this
            // list loads (Keras 3 interleaves each variable's slots: m, v of the kernel, then the bias's).
            out += "keras optimizer weights, in the file's order (h5ser::keras::load_optimizer_weights takes them so):\n";
            for (std::size_t i = 0; i < keras->optimizer_weights.size(); ++i) {
                const auto& w = keras->optimizer_weights[i];
                out += "  " + std::to_string(i) + ". " + w.name + " " + w.dtype + internal::dims_text(w.shape) + "\n";
            }
        }
    }
    if (tree) {
        char header[256];
        std::snprintf(header, sizeof header, "%-40s %-24s %12s %12s %6s  %s\n", "name", "type", "params", "stored B", "ratio", "filters");
        // ratio = bytes of the elements / bytes stored; params = elements
        out += header;
        ls_text(*tree, "", out);
        out += "total: " + grouped(t.groups) + " groups, " + grouped(t.datasets) + " datasets, " + grouped(t.params) + " parameters, " +
               grouped(t.stored) + " bytes stored";
        char ratio[32];
        std::snprintf(ratio, sizeof ratio, " (ratio %.2f)\n", t.ratio());
        out += ratio;
    }
    print_text(out);
    return 0;
}

}  // namespace h5ser_cli
