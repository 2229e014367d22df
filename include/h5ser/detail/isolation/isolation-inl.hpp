// h5ser/detail/isolation/isolation-inl.hpp: definitions of h5ser/detail/isolation/isolation.hpp (compiled once with
// the compiled core; see h5ser/config.hpp).
#pragma once

#include <hdf5.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <optional>
#include <thread>

#include "h5ser/detail/format/seal.hpp"  // write_all
#include "h5ser/detail/hdf5/fork_gate.hpp"
#include "h5ser/detail/hdf5/hdf5.hpp"
#include "h5ser/detail/isolation/isolation.hpp"
#include "h5ser/detail/isolation/sanitizer_fork.hpp"
#include "h5ser/detail/load/opened_file.hpp"  // file_descriptor
#include "h5ser/detail/posix/file.hpp"        // lock_temporary, temporary_in_use

namespace h5ser::detail {

namespace isolation_detail {

// Each message from the child: a tag byte, the payload's length (8 bytes), the payload.
enum class tag : char {
    ready = 'R',     ///< the child made its first HDF5 call: HDF5's lock was free
    progress = 'P',  ///< two uint64: done, total
    result = 'O',    ///< work's bytes
    error = 'E',     ///< a wire-encoded thrown_error
    other = 'X',     ///< what() of another exception
};

/// An h5ser::error as the child sends it.
struct thrown_error {
    std::string file;
    std::vector<problem> problems;
    std::vector<std::string> hdf5_stack;
};

/// A child must report its first HDF5 call within this; if not, a thread of the parent held HDF5's
/// lock at the fork, and the fork is tried again.
constexpr std::chrono::milliseconds ready_within{1000};
/// The largest reply accepted (a file_node tree of a file with a million objects is ~100 MB).
constexpr std::size_t max_reply_bytes = std::size_t{1} << 30;

inline void send(int fd, tag t, std::string_view payload) noexcept {
    const std::uint64_t length = payload.size();
    char header[9];
    header[0] = static_cast<char>(t);
    std::memcpy(header + 1, &length, 8);
    if (!write_all(fd, header, sizeof header) || !write_all(fd, payload.data(), payload.size())) ::_exit(3);
}

[[noreturn]] inline void child_main(int out, pid_t parent, const std::function<std::string(const progress_callback&)>& work) noexcept {
    in_isolated_child() = true;
    // Die with the parent; keep no core file of a crash (the parent reports it); crash signals
    // take their default action (not a handler of the program's, which would report a crash of
    // the program); none is blocked.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(4);
    const rlimit no_core{0, 0};
    ::setrlimit(RLIMIT_CORE, &no_core);
    for (const int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGSYS, SIGTRAP, SIGPIPE}) ::signal(sig, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);

    // Blocks for good if another thread of the parent held HDF5's global lock at the fork.
    H5E_auto2_t func = nullptr;
    void* data = nullptr;
    H5Eget_auto2(H5E_DEFAULT, &func, &data);
    send(out, tag::ready, {});

    const progress_callback report = [out](std::uint64_t done, std::uint64_t total) {
        char payload[16];
        std::memcpy(payload, &done, 8);
        std::memcpy(payload + 8, &total, 8);
        send(out, tag::progress, std::string_view(payload, sizeof payload));
    };
    try {
        const std::string result = work(report);
        send(out, tag::result, result);
    } catch (const error& e) {
        send(out, tag::error, to_wire(thrown_error{e.file(), e.problems(), e.hdf5_stack()}));
    } catch (const std::exception& e) {
        send(out, tag::other, e.what());
    } catch (...) {
        send(out, tag::other, "an exception that is not a std::exception");
    }
    ::_exit(0);
}

struct fork_request {
    int* fds;
    pid_t parent;
    const std::function<std::string(const progress_callback&)>* work;
    pid_t pid = -1;
    int error = 0;
};

inline herr_t fork_in_callback(unsigned, const H5E_error2_t*, void* data) noexcept {
    auto& r = *static_cast<fork_request*>(data);
    mark_isolated_fork(true);  // its fork handlers take ASan's locks (sanitizer_fork.hpp)
    r.pid = ::fork();
    if (r.pid < 0) r.error = errno;
    mark_isolated_fork(false);
    if (r.pid == 0) {
        ::close(r.fds[0]);
        child_main(r.fds[1], r.parent, *r.work);
    }
    return 0;
}

/// Forks inside an HDF5 call, holding HDF5's global lock: no other thread is inside libhdf5 at the
/// fork, so the child cannot inherit that lock held by a thread it does not have. HDF5 1.10 has no
/// API to take the lock, but it holds it while it runs a callback: H5Ewalk2 over an error stack
/// of our own with one record calls fork_in_callback once. The child runs (and leaves) inside the
/// callback, its own HDF5 calls nested in the walk, as a callback's may be.
inline void fork_holding_hdf5_lock(fork_request& r) {
    const hid_t stack = H5Ecreate_stack();
    if (stack >= 0 && H5Epush2(stack, __FILE__, "run_isolated", __LINE__, H5E_ERR_CLS, H5E_ARGS, H5E_BADVALUE, "fork") >= 0 &&
        H5Ewalk2(stack, H5E_WALK_UPWARD, fork_in_callback, &r) >= 0 && (r.pid != -1 || r.error != 0)) {
        H5Eclose_stack(stack);
        return;
    }
    if (stack >= 0) H5Eclose_stack(stack);
    fork_in_callback(0, nullptr, &r);  // not reached with a working HDF5; the ready check covers it
}

/// How one child ended, seen from the parent.
struct attempt_outcome {
    bool hdf5_busy = false;  ///< no ready message in time: try again
    std::optional<tag> final_tag;
    std::string payload;
    std::string failure;  ///< why there is no final message
};

inline std::string signal_text(int sig) {
    const char* name = ::sigabbrev_np(sig);
    const char* text = ::sigdescr_np(sig);
    std::string s = "signal " + std::to_string(sig);
    if (name) s += std::string(" (SIG") + name + (text ? std::string(": ") + text : std::string()) + ")";
    return s;
}

/// Kills and reaps `pid`: how it ended as text, or "" when that is unknown (the program ignores
/// SIGCHLD, so the kernel reaped it). A child that already ended keeps its own status; one still
/// running (its reply complete, or its pipe closed by a corrupted child) cannot keep the caller
/// waiting.
inline std::string reap(pid_t pid) {
    ::kill(pid, SIGKILL);
    int status = 0;
    pid_t r;
    do r = ::waitpid(pid, &status, 0);
    while (r < 0 && errno == EINTR);
    if (r != pid) return {};
    if (WIFSIGNALED(status)) return "crashed with " + signal_text(WTERMSIG(status));
    if (WIFEXITED(status)) return "ended with exit status " + std::to_string(WEXITSTATUS(status)) + " without a reply";
    return {};
}

inline std::string time_limit_text(std::chrono::milliseconds limit) {
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%.1f", static_cast<double>(limit.count()) / 1000.0);
    return std::string("did not finish within its time limit of ") + seconds +
           " s (a hang; the environment variable H5SER_ISOLATION_TIME_LIMIT sets another limit)";
}

inline attempt_outcome attempt(const std::function<std::string(const progress_callback&)>& work, const progress_callback& progress,
                               std::chrono::milliseconds limit, const std::string& file) {
    using clock = std::chrono::steady_clock;
    const pid_t parent = ::getpid();
    int fds[2];
    pid_t pid = -1;
    int fork_errno = 0;
    {
        // Fork only while no h5ser thread is inside libhdf5. A thread that is itself in an
        // hdf5_scope (a progress callback calling back into h5ser) cannot wait for the others.
        // The pipe is made and its write end closed under the gate too, so that no other
        // isolated child inherits it (and delays the end of this one's reply).
        std::unique_lock<std::shared_mutex> gate(fork_gate(), std::defer_lock);
        if (hdf5_scope_depth() == 0) gate.lock();
        if (::pipe2(fds, O_CLOEXEC) != 0) throw_io(file, "cannot create a pipe for the isolated parse", errno);
        fork_request request{fds, parent, &work};
        fork_holding_hdf5_lock(request);
        pid = request.pid;
        fork_errno = request.error;
        ::close(fds[1]);
    }
    const file_descriptor in(fds[0]);
    if (pid < 0) throw_io(file, "cannot fork a child for the isolated parse", fork_errno);

    attempt_outcome out;
    std::string buffer;
    bool ready = false;
    // The time limit counts from the fork: the wait for the gate and for HDF5's lock above (other
    // threads' saves and HDF5 calls) is the program's time, not the file's.
    const auto forked = clock::now();
    const auto deadline = forked + limit;
    const auto ready_deadline = forked + ready_within;  // the start, apart from the time limit
    std::size_t parsed = 0;
    while (!out.final_tag) {
        const auto until = ready ? deadline : ready_deadline;
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - clock::now()).count();
        pollfd p{in.get(), POLLIN, 0};
        const int n = left > 0 ? ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 60'000))) : 0;
        if (n < 0 && errno == EINTR) continue;
        if (n == 0 && clock::now() < until) continue;
        if (n == 0) {
            reap(pid);
            if (!ready) {
                out.hdf5_busy = true;
                return out;
            }
            out.failure = time_limit_text(limit);
            return out;
        }
        char chunk[65536];
        ssize_t got;
        do got = ::read(in.get(), chunk, sizeof chunk);
        while (got < 0 && errno == EINTR);
        if (got <= 0) break;  // the child ended (or closed its end) without a final message
        buffer.append(chunk, static_cast<std::size_t>(got));
        if (buffer.size() - parsed > max_reply_bytes + 9) {
            reap(pid);
            out.failure = "sent a reply larger than " + std::to_string(max_reply_bytes >> 20) + " MiB";
            return out;
        }
        while (buffer.size() - parsed >= 9) {
            std::uint64_t length = 0;
            std::memcpy(&length, buffer.data() + parsed + 1, 8);
            if (length > max_reply_bytes) {
                reap(pid);
                out.failure = "sent a malformed reply (a message of " + std::to_string(length) + " bytes)";
                return out;
            }
            if (buffer.size() - parsed - 9 < length) break;
            const auto t = static_cast<tag>(buffer[parsed]);
            const std::string_view payload(buffer.data() + parsed + 9, static_cast<std::size_t>(length));
            parsed += 9 + static_cast<std::size_t>(length);
            if (t == tag::ready && !ready && length == 0) {
                ready = true;
            } else if (t == tag::progress && ready && length == 16) {
                std::uint64_t done = 0, total = 0;
                std::memcpy(&done, payload.data(), 8);
                std::memcpy(&total, payload.data() + 8, 8);
                if (progress) progress(done, total);
            } else if (ready && (t == tag::result || t == tag::error || t == tag::other)) {
                out.final_tag = t;
                out.payload.assign(payload);
                break;
            } else {
                reap(pid);
                out.failure = "sent a malformed reply (an unexpected message)";
                return out;
            }
        }
        if (parsed > (1u << 20)) {
            buffer.erase(0, parsed);
            parsed = 0;
        }
    }
    const std::string status = reap(pid);
    if (!out.final_tag) out.failure = status.empty() ? std::string("ended without a reply") : status;
    // A reply read after the deadline is late too, even if it was already in the pipe: the limit
    // holds whatever the order in which the reads happen to come.
    if (out.final_tag && clock::now() > deadline) {
        out.final_tag.reset();
        out.failure = time_limit_text(limit);
    }
    return out;
}

}  // namespace isolation_detail

H5SER_CORE_INLINE bool needs_isolation(isolation mode, const std::string& path) {
    if (mode == isolation::never || in_isolated_child()) return false;
    // What is not a regular file fails in the caller's own checks (opened_file), with their
    // messages. Any other file libhdf5 is about to parse: a seal is no reason to trust it, as
    // anyone can recompute one (h5ser::load decides for itself: parses_in_child).
    std::error_code ec;
    return std::filesystem::is_regular_file(path, ec);
}

H5SER_CORE_INLINE std::int64_t isolation_time_limit_ms(std::uint64_t bytes) {
    if (const char* text = std::getenv("H5SER_ISOLATION_TIME_LIMIT")) {
        char* end = nullptr;
        const double seconds = std::strtod(text, &end);
        while (end && *end == ' ') ++end;
        if (end == text || !end || *end != '\0' || !(seconds > 0) || seconds >= 1e7)
            throw error(std::string("H5SER_ISOLATION_TIME_LIMIT"),
                        problem{errc::isolation_failed,
                                {},
                                {},
                                "a number of seconds above 0 (such as 2.5)",
                                "'" + std::string(text) + "'",
                                "the environment variable sets the time limit of isolated parses; unset it for the default"});
        return std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(seconds * 1000)));
    }
    // 5 s, plus 1 s per 8 MiB: the slowest sound parse measured (docs/integrity.md) takes a small
    // fraction of that, from a cold disk or under sanitizers.
    return 5'000 +
           static_cast<std::int64_t>(std::llround(static_cast<double>(bytes) / static_cast<double>(std::uint64_t{8} << 20) * 1000.0));
}

H5SER_CORE_INLINE error isolation_error(const std::string& file, std::string what) {
    return error(file, problem{errc::isolation_failed,
                               {},
                               {},
                               {},
                               {},
                               "the child process that parsed it (as every file not declared trusted) " + std::move(what)});
}

H5SER_CORE_INLINE std::string run_isolated_bytes(const std::string& file, const std::function<std::string(const progress_callback&)>& work,
                                                 const progress_callback& progress) {
    using namespace isolation_detail;
    if (in_isolated_child()) return work(progress);
    std::error_code ec;
    const auto size = std::filesystem::file_size(file, ec);
    const std::chrono::milliseconds limit{isolation_time_limit_ms(ec ? 0 : size)};
    const auto tries_until = std::chrono::steady_clock::now() + limit;  // children that cannot start
    std::chrono::milliseconds pause{10};
    for (;;) {
        attempt_outcome out = attempt(work, progress, limit, file);
        if (out.hdf5_busy) {
            if (std::chrono::steady_clock::now() + pause >= tries_until)
                throw isolation_error(file, "could not start: libhdf5 was busy in another thread of this program at every try");
            std::this_thread::sleep_for(pause);
            pause = std::min(pause * 2, std::chrono::milliseconds{500});
            continue;
        }
        if (!out.final_tag) throw isolation_error(file, std::move(out.failure));
        switch (*out.final_tag) {
            case tag::result:
                return std::move(out.payload);
            case tag::error: {
                thrown_error e;
                try {
                    e = from_wire<thrown_error>(out.payload);
                } catch (const wire_error& w) {
                    throw isolation_error(file, std::string("sent a malformed reply (") + w.what() + ")");
                }
                if (e.problems.empty()) throw isolation_error(file, "sent an error without a problem");
                throw error(std::move(e.file), std::move(e.problems), std::move(e.hdf5_stack));
            }
            default:
                throw std::runtime_error(out.payload);
        }
    }
}

H5SER_CORE_INLINE scratch_file::scratch_file(const std::string& for_file) {
    // In memory when /dev/shm has room for a copy of the file (twice over: HDF5's layout may be
    // less compact than the original's), else in the temporary directory. A memfd would be the
    // natural home, but HDF5 resolves its /proc/self/fd link to a name that does not exist.
    std::error_code ec;
    const std::uint64_t size = std::filesystem::file_size(for_file, ec);
    std::string directory = std::filesystem::temp_directory_path(ec).string();
    if (directory.empty()) directory = "/tmp";
    struct statvfs shm {};
    if (::statvfs("/dev/shm", &shm) == 0 &&
        static_cast<std::uint64_t>(shm.f_bavail) * shm.f_frsize >= 2 * (ec ? 0 : size) + (std::uint64_t{64} << 20))
        directory = "/dev/shm";
    const std::string prefix = "h5ser-isolated-load-";
    path_ = directory + "/" + prefix + std::to_string(::getpid()) + "-XXXXXX";
    fd_ = ::mkostemp(path_.data(), O_CLOEXEC);
    if (fd_ < 0) throw_io(for_file, "cannot create a scratch file in '" + directory + "' for the isolated load", errno);
    (void)lock_temporary(fd_);
    // A caller killed during an isolated load left its scratch file: memory, in /dev/shm. Remove
    // those nobody holds (as a save removes the temporaries of saves killed before their commit).
    for (std::filesystem::directory_iterator it(directory, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (name.rfind(prefix, 0) != 0 || it->path() == path_) continue;
        const long pid = std::strtol(name.c_str() + prefix.size(), nullptr, 10);
        std::error_code ignored;
        if (!temporary_in_use(it->path().string(), pid)) std::filesystem::remove(it->path(), ignored);
    }
}

H5SER_CORE_INLINE scratch_file::~scratch_file() {
    ::unlink(path_.c_str());
    ::close(fd_);
}

H5SER_CORE_INLINE void rethrow_for_file(const error& e, const std::string& file) {
    std::vector<problem> problems = e.problems();
    for (auto& p : problems)
        p.detail += std::string(p.detail.empty() ? "" : "; ") + "in the isolated child's copy of the model (" + e.file() + ")";
    throw error(file, std::move(problems), e.hdf5_stack());
}

}  // namespace h5ser::detail
