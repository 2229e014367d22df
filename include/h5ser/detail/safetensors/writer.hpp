// h5ser/detail/safetensors/writer.hpp: writes a .safetensors file (h5ser::safetensors::save): the
// save walk's tensors, named by their dotted paths, with the fingerprint h5ser gives them.
//
// The layout is the reference writer's: the 8-byte header length, the JSON header with its keys
// sorted ("__metadata__" first), padded with spaces, then the tensors' bytes back to back. The
// data lies in field order, so that the fingerprint over the file's tensors in data order (what
// `h5ser verify` computes) is h5ser::fingerprint(model); the header is padded so that the data
// section starts 64-byte aligned (a multiple of the format's 8), so that loads can view the first
// tensor, and each one whose offset keeps that alignment, in the mapped file.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "h5ser/config.hpp"
#include "h5ser/detail/format/hash.hpp"
#include "h5ser/detail/hdf5/dataset.hpp"
#include "h5ser/detail/hdf5/hdf5.hpp"  // where
#include "h5ser/detail/save/save_walk.hpp"
#include "h5ser/element_type.hpp"
#include "h5ser/progress.hpp"
#include "h5ser/tensor_adapter.hpp"

namespace h5ser::detail::safetensors {

/// One tensor to write: its name in the file, h5ser's dtype name, shape and element bytes: in
/// memory at `data`, or `bytes` bytes of the open file `source_fd` from `source_offset`, which the
/// kernel copies (a conversion of a file: they never pass through this process).
struct tensor_to_write {
    std::string name;
    std::string_view dtype;
    std::vector<std::uint64_t> shape;
    const void* data = nullptr;
    std::uint64_t bytes = 0;
    int source_fd = -1;
    std::uint64_t source_offset = 0;
};

/// The name of the tensor at HDF5 path `h5` ("/h/0/attn/w" is "h.0.attn.w"), or, with
/// `whole_names` (a map of tensors at the root), its key as it is. A field or key holding a '.'
/// elsewhere could not be told from a path when the file is read: an h5ser::error naming it.
H5SER_CORE_INLINE std::string tensor_name(const where& at, bool whole_names);

/// Writes `tensors` (their data in this order) and `metadata` (string pairs, h5ser's fingerprint
/// among them) as the .safetensors file `path`, atomically (as every h5ser save: the file at `path`
/// is replaced only once the new one is complete and on disk). `progress`: tensor bytes written.
///
/// With `late_fingerprint`, the fingerprint is not among `metadata`: it is that function's value
/// (16 hex digits), given each tensor's XXH3-64 once the tensors' bytes are in the file, and
/// written into the header then. A tensor with a `source_fd` is read once, hashed as it is copied
/// (copy_and_hash); a conversion checks the hashes there, and throws to leave nothing written.
H5SER_CORE_INLINE void write_file(const std::string& path, const std::vector<tensor_to_write>& tensors,
                                  const std::vector<std::pair<std::string, std::string>>& metadata, const progress_callback& progress,
                                  const std::function<std::string(const std::vector<std::uint64_t>& hashes)>& late_fingerprint = {});

/// The sink of the save walk that collects the tensors a weights-only save stores, and their
/// fingerprint, as the file writer computes it.
class tensor_collector : public save_sink {
public:
    explicit tensor_collector(bool whole_names) : save_sink(&temporaries_), whole_names_(whole_names) {}

    /// The walk keeps the tensors it makes for a call (a C-order copy, a run-time-typed tensor's
    /// view) in `temporaries_` until the file is written, which reads their bytes after the walk.
    H5SER_CORE_INLINE void dataset(std::string_view name, const tensor_view& tensor, const where& at, bool optimizer) override;

    [[nodiscard]] const std::vector<tensor_to_write>& tensors() const noexcept { return tensors_; }
    [[nodiscard]] std::string fingerprint() const { return fingerprint_.hex(); }

private:
    bool whole_names_;
    std::vector<tensor_to_write> tensors_;
    fingerprint_builder fingerprint_;
    kept_temporaries temporaries_;
};

}  // namespace h5ser::detail::safetensors

#if H5SER_CORE_DEFINITIONS
#include "h5ser/detail/safetensors/writer-inl.hpp"
#endif
