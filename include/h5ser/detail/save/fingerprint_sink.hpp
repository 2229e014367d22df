// h5ser/detail/save/fingerprint_sink.hpp: the sink of the save walk that hashes a model in memory as
// the file writer would (h5ser::fingerprint), without the HDF5 writer.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "h5ser/detail/format/hash.hpp"
#include "h5ser/detail/hdf5/dataset.hpp"
#include "h5ser/detail/hdf5/dtype.hpp"
#include "h5ser/detail/save/save_walk.hpp"
#include "h5ser/tensor_adapter.hpp"

namespace h5ser::detail {

/// Hashes the tensors the save walk visits, exactly as the file writer does (h5ser::fingerprint).
class fingerprint_sink : public ignoring_sink {
public:
    template <class X>
    void dataset(std::string_view, const X& value, const where& at, bool) {
        std::size_t count = 0;
        const written_tensor t = digest_tensor(value, count);
        builder_.add_tensor(at.h5, dtype_name<typename tensor_adapter<X>::element_type>(), t.dims.data(), t.rank, t.data_hash);
    }

    [[nodiscard]] std::string hex() const { return builder_.hex(); }

private:
    fingerprint_builder builder_;
};

}  // namespace h5ser::detail
