// h5ser/storage_policy.hpp: how tensors are laid out and filtered on disk.
//
//     h5ser::save<h5ser::compact>(model, "m.h5");                     // a preset
//     h5ser::save<h5ser::shuffle, h5ser::deflate<6>>(model, "m.h5");  // filters imply chunking
//     struct Model {
//         h5ser::stored<h5ser::tensor<float, 2>, h5ser::deflate<9>> embedding;  // this field only
//         h5ser::tensor<float, 1> bias;
//     };
//
// Layout (one per call or field): contiguous, auto_chunk, chunked<dims...>. Tensors below
// compact_below<bytes> (4 KiB by default) are stored in HDF5's compact layout when unfiltered: per
// object overhead dominates for them. Filters compose in the order given (HDF5's pipeline order).
// Compressors are marked optional, so a chunk that does not compress is stored as it is.
#pragma once

#include <hdf5.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <vector>

#include "h5ser/config.hpp"
#include "h5ser/detail/model/storage_plan.hpp"

namespace h5ser {

// ---- layouts ----------------------------------------------------------------------------------

/// Contiguous datasets, read and written in one piece: the fastest for whole-tensor I/O. Cannot be
/// combined with filters.
struct contiguous {
    static constexpr auto h5ser_storage = detail::storage_category::layout;
    static constexpr auto kind = detail::layout_kind::contiguous;
};

/// Chunks of roughly 16 KiB to 1 MiB, larger for larger datasets (the rule h5py uses), halving
/// the largest dimensions first. The layout filters imply when none is given.
struct auto_chunk {
    static constexpr auto h5ser_storage = detail::storage_category::layout;
    static constexpr auto kind = detail::layout_kind::auto_chunk;
};

/// Chunks of the given shape (clipped to the tensor's). Given for a whole save, it applies to the
/// tensors of its rank and the others use auto_chunk; given for one field (h5ser::stored), the rank
/// must match. `chunked<>` takes the shape at run time from the field's h5ser::stored wrapper
/// (`.chunks`), or falls back to auto_chunk.
template <std::size_t... Dims>
struct chunked {
    static constexpr auto h5ser_storage = detail::storage_category::layout;
    static constexpr auto kind = detail::layout_kind::chunked;
    static constexpr std::array<std::size_t, sizeof...(Dims)> dims{Dims...};
};

/// Unfiltered tensors smaller than `Bytes` go into HDF5's compact layout (inside the object
/// header); 0 turns it off. The default is 4096.
template <std::size_t Bytes>
struct compact_below {
    static_assert(Bytes <= 60000, "h5ser::compact_below: HDF5 compact datasets hold at most about 64 KiB");
    static constexpr auto h5ser_storage = detail::storage_category::compact;
    static constexpr std::size_t bytes = Bytes;
};

// ---- filters ----------------------------------------------------------------------------------

/// gzip/zlib compression, levels 1 (fast) to 9 (small). Built into HDF5; h5py shows compression='gzip'.
template <unsigned Level = 4>
struct deflate {
    static_assert(Level >= 1 && Level <= 9, "h5ser::deflate<Level>: Level is 1 to 9");
    static constexpr auto h5ser_storage = detail::storage_category::filter;
    static detail::filter_spec spec() { return {H5Z_FILTER_DEFLATE, H5Z_FLAG_OPTIONAL, {Level}, "deflate", "built into HDF5"}; }
};

/// Byte shuffling, which helps compressors on floats. Built into HDF5.
struct shuffle {
    static constexpr auto h5ser_storage = detail::storage_category::filter;
    static detail::filter_spec spec() { return {H5Z_FILTER_SHUFFLE, 0, {}, "shuffle", "built into HDF5"}; }
};

/// A Fletcher-32 checksum per chunk, checked by HDF5 on every read. Built into HDF5.
struct fletcher32 {
    static constexpr auto h5ser_storage = detail::storage_category::filter;
    static detail::filter_spec spec() { return {H5Z_FILTER_FLETCHER32, 0, {}, "fletcher32", "built into HDF5"}; }
};

/// LZ4 (HDF5 filter 32004): very fast, modest ratio. Debian package hdf5-filter-plugin.
template <unsigned BlockBytes = 0>
struct lz4 {
    static constexpr auto h5ser_storage = detail::storage_category::filter;
    static detail::filter_spec spec() { return {32004, H5Z_FLAG_OPTIONAL, {BlockBytes}, "lz4", "apt-get install hdf5-filter-plugin"}; }
};

/// BZip2 (HDF5 filter 307): slow, small files. Debian package hdf5-filter-plugin.
template <unsigned BlockSize100k = 9>
struct bzip2 {
    static_assert(BlockSize100k >= 1 && BlockSize100k <= 9, "h5ser::bzip2<BlockSize>: 1 to 9");
    static constexpr auto h5ser_storage = detail::storage_category::filter;
    static detail::filter_spec spec() { return {307, H5Z_FLAG_OPTIONAL, {BlockSize100k}, "bzip2", "apt-get install hdf5-filter-plugin"}; }
};

/// LZF (HDF5 filter 32000), h5py's own fast compressor. Debian's hdf5-plugin-lzf does not load
/// into HDF5 1.10.8, so on Debian 12 saving with it reports the filter as missing.
struct lzf {
    static constexpr auto h5ser_storage = detail::storage_category::filter;
    static detail::filter_spec spec() {
        return {32000,
                H5Z_FLAG_OPTIONAL,
                {},
                "lzf",
                "Debian's hdf5-plugin-lzf does not load into HDF5 1.10.8; use h5ser::lz4<> or h5ser::blosc<>"};
    }
};

enum class blosc_shuffle : unsigned { none = 0, byte = 1, bit = 2 };
enum class blosc_codec : unsigned { blosclz = 0, lz4 = 1, lz4hc = 2, zlib = 4, zstd = 5 };

/// Blosc (HDF5 filter 32001) with its own shuffle (bitshuffle by default) and codec (lz4 or zstd
/// are the useful ones). Debian package hdf5-filter-plugin-blosc-serial.
template <unsigned Level = 5, blosc_codec Codec = blosc_codec::lz4, blosc_shuffle Shuffle = blosc_shuffle::bit>
struct blosc {
    static_assert(Level <= 9, "h5ser::blosc<Level>: Level is 0 to 9");
    static constexpr auto h5ser_storage = detail::storage_category::filter;
    static detail::filter_spec spec() {
        // The first four values are filled in by the filter itself.
        return {32001,
                H5Z_FLAG_OPTIONAL,
                {0, 0, 0, 0, Level, static_cast<unsigned>(Shuffle), static_cast<unsigned>(Codec)},
                "blosc",
                "apt-get install hdf5-filter-plugin-blosc-serial"};
    }
};

/// Any registered HDF5 filter by id, with its client data values, as an optional filter.
template <unsigned Id, unsigned... Values>
struct plugin_filter {
    static constexpr auto h5ser_storage = detail::storage_category::filter;
    static detail::filter_spec spec() {
        return {static_cast<H5Z_filter_t>(Id),
                H5Z_FLAG_OPTIONAL,
                {Values...},
                "plugin filter",
                "install the HDF5 plugin that provides this filter id and make it visible through HDF5_PLUGIN_PATH"};
    }
};

// ---- presets ----------------------------------------------------------------------------------

/// Contiguous, unfiltered: the fastest saves and loads (the default).
struct fast {
    using h5ser_bundle = std::tuple<contiguous>;
};
/// Shuffle and deflate at level 4, chunked: within 1% of the smallest deflate size at a third of the
/// cost of level 6 (measured on weights; see docs/performance.md).
struct compressed {
    using h5ser_bundle = std::tuple<auto_chunk, shuffle, deflate<4>>;
};
/// The former name of h5ser::compressed, kept for one release: it compresses, while HDF5's compact
/// layout is what h5ser::compact_below chooses.
struct [[deprecated(
    "h5ser::compact is now h5ser::compressed (shuffle + deflate<4>); HDF5's compact layout is h5ser::compact_below")]] compact
    : compressed{};
/// Shuffle, deflate at level 6 and a Fletcher-32 checksum per chunk: the smallest files any HDF5
/// reader opens without plugins, for long-term storage. (Level 9 measured no smaller than 6 on
/// weights, and 30-60% slower to save; see docs/performance.md.)
struct archival {
    using h5ser_bundle = std::tuple<auto_chunk, shuffle, deflate<6>, fletcher32>;
};

/// Gives one field its own storage policies, replacing the call's for that field (and, for a
/// struct, everything in it). Access the value with `*`, `->` or `.value`; `chunks` sets the chunk
/// shape at run time for h5ser::chunked<>.
///
///     h5ser::stored<h5ser::tensor<float, 2>, h5ser::shuffle, h5ser::deflate<9>> embedding;
///     embedding->shape();
template <class T, class... Policies>
struct stored {
    T value{};
    std::vector<std::size_t> chunks{};

    T& operator*() noexcept { return value; }
    const T& operator*() const noexcept { return value; }
    T* operator->() noexcept { return &value; }
    const T* operator->() const noexcept { return &value; }
};

}  // namespace h5ser
