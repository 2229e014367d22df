// h5ser/detail/hdf5/fork_gate.hpp: the lock that keeps forks of isolated parses out of libhdf5.
// Only the definitions that take it include this file, so <shared_mutex> stays out of user code.
#pragma once

#include <shared_mutex>

#include "h5ser/config.hpp"

namespace h5ser::detail {

/// The gate h5ser::detail::run_isolated (isolation.hpp) forks under, exclusively: every
/// hdf5_scope (hdf5.hpp) holds it shared, so that a child is never forked while an h5ser thread is
/// inside libhdf5 (whose global lock would then stay locked in the child).
H5SER_CORE_INLINE std::shared_mutex& fork_gate() noexcept;

}  // namespace h5ser::detail
