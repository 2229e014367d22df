// h5ser/detail/model/storage_plan-inl.hpp: definitions of h5ser/detail/model/storage_plan.hpp (compiled once with
// the compiled core; see h5ser/config.hpp).
#pragma once

#include "h5ser/storage_policy.hpp"

#include <algorithm>
#include <cmath>

namespace h5ser::detail {

H5SER_CORE_INLINE storage_plan storage_plan::overridden_by(const storage_plan& field, bool field_names_compact) const {
    storage_plan out = *this;
    if (field.layout_given) {
        out.layout = field.layout;
        out.layout_given = true;
        out.chunk_dims = field.chunk_dims;
        out.chunks_for_one_field = true;
        if (field.layout == layout_kind::contiguous) out.filters.clear();
    }
    if (!field.filters.empty()) {
        out.filters = field.filters;
        if (!field.layout_given && out.layout == layout_kind::contiguous) out.layout = layout_kind::auto_chunk;
    }
    if (field_names_compact) out.compact_below = field.compact_below;
    return out;
}

H5SER_CORE_INLINE std::string filter_name(H5Z_filter_t id) {
    for (const auto& f : known_filters)
        if (f.id == id) return std::string(f.name);
    return "filter " + std::to_string(id);
}

H5SER_CORE_INLINE std::string describe_filter(H5Z_filter_t id) {
    for (const auto& f : known_filters)
        if (f.id == id) return std::string(f.name) + " (HDF5 filter " + std::to_string(id) + "; " + std::string(f.install) + ")";
    return "HDF5 filter " + std::to_string(id) + " (install the plugin that provides it and point HDF5_PLUGIN_PATH at it)";
}

H5SER_CORE_INLINE std::vector<hsize_t> guess_chunks(const std::vector<hsize_t>& shape, std::size_t element_size) {
    constexpr double base = 16.0 * 1024, min_bytes = 8.0 * 1024, max_bytes = 1024.0 * 1024;
    std::vector<hsize_t> chunks = shape;
    double total = static_cast<double>(element_size);
    for (auto& c : chunks) {
        if (c == 0) c = 1;
        total *= static_cast<double>(c);
    }
    double aim = base * std::pow(2.0, std::log10(total / (1024.0 * 1024)));
    aim = std::min(std::max(aim, min_bytes), max_bytes);
    for (std::size_t i = 0;; ++i) {
        double bytes = static_cast<double>(element_size);
        hsize_t elements = 1;
        for (hsize_t c : chunks) {
            bytes *= static_cast<double>(c);
            elements *= c;
        }
        if ((bytes < aim || std::abs(bytes - aim) / aim < 0.5) && bytes < max_bytes) break;
        if (elements == 1) break;
        auto& dim = chunks[i % chunks.size()];
        dim = (dim + 1) / 2;
    }
    return chunks;
}

}  // namespace h5ser::detail
