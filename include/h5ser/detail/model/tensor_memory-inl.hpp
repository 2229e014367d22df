// h5ser/detail/model/tensor_memory-inl.hpp: definitions of h5ser/detail/model/tensor_memory.hpp
// (compiled once with the compiled core; see h5ser/config.hpp).
#pragma once

#include <cstring>
#include <limits>
#include <stdexcept>
#include <utility>

#include "h5ser/detail/model/tensor_memory.hpp"

namespace h5ser::detail {

H5SER_CORE_INLINE std::size_t checked_element_count(const std::size_t* dims, std::size_t rank, std::size_t element_size) {
    std::size_t count = 1;
    for (std::size_t i = 0; i < rank; ++i) {
        const std::size_t d = dims[i];
        if (d != 0 && count > std::numeric_limits<std::size_t>::max() / d) throw std::length_error("h5ser::tensor: shape overflows size_t");
        count *= d;
    }
    if (count > std::numeric_limits<std::size_t>::max() / element_size)
        throw std::length_error("h5ser::tensor: byte size overflows size_t");
    return count;
}

H5SER_CORE_INLINE tensor_memory::tensor_memory(std::size_t bytes, bool zero) {
    if (bytes == 0) return;
    owned_ = ::operator new (bytes, std::align_val_t{tensor_alignment});
    data_ = owned_;
    if (zero) std::memset(data_, 0, bytes);
}

H5SER_CORE_INLINE tensor_memory::tensor_memory(void* data, std::size_t bytes, const std::shared_ptr<const void>& keep) noexcept
    : keep_(keep), data_(bytes ? data : nullptr) {}

H5SER_CORE_INLINE tensor_memory::tensor_memory(tensor_memory&& other) noexcept
    : owned_(std::exchange(other.owned_, nullptr)), keep_(std::move(other.keep_)), data_(std::exchange(other.data_, nullptr)) {}

H5SER_CORE_INLINE tensor_memory& tensor_memory::operator=(tensor_memory&& other) noexcept {
    if (this != &other) {
        if (owned_) aligned_free{}(owned_);
        owned_ = std::exchange(other.owned_, nullptr);
        keep_ = std::move(other.keep_);
        data_ = std::exchange(other.data_, nullptr);
    }
    return *this;
}

H5SER_CORE_INLINE tensor_memory::~tensor_memory() {
    if (owned_) aligned_free{}(owned_);
}

}  // namespace h5ser::detail
