// h5ser/mpi/detail/parallel_io.hpp: what the parallel save and load share: the sharding of each
// tensor, MPI-IO file access and transfers, slices of a dataspace.
#pragma once

#include <hdf5.h>
#include <mpi.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "h5ser/detail/hdf5/hdf5.hpp"
#include "h5ser/detail/save/file_writer.hpp"
#include "h5ser/detail/save/save_walk.hpp"
#include "h5ser/error.hpp"
#include "h5ser/mpi/detail/collective.hpp"
#include "h5ser/mpi/detail/sharded_tensor.hpp"
#include "h5ser/mpi/sharding.hpp"
#include "h5ser/tensor_adapter.hpp"

namespace h5ser::mpi::detail {

/// Checked by the sharded writer and loader for each tensor they meet: the shard and slice logic
/// works on tensors of a static rank.
template <class X>
constexpr bool takes_static_rank() {
    static_assert(tensor_adapter<X>::rank != dynamic_rank,
                  "h5ser::mpi: sharded checkpoints do not take tensors whose rank is known only at run time "
                  "(xt::xarray, torch::Tensor) yet; use h5ser::tensor<T, Rank>, Eigen or xt::xtensor<T, N>");
    return true;
}

using namespace h5ser::detail;  // the core's internals: handle, where, checked, problem_list, ...

/// Checks, when it compiles, that every tensor type of a model takes_static_rank: a walk over the
/// model's types for the sharded writer, whose save walk sees tensors as views of any rank.
struct static_rank_check {
    template <class X>
    void tensor(const X&) {
        static_assert(takes_static_rank<X>());
    }
    template <class X>
    void attribute(const X&) {}
    template <class X>
    void group(const X& x) {
        for_each_field(x, [this](std::string_view, const auto& field) { visit_field(*this, field); });
    }
    template <class X>
    void sequence(const X& x) {
        for (const auto& element : x) visit_field(*this, element);
    }
    template <class X>
    void map(const X& x) {
        for (const auto& entry : x) visit_field(*this, entry.second);
    }
    template <class X>
    void optional(const X& x) {
        if (x) visit_field(*this, *x);
    }
    template <class X>
    void optimizer_state(const X& x) {
        visit_field(*this, x.value);
    }
    template <class X>
    void stored(const X& x) {
        visit_field(*this, x.value);
    }
};

/// Finds the shard of each tensor and remembers which entries were used.
class shard_lookup {
public:
    explicit shard_lookup(const sharding& shards) : shards_(shards) {}

    [[nodiscard]] shard find(const where& at) {
        for (const std::string* key : {&at.h5, &at.field}) {
            if (const auto it = shards_.find(*key); it != shards_.end()) {
                used_.push_back(it->first);
                return it->second;
            }
        }
        return shard::replicated();
    }

    /// Throws when an entry names no tensor of `model`: none the save or load visited, and none
    /// of its fields (such as optimizer state, which a weights-only save or load leaves out).
    template <class Model>
    void check_all_used(const Model& model, const std::string& file) {
        marker visitor(*this);
        walk_fields<save_mode::full_model>(visitor, model, where{file, {}, "/"});
        std::vector<problem> unknown;
        for (const auto& [key, s] : shards_) {
            if (std::find(used_.begin(), used_.end(), key) == used_.end())
                unknown.push_back({errc::invalid_value,
                                   key,
                                   {},
                                   "a tensor field of the model",
                                   "no such tensor",
                                   "h5ser::mpi::sharding names a field the model does not store as a tensor"});
        }
        if (!unknown.empty()) throw error(file, std::move(unknown));
    }

private:
    // Marks the entries naming a tensor field of the model.
    struct marker : save_sink {
        explicit marker(shard_lookup& l) noexcept : lookup(l) {}
        shard_lookup& lookup;
        void dataset(std::string_view, const tensor_view&, const where& at, bool) override { (void)lookup.find(at); }
    };

    const sharding& shards_;
    std::vector<std::string_view> used_;
};

/// File access for the ranks of `comm` writing or reading one file together (MPI-IO).
inline handle parallel_file_access(handle fapl, MPI_Comm comm, const where& at) {
    check(H5Pset_fapl_mpio(fapl.get(), comm, MPI_INFO_NULL), at, "H5Pset_fapl_mpio");
    return fapl;
}

inline handle collective_transfer(const where& at) {
    handle dxpl = checked(H5Pcreate(H5P_DATASET_XFER), at, "H5Pcreate(transfer)");
    check(H5Pset_dxpl_mpio(dxpl.get(), H5FD_MPIO_COLLECTIVE), at, "H5Pset_dxpl_mpio");
    return dxpl;
}

/// Every rank's value of `mine` (collective).
template <std::size_t N>
std::vector<std::array<std::uint64_t, N>> allgather(const private_comm& comm, const std::array<std::uint64_t, N>& mine) {
    std::vector<std::array<std::uint64_t, N>> all(static_cast<std::size_t>(comm.size()));
    MPI_Allgather(mine.data(), static_cast<int>(N), MPI_UINT64_T, all.data(), static_cast<int>(N), MPI_UINT64_T, comm.get());
    return all;
}

/// The hyperslab of a slice along `axis` (count 0: nothing) in a dataspace of `dims`.
inline void select_slice(hid_t space, std::size_t rank, const hsize_t* dims, std::size_t axis, index_range slice, const where& at) {
    if (rank == 0 || slice.count == 0) {
        check(H5Sselect_none(space), at, "H5Sselect_none");
        return;
    }
    std::array<hsize_t, 32> start{};
    std::array<hsize_t, 32> count{};
    for (std::size_t i = 0; i < rank; ++i) count[i] = dims[i];
    start[axis] = slice.offset;
    count[axis] = slice.count;
    check(H5Sselect_hyperslab(space, H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr), at, "H5Sselect_hyperslab");
}

inline std::string slice_text(const split_geometry& g) {
    std::string s;
    for (std::size_t r = 0; r < g.slices.size(); ++r) {
        if (r) s += ", ";
        s += "rank " + std::to_string(r) + " [" + std::to_string(g.slices[r].offset) + ", " +
             std::to_string(g.slices[r].offset + g.slices[r].count) + ")";
    }
    return s;
}

}  // namespace h5ser::mpi::detail
