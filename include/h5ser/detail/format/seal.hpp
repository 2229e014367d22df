// h5ser/detail/format/seal.hpp: the seal h5ser puts on every file it writes, so that a damaged file is
// refused before the HDF5 library parses a byte of it.
//
// HDF5 1.10 checksums most of its metadata, but not the global heap where variable-length strings
// live, and it trusts the sizes stored there: a flipped byte can crash or hang the library (found by
// h5ser's fuzzer; see docs/integrity.md). So h5ser reserves an HDF5 userblock (which HDF5 readers, h5py and
// h5dump skip) and, once the file is complete, writes into it:
//
//   offset  size  content (little-endian)
//   0       16    magic "h5ser seal v1\0\0\0"
//   16      8     userblock size
//   24      8     file size
//   32      8     number N of tensor data ranges
//   40      8     XXH3-64 of every byte from the userblock's end to the file's end, data ranges left
//                 out (all HDF5 metadata, the global heap included)
//   48      8     XXH3-64 of bytes 0-47 and the range table (the seal's own checksum)
//   56      8     byte length M of the manifest (format 2; 0 in format 1)
//   64      16*N  (offset, length) of each contiguous tensor's raw data, sorted by offset
//   64+16N  M     the manifest (manifest.hpp), which carries its own checksum
//
// Tensor data is left out of the seal because every tensor has its own checksum (in the manifest;
// in format 1, an attribute of its dataset), verified as it is read; so the seal costs a read of
// the metadata only.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "h5ser/config.hpp"
#include "h5ser/detail/format/hash.hpp"
#include "h5ser/detail/format/manifest.hpp"
#include "h5ser/detail/hdf5/hdf5.hpp"
#include "h5ser/detail/load/opened_file.hpp"
#include "h5ser/detail/posix/io.hpp"
#include "h5ser/error.hpp"

namespace h5ser::detail {

inline constexpr std::array<char, 16> seal_magic = {'h', '5', 's', 'e', 'r', ' ', 's', 'e', 'a', 'l', ' ', 'v', '1', 0, 0, 0};
inline constexpr std::size_t seal_header_size = 64;

struct byte_range {
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
};

/// The userblock size for a file with up to `ranges` data ranges and a manifest of
/// `manifest_bytes`: a power of two, at least 4096, so that HDF5's alignment of large datasets
/// (relative to the userblock's end) is page alignment.
inline std::uint64_t seal_userblock_size(std::size_t ranges, std::size_t manifest_bytes) {
    std::uint64_t size = 4096;
    while (size < seal_header_size + 16 * static_cast<std::uint64_t>(ranges) + manifest_bytes) size *= 2;
    return size;
}

/// XXH3-64 of the bytes [begin, end) of file `fd` with `ranges` (sorted, inside it) left out, read
/// in windows of up to 1 MiB; an I/O error is an error naming `file`.
H5SER_CORE_INLINE std::uint64_t hash_outside(int fd, std::uint64_t begin, std::uint64_t end, const std::vector<byte_range>& ranges,
                                             const std::string& file);

/// Seals a complete (closed) HDF5 file whose first `userblock` bytes HDF5 left free, with its
/// `manifest` (empty: none).
H5SER_CORE_INLINE void write_seal(const std::string& path, std::uint64_t userblock, std::vector<byte_range> ranges,
                                  const std::vector<unsigned char>& manifest_bytes, const std::string& file);

/// Does the file start with an h5ser seal? (Whether it is intact is check_seal's question.) False
/// for what cannot be opened or is no regular file.
H5SER_CORE_INLINE bool has_seal(const std::string& path);

/// What the seal of a file says about it.
enum class seal_status {
    none,    ///< no seal: a file another program wrote (or h5ser before seals)
    intact,  ///< the seal, its range table, the manifest and (when hashed) the metadata check out
    broken,  ///< a seal whose header, range table, manifest or metadata hash does not match
};

struct seal_check {
    seal_status status = seal_status::none;
    std::optional<manifest> contents;  ///< intact format-2 files: the checked manifest
    std::optional<error> damage;       ///< broken: what does not match (errc::checksum_mismatch)
};

/// Checks the seal of `file` from its descriptor, hashing the HDF5 metadata when `hash_metadata`
/// (without it, the seal's header and range table and the manifest are still checked: each has its
/// own checksum). A damaged seal is reported, not thrown; I/O errors are thrown. The metadata hash
/// comes before the manifest is parsed, so that the work done on a damaged file is bounded by a
/// linear pass over its metadata.
H5SER_CORE_INLINE seal_check check_seal(const opened_file& file, bool hash_metadata);

/// How many bytes from the start of a file hold its seal and manifest, read from the seal's first
/// 64 bytes `header` (`available` bytes of them read): 0 when they are no seal's.
H5SER_CORE_INLINE std::uint64_t sealed_prefix_length(const unsigned char* header, std::size_t available) noexcept;

/// check_seal of the file `name` of `size` bytes from its first bytes `prefix` (at least
/// sealed_prefix_length of them), without the hash over its HDF5 metadata: what a load that reads
/// no metadata (a URL's) checks.
H5SER_CORE_INLINE seal_check check_seal_prefix(const std::vector<unsigned char>& prefix, std::uint64_t size, const std::string& name);

/// Does `file` carry an HDF5 signature (at byte 0, 512, 1024, 2048, ...: where HDF5 looks)?
H5SER_CORE_INLINE bool has_hdf5_signature(const opened_file& file);

/// Checks the seal of `path` before HDF5 reads it, and returns the file's manifest (format 2),
/// checked too. Files without a seal (written by h5py, Keras or another program) pass unchecked,
/// and format-1 files have no manifest: both give nullopt, and so does a path that cannot be
/// opened (the caller's open reports it). A damaged seal or manifest, or changed metadata, is an
/// error.
H5SER_CORE_INLINE std::optional<manifest> verify_seal(const std::string& path);

/// The manifest a sealed file was saved with, read from its userblock whatever changed since (the
/// file's size, its HDF5 metadata, its data), as long as the seal's own checksum and the
/// manifest's hold: what `h5ser seal` compares an edited file with. Nothing when there is none.
H5SER_CORE_INLINE std::optional<manifest> read_saved_manifest(const std::string& path);

/// verify_seal, with the hash over the HDF5 metadata only when `hash_metadata` (see check_seal).
H5SER_CORE_INLINE std::optional<manifest> read_seal(const std::string& path, bool hash_metadata);

}  // namespace h5ser::detail

#if H5SER_CORE_DEFINITIONS
#include "h5ser/detail/format/seal-inl.hpp"
#endif
