// h5ser/detail/posix/io.hpp: reading and writing whole byte counts through POSIX's short reads,
// short writes and EINTR, and copying a byte range between files, hashed on the way.
#pragma once

#include <cstddef>
#include <cstdint>

#include "h5ser/config.hpp"
#include "h5ser/detail/format/hash.hpp"

namespace h5ser::detail {

/// Reads `size` bytes of `fd` from `offset` (pread, through short reads and EINTR); false (errno
/// set by the failing call; left as it was when the file ends first) when it cannot.
H5SER_CORE_INLINE bool read_exact(int fd, void* buffer, std::size_t size, std::uint64_t offset);
/// Writes all `size` bytes of `data` at `fd`'s position, through short writes and EINTR; false
/// (errno set, EIO for a write that made no progress) when it cannot.
H5SER_CORE_INLINE bool write_all(int fd, const void* data, std::size_t size) noexcept;
/// Writes all `size` bytes of `data` at `offset` of `fd` (pwrite, through short writes and EINTR);
/// false (errno set, EIO for a write that made no progress) when it cannot.
H5SER_CORE_INLINE bool write_all_at(int fd, const void* data, std::size_t size, std::uint64_t offset) noexcept;
/// Copies `size` bytes of the open file `in` from `in_offset` to `out_offset` of the open file
/// `out`, and sets `hash` to their XXH3-64: one pass through a 1 MiB buffer, each piece hashed
/// while it is in the cache. A conversion reads its source once so, and at `cp`'s pace whatever
/// wrote the source (copy_file_range plus a second read to hash was 1.2-1.5x slower on this
/// project's VMs, a mapping 1.5x for files a copy or a download had written). False, errno set,
/// on an error or when `in` ends before.
H5SER_CORE_INLINE bool copy_and_hash(int out, std::uint64_t out_offset, int in, std::uint64_t in_offset, std::uint64_t size,
                                     std::uint64_t& hash);

}  // namespace h5ser::detail

#if H5SER_CORE_DEFINITIONS
#include "h5ser/detail/posix/io-inl.hpp"
#endif
