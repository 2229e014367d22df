// h5ser/detail/save/background_save.hpp: the thread that writes asynchronous saves (h5ser::save_async,
// checkpoint_manager::save_async), one at a time, from snapshots (snapshot.hpp) in staging memory
// it keeps for the next save.
#pragma once

#include <exception>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include "h5ser/config.hpp"
#include "h5ser/detail/save/snapshot.hpp"

namespace h5ser::detail {

/// Lowers the CPU priority of the calling thread (nice +10, Linux), so that a save written in the
/// background takes the CPU time the caller's threads leave, and training keeps its cores. Threads
/// it starts (the hashing helper) inherit it.
H5SER_CORE_INLINE void lower_this_threads_priority() noexcept;

/// Is the calling thread one a background_saver writes on?
inline bool& on_saver_thread() noexcept {
    static thread_local bool flag = false;
    return flag;
}

/// What the caller and the thread writing one save share: whether it is done, and how it ended.
class save_job {
public:
    H5SER_CORE_INLINE explicit save_job(std::string path);
    H5SER_CORE_INLINE ~save_job();
    save_job(const save_job&) = delete;
    save_job& operator=(const save_job&) = delete;

    [[nodiscard]] const std::string& path() const noexcept { return path_; }
    [[nodiscard]] H5SER_CORE_INLINE bool done() const noexcept;

    /// Waits until the save is committed or failed; rethrows its error, which counts as seen.
    H5SER_CORE_INLINE void wait();
    /// Waits until the save is committed or failed, without rethrowing.
    H5SER_CORE_INLINE void wait_quietly();
    /// The error nobody has seen yet (marking it seen), or null.
    H5SER_CORE_INLINE std::exception_ptr take_unseen_error();

    /// The writing thread's last act: `error` is null when the file is committed.
    H5SER_CORE_INLINE void finish(std::exception_ptr error) noexcept;

private:
    // The mutex, condition variable and flags (background_save-inl.hpp): <thread>,
    // <condition_variable> and <mutex> stay out of the translation units that save asynchronously.
    struct sync;
    std::string path_;
    std::unique_ptr<sync> sync_;
};

/// Registers `job`, a save started in the background, as in flight for its path until it is done:
/// see settle_saves_of.
H5SER_CORE_INLINE void register_in_flight(const std::shared_ptr<save_job>& job);

/// One save for a saver's thread: the snapshot taken, and what writes its file.
struct background_write {
    background_write() = default;
    background_write(const background_write&) = delete;
    background_write& operator=(const background_write&) = delete;
    virtual ~background_write() = default;
    [[nodiscard]] virtual const std::string& path() const noexcept = 0;
    virtual void run() = 0;
};

/// Writes saves on a thread of its own, one at a time: starting a save first waits for the one in
/// flight (backpressure: at most one snapshot exists per saver), and rethrows its error if nobody
/// has seen it. Its staging memory is reused from save to save. Any thread may start saves.
class background_saver {
public:
    H5SER_CORE_INLINE background_saver();
    background_saver(const background_saver&) = delete;
    background_saver& operator=(const background_saver&) = delete;
    /// Waits for the save in flight. An error nobody saw cannot be thrown from here: it is
    /// written to stderr.
    H5SER_CORE_INLINE ~background_saver();

    /// Waits for the save in flight, takes a snapshot with `snapshot(staging)` (which returns a
    /// std::unique_ptr<model_snapshot>) on the calling thread, and starts `write(snapshot)` on the
    /// saver's thread. Throws, without starting anything, the error of the previous save if nobody
    /// has seen it (unchanged: its file() names that save's path), or what `snapshot` throws.
    template <class TakeSnapshot, class Write>
    std::shared_ptr<save_job> start(TakeSnapshot&& snapshot, Write&& write) {
        struct writes_snapshot final : background_write {
            writes_snapshot(std::unique_ptr<model_snapshot> t, Write&& w) : taken(std::move(t)), write(std::forward<Write>(w)) {}
            [[nodiscard]] const std::string& path() const noexcept override { return taken->path(); }
            void run() override { write(*taken); }
            std::unique_ptr<model_snapshot> taken;
            std::decay_t<Write> write;
        };
        const auto take = [&](staging_buffer& staging) -> std::unique_ptr<background_write> {
            return std::make_unique<writes_snapshot>(snapshot(staging), std::forward<Write>(write));
        };
        using take_type = decltype(take);
        return start_write([](const void* t, staging_buffer& staging) { return (*static_cast<const take_type*>(t))(staging); }, &take);
    }

    /// Waits for the save in flight, if any; rethrows its error (which then counts as seen).
    H5SER_CORE_INLINE void wait();
    /// Waits for the save in flight, if any; rethrows its error if nobody has seen it.
    H5SER_CORE_INLINE void settle();
    /// Waits for the save in flight, if any, without rethrowing.
    H5SER_CORE_INLINE void wait_quietly();
    /// Waits for the save in flight, then frees the staging memory.
    H5SER_CORE_INLINE void release_staging();

private:
    /// start(), compiled once: under the saver's lock, finishes the previous save, calls
    /// `take(context, staging)` and runs what it returns on a new thread.
    H5SER_CORE_INLINE std::shared_ptr<save_job> start_write(std::unique_ptr<background_write> (*take)(const void* context, staging_buffer&),
                                                            const void* context);
    /// Joins the previous save's thread; throws its unseen error. Called with the lock held.
    H5SER_CORE_INLINE void finish_previous();
    /// Joins the thread of the last save started and hands that save over (none is left).
    H5SER_CORE_INLINE std::shared_ptr<save_job> join_last();
    /// The last save started, if any (for waiting on it without holding the lock).
    H5SER_CORE_INLINE std::shared_ptr<save_job> last_job();

    // Its lock, thread, last save and staging memory (background_save-inl.hpp).
    struct state;
    std::unique_ptr<state> state_;
};

/// The saver of h5ser::save_async: one for the process, created with HDF5 initialized so that it
/// is destroyed (waiting for a save in flight) before HDF5 shuts down at exit.
H5SER_CORE_INLINE background_saver& process_saver();

}  // namespace h5ser::detail

#if H5SER_CORE_DEFINITIONS
#include "h5ser/detail/save/background_save-inl.hpp"
#endif
