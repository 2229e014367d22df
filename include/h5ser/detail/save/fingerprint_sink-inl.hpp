// h5ser/detail/save/fingerprint_sink-inl.hpp: definitions of h5ser/detail/save/fingerprint_sink.hpp
// (compiled once with the compiled core; see h5ser/config.hpp).
#pragma once

#include "h5ser/detail/save/fingerprint_sink.hpp"

namespace h5ser::detail {

H5SER_CORE_INLINE void fingerprint_sink::dataset(std::string_view, const tensor_view& tensor, const where& at, bool) {
    const written_tensor t = tensor.digest();
    builder_.add_tensor(at.h5, tensor.dtype(), t.dims.data(), t.rank, t.data_hash);
}

}  // namespace h5ser::detail
