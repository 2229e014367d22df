// h5ser/detail/load/tensor_target.hpp: a tensor field as a load reads it, whatever its type
// (tensor_target), and the one read of a whole dataset into it (stage_dataset), which the load
// walk and the Keras mapping share.
#pragma once

#include <hdf5.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <type_traits>
#include <utility>

#include "h5ser/config.hpp"
#include "h5ser/detail/hdf5/dtype.hpp"
#include "h5ser/detail/hdf5/hdf5.hpp"
#include "h5ser/detail/load/commit.hpp"
#include "h5ser/detail/load/problems.hpp"
#include "h5ser/detail/model/dynamic_tensor.hpp"
#include "h5ser/detail/model/field_kind.hpp"
#include "h5ser/tensor_adapter.hpp"

namespace h5ser::detail {

class mapped_file;  // mapped_file.hpp

/// Does `target` take the file's shape? An owning tensor that was never sized (every dimension 0)
/// does, and so does every tensor whose rank is known only at run time; any other must match the file.
template <class X>
bool takes_file_shape(const X& target) {
    if constexpr (tensor_adapter<X>::rank == dynamic_rank) {
        return true;  // static_typed_tensor: resizable
    } else if constexpr (resizable_tensor<X> && tensor_adapter<X>::rank > 0) {
        const auto& current = tensor_adapter<X>::shape(target);
        for (const std::size_t d : current)
            if (d != 0) return false;
        return true;
    } else {
        return false;
    }
}

/// A tensor field as the load's tensor reads see it, whatever its type: where it is, what it holds
/// and can take, and the few operations that need its type (tensor_target_of makes one). The reads
/// themselves (load_dataset, load_mapped, load_read) are compiled once.
struct tensor_target {
    void* target = nullptr;  ///< the field
    std::string_view dtype;  ///< of its elements (dtype_name)
    std::size_t element_size = 0;
    bool bools = false;                                          ///< bool elements: each byte read must be 0 or 1
    std::size_t rank = 0;                                        ///< its rank; dynamic_rank when known only at run time
    bool unsized = false;                                        ///< it takes the file's shape (takes_file_shape)
    std::array<std::size_t, dynamic_shape::max_rank> current{};  ///< its shape now, when not unsized
    void* data = nullptr;                                        ///< its elements now: where the bytes of a tensor of a fixed shape go
    bool resizable = false;  ///< a value of any shape can be made for it (resizable_tensor): stage without elements
    bool viewable = false;   ///< it can view memory (viewable_tensor): stage with elements
    /// Stages a new value of shape `dims` for the field, to `finish` when its elements are in: a
    /// view of `elements`, which `*keep` keeps alive (viewable types), or without elements a value
    /// of its own, whose elements (indeterminate) are at the result's `data` (resizable types).
    commit_list::staged_bytes (*stage)(void* target, std::span<const std::size_t> dims, void* elements,
                                       const std::shared_ptr<const void>* keep) = nullptr;
    element_kind kind = element_kind::float32;  ///< of its elements: HDF5 reads them as its read_memory_type
};

/// Is X an h5ser::tensor (which a load makes at its size at once: no resize)?
template <class X>
inline constexpr bool is_h5ser_tensor = false;
template <class T, std::size_t Rank>
inline constexpr bool is_h5ser_tensor<tensor<T, Rank>> = true;

/// tensor_target::stage for a tensor of type X.
template <class X>
commit_list::staged_bytes stage_tensor(void* target, std::span<const std::size_t> dims, void* elements,
                                       const std::shared_ptr<const void>* keep) {
    using adapter = tensor_adapter<X>;
    constexpr std::size_t rank = adapter::rank;
    X& field = *static_cast<X*>(target);
    // Each value is made where it stays (on the heap, owned by its commit action): no temporary to
    // move from and destroy.
    if constexpr (viewable_tensor<X>) {
        if (elements) {
            using element = typename adapter::element_type;
            commit_list::staged<X> staged =
                commit_list::emplace(field, adapter::view(to_shape<rank>(dims), static_cast<element*>(elements), *keep));
            return {std::move(staged.slot), elements};
        }
    }
    if constexpr (is_h5ser_tensor<X>) {
        commit_list::staged<X> staged = commit_list::emplace(field, to_shape<rank>(dims), uninitialized);  // nothing to resize
        return {std::move(staged.slot), static_cast<void*>(adapter::data(staged.value()))};
    } else if constexpr (resizable_tensor<X>) {
        commit_list::staged<X> staged = commit_list::emplace(field);
        adapter::resize_for_overwrite(staged.value(), to_shape<rank>(dims));
        return {std::move(staged.slot), static_cast<void*>(adapter::data(staged.value()))};
    } else {
        return {};
    }
}

/// `target` (a tensor of a static element type) as a tensor_target.
template <class X>
tensor_target tensor_target_of(X& target) {
    using adapter = tensor_adapter<X>;
    using element = typename adapter::element_type;
    tensor_target s;
    s.target = &target;
    s.dtype = dtype_name<element>();
    s.element_size = sizeof(element);
    s.bools = std::is_same_v<element, bool>;
    s.rank = adapter::rank;
    s.unsized = takes_file_shape(target);
    const auto current = shape_of(std::as_const(target));
    for (std::size_t i = 0; i < current.size(); ++i) s.current[i] = current[i];
    s.data = static_cast<void*>(adapter::data(target));
    s.resizable = resizable_tensor<X>;
    s.viewable = viewable_tensor<X>;
    if constexpr (resizable_tensor<X> || viewable_tensor<X>) s.stage = &stage_tensor<X>;
    constexpr element_kind kind = element_kind_of<element>();
    s.kind = kind;
    return s;
}

/// Reads every element of `dataset` (elements of `file_type`, shape `dims`) into storage staged for
/// `target`: a new value for a tensor that sizes itself (resizable), else bytes copied into it when
/// the load commits. With `verify`, the bytes are hashed while they are read, and `verify(context,
/// hash)` may refuse them (a checksum mismatch, which it records); bool elements other than 0 and 1
/// are refused here. A refusal is a problem on the list; nothing reaches the target before the load
/// commits. True when the value was staged.
H5SER_CORE_INLINE bool stage_dataset(commit_list& commits, problem_list& problems, const tensor_target& target, hid_t dataset,
                                     hid_t file_type, std::span<const std::size_t> dims, const where& at,
                                     bool (*verify)(const void* context, std::uint64_t hash) = nullptr, const void* context = nullptr);

}  // namespace h5ser::detail

#if H5SER_CORE_DEFINITIONS
#include "h5ser/detail/load/tensor_target-inl.hpp"
#endif
