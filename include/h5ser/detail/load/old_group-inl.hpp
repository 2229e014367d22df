// h5ser/detail/load/old_group-inl.hpp: definitions of h5ser/old_group.hpp, and of load_walk.hpp's
// run_upgrades, which makes the old_group each hook sees (compiled once with the compiled core;
// see h5ser/config.hpp).
#pragma once

#include <algorithm>
#include <exception>
#include <string>

#include "h5ser/old_group.hpp"

namespace h5ser {

H5SER_CORE_INLINE std::vector<std::string> old_group::names() const {
    const detail::member_listing& members = state_->group.members();
    std::vector<std::string> names;
    for (const auto& link : members.links) names.push_back(link.name);
    for (const auto& attribute : members.attributes)
        if (!detail::format::is_reserved_name(attribute)) names.push_back(attribute);
    std::sort(names.begin(), names.end());
    return names;
}

H5SER_CORE_INLINE bool old_group::contains(std::string_view name) const {
    const detail::member_listing& members = state_->group.members();
    return members.find_link(name) != nullptr || (members.has_attribute(name) && !detail::format::is_reserved_name(name));
}

H5SER_CORE_INLINE std::optional<old_object> old_group::find(std::string_view name) const {
    const detail::member_listing& members = state_->group.members();
    const detail::load_source& reads = state_->reads;
    const detail::where at = state_->at.child(name);
    old_object found;
    const auto take_record = [&](const detail::manifest_record& r) {
        found.dtype = std::string(r.dtype);
        for (std::size_t i = 0; i < r.rank; ++i) found.shape.push_back(static_cast<std::size_t>(r.dim(i)));
    };
    const auto take_extent = [&](const detail::extent& e) {
        for (const auto d : e.dims) found.shape.push_back(static_cast<std::size_t>(d));
    };
    if (members.has_attribute(name) && !detail::format::is_reserved_name(name)) {
        found.kind = old_object::type::attribute;
        if (const detail::manifest_record* r = reads.tree->attribute(state_->group, name)) {
            take_record(*r);
            return found;
        }
        const std::string key(name);
        const detail::handle attribute =
            detail::checked(H5Aopen(reads.tree->hdf5_group(state_->group, at), key.c_str(), H5P_DEFAULT), at, "cannot open the attribute");
        const detail::handle type = detail::checked(H5Aget_type(attribute.get()), at, "cannot read the attribute's type");
        const detail::handle space = detail::checked(H5Aget_space(attribute.get()), at, "cannot read the attribute's shape");
        found.dtype = detail::describe_type(type.get());
        take_extent(detail::read_extent(space.get(), at));
        return found;
    }
    const auto* link = members.find_link(name);
    if (!link || link->type != H5L_TYPE_HARD) return std::nullopt;
    const H5I_type_t type = reads.tree->object_type(state_->group, *link);
    if (type == H5I_GROUP) {
        found.kind = old_object::type::group;
        return found;
    }
    if (type != H5I_DATASET) return std::nullopt;
    if (reads.contents) {
        if (const detail::manifest_record* r = reads.contents->dataset(at.h5)) {
            take_record(*r);
            return found;
        }
    }
    detail::problem_list problems;
    const detail::handle dataset =
        detail::open_child(problems, reads.tree->hdf5_group(state_->group, at), name, H5I_DATASET, "dataset", at);
    problems.throw_if_any(reads.file);
    const detail::dataset_view view = detail::inspect_dataset(dataset.get(), at);
    found.dtype = view.dtype;
    take_extent(view.shape);
    return found;
}

H5SER_CORE_INLINE void old_group::note_read(std::string_view name, detail::digest_list digests) const {
    for (const auto& r : state_->read)
        if (r.name == name) return;
    state_->read.push_back({std::string(name), std::move(digests)});
}

}  // namespace h5ser

namespace h5ser::detail {

H5SER_CORE_INLINE void run_upgrades(std::vector<pending_upgrade>& upgrades, const load_source& reads, problem_list& problems,
                                    problem_list& mismatches, digest_list& fingerprint, undo_log& undo) {
    for (pending_upgrade& u : upgrades) {
        u.actions.apply_all(undo);
        old_group_state state{reads, u.group, u.at, u.file_version, {}};
        const old_group old(state);
        const std::string hook =
            "h5ser::evolution<" + std::string(u.type_name) + ">::upgrade from version " + std::to_string(u.file_version);
        try {
            u.run(old, u.copy, u.file_version);
        } catch (const error& e) {
            for (const problem& p : e.problems()) problems.add(p);
            problems.add({errc::upgrade_failed, u.at.field, u.at.h5_or_root(), {}, {}, hook + " threw the error above"});
            return;
        } catch (const std::exception& e) {
            problems.add({errc::upgrade_failed, u.at.field, u.at.h5_or_root(), {}, {}, hook + " threw: " + e.what()});
            return;
        }
        // The group's objects the hook read are used; those no field read count in the fingerprint.
        for (problem& p : u.unexpected.items()) {
            const auto read = std::find_if(state.read.begin(), state.read.end(),
                                           [&](const old_group_state::read_object& r) { return u.at.child(r.name).field == p.field_path; });
            if (read == state.read.end()) mismatches.add(std::move(p));
            else fingerprint.append(read->digests);
        }
    }
}

}  // namespace h5ser::detail
