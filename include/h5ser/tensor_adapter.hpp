// h5ser/tensor_adapter.hpp: the customization point that makes any array type an HDF5 dataset.
#pragma once

#include <array>
#include <concepts>
#include <cstddef>
#include <memory>
#include <span>
#include <type_traits>
#include <vector>

#include "h5ser/element_type.hpp"
#include "h5ser/tensor.hpp"

namespace h5ser {

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
/// see docs/adapters.md for the cost). Built-in adapters: h5ser::tensor, std::vector of an element
/// type (rank 1) and std::span (rank 1, loaded in place); h5ser/eigen.hpp adds Eigen's matrices
/// and arrays.
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
    static tensor<T, Rank> view(const std::array<std::size_t, Rank>& shape, T* data, std::shared_ptr<const void> keep) {
        return detail::tensor_views::view(shape, data, std::move(keep));
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
    requires(element_type<T> && !std::is_const_v<T>)
struct tensor_adapter<std::span<T>> {
    using element_type = T;
    static constexpr std::size_t rank = 1;
    static std::array<std::size_t, 1> shape(const std::span<T>& s) noexcept { return {s.size()}; }
    static const T* data(const std::span<T>& s) noexcept { return s.data(); }
    static T* data(std::span<T>& s) noexcept { return s.data(); }
};

/// True when `tensor_adapter<T>` is specialized completely.
template <class T>
concept adapted_tensor = requires(const T& ct, T& t) {
    typename tensor_adapter<T>::element_type;
    requires element_type<typename tensor_adapter<T>::element_type>;
    { tensor_adapter<T>::rank } -> std::convertible_to<std::size_t>;
    { tensor_adapter<T>::shape(ct) } -> std::convertible_to<std::array<std::size_t, tensor_adapter<T>::rank>>;
    { tensor_adapter<T>::data(ct) } -> std::same_as<const typename tensor_adapter<T>::element_type*>;
    { tensor_adapter<T>::data(t) } -> std::same_as<typename tensor_adapter<T>::element_type*>;
};

/// A tensor whose elements are not in C order: h5ser copies it through a C-order buffer (see
/// tensor_adapter).
template <class T>
concept reordered_tensor = requires(const T& ct, T& t, typename tensor_adapter<T>::element_type* out,
                                    const typename tensor_adapter<T>::element_type* in) {
    requires element_type<typename tensor_adapter<T>::element_type>;
    { tensor_adapter<T>::rank } -> std::convertible_to<std::size_t>;
    { tensor_adapter<T>::shape(ct) } -> std::convertible_to<std::array<std::size_t, tensor_adapter<T>::rank>>;
    tensor_adapter<T>::copy_to_c_order(ct, out);
    tensor_adapter<T>::copy_from_c_order(t, in);
};

/// Anything h5ser stores as a dataset.
template <class T>
concept stored_tensor = adapted_tensor<T> || reordered_tensor<T>;

/// An adapted tensor that loading can size from the file.
template <class T>
concept resizable_tensor = stored_tensor<T> && requires(T& t, const std::array<std::size_t, tensor_adapter<T>::rank>& s) {
    tensor_adapter<T>::resize_for_overwrite(t, s);
};

/// An adapted tensor that loading can make a view of mapped memory (see tensor_adapter).
template <class T>
concept viewable_tensor =
    resizable_tensor<T> && requires(const std::array<std::size_t, tensor_adapter<T>::rank>& s, typename tensor_adapter<T>::element_type* p,
                                    std::shared_ptr<const void> keep) {
        { tensor_adapter<T>::view(s, p, keep) } -> std::same_as<T>;
    };

}  // namespace h5ser
