// h5ser/detail/load/file_tree-inl.hpp: definitions of h5ser/detail/load/file_tree.hpp (compiled once with
// the compiled core; see h5ser/config.hpp).
#pragma once

#include "h5ser/detail/load/file_tree.hpp"
#include "h5ser/detail/posix/file.hpp"

namespace h5ser::detail {

H5SER_CORE_INLINE tree_group::~tree_group() = default;
H5SER_CORE_INLINE tree_group::tree_group(tree_group&& other) noexcept = default;
H5SER_CORE_INLINE tree_group& tree_group::operator=(tree_group&& other) noexcept = default;

namespace tree_detail {

/// What the manifest's group `entry` holds, listed as HDF5 would list it (by name).
inline member_listing manifest_members(const manifest& contents, const manifest_group& entry) {
    member_listing out;
    out.links.reserve(entry.links.size());
    for (const std::size_t i : entry.links) {
        const manifest_record& r = contents.records()[i];
        out.links.push_back({std::string(r.link_name()), H5L_TYPE_HARD, r.kind == record_kind::group ? H5I_GROUP : H5I_DATASET});
    }
    out.attributes.reserve(entry.attributes.size());
    for (const std::size_t i : entry.attributes) out.attributes.emplace_back(contents.records()[i].name);
    out.sort_by_name();
    return out;
}

}  // namespace tree_detail

H5SER_CORE_INLINE tree_group file_tree::root(const where& at) {
    tree_group g;
    g.path_ = "/";
    if (contents_) {
        g.entry_ = contents_->group("/");  // a checked manifest always lists its root
        g.members_ = tree_detail::manifest_members(*contents_, *g.entry_);
    } else {
        g.id_ = open_root(file_.get(), path_);
        g.members_ = list_members(g.id_.get(), true, at);
    }
    return g;
}

H5SER_CORE_INLINE tree_group file_tree::share(const tree_group& group) const {
    tree_group g;
    g.path_ = group.path_;
    g.members_ = group.members_;
    g.entry_ = group.entry_;
    if (group.id_ && H5Iinc_ref(group.id_.get()) >= 0) g.id_ = handle(group.id_.get());
    return g;
}

H5SER_CORE_INLINE std::optional<tree_group> file_tree::open_group(problem_list& problems, const tree_group& parent, std::string_view name,
                                                                  const where& at) {
    static const std::string expected = "group";
    tree_group g;
    g.path_ = parent.path_ == "/" ? "/" + std::string(name) : parent.path_ + "/" + std::string(name);
    if (contents_) {
        g.entry_ = contents_->group(g.path_);
        if (!g.entry_) {
            const bool dataset = contents_->dataset(g.path_) != nullptr;
            problems.add({errc::kind_mismatch, at.field, at.h5_or_root(), expected, dataset ? "dataset" : "object", {}});
            return std::nullopt;
        }
        g.members_ = tree_detail::manifest_members(*contents_, *g.entry_);
        return g;
    }
    g.id_ = open_child(problems, parent.id_.get(), name, H5I_GROUP, expected, at);
    if (!g.id_) return std::nullopt;
    g.members_ = list_members(g.id_.get(), true, at);
    return g;
}

H5SER_CORE_INLINE H5I_type_t file_tree::object_type(const tree_group& group, const member_listing::link& link) const {
    if (link.object != H5I_BADID) return link.object;
    const handle object(H5Oopen(group.id_.get(), link.name.c_str(), H5P_DEFAULT));
    if (!object) {
        H5Eclear2(H5E_DEFAULT);
        return H5I_BADID;
    }
    return H5Iget_type(object.get());
}

H5SER_CORE_INLINE const manifest_record* file_tree::attribute(const tree_group& group, std::string_view name) const {
    return contents_ ? contents_->attribute(group.path_, name) : nullptr;
}

H5SER_CORE_INLINE hid_t file_tree::hdf5_group(const tree_group& group, const where& at) {
    if (group.id_) return group.id_.get();
    if (!file_ && !opened_) {
        throw error(path_, problem{errc::needs_local_copy, at.field, at.h5_or_root(), "an object h5ser reads without HDF5",
                                   "one HDF5 must read", "download the file and load the local copy"});
    }
    if (!file_) file_ = opened_->open_hdf5(file_access(at).get(), at);
    group.id_ = checked(H5Gopen2(file_.get(), group.path_.c_str(), H5P_DEFAULT), at, "cannot open group");
    return group.id_.get();
}

}  // namespace h5ser::detail
