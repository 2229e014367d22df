// h5ser/detail/model/storage_plan.hpp: the storage policies of a call or a field, combined into one plan
// per dataset (layout, chunks, compact threshold, filter pipeline); the filters h5ser knows by name.
// The policies themselves are h5ser/storage_policy.hpp's.
#pragma once

#include <hdf5.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <vector>

#include "h5ser/config.hpp"

namespace h5ser {
struct contiguous;  // storage_policy.hpp
}  // namespace h5ser

namespace h5ser::detail {

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
    [[nodiscard]] storage_plan overridden_by(const storage_plan& field, bool field_names_compact) const;
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
concept storage_policy = !std::is_void_v<P> && requires {
    P::h5ser_storage;
};

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

}  // namespace h5ser::detail

#if H5SER_CORE_DEFINITIONS
#include "h5ser/detail/model/storage_plan-inl.hpp"
#endif
