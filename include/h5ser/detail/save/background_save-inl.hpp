// h5ser/detail/save/background_save-inl.hpp: definitions of h5ser/detail/save/background_save.hpp (compiled
// once with the compiled core; see h5ser/config.hpp).
#pragma once

#include <hdf5.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <filesystem>
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

H5SER_CORE_INLINE void save_job::wait() {
    std::unique_lock lock(mutex_);
    finished_.wait(lock, [&] { return done_.load(std::memory_order_relaxed); });
    if (error_) {
        seen_ = true;
        std::rethrow_exception(error_);
    }
}

H5SER_CORE_INLINE void save_job::wait_quietly() {
    std::unique_lock lock(mutex_);
    finished_.wait(lock, [&] { return done_.load(std::memory_order_relaxed); });
}

H5SER_CORE_INLINE std::exception_ptr save_job::take_unseen_error() {
    const std::lock_guard lock(mutex_);
    if (!error_ || seen_) return nullptr;
    seen_ = true;
    return error_;
}

H5SER_CORE_INLINE void save_job::finish(std::exception_ptr error) noexcept {
    {
        const std::lock_guard lock(mutex_);
        error_ = std::move(error);
        done_.store(true, std::memory_order_release);
    }
    finished_.notify_all();
}

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

H5SER_CORE_INLINE std::shared_ptr<save_job> background_saver::join_last() {
    if (thread_.joinable()) thread_.join();
    return std::exchange(job_, nullptr);
}

H5SER_CORE_INLINE void background_saver::finish_previous() {
    const std::shared_ptr<save_job> previous = join_last();
    if (const std::exception_ptr error = previous ? previous->take_unseen_error() : nullptr) std::rethrow_exception(error);
}

H5SER_CORE_INLINE std::shared_ptr<save_job> background_saver::last_job() {
    const std::lock_guard lock(mutex_);
    return job_;
}

H5SER_CORE_INLINE void background_saver::wait() {
    if (const auto job = last_job()) job->wait();
}

H5SER_CORE_INLINE void background_saver::wait_quietly() {
    if (const auto job = last_job()) job->wait_quietly();
}

H5SER_CORE_INLINE void background_saver::release_staging() {
    const std::lock_guard lock(mutex_);
    if (thread_.joinable()) thread_.join();
    staging_.release();
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
