// h5ser/detail/save/background_save-inl.hpp: definitions of h5ser/detail/save/background_save.hpp (compiled
// once with the compiled core; see h5ser/config.hpp).
#pragma once

#include <hdf5.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

#include "h5ser/detail/save/background_save.hpp"
#include "h5ser/detail/save/saves_in_flight.hpp"

namespace h5ser::detail {

H5SER_CORE_INLINE void lower_this_threads_priority() noexcept {
#if defined(__linux__)
    // On Linux the nice value is a thread's own: PRIO_PROCESS with a thread id changes that thread.
    const auto thread = static_cast<id_t>(::syscall(SYS_gettid));
    errno = 0;
    const int current = ::getpriority(PRIO_PROCESS, thread);
    if (errno == 0) (void)::setpriority(PRIO_PROCESS, thread, std::min(current + 10, 19));
#endif
}

struct save_job::sync {
    std::mutex mutex;
    std::condition_variable finished;
    std::atomic<bool> done{false};
    std::exception_ptr error;  // guarded by mutex
    bool seen = false;         // guarded by mutex
};

H5SER_CORE_INLINE save_job::save_job(std::string path) : path_(std::move(path)), sync_(std::make_unique<sync>()) {}
H5SER_CORE_INLINE save_job::~save_job() = default;

H5SER_CORE_INLINE bool save_job::done() const noexcept { return sync_->done.load(std::memory_order_acquire); }

H5SER_CORE_INLINE void save_job::wait() {
    std::unique_lock lock(sync_->mutex);
    sync_->finished.wait(lock, [&] { return sync_->done.load(std::memory_order_relaxed); });
    if (sync_->error) {
        sync_->seen = true;
        std::rethrow_exception(sync_->error);
    }
}

H5SER_CORE_INLINE void save_job::wait_quietly() {
    std::unique_lock lock(sync_->mutex);
    sync_->finished.wait(lock, [&] { return sync_->done.load(std::memory_order_relaxed); });
}

H5SER_CORE_INLINE std::exception_ptr save_job::take_unseen_error() {
    const std::lock_guard lock(sync_->mutex);
    if (!sync_->error || sync_->seen) return nullptr;
    sync_->seen = true;
    return sync_->error;
}

H5SER_CORE_INLINE void save_job::finish(std::exception_ptr error) noexcept {
    {
        const std::lock_guard lock(sync_->mutex);
        sync_->error = std::move(error);
        sync_->done.store(true, std::memory_order_release);
    }
    sync_->finished.notify_all();
}

struct background_saver::state {
    std::mutex mutex;  // one caller at a time
    std::thread thread;
    std::shared_ptr<save_job> job;  // the last save started
    staging_buffer staging;
};

H5SER_CORE_INLINE background_saver::background_saver() : state_(std::make_unique<state>()) {}

H5SER_CORE_INLINE background_saver::~background_saver() {
    const std::shared_ptr<save_job> last = join_last();
    const std::exception_ptr error = last ? last->take_unseen_error() : nullptr;
    if (!error) return;
    try {
        std::rethrow_exception(error);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "h5ser: the asynchronous save of %s failed, and nobody waited for it: %s\n", last->path().c_str(), e.what());
    } catch (...) {
        std::fprintf(stderr, "h5ser: the asynchronous save of %s failed, and nobody waited for it\n", last->path().c_str());
    }
}

H5SER_CORE_INLINE std::shared_ptr<save_job> background_saver::start_write(std::unique_ptr<background_write> (*take)(const void* context,
                                                                                                                    staging_buffer&),
                                                                          const void* context) {
    const std::lock_guard lock(state_->mutex);
    finish_previous();
    std::unique_ptr<background_write> work = take(context, state_->staging);
    auto job = std::make_shared<save_job>(work->path());
    state_->thread = std::thread([job, work = std::move(work)]() mutable {
        on_saver_thread() = true;
        lower_this_threads_priority();
        std::exception_ptr error;
        {
            const std::unique_ptr<background_write> owned = std::move(work);  // the snapshot is freed before the job is done
            try {
                owned->run();
            } catch (...) {
                error = std::current_exception();
            }
        }
        job->finish(error);
    });
    state_->job = job;
    register_in_flight(job);
    return job;
}

H5SER_CORE_INLINE std::shared_ptr<save_job> background_saver::join_last() {
    if (state_->thread.joinable()) state_->thread.join();
    return std::exchange(state_->job, nullptr);
}

H5SER_CORE_INLINE void background_saver::finish_previous() {
    const std::shared_ptr<save_job> previous = join_last();
    if (const std::exception_ptr error = previous ? previous->take_unseen_error() : nullptr) std::rethrow_exception(error);
}

H5SER_CORE_INLINE std::shared_ptr<save_job> background_saver::last_job() {
    const std::lock_guard lock(state_->mutex);
    return state_->job;
}

H5SER_CORE_INLINE void background_saver::wait() {
    if (const auto job = last_job()) job->wait();
}

H5SER_CORE_INLINE void background_saver::settle() {
    const std::lock_guard lock(state_->mutex);
    finish_previous();
}

H5SER_CORE_INLINE void background_saver::wait_quietly() {
    if (const auto job = last_job()) job->wait_quietly();
}

H5SER_CORE_INLINE void background_saver::release_staging() {
    const std::lock_guard lock(state_->mutex);
    if (state_->thread.joinable()) state_->thread.join();
    state_->staging.release();
}

namespace saves_in_flight {

/// A path as the key of its saves: absolute and lexically normal, so that "m.h5" and "./m.h5" meet
/// (symbolic links are not resolved: a save replaces the link itself, see docs/integrity.md).
inline std::string key_of(const std::string& path) {
    std::error_code ec;
    const std::filesystem::path absolute = std::filesystem::absolute(path, ec);
    return (ec ? std::filesystem::path(path) : absolute).lexically_normal().string();
}

struct registry {
    std::mutex mutex;
    std::vector<std::pair<std::string, std::weak_ptr<save_job>>> jobs;  ///< by key_of its path
};

inline registry& the_registry() {
    static registry* r = new registry;  // never destroyed: savers may finish during static destruction
    return *r;
}

}  // namespace saves_in_flight

H5SER_CORE_INLINE void register_in_flight(const std::shared_ptr<save_job>& job) {
    auto& r = saves_in_flight::the_registry();
    std::string key = saves_in_flight::key_of(job->path());
    const std::lock_guard lock(r.mutex);
    std::erase_if(r.jobs, [](const auto& entry) {
        const auto j = entry.second.lock();
        return !j || j->done();
    });
    r.jobs.emplace_back(std::move(key), job);
}

H5SER_CORE_INLINE void settle_saves_of(const std::string& path) {
    if (on_saver_thread() || in_isolated_child()) return;
    auto& r = saves_in_flight::the_registry();
    std::vector<std::shared_ptr<save_job>> waiting;
    {
        const std::lock_guard lock(r.mutex);
        if (r.jobs.empty()) return;
        const std::string key = saves_in_flight::key_of(path);
        for (const auto& [k, weak] : r.jobs)
            if (const auto j = weak.lock(); j && k == key && !j->done()) waiting.push_back(j);
    }
    for (const auto& j : waiting) j->wait_quietly();
}

H5SER_CORE_INLINE background_saver& process_saver() {
    struct holder {
        // HDF5 registers its exit handler when it starts; starting it before this object is
        // complete makes that handler run after this object's destructor, which waits for the
        // save in flight: a program may return from main right after save_async.
        holder() { H5open(); }
        background_saver saver;
    };
    static holder instance;
    return instance.saver;
}

}  // namespace h5ser::detail
