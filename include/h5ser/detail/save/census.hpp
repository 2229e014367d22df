// h5ser/detail/save/census.hpp: the sink of the save walk that counts what a save will write before
// the file exists (datasets, manifest size, bytes), so the sealed file's userblock can be sized.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "h5ser/detail/format/format.hpp"
#include "h5ser/detail/format/manifest.hpp"
#include "h5ser/detail/hdf5/dataset.hpp"
#include "h5ser/detail/save/file_writer.hpp"
#include "h5ser/detail/save/save_walk.hpp"

namespace h5ser::detail {

/// What a save will write, found before the file is created: the number of datasets and the
/// size of the manifest (to size the userblock), and the tensors' bytes (for progress). It
/// records into a manifest_builder exactly what the file writer will, offsets and checksums aside.
class save_census : public ignoring_sink {
public:
    explicit save_census(storage_plan storage) : plans_(std::move(storage)) {}

    template <class X>
    void dataset(std::string_view, const X& value, const where& at, bool) {
        ++count;
        bytes += tensor_bytes(value);
        using element = typename tensor_adapter<X>::element_type;
        std::size_t elements = 0;
        const written_tensor w = tensor_extent(value, elements);
        add_dataset_record(manifest, at.h5, dtype_name<element>(), w, plans_.top());
        if (stored_layout(plans_.top(), w.rank, elements, sizeof(element)) == record_layout::compact)
            compact_bytes += elements * sizeof(element);
    }
    template <class X>
    void attribute(std::string_view name, const X& value, const where& at, bool) {
        manifest.attribute(attribute_owner(at, name), name, value);
    }
    void begin(std::string_view, const where& at, const container_info&) { manifest.group(at.h5); }
    void version(const where& at, std::string_view, int version) { manifest.attribute(at.h5, format::struct_version_attribute, version); }
    void push_storage(const storage_plan& field, bool names_compact, const std::vector<std::size_t>& chunks) {
        plans_.push(field, names_compact, chunks);
    }
    void pop_storage() { plans_.pop(); }

    std::size_t count = 0;
    std::uint64_t bytes = 0;
    std::uint64_t compact_bytes = 0;  ///< element bytes of the compact datasets (their records hold them)
    manifest_builder manifest;

private:
    storage_stack plans_;
};

}  // namespace h5ser::detail
