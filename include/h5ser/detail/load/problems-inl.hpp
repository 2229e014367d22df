// h5ser/detail/load/problems-inl.hpp: definitions of h5ser/detail/load/problems.hpp (compiled once with the
// compiled core; see h5ser/config.hpp).
#pragma once

#include "h5ser/detail/load/problems.hpp"

namespace h5ser::detail {

H5SER_CORE_INLINE void problem_list::add(problem p) { items_.push_back(std::move(p)); }

}  // namespace h5ser::detail
