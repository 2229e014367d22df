// h5ser/detail/posix/io-inl.hpp: definitions of h5ser/detail/posix/io.hpp (compiled once with the
// compiled core; see h5ser/config.hpp).
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "h5ser/detail/posix/io.hpp"

namespace h5ser::detail {

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

H5SER_CORE_INLINE bool write_all(int fd, const void* data, std::size_t size) noexcept {
    const auto* p = static_cast<const unsigned char*>(data);
    while (size > 0) {
        const ssize_t n = ::write(fd, p, size);
        if (n < 0 && errno == EINTR) continue;
        if (n == 0) errno = EIO;
        if (n <= 0) return false;
        p += n;
        size -= static_cast<std::size_t>(n);
    }
    return true;
}

H5SER_CORE_INLINE bool write_all_at(int fd, const void* data, std::size_t size, std::uint64_t offset) noexcept {
    const auto* p = static_cast<const unsigned char*>(data);
    while (size > 0) {
        const ssize_t n = ::pwrite(fd, p, size, static_cast<off_t>(offset));
        if (n < 0 && errno == EINTR) continue;
        if (n == 0) errno = EIO;
        if (n <= 0) return false;
        p += n;
        size -= static_cast<std::size_t>(n);
        offset += static_cast<std::uint64_t>(n);
    }
    return true;
}

H5SER_CORE_INLINE bool copy_and_hash(int out, std::uint64_t out_offset, int in, std::uint64_t in_offset, std::uint64_t size,
                                     std::uint64_t& hash) {
    xxh3_stream state;
    std::vector<unsigned char> buffer(static_cast<std::size_t>(std::min<std::uint64_t>(size, std::uint64_t{1} << 20)));
    for (std::uint64_t done = 0; done < size;) {
        const auto piece = static_cast<std::size_t>(std::min<std::uint64_t>(size - done, buffer.size()));
        errno = 0;
        if (!read_exact(in, buffer.data(), piece, in_offset + done)) {
            if (errno == 0) errno = EIO;  // `in` ended
            return false;
        }
        state.update(buffer.data(), piece);
        if (!write_all_at(out, buffer.data(), piece, out_offset + done)) return false;
        done += piece;
    }
    hash = state.digest();
    return true;
}

}  // namespace h5ser::detail
