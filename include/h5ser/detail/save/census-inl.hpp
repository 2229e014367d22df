// h5ser/detail/save/census-inl.hpp: definitions of h5ser/detail/save/census.hpp (compiled once with the
// compiled core; see h5ser/config.hpp).
#pragma once

#include "h5ser/detail/format/format.hpp"
#include "h5ser/detail/save/census.hpp"
#include "h5ser/detail/save/sealed_file.hpp"  // add_dataset_record

namespace h5ser::detail {

H5SER_CORE_INLINE void save_census::dataset(std::string_view, const tensor_view& tensor, const where& at, bool) {
    ++count;
    bytes += tensor.bytes();
    const written_tensor w = tensor.extent();
    add_dataset_record(manifest, at.h5, tensor.dtype(), w, plans_.top());
    if (stored_layout(plans_.top(), w.rank, tensor.count, tensor.element_size()) == record_layout::compact) compact_bytes += tensor.bytes();
}

H5SER_CORE_INLINE void save_census::attribute(std::string_view name, const attribute_view& value, const where& at, bool) {
    manifest.attribute(attribute_owner(at, name), name, value);
}

H5SER_CORE_INLINE void save_census::begin(std::string_view, const where& at, const container_info&) { manifest.group(at.h5); }

H5SER_CORE_INLINE void save_census::version(const where& at, std::string_view, int version) {
    manifest.attribute(at.h5, format::struct_version_attribute, version);
}

H5SER_CORE_INLINE void save_census::push_storage(const storage_plan& field, bool names_compact, const std::vector<std::size_t>& chunks) {
    plans_.push(field, names_compact, chunks);
}

H5SER_CORE_INLINE void save_census::pop_storage() { plans_.pop(); }

}  // namespace h5ser::detail
