// h5ser/detail/save/census.hpp: the sink of the save walk that counts what a save will write before
// the file exists (datasets, manifest size, bytes), so the sealed file's userblock can be sized.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "h5ser/config.hpp"
#include "h5ser/detail/format/manifest.hpp"
#include "h5ser/detail/save/file_writer.hpp"
#include "h5ser/detail/save/save_walk.hpp"

namespace h5ser::detail {

/// What a save will write, found before the file is created: the number of datasets and the
/// size of the manifest (to size the userblock), and the tensors' bytes (for progress). It
/// records into a manifest_builder exactly what the file writer will, offsets and checksums aside.
/// Compiled once with the core.
class save_census : public save_sink {
public:
    explicit save_census(storage_plan storage) : plans_(std::move(storage)) {}

    H5SER_CORE_INLINE void dataset(std::string_view name, const tensor_view& tensor, const where& at, bool optimizer) override;
    H5SER_CORE_INLINE void attribute(std::string_view name, const attribute_view& value, const where& at, bool optimizer) override;
    H5SER_CORE_INLINE void begin(std::string_view name, const where& at, const container_info& info) override;
    H5SER_CORE_INLINE void version(const where& at, std::string_view type_name, int version) override;
    H5SER_CORE_INLINE void push_storage(const storage_plan& field, bool names_compact, const std::vector<std::size_t>& chunks) override;
    H5SER_CORE_INLINE void pop_storage() override;

    std::size_t count = 0;
    std::uint64_t bytes = 0;
    std::uint64_t compact_bytes = 0;  ///< element bytes of the compact datasets (their records hold them)
    manifest_builder manifest;

private:
    storage_stack plans_;
};

}  // namespace h5ser::detail

#if H5SER_CORE_DEFINITIONS
#include "h5ser/detail/save/census-inl.hpp"
#endif
