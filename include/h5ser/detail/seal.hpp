// h5ser/detail/seal.hpp: the seal h5ser puts on every file it writes, so that a damaged file is
// refused before the HDF5 library parses a byte of it.
//
// HDF5 1.10 checksums most of its metadata, but not the global heap where variable-length strings
// live, and it trusts the sizes stored there: a flipped byte can crash or hang the library (found by
// h5ser's fuzzer; see README). So h5ser reserves an HDF5 userblock (which HDF5 readers, h5py and
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
//   56      8     reserved (0)
//   64      16*N  (offset, length) of each contiguous tensor's raw data, sorted by offset
//
// Tensor data is left out of the seal because every dataset carries its own checksum, verified as
// it is read; so the seal costs a read of the metadata only.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "h5ser/detail/file.hpp"
#include "h5ser/detail/hash.hpp"
#include "h5ser/error.hpp"
#include "h5ser/config.hpp"

namespace h5ser::detail {

inline constexpr std::array<char, 16> seal_magic = {'h', '5', 's', 'e', 'r', ' ', 's', 'e', 'a', 'l', ' ', 'v', '1', 0, 0, 0};
inline constexpr std::size_t seal_header_size = 64;

struct byte_range {
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
};

/// The userblock size for a file with up to `ranges` data ranges: a power of two, at least 4096, so
/// that HDF5's alignment of large datasets (relative to the userblock's end) is page alignment.
inline std::uint64_t seal_userblock_size(std::size_t ranges) {
    std::uint64_t size = 4096;
    while (size < seal_header_size + 16 * static_cast<std::uint64_t>(ranges)) size *= 2;
    return size;
}

class file_descriptor {
public:
    explicit file_descriptor(int fd) noexcept : fd_(fd) {}
    file_descriptor(const file_descriptor&) = delete;
    file_descriptor& operator=(const file_descriptor&) = delete;
    ~file_descriptor() {
        if (fd_ >= 0) ::close(fd_);
    }
    [[nodiscard]] int get() const noexcept { return fd_; }

private:
    int fd_;
};


H5SER_CORE_INLINE bool read_exact(int fd, void* buffer, std::size_t size, std::uint64_t offset);

/// XXH3-64 of [begin, end) with `ranges` (sorted, inside it) left out.
H5SER_CORE_INLINE std::uint64_t hash_outside(int fd, std::uint64_t begin, std::uint64_t end, const std::vector<byte_range>& ranges,
                                             const std::string& file);

/// Seals a complete (closed) HDF5 file whose first `userblock` bytes HDF5 left free.
H5SER_CORE_INLINE void write_seal(const std::string& path, std::uint64_t userblock, std::vector<byte_range> ranges,
                                  const std::string& file);

/// Checks the seal of an h5ser file before HDF5 reads it. Files without a seal (written by h5py,
/// Keras or another program) pass unchecked; a damaged seal or changed metadata is an error.
/// Does the file start with an h5ser seal? (Whether it is intact is verify_seal's question.)
H5SER_CORE_INLINE bool has_seal(const std::string& path);

H5SER_CORE_INLINE void verify_seal(const std::string& path);

#if H5SER_CORE_DEFINITIONS
// ---- core definitions (compiled once with H5SER_COMPILED_CORE; see h5ser/config.hpp) ----

H5SER_CORE_INLINE bool read_exact(int fd, void* buffer, std::size_t size, std::uint64_t offset) {
    auto* out = static_cast<unsigned char*>(buffer);
    while (size > 0) {
        const ssize_t n = ::pread(fd, out, size, static_cast<off_t>(offset));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        out += n;
        size -= static_cast<std::size_t>(n);
        offset += static_cast<std::uint64_t>(n);
    }
    return true;
}

H5SER_CORE_INLINE std::uint64_t hash_outside(int fd, std::uint64_t begin, std::uint64_t end, const std::vector<byte_range>& ranges,
                                             const std::string& file) {
    fingerprint_builder::state_ptr state = fingerprint_builder::new_state();
    std::vector<unsigned char> buffer(std::size_t{1} << 20);
    const auto feed = [&](std::uint64_t from, std::uint64_t to) {
        while (from < to) {
            const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), to - from));
            if (!read_exact(fd, buffer.data(), n, from)) throw_io(file, "cannot read the file to check its seal", errno ? errno : EIO);
            XXH3_64bits_update(state.get(), buffer.data(), n);
            from += n;
        }
    };
    std::uint64_t at = begin;
    for (const auto& r : ranges) {
        feed(at, r.offset);
        at = r.offset + r.length;
    }
    feed(at, end);
    return XXH3_64bits_digest(state.get());
}

H5SER_CORE_INLINE void write_seal(const std::string& path, std::uint64_t userblock, std::vector<byte_range> ranges,
                                  const std::string& file) {
    std::sort(ranges.begin(), ranges.end(), [](const byte_range& a, const byte_range& b) { return a.offset < b.offset; });
    const file_descriptor fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
    if (fd.get() < 0) throw_io(file, "cannot open '" + path + "' to seal it", errno);
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) throw_io(file, "cannot stat '" + path + "'", errno);
    const auto size = static_cast<std::uint64_t>(st.st_size);

    std::vector<unsigned char> seal(seal_header_size + 16 * ranges.size(), 0);
    std::memcpy(seal.data(), seal_magic.data(), seal_magic.size());
    store_u64(&seal[16], userblock);
    store_u64(&seal[24], size);
    store_u64(&seal[32], ranges.size());
    store_u64(&seal[40], hash_outside(fd.get(), userblock, size, ranges, file));
    for (std::size_t i = 0; i < ranges.size(); ++i) {
        store_u64(&seal[seal_header_size + 16 * i], ranges[i].offset);
        store_u64(&seal[seal_header_size + 16 * i + 8], ranges[i].length);
    }
    store_u64(&seal[48], seal_checksum(seal));
    if (::pwrite(fd.get(), seal.data(), seal.size(), 0) != static_cast<ssize_t>(seal.size()))
        throw_io(file, "cannot write the seal of '" + path + "'", errno ? errno : EIO);
}

H5SER_CORE_INLINE bool has_seal(const std::string& path) {
    const file_descriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    std::array<unsigned char, seal_header_size> header{};
    return fd.get() >= 0 && read_exact(fd.get(), header.data(), header.size(), 0) &&
           std::equal(seal_magic.begin(), seal_magic.end(), header.begin(),
                      [](char a, unsigned char b) { return static_cast<unsigned char>(a) == b; });
}

H5SER_CORE_INLINE void verify_seal(const std::string& path) {
    const auto refuse = [&](const std::string& why) {
        throw error(path, problem{errc::checksum_mismatch, {}, "/", {}, {},
                                  "the file's seal does not match: " + why +
                                      " (the file was damaged, truncated or changed by another program since h5ser "
                                      "wrote it; h5ser::no_verify skips this check)"});
    };
    const file_descriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) return;  // the HDF5 open reports it
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return;
    const auto size = static_cast<std::uint64_t>(st.st_size);
    std::array<unsigned char, seal_header_size> header{};
    if (size < 512 || !read_exact(fd.get(), header.data(), header.size(), 0)) return;
    const auto matching = std::mismatch(seal_magic.begin(), seal_magic.end(), header.begin(),
                                        [](char a, unsigned char b) { return static_cast<unsigned char>(a) == b; });
    int same = 0;
    for (std::size_t i = 0; i < seal_magic.size(); ++i) same += static_cast<unsigned char>(seal_magic[i]) == header[i];
    if (matching.first != seal_magic.end()) {
        if (same >= 12) refuse("its magic bytes are damaged");  // one or a few flipped bytes
        return;                                                  // not sealed: not written by h5ser
    }
    const std::uint64_t userblock = load_u64(&header[16]);
    const std::uint64_t stored_size = load_u64(&header[24]);
    const std::uint64_t count = load_u64(&header[32]);
    if (userblock < 512 || (userblock & (userblock - 1)) != 0 || userblock > size || count > (userblock - seal_header_size) / 16)
        refuse("its header is inconsistent");
    if (stored_size != size)
        refuse("the file has " + std::to_string(size) + " bytes, the seal says " + std::to_string(stored_size));
    std::vector<unsigned char> seal(seal_header_size + 16 * count);
    if (!read_exact(fd.get(), seal.data(), seal.size(), 0)) refuse("it cannot be read");
    if (seal_checksum(seal) != load_u64(&seal[48])) refuse("its own checksum differs");
    std::vector<byte_range> ranges(count);
    std::uint64_t previous_end = userblock;
    for (std::size_t i = 0; i < count; ++i) {
        ranges[i] = {load_u64(&seal[seal_header_size + 16 * i]), load_u64(&seal[seal_header_size + 16 * i + 8])};
        if (ranges[i].offset < previous_end || ranges[i].length > size - ranges[i].offset) refuse("its range table is inconsistent");
        previous_end = ranges[i].offset + ranges[i].length;
    }
    if (hash_outside(fd.get(), userblock, size, ranges, path) != load_u64(&seal[40])) refuse("the HDF5 metadata changed");
}

#endif  // H5SER_CORE_DEFINITIONS

}  // namespace h5ser::detail
