// h5ser/detail/load/ranged_source-inl.hpp: definitions of h5ser/detail/load/ranged_source.hpp
// (compiled once with the compiled core; see h5ser/config.hpp).
#pragma once

#include <cerrno>

#include "h5ser/detail/format/hash.hpp"
#include "h5ser/detail/hdf5/hdf5.hpp"
#include "h5ser/detail/load/ranged_source.hpp"
#include "h5ser/detail/posix/io.hpp"

namespace h5ser::detail {

H5SER_CORE_INLINE void file_ranges::read(std::span<range_read> reads, read_progress& progress) const {
    for (range_read& r : reads) {
        const auto bytes = static_cast<std::size_t>(r.length);
        errno = 0;
        if (bytes != 0 && !read_exact(file_->fd(), r.into, bytes, r.offset))
            throw_io(file_->path(), "cannot read the data of '" + r.name + "'", errno ? errno : EIO);
        if (r.hash) r.hash_value = hash_bytes(bytes ? r.into : static_cast<const void*>(""), bytes);
        progress.add(r.length);
    }
}

}  // namespace h5ser::detail
