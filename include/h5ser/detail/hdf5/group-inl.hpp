// h5ser/detail/hdf5/group-inl.hpp: definitions of h5ser/detail/hdf5/group.hpp (compiled once with the compiled core; see
// h5ser/config.hpp).
#pragma once

#include <algorithm>
#include <functional>

#include "h5ser/detail/hdf5/group.hpp"

namespace h5ser::detail {

H5SER_CORE_INLINE void member_listing::sort_by_name() {
    std::sort(links.begin(), links.end(), [](const link& a, const link& b) { return a.name < b.name; });
    std::sort(attributes.begin(), attributes.end());
}

H5SER_CORE_INLINE const member_listing::link* member_listing::find_link(std::string_view name) const noexcept {
    const auto it = std::lower_bound(links.begin(), links.end(), name, [](const link& l, std::string_view n) { return l.name < n; });
    return it != links.end() && it->name == name ? &*it : nullptr;
}

H5SER_CORE_INLINE bool member_listing::has_attribute(std::string_view name) const noexcept {
    return std::binary_search(attributes.begin(), attributes.end(), name, std::less<>());
}

H5SER_CORE_INLINE creation_plists::creation_plists(const where& at)
    : link(checked(H5Pcreate(H5P_LINK_CREATE), at, "H5Pcreate(link)")),
      group(checked(H5Pcreate(H5P_GROUP_CREATE), at, "H5Pcreate(group)")),
      attribute(utf8_name_plist(H5P_ATTRIBUTE_CREATE, at)),
      utf8_string(utf8_string_type(at)),
      contiguous(checked(H5Pcreate(H5P_DATASET_CREATE), at, "H5Pcreate(dataset)")),
      compact(checked(H5Pcreate(H5P_DATASET_CREATE), at, "H5Pcreate(dataset)")),
      contiguous_allocated(checked(H5Pcreate(H5P_DATASET_CREATE), at, "H5Pcreate(dataset)")) {
    check(H5Pset_char_encoding(link.get(), H5T_CSET_UTF8), at, "H5Pset_char_encoding");
    check(H5Pset_fill_time(contiguous.get(), H5D_FILL_TIME_NEVER), at, "H5Pset_fill_time");
    check(H5Pset_fill_time(compact.get(), H5D_FILL_TIME_NEVER), at, "H5Pset_fill_time");
    check(H5Pset_layout(compact.get(), H5D_COMPACT), at, "H5Pset_layout(compact)");
    check(H5Pset_fill_time(contiguous_allocated.get(), H5D_FILL_TIME_NEVER), at, "H5Pset_fill_time");
    check(H5Pset_alloc_time(contiguous_allocated.get(), H5D_ALLOC_TIME_EARLY), at, "H5Pset_alloc_time");
    check(H5Pset_link_creation_order(group.get(), H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED), at, "H5Pset_link_creation_order");
    // No wall-clock times in object headers: the same model saves to the same bytes.
    for (const handle* plist : {&group, &contiguous, &compact, &contiguous_allocated})
        check(H5Pset_obj_track_times(plist->get(), false), at, "H5Pset_obj_track_times");
}

H5SER_CORE_INLINE handle create_group(hid_t parent, std::string_view name, const creation_plists& plists, const where& at) {
    const std::string n(name);
    return checked(H5Gcreate2(parent, n.c_str(), plists.link.get(), plists.group.get(), H5P_DEFAULT), at, "cannot create group");
}

H5SER_CORE_INLINE handle open_child(problem_list& problems, hid_t parent, std::string_view name, H5I_type_t want,
                                    const std::string& expected, const where& at) {
    const std::string n(name);
    handle object = checked(H5Oopen(parent, n.c_str(), H5P_DEFAULT), at, "cannot open object");
    const H5I_type_t type = object_type(object.get());
    if (type != want) {
        problems.add({errc::kind_mismatch, at.field, at.h5_or_root(), expected, h5_object_name(type), {}});
        return handle();
    }
    return object;
}

H5SER_CORE_INLINE member_listing list_members(hid_t object, bool is_group, const where& at) {
    member_listing out;
    if (is_group) {
        auto on_link = [](hid_t, const char* name, const H5L_info_t* info, void* sink) -> herr_t {
            static_cast<member_listing*>(sink)->links.push_back({name, info->type});
            return 0;
        };
        hsize_t index = 0;
        check(H5Literate(object, H5_INDEX_NAME, H5_ITER_INC, &index, on_link, &out), at, "cannot list group");
    }
    auto on_attribute = [](hid_t, const char* name, const H5A_info_t*, void* sink) -> herr_t {
        static_cast<member_listing*>(sink)->attributes.emplace_back(name);
        return 0;
    };
    hsize_t index = 0;
    check(H5Aiterate2(object, H5_INDEX_NAME, H5_ITER_INC, &index, on_attribute, &out), at, "cannot list attributes");
    out.sort_by_name();
    return out;
}

H5SER_CORE_INLINE std::vector<std::string> links_in_order(hid_t group, const where& at) {
    std::vector<std::string> names;
    auto on_link = [](hid_t, const char* name, const H5L_info_t*, void* sink) -> herr_t {
        static_cast<std::vector<std::string>*>(sink)->emplace_back(name);
        return 0;
    };
    hsize_t index = 0;
    if (H5Literate(group, H5_INDEX_CRT_ORDER, H5_ITER_INC, &index, on_link, &names) >= 0) return names;
    H5Eclear2(H5E_DEFAULT);  // creation order not tracked: list by name
    names.clear();
    index = 0;
    check(H5Literate(group, H5_INDEX_NAME, H5_ITER_INC, &index, on_link, &names), at, "cannot list group");
    return names;
}

H5SER_CORE_INLINE std::vector<std::string> datasets_in_save_order(hid_t root, const where& at) {
    std::vector<std::string> paths;
    const auto visit = [&](const auto& self, hid_t group, const std::string& group_path, int depth) -> void {
        if (depth > 64) return;
        for (const auto& name : links_in_order(group, where{at.file, {}, group_path})) {
            const std::string child = (group_path == "/" ? "" : group_path) + "/" + name;
            H5L_info_t info{};
            if (H5Lget_info(group, name.c_str(), &info, H5P_DEFAULT) < 0 || info.type != H5L_TYPE_HARD) {
                H5Eclear2(H5E_DEFAULT);
                continue;
            }
            const handle object(H5Oopen(group, name.c_str(), H5P_DEFAULT));
            if (!object) {
                H5Eclear2(H5E_DEFAULT);
                continue;
            }
            if (H5Iget_type(object.get()) == H5I_GROUP) self(self, object.get(), child, depth + 1);
            else if (H5Iget_type(object.get()) == H5I_DATASET) paths.push_back(child);
        }
    };
    visit(visit, root, "/", 0);
    return paths;
}

}  // namespace h5ser::detail
