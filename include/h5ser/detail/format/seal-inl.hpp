// h5ser/detail/format/seal-inl.hpp: definitions of h5ser/detail/format/seal.hpp (compiled once with the compiled core; see
// h5ser/config.hpp).
#pragma once

#include <algorithm>

#include "h5ser/detail/format/seal.hpp"

namespace h5ser::detail {

H5SER_CORE_INLINE std::uint64_t hash_outside(int fd, std::uint64_t begin, std::uint64_t end, const std::vector<byte_range>& ranges,
                                             const std::string& file) {
    // Reads in windows of up to 1 MiB and hashes the parts outside the ranges. A window reads over
    // small ranges (a model of many small tensors leaves thousands of short gaps between them: one
    // read each would be thousands of system calls) and stops where a range of 64 KiB or more
    // begins, which is skipped unread.
    constexpr std::uint64_t window = std::uint64_t{1} << 20;
    constexpr std::uint64_t read_over = std::uint64_t{64} << 10;
    xxh3_stream state;
    std::vector<unsigned char> buffer(static_cast<std::size_t>(window));
    std::size_t next = 0;  // the first range that may end after `at`
    std::uint64_t at = begin;
    while (at < end) {
        while (next < ranges.size() && ranges[next].offset + ranges[next].length <= at) ++next;
        if (next < ranges.size() && ranges[next].offset <= at) {  // inside a range: skip the rest of it
            at = ranges[next].offset + ranges[next].length;
            continue;
        }
        std::uint64_t stop = std::min(end, at + window);
        for (std::size_t r = next; r < ranges.size() && ranges[r].offset < stop; ++r)
            if (ranges[r].length >= read_over && ranges[r].offset > at) stop = ranges[r].offset;
        const std::size_t n = static_cast<std::size_t>(stop - at);
        if (!read_exact(fd, buffer.data(), n, at)) throw_io(file, "cannot read the file to check its seal", errno ? errno : EIO);
        std::uint64_t piece = at;  // hash [piece, stop) minus the small ranges inside it
        for (std::size_t r = next; r < ranges.size() && ranges[r].offset < stop; ++r) {
            if (ranges[r].offset > piece) state.update(buffer.data() + (piece - at), static_cast<std::size_t>(ranges[r].offset - piece));
            piece = std::max(piece, ranges[r].offset + ranges[r].length);
        }
        if (piece < stop) state.update(buffer.data() + (piece - at), static_cast<std::size_t>(stop - piece));
        at = std::max(stop, piece);
    }
    return state.digest();
}

H5SER_CORE_INLINE void write_seal(const std::string& path, std::uint64_t userblock, std::vector<byte_range> ranges,
                                  const std::vector<unsigned char>& manifest_bytes, const std::string& file) {
    std::sort(ranges.begin(), ranges.end(), [](const byte_range& a, const byte_range& b) { return a.offset < b.offset; });
    const file_descriptor fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
    if (fd.get() < 0) throw_io(file, "cannot open '" + path + "' to seal it", errno);
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) throw_io(file, "cannot stat '" + path + "'", errno);
    const auto size = static_cast<std::uint64_t>(st.st_size);

    std::vector<unsigned char> seal(seal_header_size + 16 * ranges.size(), 0);
    if (seal.size() + manifest_bytes.size() > userblock)
        throw error(file, problem{errc::io, {}, "/", {}, {}, "the seal and manifest do not fit the userblock (an h5ser bug)"});
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
    store_u64(&seal[56], manifest_bytes.size());  // not in the seal's checksum: the manifest has its own
    seal.insert(seal.end(), manifest_bytes.begin(), manifest_bytes.end());
    if (::pwrite(fd.get(), seal.data(), seal.size(), 0) != static_cast<ssize_t>(seal.size()))
        throw_io(file, "cannot write the seal of '" + path + "'", errno ? errno : EIO);
}

namespace seal_detail {

inline bool starts_with_magic(const unsigned char* header) noexcept {
    return std::equal(seal_magic.begin(), seal_magic.end(), header,
                      [](char a, unsigned char b) { return static_cast<unsigned char>(a) == b; });
}

/// The checks of check_seal on the file `path` of `size` bytes, whose bytes `read(into, length,
/// offset)` reads (false: it cannot) and whose metadata `hash_metadata(ranges)` hashes (a null
/// pointer: not hashed); throws errc::checksum_mismatch for a damaged seal, returns the manifest
/// (format 2) or nothing (format 1), and sets `sealed` once the magic matched.
template <class Read, class HashMetadata>
std::optional<manifest> read_intact_seal(const std::string& path, std::uint64_t size, Read&& read, const HashMetadata* hash_metadata,
                                         bool& sealed) {
    const auto refuse = [&](const std::string& why) {
        throw error(path, problem{errc::checksum_mismatch,
                                  {},
                                  "/",
                                  {},
                                  {},
                                  "the file's seal does not match: " + why +
                                      " (the file was damaged, truncated or changed by another program since h5ser wrote it)"});
    };
    std::array<unsigned char, seal_header_size> header{};
    if (size < 512 || !read(header.data(), header.size(), 0)) return std::nullopt;
    if (!starts_with_magic(header.data())) {
        int same = 0;
        for (std::size_t i = 0; i < seal_magic.size(); ++i) same += static_cast<unsigned char>(seal_magic[i]) == header[i];
        if (same >= 12) {  // one or a few flipped bytes
            sealed = true;
            refuse("its magic bytes are damaged");
        }
        return std::nullopt;  // not sealed: not written by h5ser
    }
    sealed = true;
    const std::uint64_t userblock = load_u64(&header[16]);
    const std::uint64_t stored_size = load_u64(&header[24]);
    const std::uint64_t count = load_u64(&header[32]);
    if (userblock < 512 || (userblock & (userblock - 1)) != 0 || userblock > size || count > (userblock - seal_header_size) / 16)
        refuse("its header is inconsistent");
    if (stored_size != size) refuse("the file has " + std::to_string(size) + " bytes, the seal says " + std::to_string(stored_size));
    std::vector<unsigned char> seal(seal_header_size + 16 * count);
    if (!read(seal.data(), seal.size(), 0)) refuse("it cannot be read");
    if (seal_checksum(seal) != load_u64(&seal[48])) refuse("its own checksum differs");
    std::vector<byte_range> ranges(count);
    std::uint64_t previous_end = userblock;
    for (std::size_t i = 0; i < count; ++i) {
        ranges[i] = {load_u64(&seal[seal_header_size + 16 * i]), load_u64(&seal[seal_header_size + 16 * i + 8])};
        if (ranges[i].offset < previous_end || ranges[i].length > size - ranges[i].offset) refuse("its range table is inconsistent");
        previous_end = ranges[i].offset + ranges[i].length;
    }
    const std::uint64_t manifest_size = load_u64(&header[56]);
    if (manifest_size > userblock - seal.size()) refuse("its manifest would end past the userblock");
    // The metadata first: a linear pass over the file that bounds the work spent on a damaged one
    // before its manifest is parsed.
    if (hash_metadata && (*hash_metadata)(userblock, ranges) != load_u64(&seal[40])) refuse("the HDF5 metadata changed");
    if (manifest_size == 0) return std::nullopt;
    std::vector<unsigned char> bytes(static_cast<std::size_t>(manifest_size));
    if (!read(bytes.data(), bytes.size(), seal.size())) refuse("its manifest cannot be read");
    std::optional<manifest> contents(std::in_place, std::move(bytes), size, userblock, path);
    // Each contiguous tensor's data must be one of the ranges the metadata hash left out, and no
    // two tensors the same one: else a tensor could cover HDF5 metadata, or share bytes with another.
    std::vector<byte_range> listed;
    for (const manifest_record& r : contents->records())
        if (r.kind == record_kind::dataset && r.layout == record_layout::contiguous && r.length != 0)
            listed.push_back({r.offset, r.length});
    std::sort(listed.begin(), listed.end(), [](const byte_range& a, const byte_range& b) { return a.offset < b.offset; });
    for (std::size_t i = 0; i < listed.size(); ++i) {
        if (i > 0 && listed[i].offset < listed[i - 1].offset + listed[i - 1].length)
            refuse("two tensors of its manifest share bytes at offset " + std::to_string(listed[i].offset));
        const auto found = std::lower_bound(ranges.begin(), ranges.end(), listed[i].offset,
                                            [](const byte_range& r, std::uint64_t offset) { return r.offset < offset; });
        if (found == ranges.end() || found->offset != listed[i].offset || found->length != listed[i].length)
            refuse("a tensor of its manifest at offset " + std::to_string(listed[i].offset) + " is not one of its data ranges");
    }
    return contents;
}

/// read_intact_seal of the local file `file`, its metadata hashed when `hash_metadata`.
inline std::optional<manifest> read_intact_seal(const opened_file& file, bool hash_metadata, bool& sealed) {
    const auto read = [&](void* into, std::size_t length, std::uint64_t offset) { return read_exact(file.fd(), into, length, offset); };
    const auto hash = [&](std::uint64_t userblock, const std::vector<byte_range>& ranges) {
        return hash_outside(file.fd(), userblock, file.size(), ranges, file.path());
    };
    return read_intact_seal(file.path(), file.size(), read, hash_metadata ? &hash : nullptr, sealed);
}

/// check_seal's answer for the outcome of `check` (read_intact_seal).
template <class Check>
seal_check seal_check_of(Check&& check) {
    seal_check out;
    bool sealed = false;
    try {
        out.contents = check(sealed);
        out.status = sealed ? seal_status::intact : seal_status::none;
    } catch (const error& e) {
        if (e.code() != errc::checksum_mismatch) throw;
        out.status = seal_status::broken;
        out.contents.reset();
        out.damage = e;
    }
    return out;
}

}  // namespace seal_detail

H5SER_CORE_INLINE std::optional<manifest> read_saved_manifest(const std::string& path) {
    try {
        const opened_file file = opened_file::open(path);
        const std::uint64_t size = file.size();
        std::array<unsigned char, seal_header_size> header{};
        if (size < 512 || !read_exact(file.fd(), header.data(), header.size(), 0) || !seal_detail::starts_with_magic(header.data()))
            return std::nullopt;
        const std::uint64_t userblock = load_u64(&header[16]);
        const std::uint64_t count = load_u64(&header[32]);
        if (userblock < 512 || userblock > size || count > (userblock - seal_header_size) / 16) return std::nullopt;
        std::vector<unsigned char> seal(seal_header_size + 16 * count);
        if (!read_exact(file.fd(), seal.data(), seal.size(), 0) || seal_checksum(seal) != load_u64(&seal[48])) return std::nullopt;
        const std::uint64_t manifest_size = load_u64(&header[56]);
        if (manifest_size == 0 || manifest_size > userblock - seal.size()) return std::nullopt;
        std::vector<unsigned char> bytes(static_cast<std::size_t>(manifest_size));
        if (!read_exact(file.fd(), bytes.data(), bytes.size(), seal.size())) return std::nullopt;
        return std::optional<manifest>(std::in_place, std::move(bytes), size, userblock, path);  // checks its own checksum
    } catch (const error&) {
        return std::nullopt;
    }
}

H5SER_CORE_INLINE bool has_seal(const std::string& path) {
    try {
        const opened_file file = opened_file::open(path);
        std::array<unsigned char, seal_header_size> header{};
        return read_exact(file.fd(), header.data(), header.size(), 0) && seal_detail::starts_with_magic(header.data());
    } catch (const error&) {
        return false;
    }
}

H5SER_CORE_INLINE seal_check check_seal(const opened_file& file, bool hash_metadata) {
    return seal_detail::seal_check_of([&](bool& sealed) { return seal_detail::read_intact_seal(file, hash_metadata, sealed); });
}

H5SER_CORE_INLINE std::uint64_t sealed_prefix_length(const unsigned char* header, std::size_t available) noexcept {
    if (available < seal_header_size || !seal_detail::starts_with_magic(header)) return 0;
    const std::uint64_t userblock = load_u64(&header[16]);
    const std::uint64_t count = load_u64(&header[32]);
    const std::uint64_t manifest_size = load_u64(&header[56]);
    // Within the userblock, or the full check refuses the seal: no more is worth reading.
    if (userblock < 512 || count > userblock / 16 || manifest_size > userblock) return 0;
    return std::min<std::uint64_t>(userblock, seal_header_size + 16 * count + manifest_size);
}

H5SER_CORE_INLINE seal_check check_seal_prefix(const std::vector<unsigned char>& prefix, std::uint64_t size, const std::string& name) {
    const auto read = [&](void* into, std::size_t length, std::uint64_t offset) {
        if (offset > prefix.size() || length > prefix.size() - offset) return false;
        if (length != 0) std::memcpy(into, prefix.data() + offset, length);
        return true;
    };
    using no_hash = std::uint64_t (*)(std::uint64_t, const std::vector<byte_range>&);
    return seal_detail::seal_check_of(
        [&](bool& sealed) { return seal_detail::read_intact_seal(name, size, read, static_cast<const no_hash*>(nullptr), sealed); });
}

H5SER_CORE_INLINE bool has_hdf5_signature(const opened_file& file) {
    // HDF5 looks for its superblock at 0 and at every power of two from 512 below the file's end.
    static constexpr unsigned char signature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    unsigned char found[8];
    for (std::uint64_t at = 0; at + sizeof found <= file.size(); at = at == 0 ? 512 : 2 * at)
        if (read_exact(file.fd(), found, sizeof found, at) && std::memcmp(found, signature, sizeof found) == 0) return true;
    return false;
}

H5SER_CORE_INLINE std::optional<manifest> read_seal(const std::string& path, bool hash_metadata) {
    std::optional<opened_file> file;
    try {
        file.emplace(opened_file::open(path));
    } catch (const error&) {
        return std::nullopt;  // the caller's open reports it
    }
    seal_check checked = check_seal(*file, hash_metadata);
    if (checked.damage) throw *checked.damage;
    return std::move(checked.contents);
}

H5SER_CORE_INLINE std::optional<manifest> verify_seal(const std::string& path) { return read_seal(path, true); }

}  // namespace h5ser::detail
