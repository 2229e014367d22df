// h5ser/progress.hpp: how long operations (save, load, verify) report how far they got.
#pragma once

#include <cstdint>
#include <functional>

namespace h5ser {

/// Called with `done` of `total` bytes as an operation proceeds: `done` never decreases, the last
/// call has done == total. Saves count the tensors' bytes, loads and verification the file's.
///
///     h5ser::save(model, "m.h5", [](std::uint64_t done, std::uint64_t total) { bar.update(done, total); });
using progress_callback = std::function<void(std::uint64_t done, std::uint64_t total)>;

}  // namespace h5ser
