// h5ser/mpi/detail/sharded_tensor.hpp: a tensor split across MPI ranks along one axis: where each
// rank's slice lies, the checksum of the whole tensor, and the whole tensor gathered.
//
// h5ser's checksum of a tensor is the XXH3-64 of its row-major element bytes, whatever wrote it.
// XXH3 is a stream hash, so the ranks feed it in turn: each hashes the part of the byte stream it
// holds and passes the hash state on to the rank holding the next part. A tensor split along axis
// 0 is already one contiguous part per rank. Split along a later axis, every rank's slice is
// spread over the stream; the ranks first exchange rows so that each holds whole rows of axis 0.
#pragma once

#include <mpi.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <optional>
#include <vector>

#include "h5ser/detail/format/hash.hpp"
#include "h5ser/mpi/detail/collective.hpp"

namespace h5ser::mpi::detail {

using namespace h5ser::detail;  // the core's internals: handle, where, checked, problem_list, ...

/// A run of indices along one axis: [offset, offset + count).
struct index_range {
    std::uint64_t offset = 0;
    std::uint64_t count = 0;
};

/// Rank `rank` of `size`'s share of `n` indices in even blocks (the first n % size ranks get one more).
inline index_range even_block(std::uint64_t n, int rank, int size) {
    const auto r = static_cast<std::uint64_t>(rank);
    const auto s = static_cast<std::uint64_t>(size);
    return {r * (n / s) + std::min(r, n % s), n / s + (r < n % s ? 1 : 0)};
}

/// A tensor of global shape `dims` whose rank r holds the slice `slices[r]` along `axis`.
struct split_geometry {
    std::vector<std::uint64_t> dims;
    std::size_t axis = 0;
    std::vector<index_range> slices;  ///< one per rank
    std::size_t element_size = 1;

    /// Elements before the split axis, as one flattened index ("rows").
    [[nodiscard]] std::uint64_t rows() const noexcept {
        std::uint64_t n = 1;
        for (std::size_t i = 0; i < axis; ++i) n *= dims[i];
        return n;
    }
    /// Bytes of one step along the split axis.
    [[nodiscard]] std::uint64_t step_bytes() const noexcept {
        std::uint64_t n = element_size;
        for (std::size_t i = axis + 1; i < dims.size(); ++i) n *= dims[i];
        return n;
    }
    [[nodiscard]] std::uint64_t total_bytes() const noexcept { return rows() * dims[axis] * step_bytes(); }
    /// Bytes of rank r's slice in one row.
    [[nodiscard]] std::uint64_t run_bytes(int r) const noexcept { return slices[static_cast<std::size_t>(r)].count * step_bytes(); }
    /// The extent of the axis when the slices, in offset order, cover [0, extent) once with no gap
    /// or overlap; nullopt otherwise.
    [[nodiscard]] std::optional<std::uint64_t> tiled_extent() const {
        std::uint64_t covered = 0;
        for (const int r : ranks_by_offset()) {
            const index_range& slice = slices[static_cast<std::size_t>(r)];
            if (slice.offset != covered) return std::nullopt;
            covered += slice.count;
        }
        return covered;
    }
    /// The ranks in the order their slices appear along the axis.
    [[nodiscard]] std::vector<int> ranks_by_offset() const {
        std::vector<int> order(slices.size());
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
            return slices[static_cast<std::size_t>(a)].offset < slices[static_cast<std::size_t>(b)].offset;
        });
        return order;
    }
};

/// Rows of every rank's slice, sent to the rank that asked for them.
struct gathered_rows {
    index_range rows;                                  ///< the rows this rank asked for
    std::vector<std::vector<unsigned char>> received;  ///< per rank (empty for this rank: read in place)
    std::vector<const unsigned char*> parts;           ///< per rank: its slice in `rows`, row-major
};

/// Collective: rank r receives rows `wanted[r]` of every rank's slice. `local` is this rank's
/// slice (rows() x its count x the inner dimensions, row-major).
inline gathered_rows gather_rows(MPI_Comm comm, int rank, const split_geometry& g, const void* local,
                                 const std::vector<index_range>& wanted) {
    const auto size = static_cast<int>(g.slices.size());
    const auto* mine = static_cast<const unsigned char*>(local);
    gathered_rows out;
    out.rows = wanted[static_cast<std::size_t>(rank)];
    out.received.resize(static_cast<std::size_t>(size));
    out.parts.resize(static_cast<std::size_t>(size));
    std::vector<MPI_Request> requests;
    for (int peer = 0; peer < size; ++peer) {
        const auto p = static_cast<std::size_t>(peer);
        if (peer == rank) {
            out.parts[p] = mine + out.rows.offset * g.run_bytes(rank);
            continue;
        }
        // What this rank sends the peer: the peer's rows of this rank's slice, contiguous here.
        const index_range theirs = wanted[p];
        const std::uint64_t send = theirs.count * g.run_bytes(rank);
        if (send > 0) post_transfer(true, const_cast<unsigned char*>(mine) + theirs.offset * g.run_bytes(rank), send, peer, comm, requests);
        const std::uint64_t receive = out.rows.count * g.run_bytes(peer);
        out.received[p].resize(receive);
        if (receive > 0) post_transfer(false, out.received[p].data(), receive, peer, comm, requests);
        out.parts[p] = out.received[p].data();
    }
    wait_all(requests);
    return out;
}

/// Calls `visit(bytes, size)` for each run of the global byte stream in the gathered rows, in order.
template <class Visit>
void for_each_run(const split_geometry& g, const gathered_rows& gathered, Visit&& visit) {
    const std::vector<int> order = g.ranks_by_offset();
    for (std::uint64_t row = 0; row < gathered.rows.count; ++row) {
        for (const int r : order) {
            const std::uint64_t run = g.run_bytes(r);
            if (run > 0) visit(gathered.parts[static_cast<std::size_t>(r)] + row * run, run);
        }
    }
}

/// Collective: the XXH3-64 of the concatenation of each rank's `feed` (which updates the hash
/// state it is given), ranks taken in `order`. Every rank gets the result.
template <class Feed>
std::uint64_t chained_hash(MPI_Comm comm, int rank, const std::vector<int>& order, Feed&& feed) {
    const auto at = static_cast<std::size_t>(std::find(order.begin(), order.end(), rank) - order.begin());
    xxh3_stream state;
    const auto state_bytes = static_cast<int>(xxh3_stream::state_bytes());
    if (at > 0) {
        std::vector<unsigned char> received(static_cast<std::size_t>(state_bytes));
        MPI_Recv(received.data(), state_bytes, MPI_BYTE, order[at - 1], 8, comm, MPI_STATUS_IGNORE);
        state.assign_bytes(received.data());
    }
    feed(state);
    std::uint64_t digest = 0;
    if (at + 1 < order.size()) MPI_Send(state.bytes(), state_bytes, MPI_BYTE, order[at + 1], 8, comm);
    else digest = state.digest();
    MPI_Bcast(&digest, 1, MPI_UINT64_T, order.back(), comm);
    return digest;
}

/// Feeds `bytes` bytes at `data` to a hash state, in pieces XXH3 takes.
inline void hash_update(xxh3_stream& state, const void* data, std::uint64_t bytes) {
    const auto* p = static_cast<const unsigned char*>(data);
    while (bytes > 0) {
        const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(bytes, std::uint64_t{1} << 30));
        state.update(p, n);
        p += n;
        bytes -= n;
    }
}

/// Collective: the XXH3-64 of the whole tensor's bytes, from each rank's slice `local`.
inline std::uint64_t global_hash(MPI_Comm comm, int rank, const split_geometry& g, const void* local) {
    if (g.total_bytes() == 0) return hash_bytes("", 0);
    const auto size = static_cast<int>(g.slices.size());
    if (g.rows() == 1) {  // one contiguous part per rank
        const std::uint64_t bytes = g.run_bytes(rank);
        return chained_hash(comm, rank, g.ranks_by_offset(), [&](xxh3_stream& s) { hash_update(s, local, bytes); });
    }
    std::vector<index_range> wanted;
    for (int r = 0; r < size; ++r) wanted.push_back(even_block(g.rows(), r, size));
    const gathered_rows gathered = gather_rows(comm, rank, g, local, wanted);
    std::vector<int> order(static_cast<std::size_t>(size));
    std::iota(order.begin(), order.end(), 0);
    return chained_hash(comm, rank, order, [&](xxh3_stream& s) {
        for_each_run(g, gathered, [&](const unsigned char* run, std::uint64_t bytes) { hash_update(s, run, bytes); });
    });
}

/// Collective: the whole tensor, row-major, on every rank (for small tensors).
inline std::vector<unsigned char> gather_whole(MPI_Comm comm, int rank, const split_geometry& g, const void* local) {
    const std::vector<index_range> wanted(g.slices.size(), index_range{0, g.rows()});
    const gathered_rows gathered = gather_rows(comm, rank, g, local, wanted);
    std::vector<unsigned char> whole;
    whole.reserve(g.total_bytes());
    for_each_run(g, gathered, [&](const unsigned char* run, std::uint64_t bytes) { whole.insert(whole.end(), run, run + bytes); });
    return whole;
}

}  // namespace h5ser::mpi::detail
