// h5ser/mpi/detail/collective.hpp: what h5ser/mpi.hpp needs from MPI: a private communicator, an
// error on one rank turned into an error on every rank, and byte transfers of any size.
//
// The rule that keeps a failing save or load from hanging: a rank never leaves the sequence of
// collective calls on its own. Work that can fail on one rank only (user callbacks, checks of
// rank-local data, allocation) runs inside rank_agreement::attempt, which records the exception;
// the next rank_agreement::agree, a collective call, makes every rank throw.
#pragma once

#include <mpi.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "h5ser/detail/format/hash.hpp"
#include "h5ser/error.hpp"

namespace h5ser::mpi::detail {

using namespace h5ser::detail;  // the core's internals: handle, where, checked, problem_list, ...

/// A duplicate of the user's communicator, so h5ser's messages never match the user's.
class private_comm {
public:
    /// Throws (before any collective call) when MPI is not running or `user` is MPI_COMM_NULL:
    /// MPI's default error handler would abort the program instead.
    private_comm(MPI_Comm user, const std::string& file) {
        int initialized = 0;
        int finalized = 0;
        MPI_Initialized(&initialized);
        MPI_Finalized(&finalized);
        if (!initialized || finalized || user == MPI_COMM_NULL) {
            throw error(file, problem{errc::invalid_value,
                                      {},
                                      {},
                                      "a communicator of a running MPI",
                                      !initialized ? "MPI not initialized"
                                      : finalized  ? "MPI finalized"
                                                   : "MPI_COMM_NULL",
                                      "call MPI_Init first, and pass the communicator of the ranks that save or load together"});
        }
        MPI_Comm_dup(user, &comm_);
        MPI_Comm_rank(comm_, &rank_);
        MPI_Comm_size(comm_, &size_);
    }
    private_comm(const private_comm&) = delete;
    private_comm& operator=(const private_comm&) = delete;
    ~private_comm() { MPI_Comm_free(&comm_); }

    [[nodiscard]] MPI_Comm get() const noexcept { return comm_; }
    [[nodiscard]] int rank() const noexcept { return rank_; }
    [[nodiscard]] int size() const noexcept { return size_; }

private:
    MPI_Comm comm_ = MPI_COMM_NULL;
    int rank_ = 0;
    int size_ = 1;
};

// ---- byte messages --------------------------------------------------------------------------

/// Little-endian length-prefixed fields, for sending errors and strings between ranks.
class message_writer {
public:
    void u64(std::uint64_t v) {
        unsigned char le[8];
        store_u64(le, v);
        bytes_.append(reinterpret_cast<const char*>(le), sizeof le);
    }
    void text(const std::string& s) {
        u64(s.size());
        bytes_ += s;
    }
    [[nodiscard]] std::string take() noexcept { return std::move(bytes_); }

private:
    std::string bytes_;
};

class message_reader {
public:
    explicit message_reader(const std::string& bytes) noexcept : bytes_(bytes) {}
    std::uint64_t u64() {
        need(8);
        const std::uint64_t v = load_u64(reinterpret_cast<const unsigned char*>(bytes_.data() + pos_));
        pos_ += 8;
        return v;
    }
    std::string text() {
        const std::uint64_t n = u64();
        need(n);
        std::string s = bytes_.substr(pos_, static_cast<std::size_t>(n));
        pos_ += static_cast<std::size_t>(n);
        return s;
    }

private:
    void need(std::uint64_t n) const {
        if (n > bytes_.size() - pos_) throw std::length_error("h5ser: malformed message between MPI ranks");
    }
    const std::string& bytes_;
    std::size_t pos_ = 0;
};

/// Sends `bytes` from rank `root` to every rank (collective); returns them everywhere.
inline std::string broadcast_bytes(MPI_Comm comm, int root, std::string bytes) {
    std::uint64_t size = bytes.size();
    MPI_Bcast(&size, 1, MPI_UINT64_T, root, comm);
    bytes.resize(static_cast<std::size_t>(size));
    if (size > 0) MPI_Bcast(bytes.data(), static_cast<int>(size), MPI_CHAR, root, comm);
    return bytes;
}

// ---- one failure, every rank ----------------------------------------------------------------

inline std::string encode_failure(const std::exception_ptr& failure) {
    message_writer out;
    try {
        std::rethrow_exception(failure);
    } catch (const error& e) {
        out.u64(1);
        out.text(e.file());
        out.u64(e.problems().size());
        for (const problem& p : e.problems()) {
            out.u64(static_cast<std::uint64_t>(p.code));
            for (const std::string* s : {&p.field_path, &p.hdf5_path, &p.expected, &p.found, &p.detail}) out.text(*s);
        }
        out.u64(e.hdf5_stack().size());
        for (const std::string& line : e.hdf5_stack()) out.text(line);
    } catch (const std::exception& e) {
        out.u64(2);
        out.text(e.what());
    } catch (...) {
        out.u64(3);
    }
    return out.take();
}

/// The error another rank's failure (encoded by encode_failure) becomes on this rank: the same
/// problems, each saying which rank found it.
inline error decode_failure(const std::string& bytes, int failed_rank, const std::string& file) {
    const std::string on_rank = "on MPI rank " + std::to_string(failed_rank);
    message_reader in(bytes);
    const std::uint64_t kind = in.u64();
    if (kind == 1) {
        std::string failed_file = in.text();
        std::vector<problem> problems(static_cast<std::size_t>(in.u64()));
        for (problem& p : problems) {
            p.code = static_cast<errc>(in.u64());
            for (std::string* s : {&p.field_path, &p.hdf5_path, &p.expected, &p.found, &p.detail}) *s = in.text();
            p.detail = p.detail.empty() ? on_rank : p.detail + " (" + on_rank + ")";
        }
        std::vector<std::string> stack(static_cast<std::size_t>(in.u64()));
        for (std::string& line : stack) line = in.text();
        return error(std::move(failed_file), std::move(problems), std::move(stack));
    }
    const std::string what = kind == 2 ? in.text() : std::string("an exception that is not a std::exception");
    return error(file, problem{errc::rank_failed, {}, {}, {}, {}, "MPI rank " + std::to_string(failed_rank) + " failed: " + what});
}

/// Makes a failure on one rank a failure on all of them, at agreed points.
class rank_agreement {
public:
    rank_agreement(const private_comm& comm, std::string file) : comm_(comm), file_(std::move(file)) {}

    /// Runs `work` (which must not make collective calls) unless this rank already failed, and
    /// records what it throws.
    template <class Work>
    void attempt(Work&& work) noexcept {
        if (failure_) return;
        try {
            std::forward<Work>(work)();
        } catch (...) {
            failure_ = std::current_exception();
        }
    }

    [[nodiscard]] bool failed() const noexcept { return static_cast<bool>(failure_); }

    /// Collective. When any rank has failed, every rank throws: a failed rank its own exception,
    /// the others an h5ser::error repeating the failure of the lowest failed rank.
    void agree() {
        const int mine = failure_ ? comm_.rank() : comm_.size();
        int first = comm_.size();
        MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm_.get());
        if (first == comm_.size()) return;
        const std::string failure = broadcast_bytes(comm_.get(), first, first == comm_.rank() ? encode_failure(failure_) : std::string());
        if (failure_) std::rethrow_exception(failure_);
        throw decode_failure(failure, first, file_);
    }

    /// attempt(work), then agree().
    template <class Work>
    void together(Work&& work) {
        attempt(std::forward<Work>(work));
        agree();
    }

private:
    const private_comm& comm_;
    std::string file_;
    std::exception_ptr failure_;
};

// ---- bytes of any size between two ranks -----------------------------------------------------

// MPI counts are ints: larger transfers go in pieces of at most 1 GiB (messages between the same
// two ranks with the same tag arrive in order).
inline constexpr std::size_t max_message_bytes = std::size_t{1} << 30;

/// Posts the nonblocking sends or receives of `size` bytes at `data` to or from `peer`.
inline void post_transfer(bool send, void* data, std::size_t size, int peer, MPI_Comm comm, std::vector<MPI_Request>& requests) {
    auto* bytes = static_cast<char*>(data);
    constexpr int tag = 7;
    do {
        const std::size_t n = std::min(size, max_message_bytes);
        requests.emplace_back();
        if (send) MPI_Isend(bytes, static_cast<int>(n), MPI_BYTE, peer, tag, comm, &requests.back());
        else MPI_Irecv(bytes, static_cast<int>(n), MPI_BYTE, peer, tag, comm, &requests.back());
        bytes += n;
        size -= n;
    } while (size > 0);
}

inline void wait_all(std::vector<MPI_Request>& requests) {
    if (!requests.empty()) MPI_Waitall(static_cast<int>(requests.size()), requests.data(), MPI_STATUSES_IGNORE);
    requests.clear();
}

}  // namespace h5ser::mpi::detail
