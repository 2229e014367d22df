// h5ser/remote/detail/http.hpp: the HTTP client of loads of URLs (libcurl): the first request, which
// reads a file's seal and manifest, and the source that reads its tensors by parallel ranged GETs,
// each into its final memory and hashed as its bytes arrive.
//
// Every request after the first names the version of the file the first one saw (If-Match with its
// ETag, else If-Unmodified-Since with its Last-Modified) and every answer's total size must be the
// first one's: a file replaced during a load fails it with errc::file_changed, and the load entry
// tries again (load_file.hpp). Without either header the checksums still refuse bytes of another
// version: each tensor is hashed against the manifest the first request read.
#pragma once

#include <curl/curl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "h5ser/detail/format/hash.hpp"
#include "h5ser/detail/format/seal.hpp"
#include "h5ser/detail/load/ranged_source.hpp"
#include "h5ser/error.hpp"
#include "h5ser/remote/options.hpp"

namespace h5ser::detail::http {

/// Bytes the first request asks for: the seal and manifest of most files (a larger userblock takes
/// a second request).
inline constexpr std::uint64_t first_request_bytes = 64 * 1024;

/// libcurl's process-wide setup, once, before any handle (curl_global_init is not safe to race).
inline void init_curl() {
    static const CURLcode code = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (code != CURLE_OK) throw std::runtime_error(std::string("h5ser: curl_global_init failed: ") + curl_easy_strerror(code));
}

/// What identifies the version of the file the first request saw.
struct file_version {
    std::string etag;           ///< a strong ETag, or empty
    std::string last_modified;  ///< the Last-Modified header, or empty
    std::uint64_t size = 0;
};

/// The headers of one response that a ranged read looks at.
struct response_headers {
    long status = 0;
    bool has_range = false;
    std::uint64_t first = 0, last = 0, total = 0;  ///< Content-Range: bytes first-last/total
    std::string etag;
    std::string last_modified;
};

inline std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
    return s;
}

inline bool header_is(std::string_view line, std::string_view name) noexcept {
    if (line.size() <= name.size() || line[name.size()] != ':') return false;
    for (std::size_t i = 0; i < name.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(line[i])) != name[i]) return false;
    return true;
}

/// Parses "bytes first-last/total"; false for anything else ("bytes */total", "bytes 0-9/*").
inline bool parse_content_range(std::string_view v, response_headers& h) noexcept {
    const auto number = [&](std::uint64_t& out, char end) {
        std::uint64_t n = 0;
        std::size_t digits = 0;
        while (!v.empty() && v.front() >= '0' && v.front() <= '9') {
            if (n > (UINT64_MAX - 9) / 10) return false;
            n = n * 10 + static_cast<std::uint64_t>(v.front() - '0');
            v.remove_prefix(1);
            ++digits;
        }
        if (digits == 0) return false;
        if (end != 0) {
            if (v.empty() || v.front() != end) return false;
            v.remove_prefix(1);
        }
        out = n;
        return true;
    };
    if (v.substr(0, 6) != "bytes ") return false;
    v.remove_prefix(6);
    return number(h.first, '-') && number(h.last, '/') && number(h.total, 0) && v.empty() && h.first <= h.last && h.last < h.total;
}

/// One connection to the server (a libcurl easy handle, kept alive between requests), with the
/// load's options. Not shared between threads.
class connection {
public:
    connection(std::string url, const remote_options& options) : url_(std::move(url)), options_(&options) {
        init_curl();
        curl_ = curl_easy_init();
        if (!curl_) throw std::bad_alloc();
    }
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;
    ~connection() {
        curl_easy_cleanup(curl_);
        curl_slist_free_all(headers_);
    }

    /// Where the bytes of one ranged GET go.
    struct sink {
        unsigned char* into = nullptr;
        std::uint64_t length = 0;  ///< bytes wanted
        xxh3_stream* hash = nullptr;
        std::atomic<std::uint64_t>* progress = nullptr;
        const std::atomic<bool>* cancel = nullptr;
        std::string name;   ///< the tensor's HDF5 path, for errors ("/" for the file's seal)
        std::string field;  ///< its field path, for errors
    };

    /// GETs bytes [offset, offset + out.length) into `out`, every answer checked against `version`
    /// (null: the first request, which learns it into `first`; then a file shorter than asked is
    /// read to its end). Resumes after broken connections and server errors (options.retries).
    /// Returns the bytes read. Throws an h5ser::error naming the URL and `out.name`.
    std::uint64_t get(std::uint64_t offset, const sink& out, const file_version* version, response_headers* first = nullptr) {
        std::uint64_t done = 0;
        int failures = 0;
        for (;;) {
            attempt a(*this, out, offset + done, done, version);
            const CURLcode code = perform(a, offset + done, out.length - done, version);
            if (first && a.headers.status == 206 && a.headers.has_range) *first = a.headers;
            if (out.cancel && out.cancel->load()) throw cancelled();
            // An answer without a body was not checked as it arrived.
            if (!a.refused && !a.checked && (a.headers.status == 200 || a.headers.status == 206) && check_answer(a)) a.checked = true;
            if (a.refused) throw *a.refused;
            const std::uint64_t got = a.received;
            done += got;
            if (code == CURLE_OK && a.headers.status == 206) {
                if (done == out.length) return done;
                if (!version && a.headers.has_range && a.headers.last + 1 == a.headers.total) return done;  // the file is shorter
                if (got == 0) throw fail(errc::io, out, "the requested bytes", "an empty answer", "");
                continue;  // a server may answer a part of a range: ask for the rest
            }
            if (!retryable(code, a.headers.status)) throw failure(code, a);
            if (got >= (1U << 20)) failures = 0;  // progress: only failures in a row count
            if (++failures > options_->retries) throw failure(code, a);
            wait_before_retry(failures, out.cancel);
        }
    }

    /// Thrown by get() when the load's `cancel` flag stopped it: another request failed first.
    struct cancelled {};

    [[nodiscard]] const std::string& url() const noexcept { return url_; }

    /// The error of the file `url_` at `out` (its tensor, or the file): `found` instead of
    /// `expected`, and what to do.
    [[nodiscard]] error fail(errc code, const sink& out, std::string expected, std::string found, std::string detail) const {
        return error(url_,
                     problem{code, out.field, out.name.empty() ? "/" : out.name, std::move(expected), std::move(found), std::move(detail)});
    }

private:
    /// The state of one request, which libcurl's callbacks see.
    struct attempt {
        connection& owner;
        const sink& out;
        std::uint64_t offset;  ///< of the first byte asked
        std::uint64_t done;    ///< bytes of `out` before this request
        const file_version* version;
        response_headers headers;
        std::uint64_t received = 0;
        bool checked = false;
        bool stalled = false;  ///< no byte arrived for remote_options::stall_timeout_ms
        std::chrono::steady_clock::time_point last_byte = std::chrono::steady_clock::now();
        std::optional<error> refused;  ///< the answer is wrong in a way no retry mends
        attempt(connection& c, const sink& s, std::uint64_t o, std::uint64_t d, const file_version* v)
            : owner(c), out(s), offset(o), done(d), version(v) {}
    };

    static std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
        auto& a = *static_cast<attempt*>(user);
        a.last_byte = std::chrono::steady_clock::now();
        const std::string_view line(data, size * count);
        if (line.substr(0, 5) == "HTTP/") {  // a new response (after a redirect or 100 Continue)
            a.headers = {};
            const auto space = line.find(' ');
            if (space != std::string_view::npos)
                a.headers.status = std::strtol(std::string(line.substr(space + 1, 3)).c_str(), nullptr, 10);
        } else if (header_is(line, "content-range")) {
            a.headers.has_range = parse_content_range(trim(line.substr(14)), a.headers);
        } else if (header_is(line, "etag")) {
            a.headers.etag = trim(line.substr(5));
        } else if (header_is(line, "last-modified")) {
            a.headers.last_modified = trim(line.substr(14));
        }
        return size * count;
    }

    /// Checks the answer before its first byte is taken; false (the request stops) when it is not
    /// the part of the file asked for.
    static bool check_answer(attempt& a) {
        const response_headers& h = a.headers;
        const connection& c = a.owner;
        if (h.status == 200) {
            a.refused = c.fail(errc::io, a.out, "a partial answer (206) to a ranged GET", "the whole file (200)",
                               "the server ignores Range requests; h5ser loads over HTTP need them: download the file and load the "
                               "local copy");
            return false;
        }
        if (h.status != 206) return false;  // an error status: get() says what it means
        if (!h.has_range || h.first != a.offset) {
            a.refused =
                c.fail(errc::io, a.out, "bytes from " + std::to_string(a.offset),
                       h.has_range ? "bytes from " + std::to_string(h.first) : "no Content-Range", "the server answered another range");
            return false;
        }
        if (a.version && h.total != a.version->size) {
            a.refused = c.fail(errc::file_changed, a.out, "a file of " + std::to_string(a.version->size) + " bytes",
                               "one of " + std::to_string(h.total), "the file at the URL was replaced during the load");
            return false;
        }
        return true;
    }

    static std::size_t on_data(char* data, std::size_t size, std::size_t count, void* user) {
        auto& a = *static_cast<attempt*>(user);
        const std::size_t n = size * count;
        if (!a.checked) {
            if (!check_answer(a)) return 0;
            a.checked = true;
        }
        const std::uint64_t room = a.out.length - a.done - a.received;
        if (n > room) {
            a.refused =
                a.owner.fail(errc::io, a.out, std::to_string(a.out.length) + " bytes", "more", "the server sent more than the range asked");
            return 0;
        }
        a.last_byte = std::chrono::steady_clock::now();
        std::memcpy(a.out.into + a.done + a.received, data, n);
        if (a.out.hash) a.out.hash->update(data, n);
        a.received += n;
        if (a.out.progress) a.out.progress->fetch_add(n, std::memory_order_relaxed);
        return n;
    }

    /// libcurl calls this at least once a second, bytes or not: stops a stalled or cancelled request.
    static int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
        auto& a = *static_cast<attempt*>(user);
        if (a.out.cancel && a.out.cancel->load(std::memory_order_relaxed)) return 1;
        const auto quiet = std::chrono::steady_clock::now() - a.last_byte;
        a.stalled = quiet > std::chrono::milliseconds(a.owner.options_->stall_timeout_ms);
        return a.stalled ? 1 : 0;
    }

    CURLcode perform(attempt& a, std::uint64_t offset, std::uint64_t length, const file_version* version) {
        CURL* c = curl_;
        curl_easy_reset(c);
        curl_slist_free_all(headers_);
        headers_ = nullptr;
        const remote_options& o = *options_;
        curl_easy_setopt(c, CURLOPT_URL, url_.c_str());
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, o.connect_timeout_ms);
        curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 512L * 1024);
        if (!o.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, o.ca_file.c_str());
        const char* token = o.bearer_token.empty() ? std::getenv("H5SER_BEARER_TOKEN") : o.bearer_token.c_str();
        if (!o.aws_sigv4.empty()) {
            const char* id = std::getenv("AWS_ACCESS_KEY_ID");
            const char* secret = std::getenv("AWS_SECRET_ACCESS_KEY");
            if (!id || !*id || !secret || !*secret) {
                a.refused = fail(errc::io, a.out, "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment", "none",
                                 "h5ser::remote_options::aws_sigv4 signs requests with the keys they give");
                return CURLE_LOGIN_DENIED;
            }
            key_pair_ = std::string(id) + ":" + secret;
            curl_easy_setopt(c, CURLOPT_AWS_SIGV4, o.aws_sigv4.c_str());
            curl_easy_setopt(c, CURLOPT_USERPWD, key_pair_.c_str());
            if (const char* session = std::getenv("AWS_SESSION_TOKEN"); session && *session)
                headers_ = curl_slist_append(headers_, ("x-amz-security-token: " + std::string(session)).c_str());
        } else if (token && *token) {
            curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BEARER);
            curl_easy_setopt(c, CURLOPT_XOAUTH2_BEARER, token);
        } else if (!o.user.empty()) {
            curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
            curl_easy_setopt(c, CURLOPT_USERNAME, o.user.c_str());
            curl_easy_setopt(c, CURLOPT_PASSWORD, o.password.c_str());
        } else {
            curl_easy_setopt(c, CURLOPT_NETRC, static_cast<long>(CURL_NETRC_OPTIONAL));
        }
        const std::string range = std::to_string(offset) + "-" + std::to_string(offset + length - 1);
        curl_easy_setopt(c, CURLOPT_RANGE, range.c_str());
        if (version && !version->etag.empty()) headers_ = curl_slist_append(headers_, ("If-Match: " + version->etag).c_str());
        else if (version && !version->last_modified.empty())
            headers_ = curl_slist_append(headers_, ("If-Unmodified-Since: " + version->last_modified).c_str());
        if (headers_) curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers_);
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, &on_header);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, &a);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &on_data);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &a);
        curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, &on_progress);
        curl_easy_setopt(c, CURLOPT_XFERINFODATA, &a);
        error_text_[0] = '\0';
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error_text_);
        const CURLcode code = curl_easy_perform(c);
        if (a.headers.status == 0) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a.headers.status);
        return code;
    }

    /// Is a request that ended with `code` and HTTP `status` worth trying again?
    static bool retryable(CURLcode code, long status) noexcept {
        if (status >= 500 && status <= 599) return true;
        if (code == CURLE_OK || code == CURLE_WRITE_ERROR) return false;  // an answer, or one refused above
        return code == CURLE_RECV_ERROR || code == CURLE_SEND_ERROR || code == CURLE_PARTIAL_FILE || code == CURLE_GOT_NOTHING ||
               code == CURLE_HTTP2 || code == CURLE_HTTP2_STREAM;
    }

    /// The error of a request that ended with `code` in `a`, naming its tensor.
    error failure(CURLcode code, const attempt& a) const {
        const sink& name = a.out;
        const long status = a.headers.status;
        const std::string http = "HTTP " + std::to_string(status);
        if (status == 404 || status == 410) return fail(errc::file_not_found, name, "the file", http, "the server has no file at this URL");
        if (status == 412) {
            return fail(errc::file_changed, name, "the version of the file the load started on", http + " (precondition failed)",
                        "the file at the URL was replaced during the load");
        }
        if (status == 401 || status == 403) {
            return fail(errc::io, name, "access to the file", http,
                        "the server refused access: give credentials (h5ser::remote_options, H5SER_BEARER_TOKEN or ~/.netrc)");
        }
        if (status >= 400) {
            return fail(errc::io, name, "a partial answer (206)", http,
                        status >= 500 ? "the server failed, " + std::to_string(options_->retries + 1) + " times"
                                      : "the server refused the request");
        }
        std::string what = curl_easy_strerror(code);
        if (error_text_[0] != '\0') what += std::string(": ") + error_text_;
        std::string detail = "the request failed";
        if (a.stalled || code == CURLE_OPERATION_TIMEDOUT) {
            what = "no answer";
            detail = "no byte arrived for " + std::to_string(options_->stall_timeout_ms) + " ms (h5ser::remote_options::stall_timeout_ms)";
        } else if (code == CURLE_PEER_FAILED_VERIFICATION || code == CURLE_SSL_CACERT_BADFILE || code == CURLE_SSL_CONNECT_ERROR) {
            detail = "the TLS connection failed; certificates are checked against the system's, or h5ser::remote_options::ca_file";
        } else if (retryable(code, status)) {
            detail = "the connection broke, " + std::to_string(options_->retries + 1) + " times";
        } else if (code == CURLE_COULDNT_CONNECT || code == CURLE_COULDNT_RESOLVE_HOST) {
            detail = "no server answers at this address";
        }
        return fail(errc::io, name, "the bytes of the file", what, detail);
    }

    static void wait_before_retry(int failures, const std::atomic<bool>* cancel) {
        auto wait = std::chrono::milliseconds(250 << std::min(failures - 1, 4));
        const auto step = std::chrono::milliseconds(10);
        for (; wait.count() > 0; wait -= step) {
            if (cancel && cancel->load()) return;
            std::this_thread::sleep_for(step);
        }
    }

    std::string url_;
    const remote_options* options_;
    CURL* curl_ = nullptr;
    curl_slist* headers_ = nullptr;
    std::string key_pair_;  ///< "id:secret" for SigV4, alive while a request runs
    char error_text_[CURL_ERROR_SIZE] = {};
};

/// Tensors larger than this are read in parts of this size by several connections at once, so
/// that one large tensor (an embedding) does not leave the others idle at the end of a load.
inline constexpr std::uint64_t part_bytes = 16U << 20;

/// The tensors of a file on a web server: parallel ranged GETs (remote_options::connections, each
/// on a thread of its own, largest first), straight into the load's memory. A tensor read in one
/// request is hashed as its bytes arrive; one read in parts is hashed part after part, in order, by
/// whichever connection completes the next part. The load's thread reports progress meanwhile.
class http_ranges final : public ranged_source {
public:
    http_ranges(std::string url, remote_options options, file_version version)
        : url_(std::move(url)), options_(std::move(options)), version_(std::move(version)) {}

    void read(std::span<range_read> reads, read_progress& progress) const override {
        std::vector<std::unique_ptr<parts_hash>> split;
        std::vector<job> jobs;
        for (range_read& r : reads) {
            if (r.length == 0) {
                if (r.hash) r.hash_value = hash_bytes("", 0);
                continue;
            }
            if (r.length <= part_bytes) {
                jobs.push_back({&r, 0, r.length, nullptr, 0});
                continue;
            }
            const auto count = static_cast<std::size_t>((r.length + part_bytes - 1) / part_bytes);
            split.push_back(std::make_unique<parts_hash>(r, count));
            for (std::size_t i = 0; i < count; ++i)
                jobs.push_back({&r, i * part_bytes, std::min<std::uint64_t>(part_bytes, r.length - i * part_bytes), split.back().get(), i});
        }
        if (jobs.empty()) return;
        std::stable_sort(jobs.begin(), jobs.end(), [](const job& a, const job& b) { return a.length > b.length; });
        shared state;
        const std::size_t workers = std::min<std::size_t>(static_cast<std::size_t>(std::clamp(options_.connections, 1, 64)), jobs.size());
        std::vector<std::thread> threads;
        try {
            for (std::size_t i = 0; i < workers; ++i) threads.emplace_back([&] { work(jobs, state); });
        } catch (...) {
            state.cancel = true;
            for (auto& t : threads) t.join();
            throw;
        }
        std::uint64_t reported = 0;
        const auto report = [&] {
            const std::uint64_t now = state.bytes.load();
            if (now > reported) progress.add(now - reported);
            reported = now;
        };
        {
            std::unique_lock lock(state.mutex);
            while (state.finished < workers) {
                state.changed.wait_for(lock, std::chrono::milliseconds(50));
                lock.unlock();
                report();
                lock.lock();
            }
        }
        for (auto& t : threads) t.join();
        if (state.failure) std::rethrow_exception(state.failure);
        report();
    }

private:
    /// The hash of a tensor read in parts: parts hashed in order as they complete.
    struct parts_hash {
        parts_hash(range_read& r, std::size_t count) : read(r), done(count, false) {}
        range_read& read;
        std::mutex mutex;
        std::optional<xxh3_stream> hash;
        std::vector<bool> done;
        std::size_t next = 0;  ///< the first part not hashed yet

        void complete(std::size_t part) {
            const std::lock_guard lock(mutex);
            done[part] = true;
            if (!read.hash) return;
            if (!hash) hash.emplace();
            for (; next < done.size() && done[next]; ++next) {
                const std::uint64_t begin = next * part_bytes;
                hash->update(static_cast<const unsigned char*>(read.into) + begin,
                             std::min<std::uint64_t>(part_bytes, read.length - begin));
            }
            if (next == done.size()) read.hash_value = hash->digest();
        }
    };

    /// One ranged GET: bytes [begin, begin + length) of a tensor, part `part` of `split` if any.
    struct job {
        range_read* read;
        std::uint64_t begin;
        std::uint64_t length;
        parts_hash* split;
        std::size_t part;
    };

    struct shared {
        std::atomic<std::size_t> next{0};
        std::atomic<std::uint64_t> bytes{0};
        std::atomic<bool> cancel{false};
        std::mutex mutex;
        std::condition_variable changed;
        std::size_t finished = 0;
        std::exception_ptr failure;
    };

    void work(const std::vector<job>& jobs, shared& state) const noexcept {
        try {
            connection c(url_, options_);
            for (;;) {
                const std::size_t i = state.next.fetch_add(1);
                if (i >= jobs.size() || state.cancel.load()) break;
                const job& j = jobs[i];
                range_read& r = *j.read;
                auto* into = static_cast<unsigned char*>(r.into) + j.begin;
                std::optional<xxh3_stream> hash;
                if (r.hash && !j.split) hash.emplace();
                prepare_memory(into, j.length);
                const connection::sink out{into, j.length, hash ? &*hash : nullptr, &state.bytes, &state.cancel, r.name, r.field};
                c.get(r.offset + j.begin, out, &version_);
                if (hash) r.hash_value = hash->digest();
                if (j.split) j.split->complete(j.part);
            }
        } catch (const connection::cancelled&) {
        } catch (...) {
            const std::lock_guard lock(state.mutex);
            if (!state.failure) state.failure = std::current_exception();
            state.cancel = true;
        }
        const std::lock_guard lock(state.mutex);
        ++state.finished;
        state.changed.notify_all();
    }

    /// Faults in the pages of the fresh memory `into` before its bytes arrive, in one call rather
    /// than a page fault per page as the copy first touches each, and asks for huge pages for the
    /// part of it that holds whole ones: faults, not the network, are what a receive into fresh
    /// memory waits for most (docs/remote.md, "Speed"). Hints: nothing fails when the kernel says no.
    static void prepare_memory(void* into, std::uint64_t length) noexcept {
        const auto begin = reinterpret_cast<std::uintptr_t>(into);
        const auto end = begin + length;
        constexpr std::uintptr_t huge = 2U << 20;
        const std::uintptr_t huge_first = (begin + huge - 1) & ~(huge - 1), huge_last = end & ~(huge - 1);
        if (huge_last > huge_first) ::madvise(reinterpret_cast<void*>(huge_first), huge_last - huge_first, MADV_HUGEPAGE);
        const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
        const std::uintptr_t first = (begin + page - 1) & ~(page - 1), last = end & ~(page - 1);
#ifdef MADV_POPULATE_WRITE
        if (last > first) ::madvise(reinterpret_cast<void*>(first), last - first, MADV_POPULATE_WRITE);
#endif
    }

    std::string url_;
    remote_options options_;
    file_version version_;
};

/// The first request of a load of `url`: its first bytes (the seal and manifest; a second request
/// when they are longer than first_request_bytes), its size, and the source of its tensors.
inline remote_file open(const std::string& url) {
    remote_options options = current_remote_options();
    connection c(url, options);
    remote_file file;
    file.prefix.resize(first_request_bytes);
    response_headers first;
    connection::sink out{file.prefix.data(), first_request_bytes, nullptr, nullptr, nullptr, "/", {}};
    const std::uint64_t got = c.get(0, out, nullptr, &first);
    file.prefix.resize(static_cast<std::size_t>(got));
    file_version version;
    version.size = first.total;
    if (first.etag.substr(0, 2) != "W/") version.etag = first.etag;  // If-Match compares strong ETags only
    version.last_modified = first.last_modified;
    file.size = first.total;
    const std::uint64_t need = sealed_prefix_length(file.prefix.data(), file.prefix.size());
    if (need > got) {
        file.prefix.resize(static_cast<std::size_t>(need));
        connection::sink rest{file.prefix.data() + got, need - got, nullptr, nullptr, nullptr, "/", {}};
        c.get(got, rest, &version);
    }
    file.source = std::make_unique<http_ranges>(url, std::move(options), std::move(version));
    return file;
}

}  // namespace h5ser::detail::http
