// h5ser/detail/safetensors/tree.hpp: a .safetensors file as a tree of groups and datasets, read
// without libhdf5: its dotted tensor names become the groups ("h.0.attn.w" is dataset w of group
// /h/0/attn), once for every reader: the tree h5ser::inspect gives of any file (and `h5ser ls`
// prints), and the manifest a load walks, as it walks a sealed h5ser file's.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "h5ser/config.hpp"
#include "h5ser/detail/format/manifest.hpp"
#include "h5ser/detail/load/opened_file.hpp"
#include "h5ser/detail/model/field_kind.hpp"
#include "h5ser/detail/safetensors/header.hpp"
#include "h5ser/file_node.hpp"

namespace h5ser::detail::safetensors {

/// The `__metadata__` key under which h5ser keeps the fingerprint of a file's tensors (16 hex
/// digits, as an h5ser file's root attribute h5ser_fingerprint): a load that reads every tensor
/// compares it, the only check a file of this format allows.
inline constexpr std::string_view fingerprint_key = "h5ser.fingerprint";

/// Does `Model` keep its tensors in a .safetensors file under their whole names ("conv1.weight",
/// the key of a map of tensors at the root) rather than under the paths their dotted names spell
/// (every other model)?
template <class Model>
constexpr bool takes_whole_names() {
    if constexpr (string_map_traits<Model>::value) return kind_of<typename string_map_traits<Model>::element>() == field_kind::tensor;
    else return false;
}

/// The HDF5-style path of each tensor of `h`, in the order of h.tensors: names split at '.'
/// ("/h/0/attn/w") when every name is such a path (no empty part, no '/', no name both a tensor
/// and the group of another) and `flat` is false; otherwise each whole name at the root ("/" +
/// name).
H5SER_CORE_INLINE std::vector<std::string> tensor_paths(const header& h, bool flat);

/// The prefix of the root attributes that hold a file's `__metadata__` entries in h5ser's view of
/// it ("__metadata__.format" = "pt").
inline constexpr std::string_view metadata_prefix = "__metadata__.";

/// The tree of the file whose checked header is `h`: names split at '.' become groups
/// ("h.0.attn.w" is dataset w of group /h/0/attn) when every name is such a path (no empty part,
/// no name both a tensor and the group of another); otherwise every tensor lies at the root under
/// its whole name. Tensors are listed in the order of their data; datasets are contiguous, their
/// stored bytes their length; `__metadata__` entries are root string attributes (metadata_prefix).
H5SER_CORE_INLINE file_node tree_of(const header& h);

/// The manifest a load walks of the file `file` (of `file_size` bytes) whose checked header is
/// `h`: weights only, its groups and contiguous datasets at tensor_paths(h, flat), without
/// checksums, and with the fingerprint `__metadata__` keeps under fingerprint_key, if any. A tensor
/// no struct can hold (a name with '/' or NUL, a rank over 32) or a fingerprint that is not one is
/// an h5ser::error naming it.
H5SER_CORE_INLINE manifest manifest_of(const header& h, std::uint64_t file_size, const std::string& file, bool flat);

/// The header of `file` when it is a .safetensors file (by its content, not its name), parsed and
/// checked (an h5ser::error when it is one but malformed); nothing for any other file.
H5SER_CORE_INLINE std::optional<header> header_if_safetensors(const opened_file& file);
/// The same for the file at `path`.
H5SER_CORE_INLINE std::optional<header> header_if_safetensors(const std::string& path);

}  // namespace h5ser::detail::safetensors

#if H5SER_CORE_DEFINITIONS
#include "h5ser/detail/safetensors/tree-inl.hpp"
#endif
