// h5ser/detail/safetensors/tree.hpp: a .safetensors file as the tree h5ser::inspect gives of any
// file (and `h5ser ls` prints): its dotted tensor names as groups, read without libhdf5.
#pragma once

#include <optional>
#include <string>

#include "h5ser/config.hpp"
#include "h5ser/detail/safetensors/header.hpp"
#include "h5ser/file_node.hpp"

namespace h5ser::detail::safetensors {

/// The prefix of the root attributes that hold a file's `__metadata__` entries in h5ser's view of
/// it ("__metadata__.format" = "pt").
inline constexpr std::string_view metadata_prefix = "__metadata__.";

/// The tree of the file whose checked header is `h`: names split at '.' become groups
/// ("h.0.attn.w" is dataset w of group /h/0/attn) when every name is such a path (no empty part,
/// no name both a tensor and the group of another); otherwise every tensor lies at the root under
/// its whole name. Tensors are listed in the order of their data; datasets are contiguous, their
/// stored bytes their length; `__metadata__` entries are root string attributes (metadata_prefix).
H5SER_CORE_INLINE file_node tree_of(const header& h);

/// The header of `path` when it is a .safetensors file (by its content, not its name), parsed and
/// checked (an h5ser::error when it is one but malformed); nothing for any other file.
H5SER_CORE_INLINE std::optional<header> header_if_safetensors(const std::string& path);

}  // namespace h5ser::detail::safetensors

#if H5SER_CORE_DEFINITIONS
#include "h5ser/detail/safetensors/tree-inl.hpp"
#endif
