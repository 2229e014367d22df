// h5ser/detail/hdf5/group.hpp: HDF5 groups: creating them, opening children safely, listing members.
#pragma once

#include <hdf5.h>

#include <string>
#include <string_view>
#include <vector>

#include "h5ser/config.hpp"
#include "h5ser/detail/hdf5/attribute.hpp"
#include "h5ser/detail/hdf5/hdf5.hpp"
#include "h5ser/detail/load/problems.hpp"
#include "h5ser/file_node.hpp"

namespace h5ser::detail {

/// Property lists shared by every object one save creates (made once, not per object).
struct creation_plists {
    handle link;         ///< UTF-8 link names (map keys may be any Unicode text)
    handle group;        ///< track link creation order, so h5py and h5dump list fields in declaration order
    handle attribute;    ///< UTF-8 attribute names
    handle utf8_string;  ///< the string type of string attributes
    handle contiguous;   ///< dataset creation: contiguous, never filled (every element is written)
    handle compact;      ///< dataset creation: compact (data in the object header), never filled
    /// dataset creation: contiguous, its space allocated when it is created and never filled: its
    /// bytes are then written into the file outside HDF5 (a conversion's copy_and_hash)
    handle contiguous_allocated;

    explicit creation_plists(const where& at);

    [[nodiscard]] attribute_ids attributes() const noexcept { return {attribute.get(), utf8_string.get()}; }
};

H5SER_CORE_INLINE handle create_group(hid_t parent, std::string_view name, const creation_plists& plists, const where& at);

/// The links and attributes of one object, for strictness checks and child lookup.
struct member_listing {
    struct link {
        std::string name;
        H5L_type_t type;
        H5I_type_t object = H5I_BADID;  ///< what it leads to, when known without opening it (from a manifest)
    };
    std::vector<link> links;              ///< sorted by name (sort_by_name)
    std::vector<std::string> attributes;  ///< sorted

    /// Sorts both lists by name (byte order), as lookups need: a sequence of 5,000 layers looks
    /// up 5,000 names in one listing.
    void sort_by_name();
    [[nodiscard]] const link* find_link(std::string_view name) const noexcept;
    [[nodiscard]] bool has_attribute(std::string_view name) const noexcept;
};

H5SER_CORE_INLINE member_listing list_members(hid_t object, bool is_group, const where& at);

/// The names of the links of `group`, in creation order when the file tracks it (h5ser files do:
/// that is field order), else by name.
H5SER_CORE_INLINE std::vector<std::string> links_in_order(hid_t group, const where& at);

/// The paths of the datasets below `root` (an h5ser file's root group) in the order h5ser saved
/// them: depth first, each group's links in creation order. Links that are not hard are skipped.
H5SER_CORE_INLINE std::vector<std::string> datasets_in_save_order(hid_t root, const where& at);

/// The tree of HDF5 file `file` as h5ser::inspect gives it (`path` names the file in messages),
/// read in this process from a file the caller opened and checked as it chose (defined with
/// inspect, in detail/load/inspect-inl.hpp).
H5SER_CORE_INLINE file_node inspect_opened(hid_t file, const std::string& path);

/// What kind of object a hard link leads to.
inline H5I_type_t object_type(hid_t object) noexcept { return H5Iget_type(object); }

inline const char* h5_object_name(H5I_type_t type) noexcept {
    switch (type) {
        case H5I_GROUP:
            return "group";
        case H5I_DATASET:
            return "dataset";
        case H5I_DATATYPE:
            return "named datatype";
        default:
            return "object";
    }
}

/// Opens child `name` of `parent` and checks it is a `want` (H5I_GROUP or H5I_DATASET); records a
/// kind_mismatch problem (`expected` against what it is) and returns no handle otherwise.
H5SER_CORE_INLINE handle open_child(problem_list& problems, hid_t parent, std::string_view name, H5I_type_t want,
                                    const std::string& expected, const where& at);

inline const char* link_type_name(H5L_type_t type) noexcept {
    switch (type) {
        case H5L_TYPE_HARD:
            return "hard link";
        case H5L_TYPE_SOFT:
            return "soft link";
        case H5L_TYPE_EXTERNAL:
            return "external link";
        default:
            return "user-defined link";
    }
}

}  // namespace h5ser::detail

#if H5SER_CORE_DEFINITIONS
#include "h5ser/detail/hdf5/group-inl.hpp"
#endif
