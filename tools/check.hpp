// `h5ser check FILE --against REFERENCE`: what h5ser::load would say loading FILE into the struct
// REFERENCE was saved from, without the struct and without reading tensor data. REFERENCE is a
// full-model h5ser file or its schema as JSON (`h5ser schema` prints it). The lines are those of
// an h5ser::load_report (missing, unexpected), plus the differences a strict load refuses
// (mismatch) and the versions an upgrade hook would have to bridge (older, newer).
#pragma once

#include <h5ser/h5ser.hpp>

#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "internals.hpp"
#include "output.hpp"
#include "schema.hpp"

namespace h5ser_cli {

/// What the reference's schema says one object of the file must be.
struct expected_object {
    std::string h5;     ///< its HDF5 path
    std::string field;  ///< its field path, as h5ser's errors and reports write it
    std::string kind;   ///< "dataset", "attribute", "group" (groups, sequences, maps) or "absent" (an empty optional)
    std::string dtype;
    std::vector<std::size_t> shape;
    std::string type;  ///< groups: the struct's type name
    bool optimizer = false;
};

inline void collect_expected(const internal::json_value& node, const std::string& h5, const std::string& field, bool optimizer,
                             std::vector<expected_object>& out, int depth = 0) {
    if (depth > 64 || !node.is_object()) return;
    expected_object e{h5.empty() ? "/" : h5,
                      field,
                      std::string(node.string_at("kind")),
                      std::string(node.string_at("dtype")),
                      {},
                      std::string(node.string_at("type")),
                      optimizer || (node.find("optimizer_state") && node.find("optimizer_state")->boolean)};
    if (const auto* shape = node.find("shape"); shape && shape->is_array())
        for (const auto& d : shape->items) e.shape.push_back(static_cast<std::size_t>(d.number));
    if (e.kind == "sequence" || e.kind == "map") e.kind = "group";
    if (depth > 0) out.push_back(e);
    const auto children = [&](const char* key, auto name_of) {
        if (const auto* c = node.find(key); c && c->is_object())
            for (std::size_t i = 0; i < c->keys.size(); ++i)
                collect_expected(c->items[i], h5 + "/" + c->keys[i], name_of(c->keys[i]), e.optimizer, out, depth + 1);
    };
    children("fields", [&](const std::string& k) { return field.empty() ? k : field + "." + k; });
    children("elements", [&](const std::string& k) { return field + "[" + k + "]"; });
    children("entries", [&](const std::string& k) { return field + "[\"" + k + "\"]"; });
}

/// The schema of REFERENCE: its `schema` attribute, or the file itself when it is JSON.
inline std::string reference_schema(const std::string& reference) {
    namespace d = internal;
    std::ifstream in(reference, std::ios::binary);
    if (in && in.peek() == '{') {
        std::ostringstream text;
        text << in.rdbuf();
        return text.str();
    }
    d::handle file = d::open_for_reading(reference);
    d::handle root = d::open_root(file.get(), reference);
    if (auto text = schema_text(root.get(), reference)) return *text;
    throw h5ser::error(reference, h5ser::problem{h5ser::errc::invalid_value,
                                                 {},
                                                 "/",
                                                 "a full-model h5ser file or its schema as JSON",
                                                 "no schema",
                                                 "h5ser schema FILE > schema.json writes one from a full-model file"});
}

inline void index_tree(const h5ser::file_node& n, std::map<std::string, const h5ser::file_node*>& out) {
    out[n.path.empty() ? "/" : n.path] = &n;
    for (const auto& c : n.children) index_tree(c, out);
}

inline std::string parent_of(const std::string& h5) {
    const auto slash = h5.rfind('/');
    return slash == 0 ? "/" : h5.substr(0, slash);
}
inline std::string name_of(const std::string& h5) { return h5.substr(h5.rfind('/') + 1); }

inline int check(const std::string& path, const std::string& reference, bool as_json) {
    namespace d = internal;
    d::hdf5_scope hdf5;
    const d::json_value schema = d::parse_json(reference_schema(reference));
    std::vector<expected_object> expected;
    collect_expected(schema, "", "", false, expected);
    std::map<std::string, int> versions;  // the reference's struct versions, by type name
    if (const auto* v = schema.find("versions"); v && v->is_object())
        for (std::size_t i = 0; i < v->keys.size(); ++i) versions[v->keys[i]] = static_cast<int>(v->items[i].number);

    const h5ser::file_node tree = h5ser::inspect(path);
    std::map<std::string, const h5ser::file_node*> objects;
    index_tree(tree, objects);
    const auto attribute = [&](const std::string& owner, const std::string& name) -> const h5ser::file_node::attribute_info* {
        const auto it = objects.find(owner);
        if (it == objects.end()) return nullptr;
        for (const auto& a : it->second->attributes)
            if (a.name == name) return &a;
        return nullptr;
    };
    bool weights_only = false;
    for (const auto& a : tree.attributes)
        if (a.name == d::format::mode_attribute) weights_only = a.value.find("weights_only") != std::string::npos;

    std::vector<std::pair<std::string, std::string>> lines;  // what, entry
    std::set<std::string> used;                              // HDF5 paths (attributes: owner + "/@" + name)
    std::map<std::string, std::string> field_of;             // HDF5 path -> field path
    field_of["/"] = "";
    std::string missing_group;  // children of a missing group are not listed again
    const auto text = [](const std::string& kind, const std::string& dtype, const std::vector<std::size_t>& shape) {
        return kind + " " + dtype + d::dims_text(shape);
    };
    for (const expected_object& e : expected) {
        field_of[e.h5] = e.field;
        if (!missing_group.empty() && e.h5.rfind(missing_group + "/", 0) == 0) continue;
        // A weights-only file holds neither attributes nor optimizer state: a load of it does not look for them.
        if (weights_only && (e.kind == "attribute" || e.optimizer)) continue;
        if (e.kind == "absent") {
            used.insert(e.h5);
            continue;
        }
        if (e.kind == "attribute") {
            const auto* a = attribute(parent_of(e.h5), name_of(e.h5));
            if (!a) {
                lines.emplace_back("missing", e.field + " (attribute " + e.dtype + ")");
                continue;
            }
            used.insert(parent_of(e.h5) + "/@" + name_of(e.h5));
            if (a->dtype != e.dtype)
                lines.emplace_back("mismatch", e.field + ": expected attribute " + e.dtype + ", found attribute " + a->dtype);
            continue;
        }
        const auto found = objects.find(e.h5);
        if (found == objects.end()) {
            lines.emplace_back("missing", e.field + " (" + e.kind + (e.dtype.empty() ? "" : " " + e.dtype) + ")");
            if (e.kind == "group") missing_group = e.h5;
            continue;
        }
        used.insert(e.h5);
        const h5ser::file_node& n = *found->second;
        const bool is_dataset = n.kind == h5ser::file_node::kind_type::dataset;
        if ((e.kind == "dataset") != is_dataset) {
            lines.emplace_back("mismatch", e.field + ": expected " + e.kind + ", found " + (is_dataset ? "dataset" : "group"));
            continue;
        }
        if (is_dataset && (n.dtype != e.dtype || n.shape != e.shape)) {
            const bool rank_only = n.dtype == e.dtype && n.shape.size() == e.shape.size();
            std::string note;
            if (rank_only) note = " (a field sized in memory must match; an unsized one takes the file's)";
            else if (n.dtype != e.dtype && h5ser::detail::convertible(n.dtype, e.dtype))
                note = " (h5ser::convert_dtypes converts " + n.dtype + " to " + e.dtype + ")";
            lines.emplace_back(rank_only ? "shape" : "mismatch", e.field + ": expected " + text("dataset", e.dtype, e.shape) + ", found " +
                                                                     text("dataset", n.dtype, n.shape) + note);
        }
        if (!is_dataset && !e.type.empty()) {
            const auto known = versions.find(e.type);
            const int want = known == versions.end() ? 1 : known->second;
            int have = 1;
            if (const auto* v = attribute(e.h5, d::format::struct_version_attribute)) have = std::atoi(v->value.c_str());
            const std::string saved =
                e.field + " (" + e.type + " saved at version " + std::to_string(have) + ", the struct is at " + std::to_string(want);
            if (have < want) lines.emplace_back("older", saved + ": its h5ser::evolution upgrade hook, if it declares one, runs)");
            if (have > want) lines.emplace_back("newer", saved + ": a load refuses it)");
        }
    }
    // What the file holds that no field reads: below the groups the schema describes.
    for (const auto& [h5, node] : objects) {
        if (h5 == "/") continue;
        const std::string parent = parent_of(h5);
        if (!used.count(parent) && parent != "/") continue;  // inside something unexpected or missing: listed once, above
        if (!used.count(h5)) {
            const auto f = field_of.find(parent);
            const std::string field = (f == field_of.end() || f->second.empty() ? "" : f->second + ".") + name_of(h5);
            lines.emplace_back("unexpected",
                               field + " (" + (node->kind == h5ser::file_node::kind_type::dataset ? "dataset" : "group") + ")");
        }
    }
    if (!weights_only) {
        for (const auto& [h5, node] : objects) {
            if (node->kind != h5ser::file_node::kind_type::group || (h5 != "/" && !used.count(h5))) continue;
            for (const auto& a : node->attributes) {
                if (d::format::is_reserved_name(a.name) || (h5 == "/" && d::format::is_reserved_root_name(a.name))) continue;
                if (used.count(h5 + "/@" + a.name)) continue;
                const std::string owner = field_of.count(h5) ? field_of[h5] : h5;
                lines.emplace_back("unexpected", (owner.empty() ? "" : owner + ".") + a.name + " (attribute)");
            }
        }
    }
    if (as_json) {
        json j;
        j.begin_object().string("file", path).string("against", reference).boolean("complete", lines.empty());
        j.begin_array("lines");
        for (const auto& [what, entry] : lines) j.begin_object().string("what", what).string("entry", entry).end_object();
        j.end_array().end_object();
        print_json(j);
        return lines.empty() ? 0 : 1;
    }
    std::string out = "file: " + path + "\nagainst: " + reference + " (" + std::string(schema.string_at("type")) + ")" +
                      (weights_only ? "; the file is weights-only: attributes and optimizer state not compared" : "") + "\n";
    for (const auto& [what, entry] : lines) out += what + ": " + entry + "\n";
    out += lines.empty()
               ? "complete: a strict load reads every field\n"
               : std::to_string(lines.size()) +
                     " difference(s): a strict load refuses the file; h5ser::lenient with an h5ser::load_report loads what matches\n";
    print_text(out);
    return lines.empty() ? 0 : 1;
}

}  // namespace h5ser_cli
