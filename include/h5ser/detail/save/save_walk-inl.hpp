// h5ser/detail/save/save_walk-inl.hpp: definitions of h5ser/detail/save/save_walk.hpp (compiled once with
// the compiled core; see h5ser/config.hpp).
#pragma once

#include "h5ser/detail/format/format.hpp"
#include "h5ser/detail/save/save_walk.hpp"

namespace h5ser::detail {

H5SER_CORE_INLINE void check_child_name(std::string_view key, const where& at) {
    if (key.empty() || key == "." || key.find('/') != std::string_view::npos) {
        throw error(std::string(at.file), problem{errc::invalid_value,
                                                  at.field,
                                                  at.h5_or_root(),
                                                  {},
                                                  {},
                                                  "map key '" + std::string(key) +
                                                      "' cannot be an HDF5 name (it must be non-empty, not \".\", "
                                                      "and contain no '/')"});
    }
}

H5SER_CORE_INLINE void check_root_key(std::string_view key, const where& at) {
    if (format::is_reserved_root_name(key)) {
        throw error(std::string(at.file), problem{errc::invalid_value,
                                                  at.field,
                                                  at.key(key).h5,
                                                  {},
                                                  {},
                                                  "map key '" + std::string(key) +
                                                      "' is reserved at the root of a file (h5ser keeps model_type, schema, "
                                                      "fingerprint and every name starting with h5ser_ for itself)"});
    }
}

H5SER_CORE_INLINE void refuse_tensor(const where& at, std::string reason) {
    throw error(std::string(at.file),
                problem{errc::invalid_value, at.field, at.h5_or_root(), "a tensor h5ser can store", std::move(reason), {}});
}

H5SER_CORE_INLINE void save_sink::dataset(std::string_view, const tensor_view&, const where&, bool) {}
H5SER_CORE_INLINE void save_sink::attribute(std::string_view, const attribute_view&, const where&, bool) {}
H5SER_CORE_INLINE void save_sink::absent(std::string_view, const where&) {}
H5SER_CORE_INLINE void save_sink::begin(std::string_view, const where&, const container_info&) {}
H5SER_CORE_INLINE void save_sink::end(const container_info&) {}
H5SER_CORE_INLINE void save_sink::version(const where&, std::string_view, int) {}
H5SER_CORE_INLINE void save_sink::push_storage(const storage_plan&, bool, const std::vector<std::size_t>&) {}
H5SER_CORE_INLINE void save_sink::pop_storage() {}

}  // namespace h5ser::detail
