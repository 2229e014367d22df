// h5ser/policy.hpp: policy types that choose what save and load do.
//
//     h5ser::save(model, "m.h5");                             // full model
//     h5ser::save<h5ser::weights_only>(model, "w.h5");        // tensors only
//     h5ser::load_into<h5ser::lenient>(model, "old.h5");      // keep fields the file lacks
//
// Policies are empty types composed as template arguments in any order. Each names the category it
// belongs to; two policies of one category in one call is a compile error, and so is a policy the
// call cannot use (a storage policy given to a load, h5ser::lenient given to a save).
#pragma once

#include <tuple>
#include <type_traits>
#include <utility>

#include "h5ser/storage_policy.hpp"

namespace h5ser {

namespace detail {
enum class policy_category { mode, strictness, verification, memory, trust, conversion, origin };
enum class save_mode { as_saved, full_model, weights_only };
/// Which files a load parses in a child process (detail/isolation/isolation.hpp).
enum class isolation {
    hdf5_parses,  ///< the default: every file libhdf5 must parse (all but intact sealed files loaded from their manifest and mapping)
    always,       ///< h5ser::untrusted: every file
    never,        ///< h5ser::trusted: none
};
}  // namespace detail

/// Every field: weights, hyperparameters, optimizer state, plus the schema. The default for save.
struct full_model {
    static constexpr auto h5ser_policy_category = detail::policy_category::mode;
    static constexpr auto mode = detail::save_mode::full_model;
};

/// Tensors only, for checkpoints in training loops: attributes (hyperparameters) and fields marked
/// as optimizer state are skipped. Loading with it reads only the tensors of either kind of file.
struct weights_only {
    static constexpr auto h5ser_policy_category = detail::policy_category::mode;
    static constexpr auto mode = detail::save_mode::weights_only;
};

/// Loading fails with one error listing every missing field, unexpected object, shape and dtype
/// mismatch. The default.
struct strict {
    static constexpr auto h5ser_policy_category = detail::policy_category::strictness;
    static constexpr bool is_lenient = false;
};

/// Loading keeps the in-memory value of fields the file lacks and ignores objects the struct has no
/// field for (schema evolution). Shape and dtype mismatches are still errors.
struct lenient {
    static constexpr auto h5ser_policy_category = detail::policy_category::strictness;
    static constexpr bool is_lenient = true;
};

/// Loading checks every dataset against its checksum and the file against its fingerprint. The default.
struct verify {
    static constexpr auto h5ser_policy_category = detail::policy_category::verification;
    static constexpr bool enabled = true;
};

/// Loading skips checksum and fingerprint verification (saves the hashing time; only for data you
/// have verified another way).
struct no_verify {
    static constexpr auto h5ser_policy_category = detail::policy_category::verification;
    static constexpr bool enabled = false;
};

/// Loading maps a sealed format-2 file and hands out its contiguous tensors as views of the mapping
/// (private, copy-on-write: writing to a tensor never changes the file), verified on the mapping.
/// The default. See docs/performance.md for what mapping adds.
struct mapped_memory {
    static constexpr auto h5ser_policy_category = detail::policy_category::memory;
    static constexpr bool map = true;
};

/// Loading copies every tensor into memory of its own (as HDF5 reads do): nothing refers to the
/// file once the load returns.
struct owned_memory {
    static constexpr auto h5ser_policy_category = detail::policy_category::memory;
    static constexpr bool map = false;
};

/// Loading parses the file in a child process even when h5ser sealed it: for files from sources
/// you do not trust, since the seal is an unkeyed hash that detects damage, not forgery. By
/// default, only files without an h5ser seal (Keras's, h5py's) are parsed in a child; see
/// docs/integrity.md.
struct untrusted {
    static constexpr auto h5ser_policy_category = detail::policy_category::trust;
    static constexpr auto isolate = detail::isolation::always;
};

/// Loading parses the file in this process whenever libhdf5 must parse it (files h5ser did not
/// seal, format-1 files, chunked tensors, a seal that does not match under h5ser::no_verify...):
/// for files you vouch for (written by your own pipeline), to save the child process (about a
/// millisecond, more for a big program; see docs/performance.md). A damaged or hostile file can
/// then crash or hang the program: the seal is a check against damage, not a signature.
struct trusted {
    static constexpr auto h5ser_policy_category = detail::policy_category::trust;
    static constexpr auto isolate = detail::isolation::never;
};

/// Loading converts tensors and numeric attributes stored with another element type than their
/// field's: floating-point types among themselves (float64, float32, float16, bfloat16) and integers
/// among themselves, an integer that does not fit its field being an error naming the field. Each
/// conversion is listed in the h5ser::load_report (`converted`); tensors stored as their field's
/// type are read as always (mapped ones stay views). Without it, another element type is an error.
struct convert_dtypes {
    static constexpr auto h5ser_policy_category = detail::policy_category::conversion;
    static constexpr bool convert = true;
};

/// Loading accepts HDF5 files other programs wrote (h5py, HighFive, h5cpp, MATLAB v7.3 numeric
/// arrays): files without h5ser's root attributes, whose tree is the struct's (groups for nested
/// structs, datasets for tensors, attributes for scalars and strings). Such a file keeps no
/// checksums, so what a verified load checks is h5ser's own files' (an h5ser file loads as it
/// would without this policy); it is parsed in a child process as every file h5ser did not seal.
///
///     auto model = h5ser::load<Model, h5ser::foreign>("from_h5py.h5");
struct foreign {
    static constexpr auto h5ser_policy_category = detail::policy_category::origin;
    static constexpr bool accept_foreign = true;
};

namespace detail {

// The default origin: h5ser's own files (and .safetensors files); others are not_h5ser_file.
struct h5ser_files {
    static constexpr auto h5ser_policy_category = policy_category::origin;
    static constexpr bool accept_foreign = false;
};

// The default conversion: none, a stored element type must be the field's.
struct exact_dtypes {
    static constexpr auto h5ser_policy_category = policy_category::conversion;
    static constexpr bool convert = false;
};

// The default trust: every parse by libhdf5 runs in a child process.
struct isolate_hdf5_parses {
    static constexpr auto h5ser_policy_category = policy_category::trust;
    static constexpr auto isolate = isolation::hdf5_parses;
};

template <class P>
concept policy = requires {
    P::h5ser_policy_category;
};

template <class P>
constexpr int policy_category_of() {
    if constexpr (policy<P>) return static_cast<int>(P::h5ser_policy_category);
    else return -1;
}

template <policy_category C, class Default, class... P>
struct pick_policy {
    using type = Default;
};
template <policy_category C, class Default, class First, class... Rest>
struct pick_policy<C, Default, First, Rest...> {
    using type =
        std::conditional_t<policy_category_of<First>() == static_cast<int>(C), First, typename pick_policy<C, Default, Rest...>::type>;
};

// The default mode of load: whatever the file says it holds.
struct as_saved {
    static constexpr auto h5ser_policy_category = policy_category::mode;
    static constexpr auto mode = save_mode::as_saved;
};

/// Which call a set of policies is for: each takes only the policies it can use, so that a policy
/// is never silently ignored.
enum class policy_call {
    save,      ///< save, save_async, fingerprint, h5ser::mpi::save: the mode and storage policies
    load,      ///< load, load_into: the mode, strictness, verification, memory and trust
    mpi_load,  ///< h5ser::mpi::load, load_into: as load, but no memory policy (ranks read their slices) and no trust (no child)
};

template <class P>
constexpr bool is_save_policy() {
    return storage_policy<P> || policy_category_of<P>() == static_cast<int>(policy_category::mode);
}
template <class P>
constexpr bool is_mpi_load_policy() {
    return policy<P> && policy_category_of<P>() != static_cast<int>(policy_category::memory) &&
           policy_category_of<P>() != static_cast<int>(policy_category::trust) &&
           policy_category_of<P>() != static_cast<int>(policy_category::conversion) &&
           policy_category_of<P>() != static_cast<int>(policy_category::origin);
}
/// Not an h5ser policy at all: policy_set_of's first check says so.
template <class P>
constexpr bool is_not_policy() {
    return !policy<P> && !storage_policy<P>;
}

template <class DefaultMode, class Tuple, policy_call Call>
struct policy_set_of;
template <class DefaultMode, class... P, policy_call Call>
struct policy_set_of<DefaultMode, std::tuple<P...>, Call> {
    static_assert(
        ((policy<P> || storage_policy<P>)&&...),
        "h5ser: a template argument of save/load is not an h5ser policy; use h5ser::full_model, "
        "h5ser::weights_only, h5ser::strict, h5ser::lenient, h5ser::verify, h5ser::no_verify, "
        "h5ser::mapped_memory, h5ser::owned_memory, h5ser::trusted, h5ser::untrusted, h5ser::convert_dtypes, h5ser::foreign, a storage "
        "policy (h5ser::contiguous, h5ser::auto_chunk, h5ser::chunked<...>, h5ser::deflate<N>, ...) or a "
        "preset (h5ser::fast, h5ser::compressed, h5ser::archival)");
    static_assert(
        Call != policy_call::save || ((is_not_policy<P>() || is_save_policy<P>()) && ...),
        "h5ser: saves (save, save_async, checkpoint saves, fingerprint, mpi::save) take h5ser::full_model or "
        "h5ser::weights_only and storage policies (h5ser::contiguous, h5ser::chunked<...>, h5ser::deflate<N>, "
        "..., presets such as h5ser::compressed); h5ser::strict, h5ser::lenient, h5ser::verify, h5ser::no_verify, "
        "h5ser::mapped_memory, h5ser::owned_memory, h5ser::trusted, h5ser::untrusted, h5ser::convert_dtypes and h5ser::foreign are load "
        "policies");
    static_assert(
        Call != policy_call::load || ((is_not_policy<P>() || policy<P>)&&...),
        "h5ser: loads (load, load_into, restore_latest) take h5ser::full_model or h5ser::weights_only, "
        "h5ser::strict or h5ser::lenient, h5ser::verify or h5ser::no_verify, h5ser::mapped_memory or "
        "h5ser::owned_memory, h5ser::trusted or h5ser::untrusted, h5ser::convert_dtypes, h5ser::foreign; storage policies (h5ser::contiguous, h5ser::compressed, ...) are for saves: a file "
        "is read as it was stored");
    static_assert(Call != policy_call::mpi_load || ((is_not_policy<P>() || is_mpi_load_policy<P>()) && ...),
                  "h5ser: h5ser::mpi::load and load_into take h5ser::full_model or h5ser::weights_only, h5ser::strict "
                  "or h5ser::lenient, h5ser::verify or h5ser::no_verify; each rank reads its slices into memory of "
                  "its own, so h5ser::mapped_memory and h5ser::owned_memory do not apply; MPI ranks cannot parse in "
                  "a child process, so h5ser::trusted and h5ser::untrusted do not apply; h5ser::convert_dtypes does "
                  "not apply to sliced reads yet, nor h5ser::foreign (sharded files are h5ser's); storage policies are for saves");
    template <policy_category C>
    static constexpr int count = ((policy_category_of<P>() == static_cast<int>(C) ? 1 : 0) + ... + 0);
    static_assert(count<policy_category::mode> <= 1, "h5ser: give at most one of h5ser::full_model and h5ser::weights_only");
    static_assert(count<policy_category::strictness> <= 1, "h5ser: give at most one of h5ser::strict and h5ser::lenient");
    static_assert(count<policy_category::verification> <= 1, "h5ser: give at most one of h5ser::verify and h5ser::no_verify");
    static_assert(count<policy_category::memory> <= 1, "h5ser: give at most one of h5ser::mapped_memory and h5ser::owned_memory");
    static_assert(count<policy_category::trust> <= 1, "h5ser: give at most one of h5ser::trusted and h5ser::untrusted");
    static_assert(count<policy_category::conversion> <= 1, "h5ser: give h5ser::convert_dtypes once");
    static_assert(count<policy_category::origin> <= 1, "h5ser: give h5ser::foreign once");

    static constexpr save_mode mode = pick_policy<policy_category::mode, DefaultMode, P...>::type::mode;
    static constexpr bool lenient = pick_policy<policy_category::strictness, strict, P...>::type::is_lenient;
    static constexpr bool verify = pick_policy<policy_category::verification, h5ser::verify, P...>::type::enabled;
    static constexpr bool map = pick_policy<policy_category::memory, mapped_memory, P...>::type::map;
    static constexpr isolation isolate = pick_policy<policy_category::trust, isolate_hdf5_parses, P...>::type::isolate;
    static constexpr bool convert = pick_policy<policy_category::conversion, exact_dtypes, P...>::type::convert;
    static constexpr bool foreign = pick_policy<policy_category::origin, h5ser_files, P...>::type::accept_foreign;
    using storage = storage_of<std::tuple<std::conditional_t<storage_policy<P>, P, void>...>>;
};

/// The policies of a save (presets expanded), each category resolved to its default when not given.
template <class... P>
using save_policies = policy_set_of<full_model, flatten_t<P...>, policy_call::save>;
/// The policies of a load.
template <class... P>
using load_policies = policy_set_of<as_saved, flatten_t<P...>, policy_call::load>;
/// The policies of an MPI load.
template <class... P>
using mpi_load_policies = policy_set_of<as_saved, flatten_t<P...>, policy_call::mpi_load>;

/// The policies of `Tuple` that `Keep<P>::value` accepts, as a tuple.
template <template <class> class Keep, class Tuple>
struct filter_policies;
template <template <class> class Keep>
struct filter_policies<Keep, std::tuple<>> {
    using type = std::tuple<>;
};
template <template <class> class Keep, class First, class... Rest>
struct filter_policies<Keep, std::tuple<First, Rest...>> {
    using rest = typename filter_policies<Keep, std::tuple<Rest...>>::type;
    using type =
        std::conditional_t<Keep<First>::value, decltype(std::tuple_cat(std::declval<std::tuple<First>>(), std::declval<rest>())), rest>;
};
template <class P>
struct kept_for_saves : std::bool_constant<is_not_policy<P>() || is_save_policy<P>()> {};
template <class P>
struct kept_for_loads : std::bool_constant<!storage_policy<P>> {};

/// checkpoint_manager's one pack holds the policies of its saves and of its restores: the saves
/// take the mode and the storage policies, the restores the mode and the load policies. Anything
/// else still fails policy_set_of's first check.
template <class... P>
using checkpoint_save_policies =
    policy_set_of<full_model, typename filter_policies<kept_for_saves, flatten_t<P...>>::type, policy_call::save>;
template <class... P>
using checkpoint_load_policies =
    policy_set_of<as_saved, typename filter_policies<kept_for_loads, flatten_t<P...>>::type, policy_call::load>;

}  // namespace detail
}  // namespace h5ser
