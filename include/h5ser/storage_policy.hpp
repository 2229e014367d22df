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
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <vector>

#include "h5ser/config.hpp"

namespace h5ser {

namespace detail {
enum class storage_category { layout, compact, filter };
enum class layout_kind { contiguous, auto_chunk, chunked };

/// One filter of a pipeline, as HDF5 wants it.
struct filter_spec {
    H5Z_filter_t id = 0;
    unsigned flags = 0;  ///< H5Z_FLAG_OPTIONAL for compressors
    std::vector<unsigned> values;
    std::string_view name;     ///< "deflate", "lz4", ...
    std::string_view install;  ///< how to make it available, for messages
};
}  // namespace detail

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
        return {32000, H5Z_FLAG_OPTIONAL, {}, "lzf", "Debian's hdf5-plugin-lzf does not load into HDF5 1.10.8; use h5ser::lz4<> or h5ser::blosc<>"};
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
        return {32001, H5Z_FLAG_OPTIONAL, {0, 0, 0, 0, Level, static_cast<unsigned>(Shuffle), static_cast<unsigned>(Codec)},
                "blosc", "apt-get install hdf5-filter-plugin-blosc-serial"};
    }
};

/// Any registered HDF5 filter by id, with its client data values, as an optional filter.
template <unsigned Id, unsigned... Values>
struct plugin_filter {
    static constexpr auto h5ser_storage = detail::storage_category::filter;
    static detail::filter_spec spec() {
        return {static_cast<H5Z_filter_t>(Id), H5Z_FLAG_OPTIONAL, {Values...}, "plugin filter",
                "install the HDF5 plugin that provides this filter id and make it visible through HDF5_PLUGIN_PATH"};
    }
};

// ---- presets ----------------------------------------------------------------------------------

/// Contiguous, unfiltered: the fastest saves and loads (the default).
struct fast {
    using h5ser_bundle = std::tuple<contiguous>;
};
/// Shuffle and deflate at level 4, chunked: within 1% of the smallest deflate size at a third of the
/// cost of level 6 (measured on weights; see README).
struct compact {
    using h5ser_bundle = std::tuple<auto_chunk, shuffle, deflate<4>>;
};
/// Shuffle, deflate at level 6 and a Fletcher-32 checksum per chunk: the smallest files any HDF5
/// reader opens without plugins, for long-term storage. (Level 9 measured no smaller than 6 on
/// weights, and 30-60% slower to save; see README.)
struct archival {
    using h5ser_bundle = std::tuple<auto_chunk, shuffle, deflate<6>, fletcher32>;
};

namespace detail {

/// The storage decisions for one dataset.
struct storage_plan {
    layout_kind layout = layout_kind::contiguous;
    bool layout_given = false;
    std::vector<std::size_t> chunk_dims;  ///< for layout_kind::chunked; empty: take them at run time
    bool chunks_for_one_field = false;    ///< set by h5ser::stored: a rank mismatch is an error
    std::size_t compact_below = 4096;
    std::vector<filter_spec> filters;

    /// A field's own policies replace what it inherits, category by category. Naming a layout
    /// without filters drops inherited filters when that layout is contiguous.
    [[nodiscard]] storage_plan overridden_by(const storage_plan& field, bool field_names_compact) const {
        storage_plan out = *this;
        if (field.layout_given) {
            out.layout = field.layout;
            out.layout_given = true;
            out.chunk_dims = field.chunk_dims;
            out.chunks_for_one_field = true;
            if (field.layout == layout_kind::contiguous) out.filters.clear();
        }
        if (!field.filters.empty()) {
            out.filters = field.filters;
            if (!field.layout_given && out.layout == layout_kind::contiguous) out.layout = layout_kind::auto_chunk;
        }
        if (field_names_compact) out.compact_below = field.compact_below;
        return out;
    }
};

/// Short names and Debian packages of the registered HDF5 filters h5ser knows, for messages.
struct known_filter {
    H5Z_filter_t id;
    std::string_view name;
    std::string_view install;
};
inline constexpr known_filter known_filters[] = {
    {1, "deflate", "built into HDF5"},
    {2, "shuffle", "built into HDF5"},
    {3, "fletcher32", "built into HDF5"},
    {307, "bzip2", "apt-get install hdf5-filter-plugin"},
    {32000, "lzf", "Debian's hdf5-plugin-lzf does not load into HDF5 1.10.8"},
    {32001, "blosc", "apt-get install hdf5-filter-plugin-blosc-serial"},
    {32004, "lz4", "apt-get install hdf5-filter-plugin"},
    {32008, "bitshuffle", "no Debian 12 package; use h5ser::blosc, which bitshuffles"},
    {32015, "zstd", "no Debian 12 package; use h5ser::blosc<5, h5ser::blosc_codec::zstd>"},
};
/// "deflate", "shuffle", "lz4", ... or "filter 307" for filters h5ser does not know.
H5SER_CORE_INLINE std::string filter_name(H5Z_filter_t id);

H5SER_CORE_INLINE std::string describe_filter(H5Z_filter_t id);

template <class P>
concept storage_policy = !std::is_void_v<P> && requires { P::h5ser_storage; };

template <class P, storage_category C>
constexpr bool is_storage_category() {
    if constexpr (storage_policy<P>) return P::h5ser_storage == C;
    else return false;
}

template <class P>
struct flatten_one {
    using type = std::tuple<P>;
};
template <class P>
    requires requires { typename P::h5ser_bundle; }
struct flatten_one<P> {
    using type = typename P::h5ser_bundle;
};
/// The policies with presets expanded into what they stand for.
template <class... P>
using flatten_t = decltype(std::tuple_cat(std::declval<typename flatten_one<P>::type>()...));

template <class Tuple>
struct storage_of;
template <class... P>
struct storage_of<std::tuple<P...>> {
    static constexpr int layouts = ((is_storage_category<P, storage_category::layout>() ? 1 : 0) + ... + 0);
    static constexpr int compacts = ((is_storage_category<P, storage_category::compact>() ? 1 : 0) + ... + 0);
    static constexpr int filters = ((is_storage_category<P, storage_category::filter>() ? 1 : 0) + ... + 0);
    static_assert(layouts <= 1, "h5ser: give at most one of h5ser::contiguous, h5ser::auto_chunk and h5ser::chunked<...>");
    static_assert(compacts <= 1, "h5ser: give h5ser::compact_below<bytes> at most once");

    template <class Q>
    static void add(storage_plan& plan) {
        if constexpr (storage_policy<Q>) {
            if constexpr (Q::h5ser_storage == storage_category::layout) {
                plan.layout = Q::kind;
                plan.layout_given = true;
                if constexpr (Q::kind == layout_kind::chunked) plan.chunk_dims.assign(Q::dims.begin(), Q::dims.end());
            } else if constexpr (Q::h5ser_storage == storage_category::compact) {
                plan.compact_below = Q::bytes;
            } else {
                plan.filters.push_back(Q::spec());
            }
        }
    }
    static storage_plan plan() {
        storage_plan p;
        (add<P>(p), ...);
        if (!p.filters.empty() && !p.layout_given) p.layout = layout_kind::auto_chunk;  // filters imply chunking
        return p;
    }
    static constexpr bool contiguous_with_filters = [] {
        bool contiguous_given = false;
        ((contiguous_given = contiguous_given || std::is_same_v<P, h5ser::contiguous>), ...);
        static_cast<void>(contiguous_given);
        return contiguous_given && filters > 0;
    }();
    static_assert(!contiguous_with_filters,
                  "h5ser: contiguous datasets cannot be filtered; use h5ser::auto_chunk or h5ser::chunked<...> with filters");
    static constexpr bool names_compact = compacts > 0;
};

/// h5py's chunk-size rule, in our words: aim at 16 KiB times 2^(log10 of the dataset's MiB),
/// clamped to 8 KiB..1 MiB, and halve dimensions round-robin, from the first, until a chunk is
/// within half of the aim (or at most the aim).
H5SER_CORE_INLINE std::vector<hsize_t> guess_chunks(const std::vector<hsize_t>& shape, std::size_t element_size);

#if H5SER_CORE_DEFINITIONS
// ---- core definitions (compiled once with H5SER_COMPILED_CORE; see h5ser/config.hpp) ----

H5SER_CORE_INLINE std::string filter_name(H5Z_filter_t id) {
    for (const auto& f : known_filters)
        if (f.id == id) return std::string(f.name);
    return "filter " + std::to_string(id);
}

H5SER_CORE_INLINE std::string describe_filter(H5Z_filter_t id) {
    for (const auto& f : known_filters)
        if (f.id == id) return std::string(f.name) + " (HDF5 filter " + std::to_string(id) + "; " + std::string(f.install) + ")";
    return "HDF5 filter " + std::to_string(id) + " (install the plugin that provides it and point HDF5_PLUGIN_PATH at it)";
}

H5SER_CORE_INLINE std::vector<hsize_t> guess_chunks(const std::vector<hsize_t>& shape, std::size_t element_size) {
    constexpr double base = 16.0 * 1024, min_bytes = 8.0 * 1024, max_bytes = 1024.0 * 1024;
    std::vector<hsize_t> chunks = shape;
    double total = static_cast<double>(element_size);
    for (auto& c : chunks) {
        if (c == 0) c = 1;
        total *= static_cast<double>(c);
    }
    double aim = base * std::pow(2.0, std::log10(total / (1024.0 * 1024)));
    aim = std::min(std::max(aim, min_bytes), max_bytes);
    for (std::size_t i = 0;; ++i) {
        double bytes = static_cast<double>(element_size);
        hsize_t elements = 1;
        for (hsize_t c : chunks) {
            bytes *= static_cast<double>(c);
            elements *= c;
        }
        if ((bytes < aim || std::abs(bytes - aim) / aim < 0.5) && bytes < max_bytes) break;
        if (elements == 1) break;
        auto& dim = chunks[i % chunks.size()];
        dim = (dim + 1) / 2;
    }
    return chunks;
}

#endif  // H5SER_CORE_DEFINITIONS

}  // namespace detail

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
