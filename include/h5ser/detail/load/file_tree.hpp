// h5ser/detail/load/file_tree.hpp: the tree a load walks (groups, what they hold, attribute values),
// read from one of two sources:
//   - the HDF5 library, for any file;
//   - the manifest of a sealed format-2 file (manifest.hpp). It lists every group, dataset and
//     attribute h5ser wrote, and the seal proves the HDF5 tree is still exactly that, so such a
//     load needs the HDF5 library only for the tensors it cannot take from the mapped file
//     (chunked ones). Opening thousands of groups and reading their attributes through HDF5 is
//     most of the cost of loading a model of many small layers.
#pragma once

#include <hdf5.h>

#include <optional>
#include <string>
#include <string_view>

#include "h5ser/config.hpp"
#include "h5ser/detail/format/manifest.hpp"
#include "h5ser/detail/hdf5/group.hpp"
#include "h5ser/detail/hdf5/hdf5.hpp"
#include "h5ser/detail/load/opened_file.hpp"
#include "h5ser/detail/load/problems.hpp"

namespace h5ser::detail {

/// One group of the file being loaded: what it holds, and (always from HDF5, on demand from a
/// manifest) its open HDF5 group.
class tree_group {
public:
    // Made and destroyed in the core: a translation unit that loads holds them, but does not
    // compile what their members take to destroy.
    tree_group() = default;
    H5SER_CORE_INLINE ~tree_group();
    H5SER_CORE_INLINE tree_group(tree_group&& other) noexcept;
    H5SER_CORE_INLINE tree_group& operator=(tree_group&& other) noexcept;

    [[nodiscard]] const member_listing& members() const noexcept { return members_; }
    /// Its HDF5 path, "/" for the root.
    [[nodiscard]] const std::string& path() const noexcept { return path_; }

private:
    friend class file_tree;
    std::string path_;
    mutable handle id_;
    member_listing members_;
    const manifest_group* entry_ = nullptr;  ///< from a manifest: its entry
};

class file_tree {
public:
    /// The tree of the HDF5 file `path`, open as `file`.
    file_tree(std::string path, handle file) : path_(std::move(path)), file_(std::move(file)) {}
    /// The tree `contents` lists, the checked manifest of the sealed file `opened`; HDF5 opens
    /// the file (checking it is `opened`) only when hdf5_group() is called.
    file_tree(const opened_file& opened, const manifest& contents) : path_(opened.path()), opened_(&opened), contents_(&contents) {}
    /// The tree `contents` lists, the checked manifest of the sealed file `path` that HDF5 cannot
    /// open (a URL): hdf5_group() throws.
    file_tree(std::string path, const manifest& contents) : path_(std::move(path)), contents_(&contents) {}

    file_tree(const file_tree&) = delete;
    file_tree& operator=(const file_tree&) = delete;

    /// Is the tree read from a manifest?
    [[nodiscard]] bool from_manifest() const noexcept { return contents_ != nullptr; }

    H5SER_CORE_INLINE tree_group root(const where& at);

    /// Opens child group `name` of `parent`, a link the listing holds; records a kind mismatch (a
    /// group was expected) and returns nothing when it is not a group.
    H5SER_CORE_INLINE std::optional<tree_group> open_group(problem_list& problems, const tree_group& parent, std::string_view name,
                                                           const where& at);

    /// The type of the object `link` of `group` leads to (H5I_GROUP, H5I_DATASET, ...).
    H5SER_CORE_INLINE H5I_type_t object_type(const tree_group& group, const member_listing::link& link) const;

    /// From a manifest: the record of attribute `name` of `group`, or null.
    H5SER_CORE_INLINE const manifest_record* attribute(const tree_group& group, std::string_view name) const;

    /// Another tree_group for `group`, to keep after the walk (an upgrade hook's h5ser::old_group).
    H5SER_CORE_INLINE tree_group share(const tree_group& group) const;

    /// The open HDF5 group of `group`; from a manifest, the file and group are opened now (once).
    H5SER_CORE_INLINE hid_t hdf5_group(const tree_group& group, const where& at);

private:
    std::string path_;
    handle file_;
    const opened_file* opened_ = nullptr;
    const manifest* contents_ = nullptr;
};

}  // namespace h5ser::detail

#if H5SER_CORE_DEFINITIONS
#include "h5ser/detail/load/file_tree-inl.hpp"
#endif
