// h5ser/tensor.hpp: h5ser::tensor<T, Rank>, an owning, row-major, contiguous, 64-byte aligned array.
#pragma once

#include <algorithm>
#include <array>
#include <cassert>
#include <cstddef>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <utility>

#include "h5ser/detail/model/tensor_memory.hpp"
#include "h5ser/element_type.hpp"

namespace h5ser {

/// Tag for constructors that leave elements indeterminate because they are about to be overwritten.
struct uninitialized_t {
    explicit uninitialized_t() = default;
};
inline constexpr uninitialized_t uninitialized{};

namespace detail {
struct tensor_views;
}  // namespace detail

/// An owning, row-major, contiguous tensor of `Rank` dimensions (0 to 32).
///
///     h5ser::tensor<float, 2> kernel({784, 128});   // zero-filled
///     kernel(3, 5) = 1.0f;
///
/// A default-constructed tensor is empty (every dimension 0) and is sized by loading. Storage is
/// 64-byte aligned. Copies are deep; moves are cheap and leave the source empty.
///
/// A tensor h5ser::load returns may view the loaded file's mapping instead of owning its memory
/// (maps_file()): it behaves the same. Writing to it changes this tensor only (the mapping is
/// private, copy-on-write), copying it copies, and the mapping lives as long as a tensor uses it,
/// even after the file is replaced or deleted.
template <class T, std::size_t Rank>
class tensor {
    static_assert(element_type<T>,
                  "h5ser::tensor<T, Rank>: T must be bool, a signed or unsigned integer type of 8 to 64 bits, "
                  "float, double, h5ser::float16 or h5ser::bfloat16 (use std::int8_t/std::uint8_t instead of char)");
    static_assert(Rank <= 32, "h5ser::tensor: HDF5 supports at most 32 dimensions");

public:
    using value_type = T;
    using shape_type = std::array<std::size_t, Rank>;
    using size_type = std::size_t;
    using iterator = T*;
    using const_iterator = const T*;
    static constexpr std::size_t rank = Rank;

    /// Empty: every dimension 0 (a rank-0 tensor holds one zero element).
    tensor() : tensor(shape_type{}) {}

    /// Allocates `shape` and fills it with zeros.
    tensor(shape_type shape)  // NOLINT(google-explicit-constructor): tensor({2, 3})
        : shape_(shape), size_(detail::checked_element_count(shape, sizeof(T))), memory_(size_ * sizeof(T), true) {}

    /// Allocates `shape` without initialising the elements; write every element before reading it.
    tensor(shape_type shape, uninitialized_t)
        : shape_(shape), size_(detail::checked_element_count(shape, sizeof(T))), memory_(size_ * sizeof(T), false) {}

    /// Allocates `shape` and copies `values` (row-major); their number must equal the element count.
    tensor(shape_type shape, std::initializer_list<T> values) : tensor(shape, uninitialized) {
        if (values.size() != size_) throw std::invalid_argument("h5ser::tensor: number of values does not match the shape");
        std::copy(values.begin(), values.end(), data());
    }

    tensor(const tensor& other) : tensor(other.shape_, uninitialized) {
        if (size_ != 0) std::memcpy(static_cast<void*>(data()), other.data(), size_ * sizeof(T));
    }
    tensor(tensor&& other) noexcept
        : shape_(std::exchange(other.shape_, shape_type{})), size_(std::exchange(other.size_, 0)), memory_(std::move(other.memory_)) {}
    tensor& operator=(const tensor& other) {
        if (this != &other) *this = tensor(other);
        return *this;
    }
    tensor& operator=(tensor&& other) noexcept {
        shape_ = std::exchange(other.shape_, shape_type{});
        size_ = std::exchange(other.size_, 0);
        memory_ = std::move(other.memory_);
        return *this;
    }
    ~tensor() = default;

    [[nodiscard]] const shape_type& shape() const noexcept { return shape_; }
    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] std::size_t size_bytes() const noexcept { return size_ * sizeof(T); }
    [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
    [[nodiscard]] T* data() noexcept { return static_cast<T*>(memory_.data()); }
    [[nodiscard]] const T* data() const noexcept { return static_cast<const T*>(memory_.data()); }
    /// Does this tensor view a mapped file (h5ser::load's default for large tensors) rather than
    /// own its memory? Either way it behaves the same; h5ser::owned_memory asks loads for owned memory.
    [[nodiscard]] bool maps_file() const noexcept { return memory_.is_view(); }
    [[nodiscard]] T* begin() noexcept { return data(); }
    [[nodiscard]] T* end() noexcept { return data() + size_; }
    [[nodiscard]] const T* begin() const noexcept { return data(); }
    [[nodiscard]] const T* end() const noexcept { return data() + size_; }

    /// Element access, row-major: t(i, j) is data()[i * shape()[1] + j].
    template <class... Index>
    requires(sizeof...(Index) == Rank && (std::is_integral_v<Index> && ...)) [[nodiscard]] T& operator()(Index... index) noexcept {
        return data()[offset(index...)];
    }
    template <class... Index>
    requires(sizeof...(Index) == Rank && (std::is_integral_v<Index> && ...)) [[nodiscard]] const T& operator()(
        Index... index) const noexcept {
        return data()[offset(index...)];
    }

    /// Same shape and equal elements (by the element type's ==, so NaN != NaN).
    friend bool operator==(const tensor& a, const tensor& b) { return a.shape_ == b.shape_ && std::equal(a.begin(), a.end(), b.begin()); }

private:
    friend struct detail::tensor_views;

    tensor(shape_type shape, std::size_t size, detail::tensor_memory&& memory) noexcept
        : shape_(shape), size_(size), memory_(std::move(memory)) {}

    template <class... Index>
    [[nodiscard]] std::size_t offset(Index... index) const noexcept {
        const std::array<std::size_t, Rank> idx{static_cast<std::size_t>(index)...};
        std::size_t off = 0;
        for (std::size_t d = 0; d < Rank; ++d) {
            assert(idx[d] < shape_[d] && "h5ser::tensor index out of range");
            off = off * shape_[d] + idx[d];
        }
        return off;
    }

    shape_type shape_{};
    std::size_t size_ = 0;
    detail::tensor_memory memory_;  ///< the elements: owned, or a view of a mapped file it keeps alive
};

namespace detail {

/// Makes tensors that view memory kept alive by `keep` (a mapped file); for the loader.
struct tensor_views {
    template <class T, std::size_t Rank>
    static tensor<T, Rank> view(const std::array<std::size_t, Rank>& shape, T* data, const std::shared_ptr<const void>& keep) {
        const std::size_t size = checked_element_count(shape, sizeof(T));
        return tensor<T, Rank>(shape, size, tensor_memory(data, size * sizeof(T), keep));
    }
};

}  // namespace detail

}  // namespace h5ser
