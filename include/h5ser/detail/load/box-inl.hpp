// h5ser/detail/load/box-inl.hpp: definitions of h5ser/detail/load/box.hpp (compiled once with the
// compiled core; see h5ser/config.hpp).
#pragma once

#include "h5ser/detail/load/box.hpp"

namespace h5ser::detail {

H5SER_CORE_INLINE box box_in(const std::vector<std::size_t>& start, const std::vector<std::size_t>& count, const dynamic_shape& shape,
                             const std::string& file, const std::string& object) {
    const std::string dataset = object.starts_with('/') ? object : "/" + object;
    const auto refuse = [&](std::string expected, std::string found) {
        throw error(file, problem{errc::invalid_value, dataset.substr(1), dataset, std::move(expected), std::move(found), {}});
    };
    if (start.size() != count.size()) {
        refuse("a slice with as many counts as starts",
               std::to_string(start.size()) + " starts and " + std::to_string(count.size()) + " counts");
    }
    if (start.size() > shape.size()) {
        refuse("a slice of at most " + std::to_string(shape.size()) + " dimensions (the tensor's rank)",
               "a slice of " + std::to_string(start.size()) + " dimensions");
    }
    box b{shape, shape};
    for (std::size_t d = 0; d < shape.size(); ++d) {
        b.start[d] = d < start.size() ? start[d] : 0;
        b.count[d] = d < count.size() ? count[d] : shape[d];
        if (b.start[d] > shape[d] || b.count[d] > shape[d] - b.start[d]) {
            refuse("a part within the " + std::to_string(shape[d]) + " elements of dimension " + std::to_string(d),
                   "elements " + std::to_string(b.start[d]) + ":" + std::to_string(b.start[d] + b.count[d]) + " of dimension " +
                       std::to_string(d));
        }
    }
    return b;
}

}  // namespace h5ser::detail
