// h5ser/detail/save/tree_copy-inl.hpp: definitions of h5ser/detail/save/tree_copy.hpp (compiled once with
// the compiled core; see h5ser/config.hpp).
#pragma once

#include <algorithm>
#include <cstring>

#include "h5ser/detail/format/hash.hpp"
#include "h5ser/detail/hdf5/attribute.hpp"
#include "h5ser/detail/hdf5/dataset.hpp"
#include "h5ser/detail/hdf5/group.hpp"
#include "h5ser/detail/save/tree_copy.hpp"

namespace h5ser::detail {

namespace tree_copy_detail {
/// Does a dataset of `type` hold strings (which are no tensor, and which the copy leaves out)?
inline bool holds_strings(hid_t type) { return H5Tget_class(type) == H5T_STRING || H5Tdetect_class(type, H5T_VLEN) > 0; }
}  // namespace tree_copy_detail

H5SER_CORE_INLINE raw_tensor read_raw_tensor(hid_t file, const std::string& path, const std::string& file_name) {
    const where at{file_name, {}, path};
    const handle ds = checked(H5Dopen2(file, path.c_str(), H5P_DEFAULT), at, "cannot open dataset");
    const dataset_view view = inspect_dataset(ds.get(), at);
    raw_tensor t;
    t.dtype = view.dtype;
    t.dims.assign(view.shape.dims.begin(), view.shape.dims.end());
    // Numbers are read (and the copy stores them) little-endian, as h5ser files and manifests keep
    // them and as a load reads them, whatever order the source stored (h5py can write big-endian).
    t.type = checked(H5Tcopy(view.type.get()), at, "H5Tcopy");
    const H5T_class_t type_class = H5Tget_class(view.type.get());
    if (type_class == H5T_INTEGER || type_class == H5T_FLOAT) check(H5Tset_order(t.type.get(), H5T_ORDER_LE), at, "H5Tset_order");
    const std::string why =
        tree_copy_detail::holds_strings(view.type.get()) ? "not a tensor (strings)" : read_elements(ds.get(), view, t.type.get(), t.bytes);
    if (!why.empty()) throw error(file_name, problem{errc::unsafe_file, {}, path, "a tensor h5ser can copy", why, {}});
    return t;
}

H5SER_CORE_INLINE void copy_attribute(hid_t from, hid_t to, const std::string& name, const where& at) {
    const handle attr = checked(H5Aopen(from, name.c_str(), H5P_DEFAULT), at, "cannot open attribute");
    const handle type = checked(H5Aget_type(attr.get()), at, "H5Aget_type");
    const handle space = checked(H5Aget_space(attr.get()), at, "H5Aget_space");
    const hssize_t n = H5Sget_simple_extent_npoints(space.get());
    std::vector<unsigned char> buffer(static_cast<std::size_t>(std::max<hssize_t>(n, 1)) * H5Tget_size(type.get()));
    check(H5Aread(attr.get(), type.get(), buffer.data()), at, "cannot read attribute");
    create_and_write_attribute(to, name, type.get(), space.get(), buffer.data(), at);
    if (H5Tdetect_class(type.get(), H5T_VLEN) > 0 || H5Tis_variable_str(type.get()) > 0)
        H5Dvlen_reclaim(type.get(), space.get(), H5P_DEFAULT, buffer.data());
}

H5SER_CORE_INLINE tree_writer::tree_writer(const std::string& path, storage_plan plan, std::size_t datasets, std::size_t manifest_bytes,
                                           bool in_place)
    : path_(path),
      plan_(std::move(plan)),
      file_(in_place ? sealed_file_writer(in_place_t{}, path, datasets, manifest_bytes)
                     : sealed_file_writer(path, datasets, manifest_bytes)) {}

H5SER_CORE_INLINE hid_t tree_writer::group(const std::string& path) {
    if (path.empty() || path == "/") return file_.root();
    if (const auto it = groups_.find(path); it != groups_.end()) return it->second.get();
    const auto slash = path.rfind('/');
    const hid_t parent = group(path.substr(0, slash));
    handle g = create_group(parent, path.substr(slash + 1), file_.plists(), where{path_, {}, path});
    file_.add_group(path);
    return groups_.emplace(path, std::move(g)).first->second.get();
}

H5SER_CORE_INLINE handle tree_writer::dataset(const std::string& path, const raw_tensor& t, std::optional<std::uint64_t> checksum) {
    const where at{path_, {}, path};
    const auto slash = path.rfind('/');
    const hid_t parent = group(path.substr(0, slash));
    const std::span<const unsigned char> elements = t.elements();
    handle ds = write_new_dataset(parent, path.substr(slash + 1),
                                  {t.type.get(), t.type.get(), t.dims.data(), t.dims.size(), elements.data(), t.dtype == "bfloat16"},
                                  file_.plists(), plan_, at);
    written_tensor w;
    w.rank = t.dims.size();
    std::copy(t.dims.begin(), t.dims.end(), w.dims.begin());
    w.data_hash = checksum ? *checksum : hash_bytes(elements.empty() ? static_cast<const void*>("") : elements.data(), elements.size());
    if (!elements.empty()) w.elements = elements.data();
    note_storage(ds.get(), w);
    file_.add_tensor(path, t.dtype, w, plan_);
    return ds;
}

H5SER_CORE_INLINE handle tree_writer::copied_dataset(const std::string& path, raw_tensor t, int source, std::uint64_t source_offset,
                                                     std::uint64_t length, const std::string& source_name) {
    std::uint64_t count = 1;
    for (const hsize_t d : t.dims) count *= d;
    if (length == 0 || stored_layout(plan_, t.dims.size(), count, H5Tget_size(t.type.get())) != record_layout::contiguous) {
        t.bytes.resize(static_cast<std::size_t>(length));  // compact or chunked: through HDF5
        errno = 0;
        if (length != 0 && !read_exact(source, t.bytes.data(), t.bytes.size(), source_offset))
            throw_io(source_name, "cannot read the data of '" + path + "'", errno ? errno : EIO);
        return dataset(path, t);
    }
    const where at{path_, {}, path};
    const auto slash = path.rfind('/');
    handle ds = create_tensor_dataset(group(path.substr(0, slash)), path.substr(slash + 1), t.type.get(), t.dims.data(), t.dims.size(),
                                      file_.plists(), plan_, at, nullptr, true);
    written_tensor w;
    note_storage(ds.get(), w);
    if (w.offset == HADDR_UNDEF || w.stored_bytes != length)
        throw error(path_, problem{errc::io,
                                   {},
                                   path,
                                   "space for " + std::to_string(length) + " bytes",
                                   "space for " + std::to_string(w.stored_bytes),
                                   "HDF5 allocated the wrong space (an h5ser bug)"});
    if (copy_target_.get() < 0) {
        copy_target_ = file_descriptor(::open(file_.written_path().c_str(), O_WRONLY | O_CLOEXEC));
        if (copy_target_.get() < 0) throw_io(path_, "cannot open " + file_.written_path() + " to copy tensors into it", errno);
    }
    if (!copy_and_hash(copy_target_.get(), w.offset, source, source_offset, length, w.data_hash))
        throw_io(path_, "cannot copy the data of '" + path + "' into the file", errno ? errno : EIO);
    write_tensor_attributes(ds.get(), t.dtype == "bfloat16", file_.plists(), at);
    w.rank = t.dims.size();
    std::copy(t.dims.begin(), t.dims.end(), w.dims.begin());
    file_.add_tensor(path, t.dtype, w, plan_);
    return ds;
}

H5SER_CORE_INLINE void tree_writer::copy_attributes(hid_t from, hid_t to, const std::string& path, const std::set<std::string>& skip,
                                                    const where& at) {
    for (const auto& name : list_members(from, false, at).attributes) {
        if (skip.count(name)) continue;
        copy_attribute(from, to, name, at);
        file_.add_stored_attribute(from, path, name, at);
    }
}

H5SER_CORE_INLINE void tree_writer::copy_root_attributes(hid_t source, save_mode mode, const where& at, bool new_fingerprint) {
    for (const auto& name : list_members(source, false, at).attributes) {
        if (name == format::version_attribute || (new_fingerprint && name == format::fingerprint_attribute)) continue;
        copy_attribute(source, file_.root(), name, at);
        if (!format::is_reserved_root_name(name)) file_.add_stored_attribute(source, "/", name, at);
    }
    write_attribute(file_.root(), format::version_attribute, h5ser::format_version, at, file_.plists().attributes());
    if (H5Aexists(source, format::mode_attribute) <= 0)  // another program's file
        write_attribute(file_.root(), format::mode_attribute, std::string(format::mode_name(mode)), at, file_.plists().attributes());
    if (new_fingerprint) write_attribute(file_.root(), format::fingerprint_attribute, file_.fingerprint(), at, file_.plists().attributes());
    file_.set_mode(mode);
}

H5SER_CORE_INLINE void tree_writer::commit() {
    copy_target_ = file_descriptor();
    groups_.clear();
    file_.close();
    file_.seal_and_commit();
}

namespace tree_copy_detail {

/// An object of the source that the copy holds, in creation order.
struct planned_object {
    std::string path;
    bool dataset = false;
    std::string dtype;
    std::vector<std::uint64_t> dims;
    std::uint64_t element_bytes = 0;
};

/// Attributes of datasets the writer sets itself from the tensor: not copied.
inline const std::set<std::string>& dataset_attributes_not_copied() {
    static const std::set<std::string> names{format::checksum_attribute, format::dtype_marker_attribute};
    return names;
}

/// Lists what the copy of group `group` (at `path`) holds, depth first in creation order.
inline void plan_group(hid_t group, const std::string& path, const std::string& file_name, bool skip_foreign,
                       std::vector<planned_object>& out) {
    const where at{file_name, {}, path};
    for (const auto& name : links_in_order(group, at)) {
        const std::string child = (path == "/" ? "" : path) + "/" + name;
        const where child_at{file_name, {}, child};
        H5L_info_t info{};
        check(H5Lget_info(group, name.c_str(), &info, H5P_DEFAULT), child_at, "H5Lget_info");
        const auto refuse = [&](const std::string& found) {
            if (skip_foreign) return;
            throw error(file_name,
                        problem{errc::unsafe_file, {}, child, "groups and datasets", found, "links are not copied, never followed"});
        };
        if (info.type != H5L_TYPE_HARD) {
            refuse(link_type_name(info.type));
            continue;
        }
        const handle object = checked(H5Oopen(group, name.c_str(), H5P_DEFAULT), child_at, "cannot open object");
        const H5I_type_t type = H5Iget_type(object.get());
        if (type == H5I_GROUP) {
            out.push_back({child, false, {}, {}, 0});
            plan_group(object.get(), child, file_name, skip_foreign, out);
        } else if (type == H5I_DATASET) {
            const dataset_view view = inspect_dataset(object.get(), child_at);
            if (holds_strings(view.type.get())) {
                refuse("a dataset of strings");
                continue;
            }
            out.push_back({child, true, view.dtype, std::vector<std::uint64_t>(view.shape.dims.begin(), view.shape.dims.end()),
                           H5Tget_size(view.type.get())});
        } else {
            refuse(h5_object_name(type));
        }
    }
}

/// Adds the record of tensor `t`, stored as `plan` says, without its data, to `sizing`.
inline void add_sizing_record(manifest_builder& sizing, const planned_tensor& t, const storage_plan& plan) {
    written_tensor w;
    w.rank = std::min<std::size_t>(t.dims.size(), w.dims.size());
    std::uint64_t count = 1;
    for (std::size_t i = 0; i < w.rank; ++i) count *= w.dims[i] = t.dims[i];
    // A compact record copies its elements (compact data is below 64 KiB); only their size counts.
    static const std::vector<unsigned char> zeros(std::size_t{1} << 16, 0);
    if (count * t.element_bytes <= zeros.size()) w.elements = zeros.data();
    add_dataset_record(sizing, t.path, t.dtype, w, plan);
}

/// The checksum the source keeps for the dataset at `path` (stored_checksum: its manifest's, or
/// format 1's attribute), or nothing when it keeps none (or one that is not a checksum).
inline std::optional<std::uint64_t> source_checksum(const manifest* contents, hid_t dataset, const std::string& path, const where& at) {
    const auto text = stored_checksum(contents, dataset, path, at);
    return text ? checksum_value(*text) : std::nullopt;
}

/// The fingerprint the source keeps: its manifest's, else its root attribute's (16 hex digits).
inline std::optional<std::uint64_t> source_fingerprint(const manifest* contents, hid_t root, const where& at) {
    if (contents) return contents->fingerprint();
    const auto text = read_string_attribute(root, format::fingerprint_attribute, at);
    return text ? from_hex(*text) : std::nullopt;
}

}  // namespace tree_copy_detail

H5SER_CORE_INLINE std::size_t manifest_size_of(const std::vector<planned_tensor>& tensors, const storage_plan& plan) {
    manifest_builder sizing;
    std::set<std::string> groups;
    for (const auto& t : tensors) {
        for (std::size_t slash = t.path.find('/', 1); slash != std::string::npos; slash = t.path.find('/', slash + 1))
            if (groups.insert(t.path.substr(0, slash)).second) sizing.group(t.path.substr(0, slash));
        tree_copy_detail::add_sizing_record(sizing, t, plan);
    }
    return sizing.size();
}

H5SER_CORE_INLINE tree_copy_result copy_h5ser_file(hid_t file, const std::string& path, const manifest* contents, const file_header& header,
                                                   const std::string& out, const tree_copy_options& options) {
    using namespace tree_copy_detail;
    const where root_at{path, {}, "/"};
    const handle root = open_root(file, path);
    std::vector<planned_object> objects;
    plan_group(root.get(), "/", path, options.skip_foreign_objects, objects);
    if (!options.only.empty()) {
        const std::string only = options.only.front() == '/' ? options.only : "/" + options.only;
        std::erase_if(objects, [&](const planned_object& o) { return o.path != only && only.rfind(o.path + "/", 0) != 0; });
    }

    // The manifest the copy will have, built once without data: the size its userblock reserves.
    manifest_builder sizing;
    std::size_t datasets = 0;
    std::uint64_t total_bytes = 0;
    for (const auto& o : objects) {
        const where at{path, {}, o.path};
        const handle object = checked(H5Oopen(root.get(), o.path.c_str(), H5P_DEFAULT), at, "cannot open object");
        if (o.dataset) {
            add_sizing_record(sizing, {o.path, o.dtype, o.dims, o.element_bytes}, options.plan);
            std::uint64_t count = 1;
            for (const std::uint64_t d : o.dims) count *= d;
            total_bytes += count * o.element_bytes;
            ++datasets;
        } else {
            sizing.group(o.path);
        }
        for (const auto& name : list_members(object.get(), false, at).attributes)
            if (!o.dataset || !dataset_attributes_not_copied().count(name)) add_stored_attribute(sizing, object.get(), o.path, name, at);
    }
    for (const auto& name : list_members(root.get(), false, root_at).attributes)
        if (!format::is_reserved_root_name(name)) add_stored_attribute(sizing, root.get(), "/", name, root_at);

    tree_writer w(out, options.plan, datasets, sizing.size(), options.in_place);
    std::uint64_t done = 0;
    tree_copy_result result;
    for (const auto& o : objects) {
        const where at{path, {}, o.path};
        const handle source = checked(H5Oopen(root.get(), o.path.c_str(), H5P_DEFAULT), at, "cannot open object");
        if (o.dataset) {
            raw_tensor t = read_raw_tensor(file, o.path, path);
            // A sealed file's compact tensors are read from its manifest's copy, as a load in place
            // reads them: what the copy holds is what that load would have checked.
            if (const manifest_record* r = contents ? contents->dataset(o.path) : nullptr;
                r && r->layout == record_layout::compact && r->value.size() == t.bytes.size() && !t.bytes.empty())
                std::memcpy(t.bytes.data(), r->value.data(), t.bytes.size());
            const auto checksum = options.carry_checksums ? source_checksum(contents, source.get(), o.path, at) : std::nullopt;
            const handle copy = w.dataset(o.path, t, checksum);
            w.copy_attributes(source.get(), copy.get(), o.path, dataset_attributes_not_copied(), at);
            done += t.bytes.size();
            ++result.tensors;
            if (options.progress) options.progress(done, total_bytes);
        } else {
            w.copy_attributes(source.get(), w.group(o.path), o.path, {}, at);
        }
    }
    // Another program's file keeps no fingerprint of h5ser's (a root attribute of that name is its
    // own): the copy's is the one of the tensors copied.
    w.copy_root_attributes(root.get(), header.mode, root_at, options.new_fingerprint || header.foreign);
    if (options.carry_checksums && !header.foreign) {
        if (const auto fingerprint = source_fingerprint(contents, root.get(), root_at)) {
            w.carry_fingerprint(*fingerprint);
            result.carried_fingerprint = true;
        }
    }
    result.fingerprint = w.fingerprint();
    if (options.expected_fingerprint && *options.expected_fingerprint != result.fingerprint) {
        throw error(path, problem{errc::checksum_mismatch,
                                  {},
                                  "/",
                                  "fingerprint " + *options.expected_fingerprint,
                                  "fingerprint " + result.fingerprint,
                                  "the tensors read differ from what was saved; run h5ser verify"});
    }
    w.commit();
    return result;
}

}  // namespace h5ser::detail
