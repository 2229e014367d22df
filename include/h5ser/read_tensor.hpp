// h5ser/read_tensor.hpp: h5ser::read_tensor, one tensor of a file (or a slice of it) by its path,
// without a struct.
#pragma once

#include <hdf5.h>

#include <cerrno>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "h5ser/any_tensor.hpp"
#include "h5ser/detail/format/seal.hpp"
#include "h5ser/detail/hdf5/dataset.hpp"
#include "h5ser/detail/hdf5/dtype.hpp"
#include "h5ser/detail/load/box.hpp"
#include "h5ser/detail/load/load_file.hpp"
#include "h5ser/detail/load/load_walk.hpp"
#include "h5ser/detail/load/opened_file.hpp"
#include "h5ser/detail/load/ranged_source.hpp"
#include "h5ser/detail/posix/file.hpp"
#include "h5ser/detail/posix/io.hpp"
#include "h5ser/detail/save/saves_in_flight.hpp"
#include "h5ser/element_type.hpp"
#include "h5ser/policy.hpp"
#include "h5ser/progress.hpp"
#include "h5ser/tensor.hpp"

namespace h5ser {

/// A part of a tensor: for each of its first dimensions, the first index and the number of indices
/// (h5py's `t[a:a + n, c:c + m]` is `{{a, c}, {n, m}}`); the dimensions after those given are taken
/// whole. The part keeps the tensor's rank.
struct slice {
    std::vector<std::size_t> start;
    std::vector<std::size_t> count;
};

/// Indices [first, first + count) of the first dimension: h5py's `t[first:first + count]`.
inline slice rows(std::size_t first, std::size_t count) { return {{first}, {count}}; }

namespace detail {

/// A load of one object takes any HDF5 file: h5ser::foreign is implied.
template <class Policies>
struct one_object_policies : Policies {
    static constexpr bool foreign = true;
};

/// Whether `Policies` are ones h5ser::read_tensor takes (false, after the error).
template <class Policies>
constexpr bool assert_read_tensor_policies() {
    static_assert(Policies::mode == save_mode::as_saved && !Policies::lenient,
                  "h5ser::read_tensor reads one tensor, whatever the file's mode: it takes h5ser::verify or h5ser::no_verify, "
                  "h5ser::mapped_memory or h5ser::owned_memory, h5ser::trusted or h5ser::untrusted, h5ser::convert_dtypes "
                  "(not h5ser::full_model, h5ser::weights_only, h5ser::strict or h5ser::lenient)");
    return Policies::mode == save_mode::as_saved && !Policies::lenient;
}

/// Reads the object `object_path` of the file `path` as an X, through the entry of every load.
template <class X, class... Policies>
X read_object(const std::string& path, std::string_view object_path, const progress_callback& progress) {
    using policies = one_object_policies<load_policies<Policies...>>;
    object_at<X> target{std::string(object_path), {}};
    if constexpr (assert_read_tensor_policies<policies>()) load_file<policies>(target, path, true, progress);
    return std::move(target.value);
}

/// The same from the file `opened`, opened before (h5ser::tensor_reader).
template <class X, class... Policies>
X read_object(const file_to_load& opened, std::string_view object_path, const progress_callback& progress) {
    using policies = one_object_policies<load_policies<Policies...>>;
    object_at<X> target{std::string(object_path), {}};
    if constexpr (assert_read_tensor_policies<policies>()) load_opened<policies>(target, opened, true, progress, {});
    return std::move(target.value);
}

/// A new X of the box `b`'s shape, holding `kind` elements (any_tensor), elements indeterminate.
template <class X>
X tensor_for_box(const box& b, [[maybe_unused]] element_kind kind) {
    if constexpr (std::is_same_v<X, any_tensor>) {
        return any_tensor(kind, b.count, uninitialized);
    } else {
        return X(to_shape<X::rank>(b.count), uninitialized);
    }
}

/// The part `part` of `whole` (a tensor or an any_tensor read whole: the object `object` of the file
/// `path`, which errors name), copied out.
template <class X>
X part_of(const X& whole, const slice& part, const std::string& path, const std::string& object) {
    const dynamic_shape shape(whole.shape());
    element_kind kind = element_kind::float32;
    if constexpr (std::is_same_v<X, any_tensor>) kind = whole.kind();
    else kind = element_kind_of<typename X::value_type>();
    const box b = box_in(part.start, part.count, shape, path, object);
    X out = tensor_for_box<X>(b, kind);
    copy_box(b, whole.data(), shape, element_size(kind), out.data());
    return out;
}

/// The part `part` of the tensor `object` of the sealed file `file` (whose seal is `seal`), read
/// alone when its storage allows, as an X can hold it:
///   - chunked: through HDF5, which reads only the chunks the part touches. The seal covers chunked
///     data, so with `verify` the seal must have been checked with its hash now (`seal_hashed_now`),
///     or it is checked again;
///   - contiguous and not `verify`: run by run, with pread. (Verified, its checksum covers it whole.)
/// Otherwise nothing: the caller reads it whole, where every error is reported.
template <class X>
std::optional<X> read_part_alone(const opened_file& file, const seal_check& seal, bool seal_hashed_now, std::string_view object,
                                 const slice& part, bool verify) {
    if (seal.status != seal_status::intact || !seal.contents) return std::nullopt;
    const std::string& path = file.path();
    const auto names = object_path_names(object);
    if (!names) return std::nullopt;
    std::string dataset;
    for (const std::string& name : *names) dataset += "/" + name;
    const manifest_record* r = seal.contents->dataset(dataset);
    if (!r || r->rank == 0) return std::nullopt;
    const bool chunked = r->layout == record_layout::chunked;
    if (!chunked && (verify || r->layout != record_layout::contiguous)) return std::nullopt;
    if (chunked && verify && !seal_hashed_now) {
        const seal_check again = check_seal(file, true);
        if (again.damage) throw *again.damage;
        if (again.status != seal_status::intact) return std::nullopt;
    }
    const std::optional<element_kind> kind = element_kind_named(r->dtype);
    if (!kind) return std::nullopt;
    if constexpr (!std::is_same_v<X, any_tensor>) {
        if (r->dtype != dtype_name<typename X::value_type>() || r->rank != X::rank) return std::nullopt;
    }
    std::vector<std::uint64_t> dims;
    for (std::size_t i = 0; i < r->rank; ++i) dims.push_back(r->dim(i));
    const dynamic_shape shape(dims);
    const box b = box_in(part.start, part.count, shape, path, dataset);
    X out = tensor_for_box<X>(b, *kind);
    auto* to = static_cast<unsigned char*>(static_cast<void*>(out.data()));
    if (b.count.elements() == 0) return out;
    if (chunked) {
        const where at{path, {}, dataset};
        const handle hdf5_file = file.open_hdf5(file_access(at).get(), at);
        const handle d = checked(H5Dopen2(hdf5_file.get(), dataset.c_str(), H5P_DEFAULT), at, "cannot open dataset");
        const handle file_space = checked(H5Dget_space(d.get()), at, "H5Dget_space");
        const std::vector<hsize_t> start(b.start.begin(), b.start.end()), count(b.count.begin(), b.count.end());
        check(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr), at,
              "H5Sselect_hyperslab");
        const handle memory_space = make_dataspace(count.data(), count.size(), at);
        const handle type = with_element_type(*kind, [&]<class E>() { return memory_type<E>(at); });
        check(H5Dread(d.get(), type.get(), memory_space.get(), file_space.get(), H5P_DEFAULT, to), at, "cannot read dataset");
        return out;
    }
    for_each_run(b, shape, element_size(*kind), [&](std::uint64_t offset, std::uint64_t length) {
        if (!read_exact(file.fd(), to, static_cast<std::size_t>(length), r->offset + offset))
            throw_io(path, "cannot read tensor " + dataset, errno);
        to += length;
    });
    return out;
}

/// Reads the part `part` of the object `object_path` of the file `path` as an X (a tensor or an
/// any_tensor): alone when its storage allows (read_part_alone), else read whole, verified, and cut.
template <class X, class... Policies>
X read_part(const std::string& path, std::string_view object_path, const slice& part, const progress_callback& progress) {
    constexpr bool verify = load_policies<Policies...>::verify;
    // A URL's tensor is read whole by one ranged request, verified, and cut (docs/remote.md).
    if (!is_url(path)) {
        settle_saves_of(path);
        const opened_file file = opened_file::open(path);
        // Unverified, the seal's own checksums (of its header and manifest) are enough to find the part.
        if (auto read = read_part_alone<X>(file, check_seal(file, verify), true, object_path, part, verify)) return std::move(*read);
    }
    return part_of(read_object<X, Policies...>(path, object_path, progress), part, path, std::string(object_path));
}

/// The same from the file `opened`, opened before (h5ser::tensor_reader).
template <class X, class... Policies>
X read_part(const file_to_load& opened, std::string_view object_path, const slice& part, const progress_callback& progress) {
    constexpr bool verify = load_policies<Policies...>::verify;
    if (auto read = read_part_alone<X>(opened.file, opened.seal, false, object_path, part, verify)) return std::move(*read);
    return part_of(read_object<X, Policies...>(opened, object_path, progress), part, opened.file.path(), std::string(object_path));
}

}  // namespace detail

/// The tensor at `object_path` ("/encoder/kernel") of the file `path`, without a struct: any HDF5
/// file (h5ser's, h5py's, another program's: h5ser::foreign is implied), or a .safetensors file
/// (whose tensors are named as it names them: "/h.0.attn.c_attn.weight").
///
///     auto kernel = h5ser::read_tensor<float, 2>("model.h5", "/encoder/kernel");
///     h5ser::any_tensor t = h5ser::read_tensor("model.h5", "/encoder/kernel");   // dtype and shape from the file
///
/// It is read as a field of that type would be by h5ser::load: from a sealed file mapped (a view
/// of the mapping; h5ser::owned_memory copies) and verified against its checksum; from a file h5ser
/// did not seal, in the isolated child (h5ser::trusted: in place), which copies that tensor alone.
/// Nothing else of the file is read. An h5ser::error names the path when there is no such
/// dataset, or it holds another element type (h5ser::convert_dtypes converts) or rank.
template <element_type T, std::size_t Rank, class... Policies>
[[nodiscard]] tensor<T, Rank> read_tensor(const std::string& path, std::string_view object_path, const progress_callback& progress = {}) {
    return detail::read_object<tensor<T, Rank>, Policies...>(path, object_path, progress);
}

/// h5ser::read_tensor into an h5ser::any_tensor: the element type and shape are the file's.
template <class... Policies>
[[nodiscard]] any_tensor read_tensor(const std::string& path, std::string_view object_path, const progress_callback& progress = {}) {
    return detail::read_object<any_tensor, Policies...>(path, object_path, progress);
}

/// A part of the tensor at `object_path` (h5py's `f["emb"][100:200]`):
///
///     auto some = h5ser::read_tensor<float, 2>("model.h5", "/emb", h5ser::rows(100, 100));
///     auto box = h5ser::read_tensor<float, 2>("model.h5", "/emb", h5ser::slice{{100, 8}, {100, 16}});
///
/// From a sealed file, a chunked tensor is read chunk by chunk: only the chunks the part touches
/// (the seal's hash, which covers every chunk, is checked first). A contiguous one, verified (the
/// default), is read whole and checked against its checksum, which covers the whole tensor, then
/// the part is copied out: the part costs as much as the tensor; with h5ser::no_verify only its
/// bytes are read (pread). Tensors of files h5ser did not seal are read whole. An h5ser::error (errc::invalid_value) names the path
/// and the bounds when the part does not lie within the tensor.
template <element_type T, std::size_t Rank, class... Policies>
[[nodiscard]] tensor<T, Rank> read_tensor(const std::string& path, std::string_view object_path, const slice& part,
                                          const progress_callback& progress = {}) {
    return detail::read_part<tensor<T, Rank>, Policies...>(path, object_path, part, progress);
}

/// A part of a tensor (as above) into an h5ser::any_tensor.
template <class... Policies>
[[nodiscard]] any_tensor read_tensor(const std::string& path, std::string_view object_path, const slice& part,
                                     const progress_callback& progress = {}) {
    return detail::read_part<any_tensor, Policies...>(path, object_path, part, progress);
}

/// A file opened once for many reads of its tensors (h5py's `h5py.File`, HighFive's `File`):
///
///     h5ser::tensor_reader file("model.h5");
///     auto kernel = file.read<float, 2>("/encoder/kernel");
///     h5ser::any_tensor bias = file.read("/encoder/bias");
///     auto rows = file.read<float, 2>("/emb", h5ser::rows(100, 100));
///
/// Each read is h5ser::read_tensor's, with `Policies` (h5ser::tensor_reader<h5ser::no_verify>),
/// but the file is opened, its seal checked (the hash over its HDF5 metadata) and a .safetensors
/// header parsed once, when the reader is made: a read of a mapped tensor then costs that tensor
/// alone (its checksum included). Reads go to the file the reader opened, even if another is
/// renamed over its name since (a read that needs libhdf5 then fails with errc::file_changed:
/// libhdf5 opens by name). A verified part of a chunked tensor checks the seal again, as the seal
/// covers chunked data.
template <class... Policies>
class tensor_reader {
public:
    /// Opens `path` (waiting for this process's asynchronous saves of it first). Throws what opening
    /// throws (errc::file_not_found, errc::io, a malformed .safetensors header); what a read finds (a
    /// damaged seal, no such tensor, another dtype) that read throws.
    explicit tensor_reader(const std::string& path) : opened_(open(path)) {
        static_assert(detail::assert_read_tensor_policies<detail::one_object_policies<detail::load_policies<Policies...>>>());
    }

    /// The tensor at `object_path` ("/encoder/kernel"): h5ser::read_tensor<T, Rank>.
    template <element_type T, std::size_t Rank>
    [[nodiscard]] tensor<T, Rank> read(std::string_view object_path, const progress_callback& progress = {}) const {
        return detail::read_object<tensor<T, Rank>, Policies...>(opened_, object_path, progress);
    }
    /// The same into an h5ser::any_tensor: the element type and shape are the file's.
    [[nodiscard]] any_tensor read(std::string_view object_path, const progress_callback& progress = {}) const {
        return detail::read_object<any_tensor, Policies...>(opened_, object_path, progress);
    }
    /// A part of the tensor at `object_path`, as h5ser::read_tensor reads one.
    template <element_type T, std::size_t Rank>
    [[nodiscard]] tensor<T, Rank> read(std::string_view object_path, const slice& part, const progress_callback& progress = {}) const {
        return detail::read_part<tensor<T, Rank>, Policies...>(opened_, object_path, part, progress);
    }
    /// A part of a tensor into an h5ser::any_tensor.
    [[nodiscard]] any_tensor read(std::string_view object_path, const slice& part, const progress_callback& progress = {}) const {
        return detail::read_part<any_tensor, Policies...>(opened_, object_path, part, progress);
    }

    /// The path the reader opened.
    [[nodiscard]] const std::string& path() const noexcept { return opened_.file.path(); }

private:
    static detail::file_to_load open(const std::string& path) {
        detail::settle_saves_of(path);
        return detail::file_to_load::open(path);
    }
    detail::file_to_load opened_;
};

}  // namespace h5ser
