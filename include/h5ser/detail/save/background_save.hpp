// h5ser/detail/save/background_save.hpp: the thread that writes asynchronous saves (h5ser::save_async,
// checkpoint_manager::save_async), one at a time, from snapshots (snapshot.hpp) in staging memory
// it keeps for the next save.
#pragma once

#include <atomic>
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
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
    explicit save_job(std::string path) : path_(std::move(path)) {}

    [[nodiscard]] const std::string& path() const noexcept { return path_; }
    [[nodiscard]] bool done() const noexcept { return done_.load(std::memory_order_acquire); }

    /// Waits until the save is committed or failed; rethrows its error, which counts as seen.
    H5SER_CORE_INLINE void wait();
    /// Waits until the save is committed or failed, without rethrowing.
    H5SER_CORE_INLINE void wait_quietly();
    /// The error nobody has seen yet (marking it seen), or null.
    H5SER_CORE_INLINE std::exception_ptr take_unseen_error();

    /// The writing thread's last act: `error` is null when the file is committed.
    H5SER_CORE_INLINE void finish(std::exception_ptr error) noexcept;

private:
    std::string path_;
    std::mutex mutex_;
    std::condition_variable finished_;
    std::atomic<bool> done_{false};
    std::exception_ptr error_;  // guarded by mutex_
    bool seen_ = false;         // guarded by mutex_
};

/// Registers `job`, a save started in the background, as in flight for its path until it is done:
/// see settle_saves_of.
H5SER_CORE_INLINE void register_in_flight(const std::shared_ptr<save_job>& job);

/// Writes saves on a thread of its own, one at a time: starting a save first waits for the one in
/// flight (backpressure: at most one snapshot exists per saver), and rethrows its error if nobody
/// has seen it. Its staging memory is reused from save to save. Any thread may start saves.
class background_saver {
public:
    background_saver() = default;
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
        const std::lock_guard lock(mutex_);
        finish_previous();
        std::unique_ptr<model_snapshot> taken = snapshot(staging_);
        auto job = std::make_shared<save_job>(taken->path());
        launch(job, [taken = std::move(taken), write = std::forward<Write>(write)] { write(*taken); });
        register_in_flight(job);
        return job;
    }

    /// Waits for the save in flight, if any; rethrows its error (which then counts as seen).
    H5SER_CORE_INLINE void wait();
    /// Waits for the save in flight, if any; rethrows its error if nobody has seen it.
    void settle() {
        const std::lock_guard lock(mutex_);
        finish_previous();
    }
    /// Waits for the save in flight, if any, without rethrowing.
    H5SER_CORE_INLINE void wait_quietly();
    /// Waits for the save in flight, then frees the staging memory.
    H5SER_CORE_INLINE void release_staging();

private:
    /// Joins the previous save's thread; throws its unseen error. Called with mutex_ held.
    H5SER_CORE_INLINE void finish_previous();
    /// Joins the thread of the last save started and hands that save over (job_ is then empty).
    H5SER_CORE_INLINE std::shared_ptr<save_job> join_last();
    /// The last save started, if any (for waiting on it without holding mutex_).
    H5SER_CORE_INLINE std::shared_ptr<save_job> last_job();
    template <class Work>
    void launch(const std::shared_ptr<save_job>& job, Work work) {
        thread_ = std::thread([job, work = std::move(work)]() mutable {
            on_saver_thread() = true;
            lower_this_threads_priority();
            std::exception_ptr error;
            {
                Work owned = std::move(work);  // the snapshot is freed before the job is done
                try {
                    owned();
                } catch (...) {
                    error = std::current_exception();
                }
            }
            job->finish(error);
        });
        job_ = job;
    }

    std::mutex mutex_;  // one caller at a time
    std::thread thread_;
    std::shared_ptr<save_job> job_;  // the last save started
    staging_buffer staging_;
};

/// The saver of h5ser::save_async: one for the process, created with HDF5 initialized so that it
/// is destroyed (waiting for a save in flight) before HDF5 shuts down at exit.
H5SER_CORE_INLINE background_saver& process_saver();

}  // namespace h5ser::detail

#if H5SER_CORE_DEFINITIONS
#include "h5ser/detail/save/background_save-inl.hpp"
#endif
