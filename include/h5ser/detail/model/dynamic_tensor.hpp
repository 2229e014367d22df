// h5ser/detail/model/dynamic_tensor.hpp: tensors whose element type is known only at run time
// (runtime_typed_tensor: torch::Tensor). The walks turn one into a dynamic_tensor<E> of its
// element type E, a tensor of static element type and run-time rank, and from there on it takes
// the path of every other tensor: the sinks, the readers, checksums and the manifest see only
// tensors of a static element type.
#pragma once

#include <array>
#include <cstddef>
#include <memory>
#include <new>
#include <string>
#include <utility>

#include "h5ser/element_type.hpp"
#include "h5ser/tensor.hpp"
#include "h5ser/tensor_adapter.hpp"

namespace h5ser::detail {

/// A C-order tensor of element type E and a rank known at run time: a view of elements kept alive
/// by `keep` (a mapped file, another tensor), or of memory it allocated itself (then `keep` owns
/// it), or a view of memory it does not keep (a save's view of the caller's tensor).
template <class E>
class dynamic_tensor {
public:
    dynamic_tensor() = default;
    /// Allocates `shape`, 64-byte aligned, elements indeterminate.
    dynamic_tensor(const dynamic_shape& shape, uninitialized_t) : shape_(shape) {
        const std::size_t count = checked_element_count(shape, sizeof(E));
        if (count == 0) return;
        data_ = static_cast<E*>(::operator new (count * sizeof(E), std::align_val_t{tensor_alignment}));
        keep_ = std::shared_ptr<const void>(data_, aligned_free{});
    }
    /// Views `data` in the shape `shape`, keeping `keep` as long as this or a copy lives.
    dynamic_tensor(const dynamic_shape& shape, E* data, std::shared_ptr<const void> keep)
        : shape_(shape), data_(shape.elements() ? data : nullptr), keep_(std::move(keep)) {}

    [[nodiscard]] const dynamic_shape& shape() const noexcept { return shape_; }
    [[nodiscard]] std::size_t size() const noexcept { return shape_.elements(); }
    [[nodiscard]] E* data() const noexcept { return data_; }
    /// What keeps the elements alive: their owner, or nothing for a view of memory it does not keep.
    [[nodiscard]] const std::shared_ptr<const void>& keep() const noexcept { return keep_; }

private:
    dynamic_shape shape_;
    E* data_ = nullptr;
    std::shared_ptr<const void> keep_;
};

}  // namespace h5ser::detail

namespace h5ser {

template <class E>
struct tensor_adapter<detail::dynamic_tensor<E>> {
    using element_type = E;
    static constexpr std::size_t rank = dynamic_rank;
    static const dynamic_shape& shape(const detail::dynamic_tensor<E>& t) noexcept { return t.shape(); }
    static const E* data(const detail::dynamic_tensor<E>& t) noexcept { return t.data(); }
    static E* data(detail::dynamic_tensor<E>& t) noexcept { return t.data(); }
    static void resize_for_overwrite(detail::dynamic_tensor<E>& t, const dynamic_shape& shape) {
        t = detail::dynamic_tensor<E>(shape, uninitialized);
    }
    static detail::dynamic_tensor<E> view(const dynamic_shape& shape, E* data, std::shared_ptr<const void> keep) {
        return {shape, data, std::move(keep)};
    }
};

}  // namespace h5ser

namespace h5ser::detail {

/// `dims` (any indexable range of dimensions: an adapter's shape, a file's extent, holding `Rank`
/// of them unless Rank is dynamic_rank) as shape_of_rank<Rank>.
template <std::size_t Rank, class Dims>
shape_of_rank<Rank> to_shape(const Dims& dims) {
    if constexpr (Rank == dynamic_rank) {
        return dynamic_shape(dims);
    } else {
        std::array<std::size_t, Rank> shape{};
        for (std::size_t i = 0; i < Rank; ++i) shape[i] = static_cast<std::size_t>(dims[i]);
        return shape;
    }
}

/// The shape of `value` (a stored tensor of a static element type) as shape_of_rank of its rank.
template <class X>
shape_of_rank<tensor_adapter<X>::rank> shape_of(const X& value) {
    return to_shape<tensor_adapter<X>::rank>(tensor_adapter<X>::shape(value));
}

/// Passes the run-time-typed tensor `value` to `use` as a dynamic_tensor<E> of its element type:
/// a view of its memory when its elements are in C order, else a C-order copy (a temporary: a sink
/// that keeps pointers past the call keeps the copy too). Throws `refuse(reason)` for a tensor the
/// adapter cannot save (runtime_typed_tensor::refusal).
template <runtime_typed_tensor X, class Use, class Refuse>
void with_static_type(const X& value, Use&& use, const Refuse& refuse) {
    using adapter = tensor_adapter<X>;
    if (std::string reason = adapter::refusal(value); !reason.empty()) refuse(std::move(reason));
    with_element_type(adapter::kind(value), [&]<class E>() {
        const dynamic_shape shape(adapter::shape(value));
        if (const void* data = adapter::data(value); data || shape.elements() == 0) {
            use(dynamic_tensor<E>(shape, static_cast<E*>(const_cast<void*>(data)), nullptr));
        } else {
            dynamic_tensor<E> copy(shape, uninitialized);
            adapter::copy_to_c_order(value, static_cast<void*>(copy.data()));
            use(std::move(copy));
        }
    });
}

}  // namespace h5ser::detail
