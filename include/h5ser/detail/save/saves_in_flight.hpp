// h5ser/detail/save/saves_in_flight.hpp: what a save or a load of a path waits for first, declared
// without the background saver's threads (background_save.hpp), which saves and loads do not need.
#pragma once

#include <string>

#include "h5ser/config.hpp"

namespace h5ser::detail {

/// Waits (without rethrowing: its error is for whoever waits on that save) for every save of
/// `path` this process started in the background and has not finished, so that a later save or
/// load of the same path comes after it: a save_async(v1, p) followed by save(v2, p) leaves v2,
/// and a load after save_async sees what it saved. Not on a saver's own thread (its saves are
/// one at a time) and not in an isolated child (which has no saver threads).
H5SER_CORE_INLINE void settle_saves_of(const std::string& path);

}  // namespace h5ser::detail

#if H5SER_CORE_DEFINITIONS
#include "h5ser/detail/save/background_save-inl.hpp"
#endif
