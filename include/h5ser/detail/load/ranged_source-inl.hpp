// h5ser/detail/load/ranged_source-inl.hpp: definitions of h5ser/detail/load/ranged_source.hpp
// (compiled once with the compiled core; see h5ser/config.hpp).
#pragma once

#include <atomic>
#include <cerrno>

#include "h5ser/detail/format/hash.hpp"
#include "h5ser/detail/format/seal.hpp"
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

/// The opener, one for the program (a function's static: set before main by another translation
/// unit's initializer, whatever their order).
H5SER_CORE_INLINE std::atomic<remote_opener>& remote_opener_slot() noexcept {
    static std::atomic<remote_opener> slot{nullptr};
    return slot;
}
H5SER_CORE_INLINE void set_remote_opener(remote_opener open) noexcept { remote_opener_slot().store(open); }
H5SER_CORE_INLINE remote_opener current_remote_opener() noexcept { return remote_opener_slot().load(); }

H5SER_CORE_INLINE sealed_url open_sealed_url(const std::string& url, bool chunked_ok) {
    const remote_opener open = current_remote_opener();
    if (!open) {
        throw error(url,
                    problem{errc::io,
                            {},
                            "/",
                            "a file path",
                            "a URL",
                            "h5ser reads http:// and https:// URLs in programs that include <h5ser/remote.hpp> and link h5ser::remote"});
    }
    remote_file remote = open(url);
    seal_check seal = check_seal_prefix(remote.prefix, remote.size, url);
    if (seal.damage) throw *seal.damage;
    const auto needs_copy = [&](const std::string& found) {
        return error(url, problem{errc::needs_local_copy,
                                  {},
                                  "/",
                                  "a sealed h5ser file of format 2 without chunked tensors",
                                  found,
                                  "h5ser reads such a file over HTTP without HDF5; download it and load the local copy"});
    };
    if (seal.status == seal_status::none) throw needs_copy("a file without h5ser's seal");
    if (!seal.contents) throw needs_copy("a file of h5ser format 1");
    if (!chunked_ok && seal.contents->has_chunked_data()) throw needs_copy("a file with chunked (or compressed) tensors");
    return {std::move(remote), std::move(*seal.contents)};
}

}  // namespace h5ser::detail
