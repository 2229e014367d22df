// h5ser/detail/format/hash.hpp: XXH3-64 (libxxhash, used header-only) for tensor checksums and the
// file fingerprint. Only the definitions (hash-inl.hpp) include <xxhash.h>: a program that links the
// compiled core never sees its macros, and a header-only one does not get XXH_INLINE_ALL.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "h5ser/config.hpp"

namespace h5ser::detail {

static_assert(std::endian::native == std::endian::little,
              "h5ser: checksums and fingerprints are defined on little-endian element bytes; big-endian hosts "
              "are not supported yet");

H5SER_CORE_INLINE std::uint64_t hash_bytes(const void* data, std::size_t bytes) noexcept;

/// 64-bit (and 32-bit) integers as 8 (4) little-endian bytes: in fingerprints, the seal and messages between MPI ranks.
inline void store_u64(unsigned char* p, std::uint64_t v) noexcept {
    for (int i = 0; i < 8; ++i) p[i] = static_cast<unsigned char>(v >> (8 * i));
}
inline std::uint64_t load_u64(const unsigned char* p) noexcept {
    std::uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
    return v;
}
inline std::uint32_t load_u32(const unsigned char* p) noexcept {
    std::uint32_t v = 0;
    for (int i = 3; i >= 0; --i) v = (v << 8) | p[i];
    return v;
}

H5SER_CORE_INLINE std::string to_hex(std::uint64_t value);
/// The value of `text` written as to_hex writes it (16 lowercase hex digits), or nothing.
H5SER_CORE_INLINE std::optional<std::uint64_t> from_hex(std::string_view text) noexcept;

/// XXH3-64 of bytes given in order, in pieces of any size; digest() at any point.
class xxh3_stream {
public:
    xxh3_stream();  ///< throws std::bad_alloc
    void update(const void* data, std::size_t bytes) noexcept;
    [[nodiscard]] std::uint64_t digest() const noexcept;

    /// The state as bytes, which another process of the same program continues from with
    /// assign_bytes (h5ser::mpi chains one hash across ranks); state_bytes() long.
    [[nodiscard]] static std::size_t state_bytes() noexcept;
    [[nodiscard]] const void* bytes() const noexcept { return state_.get(); }
    void assign_bytes(const void* bytes) noexcept;

private:
    struct state;  // XXH3_state_t, kept out of the declarations
    struct state_free {
        void operator()(state* s) const noexcept;
    };
    std::unique_ptr<state, state_free> state_;
};

/// The fingerprint of a model: XXH3-64 over, for each stored tensor in field order, its HDF5 path,
/// a NUL, its dtype name, a NUL, its rank and dimensions (each as a little-endian uint64) and the
/// XXH3-64 of its element bytes (little-endian uint64). Written as 16 lowercase hex digits.
class fingerprint_builder {
public:
    void add_tensor(std::string_view h5_path, std::string_view dtype, const std::uint64_t* dims, std::size_t rank,
                    std::uint64_t data_hash) noexcept;

    [[nodiscard]] std::uint64_t value() const noexcept { return state_.digest(); }
    [[nodiscard]] std::string hex() const;

private:
    void add_u64(std::uint64_t v) noexcept;

    xxh3_stream state_;
};

/// The tensors a load read, in field order, and their hashes, some of which may come later (tensors
/// hashed together on the mapping at the end of the walk): the fingerprint is built once all are in.
class digest_list {
public:
    /// Adds a tensor whose hash is known.
    void add_tensor(std::string_view h5_path, std::string_view dtype, const std::uint64_t* dims, std::size_t rank, std::uint64_t hash);
    /// Adds a tensor whose hash set_hash() gives later; returns its index for that.
    std::size_t add_pending(std::string_view h5_path, std::string_view dtype, const std::uint64_t* dims, std::size_t rank);
    void set_hash(std::size_t index, std::uint64_t hash) noexcept { entries_[index].hash = hash; }
    /// Adds every tensor of `other`.
    void append(const digest_list& other);
    /// The fingerprint of all tensors added (fingerprint_builder), as hex.
    [[nodiscard]] std::string hex() const;
    /// The same, over the tensors in the order of `paths` (a file's save order), those it does not
    /// list last: a load that read fields in another order than they were saved (reordered,
    /// renamed or upgraded fields) compares this with the file's.
    [[nodiscard]] std::string hex_in_order(const std::vector<std::string>& paths) const;

private:
    struct entry {
        std::string path;
        std::string_view dtype;  ///< a dtype name: static storage
        std::vector<std::uint64_t> dims;
        std::uint64_t hash = 0;
    };
    std::vector<entry> entries_;
};

/// A range of memory to hash, and its hash once hash_all has run.
struct hash_job {
    const void* data = nullptr;
    std::size_t bytes = 0;
    std::uint64_t hash = 0;
};

/// Hashes every job (XXH3-64), on this thread and one more when there is enough to share: largest
/// first, each thread taking the next job when it is done with one.
H5SER_CORE_INLINE void hash_all(std::vector<hash_job>& jobs);

/// The XXH3-64 of a buffer that is being filled from its start (a tensor being read), computed on
/// another thread as its pieces arrive: verifying a large tensor then costs the longer of reading
/// and hashing instead of both. Without a thread to be had, get() hashes the whole buffer.
class pipelined_hash {
public:
    pipelined_hash(const void* data, std::size_t bytes);
    pipelined_hash(const pipelined_hash&) = delete;
    pipelined_hash& operator=(const pipelined_hash&) = delete;
    ~pipelined_hash();  // stops hashing and waits: the buffer may go away after an error

    /// The first `prefix` bytes are final and may be hashed.
    void ready(std::size_t prefix);
    /// Waits for the hash of all the bytes, which must be ready.
    [[nodiscard]] std::uint64_t get();

private:
    struct worker;  // a std::thread and what it shares with this one
    const unsigned char* data_;
    std::size_t bytes_;
    std::unique_ptr<worker> worker_;
};

/// The XXH3-64 of bytes that are about to be written, computed on another thread while they are:
/// saving a large tensor then takes the longer of writing and hashing instead of both (hashing
/// runs at about 9 GB/s, a tenth of a 1 GiB save; bench_one_big). Small inputs are hashed at once.
class concurrent_hash {
public:
    static constexpr std::size_t threshold = std::size_t{32} << 20;

    concurrent_hash(const void* data, std::size_t bytes);

    /// Waits for the hash.
    [[nodiscard]] std::uint64_t get();
    std::uint64_t operator()() { return get(); }

private:
    std::optional<pipelined_hash> pending_;  // a large input, all of it ready, hashed meanwhile
    std::uint64_t hash_ = 0;
};

/// The seal's own checksum: bytes 0-47 and the range table from byte 64 on (see seal.hpp).
H5SER_CORE_INLINE std::uint64_t seal_checksum(const std::vector<unsigned char>& seal);

}  // namespace h5ser::detail

#if H5SER_CORE_DEFINITIONS
#include "h5ser/detail/format/hash-inl.hpp"
#endif
