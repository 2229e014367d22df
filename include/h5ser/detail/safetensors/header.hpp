// h5ser/detail/safetensors/header.hpp: the header of a .safetensors file (Hugging Face's format),
// parsed and checked before any tensor byte is touched.
//
// The format: 8 bytes, the little-endian length N of a JSON header; N bytes of JSON, an object
// mapping each tensor's name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets relative
// to the data section that follows the header), plus an optional "__metadata__" object of string
// values; then the data section, the tensors' little-endian bytes. The format keeps no checksums.
//
// Every file is treated as hostile: the header length is bounded (and must lie in the file), the
// JSON must be valid UTF-8, names unique, every shape's byte size computed without overflow and
// equal to its offsets' span, and the tensors must tile the data section exactly (no overlap, no
// hole, nothing past its end), as the reference implementation requires. Anything else is an
// h5ser::error naming the file, the tensor and what was found.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "h5ser/config.hpp"

namespace h5ser::detail::safetensors {

/// The largest header h5ser reads (the reference implementation's limit): a longer one is refused
/// before it is read, so a hostile length cannot make the reader allocate gigabytes.
inline constexpr std::uint64_t max_header_bytes = std::uint64_t{100} << 20;

/// One tensor of the header.
struct tensor_entry {
    std::string name;                  ///< as the file names it, e.g. "h.0.attn.c_attn.weight"
    std::string dtype;                 ///< h5ser's name of its element type ("float32", "bfloat16", "bool")
    std::string_view file_dtype;       ///< the format's name ("F32", "BF16", "BOOL"); static storage
    std::size_t element_size = 0;      ///< bytes per element
    std::vector<std::uint64_t> shape;  ///< empty for a scalar
    std::uint64_t offset = 0;          ///< of its first byte in the file (the data section's start added)
    std::uint64_t length = 0;          ///< bytes: the shape's element count times element_size
};

/// A checked header.
struct header {
    std::uint64_t json_bytes = 0;                               ///< N, the JSON's length
    std::uint64_t data_start = 0;                               ///< 8 + N: where the data section starts
    std::vector<tensor_entry> tensors;                          ///< in the order of their data
    std::vector<std::pair<std::string, std::string>> metadata;  ///< "__metadata__", in file order
};

/// Does a file whose first bytes are `prefix` (at least 9 of them to say yes) and whose size is
/// `file_size` look like a safetensors file: a header length that fits the file, then '{'? A
/// cheap test to choose a reader by content, not by suffix; parse_header decides.
H5SER_CORE_INLINE bool looks_like_safetensors(const unsigned char* prefix, std::size_t prefix_size, std::uint64_t file_size) noexcept;

/// The header length the first 8 bytes `prefix` of file `file` (of `file_size` bytes) give, checked
/// to be at most max_header_bytes and to fit the file (h5ser::error otherwise).
H5SER_CORE_INLINE std::uint64_t header_length(const unsigned char* prefix, std::uint64_t file_size, const std::string& file);

/// Parses and checks `json`, the header of safetensors file `file` of `file_size` bytes (see the
/// top of this file for every check); h5ser::error (errc::malformed_file) naming what is wrong.
H5SER_CORE_INLINE header parse_header(std::string_view json, std::uint64_t file_size, const std::string& file);

/// Reads the header of the safetensors file open as `fd` (`file`, `file_size` bytes) with pread
/// and parses it (parse_header).
H5SER_CORE_INLINE header read_header(int fd, std::uint64_t file_size, const std::string& file);

/// The format's dtype name of h5ser's element type name `dtype`, or "" when the format has none.
H5SER_CORE_INLINE std::string_view file_dtype_of(std::string_view dtype) noexcept;

}  // namespace h5ser::detail::safetensors

#if H5SER_CORE_DEFINITIONS
#include "h5ser/detail/safetensors/header-inl.hpp"
#endif
