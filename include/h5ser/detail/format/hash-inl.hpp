// h5ser/detail/format/hash-inl.hpp: definitions of h5ser/detail/format/hash.hpp (compiled once with the compiled core; see
// h5ser/config.hpp).
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

// libxxhash's functions inlined (static, renamed XXH_INLINE_*): h5ser links no libxxhash and cannot
// clash with a program's own copy. XXH_INLINE_ALL is not left defined for the code that follows.
#ifdef XXH_INLINE_ALL
#include <xxhash.h>
#else
#define XXH_INLINE_ALL
#include <xxhash.h>
#undef XXH_INLINE_ALL
#endif

#include "h5ser/detail/format/hash.hpp"

namespace h5ser::detail {

H5SER_CORE_INLINE std::uint64_t hash_bytes(const void* data, std::size_t bytes) noexcept { return XXH3_64bits(data, bytes); }

H5SER_CORE_INLINE std::string to_hex(std::uint64_t value) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out(16, '0');
    for (int i = 15; i >= 0; --i, value >>= 4) out[static_cast<std::size_t>(i)] = digits[value & 0xf];
    return out;
}

H5SER_CORE_INLINE std::optional<std::uint64_t> from_hex(std::string_view text) noexcept {
    // Exactly to_hex's form (lowercase): a text that is not can never equal a computed to_hex, and
    // a load comparing texts refuses it, so no value may stand for it.
    if (text.size() != 16) return std::nullopt;
    std::uint64_t value = 0;
    for (const char c : text) {
        if (c >= '0' && c <= '9') value = value << 4 | static_cast<std::uint64_t>(c - '0');
        else if (c >= 'a' && c <= 'f') value = value << 4 | static_cast<std::uint64_t>(c - 'a' + 10);
        else return std::nullopt;
    }
    return value;
}

H5SER_CORE_INLINE void xxh3_stream::state_free::operator()(state* s) const noexcept { XXH3_freeState(reinterpret_cast<XXH3_state_t*>(s)); }

H5SER_CORE_INLINE xxh3_stream::xxh3_stream() : state_(reinterpret_cast<state*>(XXH3_createState())) {
    if (!state_) throw std::bad_alloc();
    XXH3_64bits_reset(reinterpret_cast<XXH3_state_t*>(state_.get()));
}

H5SER_CORE_INLINE void xxh3_stream::update(const void* data, std::size_t bytes) noexcept {
    XXH3_64bits_update(reinterpret_cast<XXH3_state_t*>(state_.get()), data, bytes);
}

H5SER_CORE_INLINE std::uint64_t xxh3_stream::digest() const noexcept {
    return XXH3_64bits_digest(reinterpret_cast<const XXH3_state_t*>(state_.get()));
}

H5SER_CORE_INLINE std::size_t xxh3_stream::state_bytes() noexcept { return sizeof(XXH3_state_t); }

H5SER_CORE_INLINE void xxh3_stream::assign_bytes(const void* bytes) noexcept {
    // The state comes from the same program in another process. Its one pointer, the default
    // secret (XXH3_kSecret), points into that process's memory: keep ours.
    auto* s = reinterpret_cast<XXH3_state_t*>(state_.get());
    const unsigned char* own_secret = s->extSecret;
    std::memcpy(s, bytes, sizeof(XXH3_state_t));
    s->extSecret = own_secret;
}

H5SER_CORE_INLINE void fingerprint_builder::add_tensor(std::string_view h5_path, std::string_view dtype, const std::uint64_t* dims,
                                                       std::size_t rank, std::uint64_t data_hash) noexcept {
    const char nul = '\0';
    state_.update(h5_path.data(), h5_path.size());
    state_.update(&nul, 1);
    state_.update(dtype.data(), dtype.size());
    state_.update(&nul, 1);
    add_u64(rank);
    for (std::size_t i = 0; i < rank; ++i) add_u64(dims[i]);
    add_u64(data_hash);
}

H5SER_CORE_INLINE std::string fingerprint_builder::hex() const { return to_hex(value()); }

H5SER_CORE_INLINE void fingerprint_builder::add_u64(std::uint64_t v) noexcept {
    std::array<unsigned char, 8> le{};
    store_u64(le.data(), v);
    state_.update(le.data(), le.size());
}

H5SER_CORE_INLINE std::uint64_t seal_checksum(const std::vector<unsigned char>& seal) {
    xxh3_stream state;
    state.update(seal.data(), 48);
    if (seal.size() > 64) state.update(seal.data() + 64, seal.size() - 64);
    return state.digest();
}

struct pipelined_hash::worker {
    std::thread thread;
    std::mutex mutex;
    std::condition_variable changed;
    std::size_t ready = 0;   ///< bytes final so far
    bool stop = false;       ///< give up (the read failed)
    std::uint64_t hash = 0;  ///< once the thread has hashed every byte
};

H5SER_CORE_INLINE pipelined_hash::pipelined_hash(const void* data, std::size_t bytes)
    : data_(static_cast<const unsigned char*>(data)), bytes_(bytes) {
    xxh3_stream state;  // allocated here, so that failing throws here
    try {
        worker_ = std::make_unique<worker>();
        worker_->thread = std::thread([w = worker_.get(), state = std::move(state), data = data_, bytes]() mutable {
            std::size_t done = 0;
            while (done < bytes) {
                std::size_t upto = 0;
                {
                    std::unique_lock lock(w->mutex);
                    w->changed.wait(lock, [&] { return w->stop || w->ready > done; });
                    if (w->stop) return;
                    upto = w->ready;
                }
                state.update(data + done, upto - done);
                done = upto;
            }
            w->hash = state.digest();
        });
    } catch (const std::system_error&) {  // no thread to be had: get() hashes everything
        worker_.reset();
    }
}

H5SER_CORE_INLINE pipelined_hash::~pipelined_hash() {
    if (!worker_ || !worker_->thread.joinable()) return;
    {
        const std::lock_guard lock(worker_->mutex);
        worker_->stop = true;
    }
    worker_->changed.notify_one();
    worker_->thread.join();
}

H5SER_CORE_INLINE void pipelined_hash::ready(std::size_t prefix) {
    if (!worker_) return;
    {
        const std::lock_guard lock(worker_->mutex);
        worker_->ready = prefix;
    }
    worker_->changed.notify_one();
}

H5SER_CORE_INLINE std::uint64_t pipelined_hash::get() {
    if (!worker_) return hash_bytes(bytes_ ? static_cast<const void*>(data_) : "", bytes_);
    ready(bytes_);
    worker_->thread.join();
    return worker_->hash;
}

H5SER_CORE_INLINE concurrent_hash::concurrent_hash(const void* data, std::size_t bytes) {
    if (bytes < threshold) {
        hash_ = hash_bytes(data, bytes);
        return;
    }
    pending_.emplace(data, bytes);  // its destructor waits: the bytes must outlive the hashing, also on errors
    pending_->ready(bytes);
}

H5SER_CORE_INLINE std::uint64_t concurrent_hash::get() {
    if (pending_) {
        hash_ = pending_->get();
        pending_.reset();
    }
    return hash_;
}

H5SER_CORE_INLINE void digest_list::add_tensor(std::string_view h5_path, std::string_view dtype, const std::uint64_t* dims,
                                               std::size_t rank, std::uint64_t hash) {
    entries_.push_back({std::string(h5_path), dtype, std::vector<std::uint64_t>(dims, dims + rank), hash});
}

H5SER_CORE_INLINE std::size_t digest_list::add_pending(std::string_view h5_path, std::string_view dtype, const std::uint64_t* dims,
                                                       std::size_t rank) {
    add_tensor(h5_path, dtype, dims, rank, 0);
    return entries_.size() - 1;
}

H5SER_CORE_INLINE void digest_list::append(const digest_list& other) {
    entries_.insert(entries_.end(), other.entries_.begin(), other.entries_.end());
}

H5SER_CORE_INLINE std::string digest_list::hex() const {
    fingerprint_builder builder;
    for (const auto& e : entries_) builder.add_tensor(e.path, e.dtype, e.dims.data(), e.dims.size(), e.hash);
    return builder.hex();
}

H5SER_CORE_INLINE std::string digest_list::hex_in_order(const std::vector<std::string>& paths) const {
    // (path, its place in the save order), sorted by path for lookups.
    std::vector<std::pair<std::string_view, std::size_t>> rank;
    for (std::size_t i = 0; i < paths.size(); ++i) rank.emplace_back(paths[i], i);
    std::sort(rank.begin(), rank.end());
    std::vector<const entry*> ordered;
    for (const auto& e : entries_) ordered.push_back(&e);
    const auto position = [&](const entry* e) {
        const std::string_view path = e->path;
        const auto it = std::lower_bound(rank.begin(), rank.end(), path, [](const auto& r, std::string_view p) { return r.first < p; });
        return it != rank.end() && it->first == path ? it->second : paths.size();
    };
    std::stable_sort(ordered.begin(), ordered.end(), [&](const entry* a, const entry* b) { return position(a) < position(b); });
    fingerprint_builder builder;
    for (const entry* e : ordered) builder.add_tensor(e->path, e->dtype, e->dims.data(), e->dims.size(), e->hash);
    return builder.hex();
}

H5SER_CORE_INLINE void hash_all(std::vector<hash_job>& jobs) {
    std::vector<std::size_t> order(jobs.size());
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < jobs.size(); ++i) {
        order[i] = i;
        total += jobs[i].bytes;
    }
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return jobs[a].bytes > jobs[b].bytes; });
    std::atomic<std::size_t> next{0};
    const auto work = [&]() noexcept {
        for (std::size_t i; (i = next.fetch_add(1)) < order.size();) {
            hash_job& job = jobs[order[i]];
            job.hash = hash_bytes(job.bytes ? job.data : static_cast<const void*>(""), job.bytes);
        }
    };
    // A second thread pays off once there is more to hash than a thread's start costs (~50 us).
    std::optional<std::thread> helper;
    if (total >= (std::size_t{1} << 20) && jobs.size() > 1 && std::thread::hardware_concurrency() > 1) {
        try {
            helper.emplace(work);
        } catch (const std::system_error&) {  // no thread to be had: this one does it all
        }
    }
    work();
    if (helper) helper->join();
}

}  // namespace h5ser::detail
