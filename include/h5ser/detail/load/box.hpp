// h5ser/detail/load/box.hpp: the part of a tensor an h5ser::slice asks for (a box: a start and a
// count per dimension), checked against the tensor's shape, and copied out of C-order elements run
// by run: a run is the longest stretch of the box that is contiguous in the tensor.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "h5ser/config.hpp"
#include "h5ser/error.hpp"
#include "h5ser/tensor_adapter.hpp"

namespace h5ser::detail {

/// A box of a tensor of some shape: per dimension, the first index and the count.
struct box {
    dynamic_shape start;
    dynamic_shape count;
};

/// The box that `start` and `count` (one entry per leading dimension; the dimensions after them
/// whole) give in a tensor of `shape`, the dataset `object` of `file`; an h5ser::error naming the
/// object and the bounds when they do not fit (errc::invalid_value).
H5SER_CORE_INLINE box box_in(const std::vector<std::size_t>& start, const std::vector<std::size_t>& count, const dynamic_shape& shape,
                             const std::string& file, const std::string& object);

/// Calls `run(offset, length)` for each contiguous run of the box `b` in C-order elements of
/// `shape`, `element_size` bytes each, in C order of the box: offsets and lengths in bytes.
template <class Run>
void for_each_run(const box& b, const dynamic_shape& shape, std::size_t element_size, Run&& run) {
    const std::size_t rank = shape.size();
    if (b.count.elements() == 0) return;
    // The trailing dimensions the box takes whole, and the first one it does not, form one run.
    std::size_t inner = rank;  // runs span dimensions [inner, rank)
    std::uint64_t run_elements = 1;
    while (inner > 0) {
        const std::size_t d = inner - 1;
        run_elements *= b.count[d];
        --inner;
        if (b.count[d] != shape[d]) break;
    }
    std::vector<std::uint64_t> strides(rank, 1);  // elements
    for (std::size_t d = rank; d-- > 1;) strides[d - 1] = strides[d] * shape[d];
    std::vector<std::size_t> index(inner, 0);  // over the outer dimensions of the box
    for (;;) {
        std::uint64_t offset = 0;
        for (std::size_t d = 0; d < rank; ++d) offset += (b.start[d] + (d < inner ? index[d] : 0)) * strides[d];
        run(offset * element_size, run_elements * element_size);
        std::size_t d = inner;
        while (d > 0 && ++index[d - 1] == b.count[d - 1]) index[--d] = 0;
        if (d == 0) return;
    }
}

/// Copies the box `b` of `source` (C-order elements of `shape`, `element_size` bytes each) into
/// `out`, C order of the box.
inline void copy_box(const box& b, const void* source, const dynamic_shape& shape, std::size_t element_size, void* out) {
    auto* to = static_cast<unsigned char*>(out);
    for_each_run(b, shape, element_size, [&](std::uint64_t offset, std::uint64_t length) {
        std::memcpy(to, static_cast<const unsigned char*>(source) + offset, length);
        to += length;
    });
}

}  // namespace h5ser::detail

#if H5SER_CORE_DEFINITIONS
#include "h5ser/detail/load/box-inl.hpp"
#endif
