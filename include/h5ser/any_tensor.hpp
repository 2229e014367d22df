// h5ser/any_tensor.hpp: h5ser::any_tensor, a tensor whose element type and shape are known only at
// run time, taken from the file when it is loaded: for tools and programs that read files without
// knowing their struct.
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <new>
#include <span>
#include <string>
#include <type_traits>
#include <utility>

#include "h5ser/detail/load/problems.hpp"         // dims_text
#include "h5ser/detail/model/dynamic_tensor.hpp"  // to_shape
#include "h5ser/element_type.hpp"
#include "h5ser/error.hpp"
#include "h5ser/tensor.hpp"
#include "h5ser/tensor_adapter.hpp"

namespace h5ser {

/// A row-major, contiguous, 64-byte aligned tensor whose element type (an h5ser::element_kind) and
/// shape (up to 32 dimensions) are values, not template arguments. As a field, or the value type
/// of a string-keyed map, it takes the dtype and shape of whatever dataset the file holds there:
///
///     auto weights = h5ser::load<std::map<std::string, h5ser::any_tensor>>("any.h5");
///     for (const auto& [name, t] : weights) std::cout << name << ' ' << t.dtype() << '\n';
///     h5ser::tensor<float, 2> kernel = weights.at("kernel").as<float, 2>();
///
/// It saves as any tensor does, as a dataset of its element type. Copies are deep and moves cheap,
/// as h5ser::tensor's; a loaded one may view the file's mapping, as h5ser::tensor may.
class any_tensor {
public:
    /// Empty: float32 elements, one dimension of 0.
    any_tensor() : any_tensor(element_kind::float32, dynamic_shape{0}) {}

    /// Allocates `shape` elements of `kind`, filled with zeros.
    any_tensor(element_kind kind, const dynamic_shape& shape) : any_tensor(kind, shape, uninitialized) {
        if (size_bytes() != 0) std::memset(data_, 0, size_bytes());
    }

    /// Allocates `shape` elements of `kind` without initialising them; write each before reading it.
    any_tensor(element_kind kind, const dynamic_shape& shape, uninitialized_t) : kind_(kind), shape_(shape) {
        const std::size_t bytes = detail::checked_element_count(shape, element_size(kind_)) * element_size(kind_);
        if (bytes == 0) return;
        data_ = ::operator new (bytes, std::align_val_t{detail::tensor_alignment});
        keep_ = std::shared_ptr<const void>(data_, detail::aligned_free{});
    }

    /// Takes over the elements of `t` (no copy).
    template <class T, std::size_t Rank>
    explicit any_tensor(tensor<T, Rank> t) : kind_(element_kind_of<T>()), shape_(t.shape()) {
        if (t.empty()) return;
        auto owner = std::make_shared<tensor<T, Rank>>(std::move(t));
        data_ = static_cast<void*>(owner->data());
        keep_ = std::move(owner);
    }

    any_tensor(const any_tensor& other) : any_tensor(other.kind_, other.shape_, uninitialized) {
        if (size_bytes() != 0) std::memcpy(data_, other.data_, size_bytes());
    }
    any_tensor(any_tensor&& other) noexcept
        : kind_(other.kind_),
          shape_(std::exchange(other.shape_, dynamic_shape{0})),
          data_(std::exchange(other.data_, nullptr)),
          keep_(std::move(other.keep_)) {}
    any_tensor& operator=(const any_tensor& other) {
        if (this != &other) *this = any_tensor(other);
        return *this;
    }
    any_tensor& operator=(any_tensor&& other) noexcept {
        kind_ = other.kind_;
        shape_ = std::exchange(other.shape_, dynamic_shape{0});
        data_ = std::exchange(other.data_, nullptr);
        keep_ = std::move(other.keep_);
        return *this;
    }
    ~any_tensor() = default;

    /// The element type.
    [[nodiscard]] element_kind kind() const noexcept { return kind_; }
    /// The element type's numpy-style name: "float32", "int64", "bool", ...
    [[nodiscard]] std::string_view dtype() const noexcept { return dtype_name(kind_); }
    [[nodiscard]] const dynamic_shape& shape() const noexcept { return shape_; }
    [[nodiscard]] std::size_t rank() const noexcept { return shape_.size(); }
    /// The number of elements.
    [[nodiscard]] std::size_t size() const noexcept { return shape_.elements(); }
    [[nodiscard]] std::size_t size_bytes() const noexcept { return size() * element_size(kind_); }
    [[nodiscard]] bool empty() const noexcept { return size() == 0; }
    /// The elements, in C order; null when there are none.
    [[nodiscard]] void* data() noexcept { return data_; }
    [[nodiscard]] const void* data() const noexcept { return data_; }
    /// The elements' bytes, in C order.
    [[nodiscard]] std::span<const std::byte> bytes() const noexcept { return {static_cast<const std::byte*>(data_), size_bytes()}; }

    /// A typed view of the elements: an h5ser::tensor<T, Rank> over the same memory, which it keeps
    /// alive (writes through it change this tensor's elements; copies of it are its own). An
    /// h5ser::error (errc::dtype_mismatch or errc::shape_mismatch) says what it holds when its
    /// element type is not T or its rank not Rank.
    template <element_type T, std::size_t Rank>
    [[nodiscard]] tensor<T, Rank> as() const {
        if (kind_ != element_kind_of<T>() || rank() != Rank) {
            throw error({}, problem{kind_ != element_kind_of<T>() ? errc::dtype_mismatch : errc::shape_mismatch,
                                    {},
                                    {},
                                    std::string(dtype_name<T>()) + " of rank " + std::to_string(Rank),
                                    describe(),
                                    "h5ser::any_tensor::as<T, Rank>() views the elements as they are; convert them yourself"});
        }
        return detail::tensor_views::view(detail::to_shape<Rank>(shape_), static_cast<T*>(data_), keep_);
    }

    /// "float32[784, 128]".
    [[nodiscard]] std::string describe() const { return std::string(dtype()) + detail::dims_text(shape_); }

    /// Same element type, same shape and the same bytes (so a NaN equals itself here).
    friend bool operator==(const any_tensor& a, const any_tensor& b) noexcept {
        return a.kind_ == b.kind_ && a.shape_ == b.shape_ && (a.size_bytes() == 0 || std::memcmp(a.data_, b.data_, a.size_bytes()) == 0);
    }

private:
    friend struct tensor_adapter<any_tensor>;

    element_kind kind_ = element_kind::float32;
    dynamic_shape shape_{0};
    void* data_ = nullptr;
    std::shared_ptr<const void> keep_;  ///< owns the elements, or keeps the mapping they lie in alive
};

/// any_tensor is a run-time-typed tensor (see tensor_adapter): its element type and shape are the
/// file's, and a load hands it the memory it read the elements into, or a view of the mapped file.
template <>
struct tensor_adapter<any_tensor> {
    using element_type = runtime_element;
    static constexpr std::size_t rank = dynamic_rank;
    static std::string refusal(const any_tensor&) { return {}; }
    static element_kind kind(const any_tensor& t) noexcept { return t.kind(); }
    static const dynamic_shape& shape(const any_tensor& t) noexcept { return t.shape(); }
    static const void* data(const any_tensor& t) noexcept { return t.data(); }
    static void copy_to_c_order(const any_tensor& t, void* out) {
        if (!t.empty()) std::memcpy(out, t.data(), t.size_bytes());
    }
    static bool holds(element_kind) noexcept { return true; }
    static any_tensor view(element_kind kind, const dynamic_shape& shape, void* data, std::shared_ptr<const void> keep) {
        any_tensor t;
        t.kind_ = kind;
        t.shape_ = shape;
        t.data_ = shape.elements() ? data : nullptr;
        t.keep_ = std::move(keep);
        return t;
    }
};

}  // namespace h5ser
