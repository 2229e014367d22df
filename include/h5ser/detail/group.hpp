// h5ser/detail/group.hpp: HDF5 groups: creating them, opening children safely, listing members.
#pragma once

#include <hdf5.h>

#include <string>
#include <string_view>
#include <vector>

#include "h5ser/detail/attribute.hpp"
#include "h5ser/detail/hdf5.hpp"
#include "h5ser/config.hpp"

namespace h5ser::detail {

/// Property lists shared by every object one save creates (made once, not per object).
struct creation_plists {
    handle link;   ///< UTF-8 link names (map keys may be any Unicode text)
    handle group;  ///< track link creation order, so h5py and h5dump list fields in declaration order
    handle attribute;    ///< UTF-8 attribute names
    handle utf8_string;  ///< the string type of string attributes
    handle contiguous;   ///< dataset creation: contiguous, never filled (every element is written)
    handle compact;      ///< dataset creation: compact (data in the object header), never filled

    explicit creation_plists(const where& at);

    [[nodiscard]] attribute_ids attributes() const noexcept { return {attribute.get(), utf8_string.get()}; }
};

H5SER_CORE_INLINE handle create_group(hid_t parent, std::string_view name, const creation_plists& plists, const where& at);

/// The links and attributes of one object, for strictness checks and child lookup.
struct member_listing {
    struct link {
        std::string name;
        H5L_type_t type;
    };
    std::vector<link> links;
    std::vector<std::string> attributes;

    [[nodiscard]] const link* find_link(std::string_view name) const noexcept {
        for (const auto& l : links)
            if (l.name == name) return &l;
        return nullptr;
    }
    [[nodiscard]] bool has_attribute(std::string_view name) const noexcept {
        for (const auto& a : attributes)
            if (a == name) return true;
        return false;
    }
};

H5SER_CORE_INLINE member_listing list_members(hid_t object, bool is_group, const where& at);

/// What kind of object a hard link leads to.
inline H5I_type_t object_type(hid_t object) noexcept { return H5Iget_type(object); }

inline const char* link_type_name(H5L_type_t type) noexcept {
    switch (type) {
        case H5L_TYPE_HARD: return "hard link";
        case H5L_TYPE_SOFT: return "soft link";
        case H5L_TYPE_EXTERNAL: return "external link";
        default: return "user-defined link";
    }
}

#if H5SER_CORE_DEFINITIONS
// ---- core definitions (compiled once with H5SER_COMPILED_CORE; see h5ser/config.hpp) ----

H5SER_CORE_INLINE creation_plists::creation_plists(const where& at)
    : link(checked(H5Pcreate(H5P_LINK_CREATE), at, "H5Pcreate(link)")),
      group(checked(H5Pcreate(H5P_GROUP_CREATE), at, "H5Pcreate(group)")),
      attribute(utf8_name_plist(H5P_ATTRIBUTE_CREATE, at)),
      utf8_string(utf8_string_type(at)),
      contiguous(checked(H5Pcreate(H5P_DATASET_CREATE), at, "H5Pcreate(dataset)")),
      compact(checked(H5Pcreate(H5P_DATASET_CREATE), at, "H5Pcreate(dataset)")) {
    check(H5Pset_char_encoding(link.get(), H5T_CSET_UTF8), at, "H5Pset_char_encoding");
    check(H5Pset_fill_time(contiguous.get(), H5D_FILL_TIME_NEVER), at, "H5Pset_fill_time");
    check(H5Pset_fill_time(compact.get(), H5D_FILL_TIME_NEVER), at, "H5Pset_fill_time");
    check(H5Pset_layout(compact.get(), H5D_COMPACT), at, "H5Pset_layout(compact)");
    check(H5Pset_link_creation_order(group.get(), H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED), at,
          "H5Pset_link_creation_order");
}

H5SER_CORE_INLINE handle create_group(hid_t parent, std::string_view name, const creation_plists& plists, const where& at) {
    const std::string n(name);
    return checked(H5Gcreate2(parent, n.c_str(), plists.link.get(), plists.group.get(), H5P_DEFAULT), at,
                   "cannot create group");
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
    return out;
}

#endif  // H5SER_CORE_DEFINITIONS

}  // namespace h5ser::detail
