// h5ser/detail/load/inspect-inl.hpp: definitions of h5ser/inspect.hpp (compiled once with the compiled core; see
// h5ser/config.hpp).
#pragma once

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <vector>

#include "h5ser/detail/format/seal.hpp"
#include "h5ser/detail/hdf5/attribute.hpp"
#include "h5ser/detail/hdf5/dataset.hpp"
#include "h5ser/detail/hdf5/dtype.hpp"
#include "h5ser/detail/hdf5/group.hpp"
#include "h5ser/detail/hdf5/hdf5.hpp"
#include "h5ser/detail/isolation/isolation.hpp"
#include "h5ser/detail/load/ranged_source.hpp"
#include "h5ser/detail/posix/file.hpp"
#include "h5ser/detail/safetensors/tree.hpp"
#include "h5ser/inspect.hpp"

namespace h5ser::detail {

/// A list's text: its elements in brackets, all of up to eight, else the first six, "..." and the
/// last (a 1,000-element list of layer names stays one short line).
H5SER_CORE_INLINE std::string list_text(std::size_t count, const std::function<std::string(std::size_t)>& element) {
    std::string out = "[";
    const auto add = [&](std::size_t i) { out += (out.size() > 1 ? ", " : "") + element(i); };
    if (count <= 8) {
        for (std::size_t i = 0; i < count; ++i) add(i);
    } else {
        for (std::size_t i = 0; i < 6; ++i) add(i);
        out += ", ...";
        add(count - 1);
    }
    return out + "]";
}

/// A string attribute's text: one string quoted and cut to 60 characters; in a list, each cut
/// shorter (the line shows several).
H5SER_CORE_INLINE std::string strings_text(const std::vector<std::string>& strings, bool is_list) {
    if (!is_list && strings.size() == 1) return short_string_value(strings.front());
    return list_text(strings.size(), [&](std::size_t i) {
        return strings[i].size() > 20 ? short_string_value(strings[i].substr(0, 17) + "...") : short_string_value(strings[i]);
    });
}

H5SER_CORE_INLINE std::string element_text(element_kind kind, const void* element) {
    return with_element_type(kind, [&]<class T>() -> std::string {
        T value;
        std::memcpy(&value, element, sizeof(T));
        if constexpr (std::is_same_v<T, bool>) {
            return value ? "True" : "False";
        } else if constexpr (std::is_integral_v<T>) {
            return std::to_string(value);
        } else {
            double v = 0;
            if constexpr (sizeof(T) == 8) v = value;
            else v = static_cast<double>(static_cast<float>(value));
            if (std::isnan(v)) return "nan";
            if (std::isinf(v)) return v < 0 ? "-inf" : "inf";
            char buf[40];
            std::string text;
            if constexpr (sizeof(T) == 2) {
                // The fewest significant digits that read back as the same 16-bit value.
                for (int digits = 1; digits < 10 && text.empty(); ++digits) {
                    const int n = std::snprintf(buf, sizeof buf, "%.*g", digits, v);
                    if (T(static_cast<float>(std::strtod(buf, nullptr))).bits == value.bits) text.assign(buf, static_cast<std::size_t>(n));
                }
            } else {
                const auto r =
                    sizeof(T) == 4 ? std::to_chars(buf, buf + sizeof buf, static_cast<float>(v)) : std::to_chars(buf, buf + sizeof buf, v);
                text.assign(buf, r.ptr);
            }
            if (text.find_first_of(".e") == std::string::npos) text += ".0";  // a float looks like one: 1.0, not 1
            return text;
        }
    });
}

H5SER_CORE_INLINE std::string attribute_value_text(hid_t attr, hid_t type, hid_t space, const extent& ext, const where& at) {
    const std::size_t count = ext.count();
    const bool is_list = !ext.scalar;
    const H5T_class_t cls = H5Tget_class(type);
    if (count > (std::size_t{1} << 20)) return {};  // not read for a summary
    if (cls == H5T_STRING) {
        return strings_text(read_strings(attr, type, space, count, true, at), is_list);
    }
    const bool is_bool = describe_type(type) == "bool";
    if (cls == H5T_INTEGER || cls == H5T_ENUM) {
        std::vector<long long> v(count);
        if (count != 0 && H5Aread(attr, H5T_NATIVE_LLONG, v.data()) < 0) {
            H5Eclear2(H5E_DEFAULT);
            return {};
        }
        const auto text = [&](std::size_t i) { return is_bool ? std::string(v[i] ? "true" : "false") : std::to_string(v[i]); };
        return is_list ? list_text(count, text) : count == 1 ? text(0) : std::string();
    }
    if (cls == H5T_FLOAT) {
        // The shortest text that reads back as the stored value, in its own precision: a float32
        // 0.9 is "0.9", as numpy prints it, not 0.899999976.
        const bool single = H5Tget_size(type) <= sizeof(float);
        std::vector<double> v(count);
        if (count != 0 && H5Aread(attr, H5T_NATIVE_DOUBLE, v.data()) < 0) {
            H5Eclear2(H5E_DEFAULT);
            return {};
        }
        const auto text = [&](std::size_t i) {
            // A 4-byte type of the file's own making may hold what no float does: printed as double.
            if (single && !(std::abs(v[i]) > static_cast<double>(std::numeric_limits<float>::max()))) {
                const float f = static_cast<float>(v[i]);
                return element_text(element_kind::float32, &f);
            }
            return element_text(element_kind::float64, &v[i]);
        };
        return is_list ? list_text(count, text) : count == 1 ? text(0) : std::string();
    }
    return {};
}

H5SER_CORE_INLINE void inspect_attributes(hid_t object, file_node& node, const where& at) {
    const member_listing listing = list_members(object, false, at);
    for (const auto& name : listing.attributes) {
        handle attr = checked(H5Aopen(object, name.c_str(), H5P_DEFAULT), at, "cannot open attribute");
        handle type = checked(H5Aget_type(attr.get()), at, "H5Aget_type");
        handle space = checked(H5Aget_space(attr.get()), at, "H5Aget_space");
        const extent ext = read_extent(space.get(), at);
        node.attributes.push_back(
            {name, describe_type(type.get()), ext.text(), attribute_value_text(attr.get(), type.get(), space.get(), ext, at)});
    }
}

H5SER_CORE_INLINE void inspect_object(hid_t object, file_node& node, const where& at) {
    inspect_attributes(object, node, at);
    if (H5Iget_type(object) == H5I_DATASET) {
        node.kind = file_node::kind_type::dataset;
        const dataset_view view = inspect_dataset(object, at);
        node.dtype = view.dtype;
        for (hsize_t d : view.shape.dims) node.shape.push_back(static_cast<std::size_t>(d));
        node.layout = view.layout == H5D_COMPACT   ? "compact"
                      : view.layout == H5D_CHUNKED ? "chunked"
                      : view.layout == H5D_VIRTUAL ? "virtual"
                                                   : "contiguous";
        node.element_bytes = H5Tget_size(view.type.get());
        node.stored_bytes = view.stored_bytes;
        for (const H5Z_filter_t id : view.filter_ids) node.filters.push_back(filter_name(id));
        return;
    }
    if (H5Iget_type(object) != H5I_GROUP) {
        node.kind = file_node::kind_type::other;
        return;
    }
    for (const auto& name : links_in_order(object, at)) {
        file_node child;
        child.name = name;
        child.path = (node.path == "/" ? "" : node.path) + "/" + name;
        H5L_info_t info{};
        check(H5Lget_info(object, name.c_str(), &info, H5P_DEFAULT), at, "H5Lget_info");
        if (info.type != H5L_TYPE_HARD) {  // never follow links out of the file
            child.kind = file_node::kind_type::other;
            child.dtype = link_type_name(info.type);
        } else {
            const where child_at{at.file, {}, child.path};
            handle opened = checked(H5Oopen(object, name.c_str(), H5P_DEFAULT), child_at, "cannot open object");
            inspect_object(opened.get(), child, child_at);
        }
        node.children.push_back(std::move(child));
    }
}

H5SER_CORE_INLINE void render(const file_node& node, const std::string& indent, std::string& out) {
    out += indent;
    if (node.kind == file_node::kind_type::dataset) {
        out += node.name + "  dataset " + node.dtype + dims_text(node.shape) + "\n";
    } else if (node.kind == file_node::kind_type::group) {
        out += (node.name.empty() ? std::string("/") : node.name + "/") + "\n";
    } else {
        out += node.name + "  " + (node.dtype.empty() ? std::string("other object") : node.dtype) + "\n";
    }
    for (const auto& a : node.attributes) {
        out += indent + "  @" + a.name + "  " + a.dtype + (a.shape == "scalar" ? std::string() : a.shape);
        if (!a.value.empty()) out += " = " + a.value;
        out += "\n";
    }
    for (const auto& child : node.children) render(child, indent + "  ", out);
}

H5SER_CORE_INLINE file_node inspect_opened(hid_t file, const std::string& path) {
    const where at{path, {}, "/"};
    handle root = open_root(file, path);
    file_node node;
    node.path.push_back('/');  // not = "/": GCC 12 warns falsely (-Wrestrict, bug 105329)
    inspect_object(root.get(), node, at);
    return node;
}

H5SER_CORE_INLINE file_node inspect_file(const std::string& path) {
    hdf5_scope hdf5;
    handle file = open_for_reading(path);
    return inspect_opened(file.get(), path);
}

/// The text of an attribute's value as a manifest record encodes it (format.md), as
/// attribute_value_text writes it for an attribute HDF5 reads.
H5SER_CORE_INLINE std::string manifest_value_text(const manifest_record& r) {
    const bool is_list = r.rank == 1;
    const std::size_t count = is_list ? static_cast<std::size_t>(r.dim(0)) : 1;
    const unsigned char* bytes = reinterpret_cast<const unsigned char*>(r.value.data());
    if (r.dtype == "string") {
        std::vector<std::string> strings;
        for (std::size_t i = 0, at = 0; i < count; ++i) {  // the manifest's parser checked every length
            const std::uint32_t n = load_u32(bytes + at);
            strings.emplace_back(r.value.substr(at + 4, n));
            at += 4 + n;
        }
        return strings_text(strings, is_list);
    }
    const std::optional<element_kind> kind = element_kind_named(r.dtype);
    if (!kind) return {};
    const std::size_t size = manifest_element_size(r.dtype);
    const auto text = [&](std::size_t i) {
        if (*kind == element_kind::bool_) return std::string(bytes[i] != 0 ? "true" : "false");
        return element_text(*kind, bytes + i * size);
    };
    return is_list ? list_text(count, text) : text(0);
}

/// The attribute of `r`, an attribute record, as file_node lists it.
H5SER_CORE_INLINE file_node::attribute_info attribute_of(const manifest_record& r) {
    return {std::string(r.name), std::string(r.dtype), r.rank == 1 ? "[" + std::to_string(r.dim(0)) + "]" : "scalar",
            manifest_value_text(r)};
}

/// Orders attributes by name, as HDF5 lists them (inspect_attributes).
H5SER_CORE_INLINE bool attribute_before(const file_node::attribute_info& a, const file_node::attribute_info& b) { return a.name < b.name; }

/// Adds to `node` (a group of `contents`) its groups and datasets, depth first, with their
/// attributes: a group's from the manifest's index, a dataset's from `dataset_attributes` (rare:
/// h5ser writes none; a converted h5py file may have some).
H5SER_CORE_INLINE void add_manifest_children(const manifest& contents, file_node& node,
                                             const std::vector<const manifest_record*>& dataset_attributes) {
    const manifest_group* group = contents.group(node.path);
    if (!group) return;
    for (const std::size_t i : group->links) {
        const manifest_record& r = contents.records()[i];
        file_node child;
        child.name = std::string(r.link_name());
        child.path = std::string(r.path);
        if (r.kind == record_kind::dataset) {
            child.kind = file_node::kind_type::dataset;
            child.dtype = std::string(r.dtype);
            for (std::size_t d = 0; d < r.rank; ++d) child.shape.push_back(static_cast<std::size_t>(r.dim(d)));
            child.layout = r.layout == record_layout::compact ? "compact" : r.layout == record_layout::chunked ? "chunked" : "contiguous";
            child.element_bytes = manifest_element_size(r.dtype);
            child.stored_bytes = r.length;
            for (std::size_t f = 0; f < r.filter_count; ++f) child.filters.push_back(filter_name(static_cast<H5Z_filter_t>(r.filter(f))));
            for (const manifest_record* a : dataset_attributes)
                if (a->path == r.path) child.attributes.push_back(attribute_of(*a));
        } else {
            if (const manifest_group* own = contents.group(child.path))
                for (const std::size_t k : own->attributes) child.attributes.push_back(attribute_of(contents.records()[k]));
            add_manifest_children(contents, child, dataset_attributes);
        }
        std::sort(child.attributes.begin(), child.attributes.end(), attribute_before);
        node.children.push_back(std::move(child));
    }
}

H5SER_CORE_INLINE file_node tree_of(const manifest& contents) {
    file_node root;
    root.path.push_back('/');
    const auto attribute = [](std::string name, std::string dtype, std::string value) {
        return file_node::attribute_info{std::move(name), std::move(dtype), "scalar", std::move(value)};
    };
    root.attributes.push_back(attribute(std::string(format::version_attribute), "int32", std::to_string(contents.format_version())));
    root.attributes.push_back(
        attribute(std::string(format::mode_attribute), "string", short_string_value(std::string(format::mode_name(contents.mode())))));
    root.attributes.push_back(
        attribute(std::string(format::fingerprint_attribute), "string", short_string_value(to_hex(contents.fingerprint()))));
    if (const manifest_group* own = contents.group("/"))
        for (const std::size_t k : own->attributes) root.attributes.push_back(attribute_of(contents.records()[k]));
    std::sort(root.attributes.begin(), root.attributes.end(), attribute_before);
    std::vector<const manifest_record*> dataset_attributes;
    for (const manifest_record& r : contents.records())
        if (r.kind == record_kind::attribute && !contents.group(r.path)) dataset_attributes.push_back(&r);
    add_manifest_children(contents, root, dataset_attributes);
    return root;
}

H5SER_CORE_INLINE file_node inspect(const std::string& path, isolation mode) {
    // A URL: the tree its manifest lists, one request, no HDF5 (docs/remote.md).
    if (is_url(path)) return tree_of(open_sealed_url(path, true).contents);
    // A .safetensors file is read here, without libhdf5: its parser is h5ser's own, fuzzed.
    if (auto header = safetensors::header_if_safetensors(path)) return safetensors::tree_of(*header);
    if (needs_isolation(mode, path)) return run_isolated<file_node>(path, [&](const progress_callback&) { return inspect_file(path); });
    return inspect_file(path);
}

}  // namespace h5ser::detail

namespace h5ser {

H5SER_CORE_INLINE std::string to_string(const file_node& node) {
    std::string out;
    detail::render(node, "", out);
    return out;
}

}  // namespace h5ser
