// h5ser/detail/isolation/isolation.hpp: parsing files h5ser did not seal where a crash or a hang of libhdf5
// cannot reach the caller.
//
// HDF5 1.10 trusts much of what a file says (the global heap's sizes above all): a damaged or
// hostile file can crash it or send it into an endless loop. A file h5ser wrote is checked against
// its seal before libhdf5 reads it; any other file (Keras's, h5py's) is parsed by run_isolated in a
// forked child, which runs the same h5ser code and sends its result back through a pipe (as wire
// bytes, wire.hpp), or, for a load, as a sealed h5ser file in memory (scratch_file) that the parent
// then maps (load_file.hpp). The parent never parses the foreign file itself.
//
// The child is killed when it exceeds a time limit that grows with the file's size
// (isolation_time_limit_ms); a crash, a time-out or a reply that does not decode becomes an
// h5ser::error with code errc::isolation_failed.
//
// Forking from a program with threads: the child has only the forking thread, and a lock another
// thread held at that instant stays held in the child. So:
//   - the fork happens inside an HDF5 call (a callback of H5Ewalk2), which holds HDF5's global
//     lock: no other thread, h5ser's or the program's, is inside libhdf5 at that instant;
//   - h5ser's own use of libhdf5 (every hdf5_scope of hdf5.hpp, on any thread: background saves
//     included) holds the fork gate shared, and run_isolated forks under it exclusively;
//   - as a last guard, the child's first act is one HDF5 call; if it does not report back within a
//     second, the child is killed and the fork tried again a little later;
//   - the child touches no other shared state of the parent, runs with default handlers for the
//     crash signals and no core dumps, dies with its parent, and leaves with _exit.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "h5ser/config.hpp"
#include "h5ser/detail/isolation/wire.hpp"
#include "h5ser/error.hpp"
#include "h5ser/policy.hpp"
#include "h5ser/progress.hpp"

namespace h5ser::detail {

/// Does a parse of `path` by libhdf5 need isolating under `mode`? Yes for every regular file,
/// sealed or not, unless `mode` is isolation::never (h5ser::trusted) or this is the child.
H5SER_CORE_INLINE bool needs_isolation(isolation mode, const std::string& path);

/// How long an isolated parse of a file of `bytes` may take: 5 s plus 1 s per 8 MiB, or the
/// environment variable H5SER_ISOLATION_TIME_LIMIT (seconds, above 0; anything else is an error)
/// when set. A sound parse takes a small fraction of that even from a slow disk or under
/// sanitizers; a hang is an endless loop.
H5SER_CORE_INLINE std::int64_t isolation_time_limit_ms(std::uint64_t bytes);

/// Runs `work` in a forked child and returns the bytes it returned. `work` is given a progress
/// callback that reports to `progress` in the parent. The child's h5ser::error is rethrown as it was
/// (other exceptions as std::runtime_error); a crash, a time-out (isolation_time_limit_ms of `file`'s
/// size) or a malformed reply throws an h5ser::error with errc::isolation_failed naming `file`.
/// In the child of another run_isolated, `work` runs in place.
H5SER_CORE_INLINE std::string run_isolated_bytes(const std::string& file, const std::function<std::string(const progress_callback&)>& work,
                                                 const progress_callback& progress = {});

/// The h5ser::error for an isolated parse of `file` whose child `what` ("crashed with signal 11 ...").
H5SER_CORE_INLINE error isolation_error(const std::string& file, std::string what);

/// run_isolated_bytes for a `work(progress)` returning a Result (sent as wire bytes) or nothing.
template <class Result, class Work>
Result run_isolated(const std::string& file, const Work& work, const progress_callback& progress = {}) {
    const std::string bytes = run_isolated_bytes(
        file,
        [&](const progress_callback& child_progress) -> std::string {
            if constexpr (std::is_void_v<Result>) {
                work(child_progress);
                return {};
            } else {
                return to_wire(work(child_progress));
            }
        },
        progress);
    if constexpr (!std::is_void_v<Result>) {
        try {
            return from_wire<Result>(bytes);
        } catch (const wire_error& e) {
            throw isolation_error(file, std::string("sent a malformed reply (") + e.what() + ")");
        }
    }
}

/// The file an isolated child writes a loaded model into, as a sealed h5ser file, and the parent
/// then loads: in /dev/shm when it has room, else in the temporary directory; removed when this
/// object goes (mapped tensors keep its memory). It is locked as a save's temporary is, and the
/// scratch files of killed callers (unlocked) are removed when a new one is made.
class scratch_file {
public:
    explicit scratch_file(const std::string& for_file);
    scratch_file(const scratch_file&) = delete;
    scratch_file& operator=(const scratch_file&) = delete;
    ~scratch_file();
    [[nodiscard]] const std::string& path() const noexcept { return path_; }

private:
    int fd_ = -1;
    std::string path_;
};

/// Rethrows `e`, an error of loading the scratch file of an isolated load of `file`, as an error
/// of `file`.
[[noreturn]] H5SER_CORE_INLINE void rethrow_for_file(const error& e, const std::string& file);

}  // namespace h5ser::detail

#if H5SER_CORE_DEFINITIONS
#include "h5ser/detail/isolation/isolation-inl.hpp"
#endif
