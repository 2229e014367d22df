// h5ser/detail/model/c_order.hpp: tensors whose elements are not in C order (reordered_tensor, e.g. a
// column-major Eigen matrix). HDF5 datasets are C order, and every reader (h5py, Keras) takes them
// so: the save walk stores a C-order copy of such a tensor, and the load walk reads into a C-order
// tensor and copies that into the field, before the load commits. Everything else (the sinks, the
// readers, checksums, the manifest) only ever sees C-order tensors.
#pragma once

#include <algorithm>
#include <cstddef>
#include <type_traits>
#include <utility>

#include "h5ser/detail/load/commit.hpp"
#include "h5ser/detail/model/dynamic_tensor.hpp"
#include "h5ser/tensor.hpp"
#include "h5ser/tensor_adapter.hpp"

namespace h5ser::detail {

/// Copies the `rows` x `cols` column-major matrix at `in` to `out` in C order. With rows and cols
/// swapped, the same copy turns a C-order matrix into a column-major one. In tiles of 32 x 32, so
/// that the reads and writes of a tile stay in the cache: a plain loop over one side strides
/// through the other a whole column or row at a time (0.4 s against 0.04 s for 64 MiB of floats).
template <class E>
void transpose(const E* in, E* out, std::size_t rows, std::size_t cols) noexcept {
    constexpr std::size_t tile = 32;
    for (std::size_t i0 = 0; i0 < rows; i0 += tile) {
        const std::size_t i1 = std::min(i0 + tile, rows);
        for (std::size_t j0 = 0; j0 < cols; j0 += tile) {
            const std::size_t j1 = std::min(j0 + tile, cols);
            for (std::size_t i = i0; i < i1; ++i)
                for (std::size_t j = j0; j < j1; ++j) out[i * cols + j] = in[j * rows + i];
        }
    }
}

template <class E, std::size_t Rank>
struct c_order_tensor : std::type_identity<tensor<E, Rank>> {};
template <class E>
struct c_order_tensor<E, dynamic_rank> : std::type_identity<dynamic_tensor<E>> {};

/// The C-order tensor a reordered tensor of type X is stored as: an h5ser::tensor of its rank, or
/// a dynamic_tensor when the rank is known only at run time.
template <class X>
using c_order_tensor_t = typename c_order_tensor<typename tensor_adapter<X>::element_type, tensor_adapter<X>::rank>::type;

/// `value` as a C-order tensor (one copy, a transposition for a column-major matrix).
template <reordered_tensor X>
c_order_tensor_t<X> c_order_copy(const X& value) {
    c_order_tensor_t<X> out(shape_of(value), uninitialized);
    if (out.size() != 0) tensor_adapter<X>::copy_to_c_order(value, out.data());
    return out;
}

/// Passes `value` to `use` as a tensor in C order: itself, or its C-order copy.
template <static_typed_tensor X, class Use>
decltype(auto) with_c_order(const X& value, Use&& use) {
    if constexpr (saveable_tensor<X>) return std::forward<Use>(use)(value);
    else return std::forward<Use>(use)(c_order_copy(value));
}

/// Loads a reordered `target` through a C-order tensor: `load(staged)` reads into `staged` (sized
/// like `target`, or empty when `target` takes the file's shape) and records its problems and
/// commits on `commits` as any tensor load does. Those commits fill `staged` only, so they are
/// applied at once; the elements are then copied into a new value of X that moves into `target`
/// when the whole load commits. Nothing reaches `target` before that.
template <reordered_tensor X, class Load>
void load_through_c_order(commit_list& commits, X& target, bool takes_file_shape, const Load& load) {
    using adapter = tensor_adapter<X>;
    c_order_tensor_t<X> staged;
    if (!takes_file_shape) staged = c_order_tensor_t<X>(shape_of(std::as_const(target)), uninitialized);
    const std::size_t mark = commits.mark();
    load(staged);
    if (commits.mark() == mark) return;  // not read: a problem was recorded (or an earlier one stops reading)
    commits.apply_since(mark);
    X value{};
    if constexpr (resizable_tensor<X>) adapter::resize_for_overwrite(value, staged.shape());
    if (staged.size() != 0) adapter::copy_from_c_order(value, staged.data());
    commits.move_into(target, std::move(value));
}

}  // namespace h5ser::detail
