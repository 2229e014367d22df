// h5ser/detail/save/fingerprint_sink.hpp: the sink of the save walk that hashes a model in memory as
// the file writer would (h5ser::fingerprint), without the HDF5 writer.
#pragma once

#include <string>
#include <string_view>

#include "h5ser/config.hpp"
#include "h5ser/detail/format/hash.hpp"
#include "h5ser/detail/save/save_walk.hpp"

namespace h5ser::detail {

/// Hashes the tensors the save walk visits, exactly as the file writer does (h5ser::fingerprint).
class fingerprint_sink : public save_sink {
public:
    H5SER_CORE_INLINE void dataset(std::string_view name, const tensor_view& tensor, const where& at, bool optimizer) override;

    [[nodiscard]] std::string hex() const { return builder_.hex(); }

private:
    fingerprint_builder builder_;
};

}  // namespace h5ser::detail

#if H5SER_CORE_DEFINITIONS
#include "h5ser/detail/save/fingerprint_sink-inl.hpp"
#endif
