// h5ser/detail/load/ranged_source.hpp: where a load reads tensors into memory of its own, by byte
// range: the local file with pread (h5ser::owned_memory), or a web server with ranged GETs
// (h5ser/remote.hpp). The walk lists the ranges it needs (load_walk.hpp's load_read) and reads them
// all at its end, in one call, so that a source can read them in parallel and hash each as it
// arrives.
//
// The core knows URLs only through `remote_opener`, which <h5ser/remote.hpp> sets: programs that
// do not include it compile and link no HTTP client.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "h5ser/config.hpp"
#include "h5ser/detail/format/manifest.hpp"
#include "h5ser/detail/load/opened_file.hpp"

namespace h5ser::detail {

/// One byte range of a source to read into memory of the load's own.
struct range_read {
    void* into = nullptr;
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
    bool hash = false;             ///< compute `hash_value`, the XXH3-64 of the bytes read
    std::uint64_t hash_value = 0;  ///< set by ranged_source::read when `hash`
    std::string name;              ///< the tensor's HDF5 path ("/h/0/attn/c_attn/weight"), for errors
    std::string field;             ///< its field path ("h[0].attn.c_attn.weight"), for errors
};

/// Hears of bytes as a source completes them (the load's progress callback), on the load's thread.
class read_progress {
public:
    virtual void add(std::uint64_t bytes) = 0;

protected:
    ~read_progress() = default;
};

/// A file whose byte ranges can be read: a local file or a URL.
class ranged_source {
public:
    virtual ~ranged_source() = default;
    /// Reads every range of `reads` (sorted by offset, none overlapping) into its memory, hashing
    /// those that ask, in any order and in parallel where the source can. Throws an h5ser::error
    /// naming the file (or URL) and the tensor when a read fails; what was read then is unspecified
    /// (the load that asked is failing, and nothing reached the model).
    virtual void read(std::span<range_read> reads, read_progress& progress) const = 0;
};

/// The ranges of a local file, read one after the other with pread.
class file_ranges final : public ranged_source {
public:
    explicit file_ranges(const opened_file& file) noexcept : file_(&file) {}
    H5SER_CORE_INLINE void read(std::span<range_read> reads, read_progress& progress) const override;

private:
    const opened_file* file_;
};

/// A sealed file on a web server, as the first request found it: its size, the first bytes (the
/// seal and the manifest, which the load checks), and the source that reads the rest.
struct remote_file {
    std::uint64_t size = 0;
    std::vector<unsigned char> prefix;
    std::unique_ptr<ranged_source> source;
};

/// Opens a URL for a load (the first request); set by <h5ser/remote.hpp>, null in programs
/// without it. An h5ser::error naming the URL when the server does not answer as a load needs.
using remote_opener = remote_file (*)(const std::string& url);
/// Sets the opener (<h5ser/remote.hpp>, before main).
H5SER_CORE_INLINE void set_remote_opener(remote_opener open) noexcept;
/// The opener set, or null.
H5SER_CORE_INLINE remote_opener current_remote_opener() noexcept;

/// A URL of a sealed format-2 file, opened: the first request made, the seal and the manifest
/// checked (check_seal_prefix: everything but the hash over the HDF5 metadata, which is not read).
struct sealed_url {
    remote_file remote;
    manifest contents;
};

/// Opens `url` (one request, two for a userblock over 64 KiB) through <h5ser/remote.hpp>'s opener.
/// Throws errc::io when the program has no opener, errc::checksum_mismatch for a damaged seal or
/// manifest, errc::needs_local_copy for a file h5ser reads only through HDF5: not sealed, of format
/// 1, or (unless `chunked_ok`: only the tree is wanted) holding chunked tensors.
H5SER_CORE_INLINE sealed_url open_sealed_url(const std::string& url, bool chunked_ok);

/// Does `path` name a URL h5ser loads over HTTP (http:// or https://, any case)?
inline bool is_url(std::string_view path) noexcept {
    const auto starts = [&](std::string_view scheme) {
        if (path.size() < scheme.size()) return false;
        for (std::size_t i = 0; i < scheme.size(); ++i) {
            const char c = path[i] >= 'A' && path[i] <= 'Z' ? static_cast<char>(path[i] - 'A' + 'a') : path[i];
            if (c != scheme[i]) return false;
        }
        return true;
    };
    return starts("http://") || starts("https://");
}

}  // namespace h5ser::detail

#if H5SER_CORE_DEFINITIONS
#include "h5ser/detail/load/ranged_source-inl.hpp"
#endif
