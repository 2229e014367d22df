// h5ser/tensor_adapter.hpp: the customization point that makes any array type an HDF5 dataset.
#pragma once

#include <algorithm>
#include <array>
#include <concepts>
#include <cstddef>
#include <initializer_list>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "h5ser/element_type.hpp"
#include "h5ser/tensor.hpp"

namespace h5ser {

/// The rank of a tensor whose number of dimensions is known only at run time (xt::xarray,
/// torch::Tensor): see the run-time form of tensor_adapter.
inline constexpr std::size_t dynamic_rank = std::dynamic_extent;

/// The shape of a tensor whose rank is known only at run time: at most 32 dimensions (HDF5's limit).
class dynamic_shape {
public:
    static constexpr std::size_t max_rank = 32;

    dynamic_shape() = default;
    dynamic_shape(std::initializer_list<std::size_t> dims) { assign(dims.begin(), dims.end()); }
    /// The dimensions of a range of integers (std::vector, xtensor's shapes, torch's IntArrayRef).
    template <class Range>
    requires requires(const Range& r) {
        std::begin(r);
        std::end(r);
    }
    explicit dynamic_shape(const Range& dims) { assign(std::begin(dims), std::end(dims)); }

    [[nodiscard]] std::size_t size() const noexcept { return rank_; }
    [[nodiscard]] bool empty() const noexcept { return rank_ == 0; }
    [[nodiscard]] const std::size_t* data() const noexcept { return dims_.data(); }
    [[nodiscard]] const std::size_t* begin() const noexcept { return dims_.data(); }
    [[nodiscard]] const std::size_t* end() const noexcept { return dims_.data() + rank_; }
    [[nodiscard]] std::size_t operator[](std::size_t i) const noexcept { return dims_[i]; }
    std::size_t& operator[](std::size_t i) noexcept { return dims_[i]; }
    /// The number of elements: the product of the dimensions (1 for rank 0).
    [[nodiscard]] std::size_t elements() const noexcept {
        std::size_t n = 1;
        for (std::size_t i = 0; i < rank_; ++i) n *= dims_[i];
        return n;
    }
    friend bool operator==(const dynamic_shape& a, const dynamic_shape& b) noexcept {
        return std::equal(a.begin(), a.end(), b.begin(), b.end());
    }

private:
    template <class It, class End>
    void assign(It first, End last) {
        for (; first != last; ++first) {
            if (rank_ == max_rank) throw std::length_error("h5ser::dynamic_shape: more than 32 dimensions (HDF5's limit)");
            const auto d = *first;
            if (d < 0) throw std::invalid_argument("h5ser::dynamic_shape: a negative dimension");
            dims_[rank_++] = static_cast<std::size_t>(d);
        }
    }
    std::array<std::size_t, max_rank> dims_{};
    std::size_t rank_ = 0;
};

namespace detail {
template <std::size_t Rank>
struct shape_type_of : std::type_identity<std::array<std::size_t, Rank>> {};
template <>
struct shape_type_of<dynamic_rank> : std::type_identity<dynamic_shape> {};
}  // namespace detail

/// The shape of a tensor of `Rank` dimensions: std::array<std::size_t, Rank>, or dynamic_shape for
/// dynamic_rank.
template <std::size_t Rank>
using shape_of_rank = typename detail::shape_type_of<Rank>::type;

/// The element_type of a run-time-typed tensor (torch::Tensor), whose element type is known only
/// at run time: see the run-time form of tensor_adapter.
struct runtime_element {};

/// Specialize `tensor_adapter<X>` to store your own array type `X` as a dataset. A specialization
/// provides:
///
///     using element_type = E;                            // an h5ser::element_type
///     static constexpr std::size_t rank = R;             // number of dimensions, 0 to 32
///     static std::array<std::size_t, R> shape(const X&); // the logical dimensions: (rows, cols) for a matrix
///     static const E* data(const X&);                    // contiguous elements in C (row-major) order
///     static E* data(X&);
///
/// and, if `X` owns its storage so that loading can size it from the file:
///
///     static void resize_for_overwrite(X&, const std::array<std::size_t, R>&);  // contents may be garbage
///
/// Without `resize_for_overwrite`, the in-memory shape must equal the file's (views, fixed-size
/// types). A type that can view memory it does not own may also provide
///
///     static X view(const std::array<std::size_t, R>&, E* data, std::shared_ptr<const void> keep);
///
/// which returns an `X` of that shape over `data` (64-byte aligned, C order), holding `keep` as long
/// as it uses the memory: loads of sealed format-2 files then hand out views of the mapped file
/// instead of copies (h5ser::mapped_memory). Types without it are filled by one copy.
///
/// A type whose elements are not in C order (a column-major matrix) must not pretend otherwise:
/// reporting its dimensions reversed would store the transpose, so that h5py, Keras and every
/// other reader see the wrong matrix (HighFive's Eigen support did this for years). Instead of
/// `data()`, such a type provides
///
///     static void copy_to_c_order(const X&, E* out);     // its elements, in C order of shape()
///     static void copy_from_c_order(X&, const E* in);    // X already has the shape
///
/// and h5ser copies through a C-order buffer on the way out and in (one transposition each way;
/// see docs/adapters.md for the cost).
///
/// A type whose rank is known only at run time (xt::xarray) says `rank = h5ser::dynamic_rank`; its
/// shape() returns an h5ser::dynamic_shape, and resize_for_overwrite (required) and view take one.
/// Such a tensor always takes the file's shape when it is loaded, whatever its rank was.
///
/// A type whose element type, too, is known only at run time (torch::Tensor) has the run-time form:
///
///     using element_type = h5ser::runtime_element;
///     static constexpr std::size_t rank = h5ser::dynamic_rank;
///     static std::string refusal(const X&);         // why it cannot be saved ("a CUDA tensor"), or ""
///     static h5ser::element_kind kind(const X&);     // its element type (when refusal() is "")
///     static h5ser::dynamic_shape shape(const X&);
///     static const void* data(const X&);             // its elements in C order, or nullptr if they are not:
///     static void copy_to_c_order(const X&, void* out);  //   then h5ser copies them with this
///     static bool holds(h5ser::element_kind);        // can an X have elements of this type?
///     static X view(h5ser::element_kind, const h5ser::dynamic_shape&, void* data, std::shared_ptr<const void> keep);
///
/// Loading it takes the element type and shape from the file, reads the elements into memory h5ser
/// allocates (or finds them in the mapped file), and calls view() with `keep` owning that memory:
/// the X it returns keeps `keep` as long as it uses `data` (64-byte aligned, C order; null, and
/// `keep` empty, when there are no elements), so a load copies nothing more. A file whose element type holds() refuses is an h5ser::error.
///
/// An adapter without the non-const data() describes a tensor h5ser saves but never loads
/// (save_only_tensor).
///
/// Built-in adapters: h5ser::tensor, std::vector of an element type (rank 1), std::span (rank 1,
/// loaded in place) and std::span<const T> (rank 1, saved only); h5ser/eigen.hpp adds Eigen's
/// matrices and arrays, h5ser/xtensor.hpp xtensor's containers, and h5ser/torch.hpp torch::Tensor.
template <class T>
struct tensor_adapter {};

template <class T, std::size_t Rank>
struct tensor_adapter<tensor<T, Rank>> {
    using element_type = T;
    static constexpr std::size_t rank = Rank;
    static const std::array<std::size_t, Rank>& shape(const tensor<T, Rank>& t) noexcept { return t.shape(); }
    static const T* data(const tensor<T, Rank>& t) noexcept { return t.data(); }
    static T* data(tensor<T, Rank>& t) noexcept { return t.data(); }
    static void resize_for_overwrite(tensor<T, Rank>& t, const std::array<std::size_t, Rank>& shape) {
        if (t.shape() != shape || t.maps_file()) t = tensor<T, Rank>(shape, uninitialized);
    }
    static tensor<T, Rank> view(const std::array<std::size_t, Rank>& shape, T* data, const std::shared_ptr<const void>& keep) {
        return detail::tensor_views::view(shape, data, keep);
    }
};

template <class T, class Alloc>
requires(element_type<T> && !std::is_same_v<T, bool>)  // std::vector<bool> is not contiguous
    struct tensor_adapter<std::vector<T, Alloc>> {
    using element_type = T;
    static constexpr std::size_t rank = 1;
    static std::array<std::size_t, 1> shape(const std::vector<T, Alloc>& v) noexcept { return {v.size()}; }
    static const T* data(const std::vector<T, Alloc>& v) noexcept { return v.data(); }
    static T* data(std::vector<T, Alloc>& v) noexcept { return v.data(); }
    static void resize_for_overwrite(std::vector<T, Alloc>& v, const std::array<std::size_t, 1>& shape) { v.resize(shape[0]); }
};

/// A view of the caller's memory (pinned or device-staging buffers): saved from it, and loaded into
/// it (a mapped load copies straight from the file's mapping, with no allocation); its size must
/// equal the file's. Dynamic extent only: a fixed-extent span has no default state, which makes a
/// struct holding one impossible to reflect.
template <class T>
requires(element_type<T> && !std::is_const_v<T>) struct tensor_adapter<std::span<T>> {
    using element_type = T;
    static constexpr std::size_t rank = 1;
    static std::array<std::size_t, 1> shape(const std::span<T>& s) noexcept { return {s.size()}; }
    static const T* data(const std::span<T>& s) noexcept { return s.data(); }
    static T* data(std::span<T>& s) noexcept { return s.data(); }
};

/// A view of read-only memory (weights in a read-only mapping, a constant table): saved from it,
/// never loaded. A load of a struct holding one does not compile: it would have to write into
/// memory the span promises not to change. Load into a struct of your own with std::span<T>,
/// std::vector<T> or h5ser::tensor<T, 1> in its place.
template <element_type T>
struct tensor_adapter<std::span<const T>> {
    using element_type = T;
    static constexpr std::size_t rank = 1;
    static std::array<std::size_t, 1> shape(const std::span<const T>& s) noexcept { return {s.size()}; }
    static const T* data(const std::span<const T>& s) noexcept { return s.data(); }
};

/// True when `tensor_adapter<T>` gives T's elements in C order for reading: enough to save T.
template <class T>
concept saveable_tensor = requires(const T& ct) {
    typename tensor_adapter<T>::element_type;
    requires element_type<typename tensor_adapter<T>::element_type>;
    { tensor_adapter<T>::rank } -> std::convertible_to<std::size_t>;
    { tensor_adapter<T>::shape(ct) } -> std::convertible_to<shape_of_rank<tensor_adapter<T>::rank>>;
    { tensor_adapter<T>::data(ct) } -> std::same_as<const typename tensor_adapter<T>::element_type*>;
};

/// True when `tensor_adapter<T>` is specialized completely: T is saved from its elements and
/// loaded into them.
template <class T>
concept adapted_tensor = saveable_tensor<T> && requires(T& t) {
    { tensor_adapter<T>::data(t) } -> std::same_as<typename tensor_adapter<T>::element_type*>;
};

/// A tensor h5ser saves but cannot load, because its adapter gives only read-only elements:
/// std::span<const T> (a view of weights in read-only memory), or an adapter of your own without
/// the non-const data().
template <class T>
concept save_only_tensor = saveable_tensor<T> && !adapted_tensor<T>;

/// A tensor whose elements are not in C order: h5ser copies it through a C-order buffer (see
/// tensor_adapter).
template <class T>
concept reordered_tensor = requires(const T& ct, T& t, typename tensor_adapter<T>::element_type* out,
                                    const typename tensor_adapter<T>::element_type* in) {
    requires element_type<typename tensor_adapter<T>::element_type>;
    { tensor_adapter<T>::rank } -> std::convertible_to<std::size_t>;
    { tensor_adapter<T>::shape(ct) } -> std::convertible_to<shape_of_rank<tensor_adapter<T>::rank>>;
    tensor_adapter<T>::copy_to_c_order(ct, out);
    tensor_adapter<T>::copy_from_c_order(t, in);
};

/// An adapted tensor that loading can size from the file.
template <class T>
concept resizable_tensor = (adapted_tensor<T> || reordered_tensor<T>)&&requires(T& t, const shape_of_rank<tensor_adapter<T>::rank>& s) {
    tensor_adapter<T>::resize_for_overwrite(t, s);
};

/// A tensor of a static element type: h5ser stores it as a dataset of that type. One whose rank is
/// known only at run time must be resizable (it takes the file's shape).
template <class T>
concept static_typed_tensor = (saveable_tensor<T> || reordered_tensor<T>)&&(tensor_adapter<T>::rank != dynamic_rank || resizable_tensor<T>);

/// A tensor whose element type and rank are known only at run time (the run-time form of
/// tensor_adapter: torch::Tensor).
template <class T>
concept runtime_typed_tensor = requires(const T& ct, void* out, element_kind kind, const dynamic_shape& shape,
                                        std::shared_ptr<const void> keep) {
    requires std::same_as<typename tensor_adapter<T>::element_type, runtime_element>;
    requires tensor_adapter<T>::rank == dynamic_rank;
    { tensor_adapter<T>::refusal(ct) } -> std::convertible_to<std::string>;
    { tensor_adapter<T>::kind(ct) } -> std::same_as<element_kind>;
    { tensor_adapter<T>::shape(ct) } -> std::convertible_to<dynamic_shape>;
    { tensor_adapter<T>::data(ct) } -> std::same_as<const void*>;
    tensor_adapter<T>::copy_to_c_order(ct, out);
    { tensor_adapter<T>::holds(kind) } -> std::same_as<bool>;
    { tensor_adapter<T>::view(kind, shape, out, keep) } -> std::same_as<T>;
};

/// Anything h5ser stores as a dataset.
template <class T>
concept stored_tensor = static_typed_tensor<T> || runtime_typed_tensor<T>;

/// An adapted tensor that loading can make a view of mapped memory (see tensor_adapter).
template <class T>
concept viewable_tensor = resizable_tensor<T> && requires(const shape_of_rank<tensor_adapter<T>::rank>& s,
                                                          typename tensor_adapter<T>::element_type* p, std::shared_ptr<const void> keep) {
    { tensor_adapter<T>::view(s, p, keep) } -> std::same_as<T>;
};

}  // namespace h5ser
