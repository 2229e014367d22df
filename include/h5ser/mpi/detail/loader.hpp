// h5ser/mpi/detail/loader.hpp: the MPI loader: the load walk with a tensor reader that
// reads each rank's slice, all ranks together, and checks the checksums of the whole tensors.
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

#include "h5ser/detail/format/format.hpp"
#include "h5ser/detail/hdf5/dataset.hpp"
#include "h5ser/detail/load/load_file.hpp"
#include "h5ser/detail/posix/file.hpp"
#include "h5ser/mpi/detail/parallel_io.hpp"

namespace h5ser::mpi::detail {

using namespace h5ser::detail;  // the core's internals: handle, where, checked, problem_list, ...

/// What each rank tells the others about one tensor it is about to load.
struct load_record {
    static constexpr std::size_t size = 6;
    enum : std::size_t { structure, sharded, reading, axis, offset, count };
};
inline constexpr std::uint64_t end_of_walk = ~std::uint64_t{0};

/// The load walk's tensor reader on every rank (see whole_tensor_reader): replicated tensors are
/// read whole by every rank, split ones each rank its slice, all ranks together.
struct sliced_tensor_reader {
    const private_comm* comm = nullptr;
    shard_lookup* shards = nullptr;
    handle transfer;
    bool diverged = false;  ///< the ranks walk different models: no more collective calls

    template <class Ctx, class X>
    void read(Ctx& ctx, const tree_group& group, std::string_view name, X& target, const where& at) {
        static_assert(takes_static_rank<X>());
        const hid_t parent = ctx.tree->hdf5_group(group, at);
        using adapter = tensor_adapter<X>;
        using element = typename adapter::element_type;
        constexpr std::size_t rank = adapter::rank;
        constexpr std::string_view dtype = dtype_name<element>();
        const shard s = shards->find(at);
        std::array<std::uint64_t, load_record::size> mine{};
        mine[load_record::structure] = hash_bytes(at.h5.data(), at.h5.size()) ^ hash_bytes(dtype.data(), dtype.size());
        mine[load_record::sharded] = s.how() != shard::kind::replicated;
        if (s.how() == shard::kind::replicated) {
            if (!agree_on(ctx.problems, mine, at)) return;
            h5ser::detail::load_dataset(ctx, parent, name, target, at);
            return;
        }
        // A split tensor: this rank's slice, checked like a whole one, read by all ranks together.
        std::optional<sliced_read> read;
        if (s.axis() >= rank) {
            ctx.problems.add({errc::invalid_value, at.field, at.h5, "a split axis below " + std::to_string(rank),
                              "axis " + std::to_string(s.axis()), "h5ser::mpi::shard of a rank-" + std::to_string(rank) + " tensor"});
        } else {
            read = prepare_slice<X>(ctx, parent, name, target, s, at);
        }
        mine[load_record::reading] = read.has_value() && ctx.reading_data();
        if (read) {
            mine[load_record::axis] = s.axis();
            mine[load_record::offset] = read->slice.offset;
            mine[load_record::count] = read->slice.count;
        }
        const auto all = allgather(*comm, mine);
        if (!check_same_walk(ctx.problems, all, at)) return;
        for (const auto& r : all)
            if (!r[load_record::reading]) return;  // the load fails anyway (some rank found a problem)
        read_slice<X>(ctx, *read, all, target, at);
    }

    /// Collective: the last agreement of the walk (a rank with tensors left over finds out here).
    void finish_walk(problem_list& problems, const where& at) {
        std::array<std::uint64_t, load_record::size> mine{};
        mine[load_record::structure] = end_of_walk;
        agree_on(problems, mine, at);
    }

private:
    struct sliced_read {
        handle dataset;
        handle file_type;
        std::vector<hsize_t> dims;  ///< the whole tensor's
        std::size_t axis = 0;
        index_range slice;
    };

    bool check_same_walk(problem_list& problems, const std::vector<std::array<std::uint64_t, load_record::size>>& all, const where& at) {
        for (std::size_t r = 1; r < all.size(); ++r) {
            if (all[r][load_record::structure] != all[0][load_record::structure] ||
                all[r][load_record::sharded] != all[0][load_record::sharded]) {
                problems.add({errc::kind_mismatch, at.field, at.h5_or_root(), "the same model and sharding on every MPI rank",
                              "another on rank " + std::to_string(r),
                              "every rank must load a model of the same fields with the same fields sharded"});
                diverged = true;
                return false;
            }
        }
        return true;
    }

    bool agree_on(problem_list& problems, const std::array<std::uint64_t, load_record::size>& mine, const where& at) {
        if (diverged) return false;
        return check_same_walk(problems, allgather(*comm, mine), at);
    }

    /// Opens the dataset and checks it against the target's dtype and this rank's slice shape.
    template <class X, class Ctx>
    std::optional<sliced_read> prepare_slice(Ctx& ctx, hid_t parent, std::string_view name, X& target, const shard& s, const where& at) {
        using adapter = tensor_adapter<X>;
        using element = typename adapter::element_type;
        constexpr std::size_t rank = adapter::rank;
        constexpr std::string_view dtype = dtype_name<element>();
        handle dataset = open_child(ctx.problems, parent, name, H5I_DATASET, "dataset " + std::string(dtype), at);
        if (!dataset) return std::nullopt;
        dataset_view view = inspect_dataset(dataset.get(), at);
        if (view.dtype != dtype || view.shape.null || view.shape.scalar || view.shape.dims.size() != rank) {
            ctx.problems.add({view.dtype != dtype ? errc::dtype_mismatch : errc::shape_mismatch,
                              at.field,
                              at.h5,
                              "dataset " + std::string(dtype) + " of rank " + std::to_string(rank),
                              "dataset " + view.dtype + view.shape.text(),
                              {}});
            return std::nullopt;
        }
        if (!dataset_is_readable(ctx.problems, view, sizeof(element), at)) return std::nullopt;
        const std::uint64_t extent = view.shape.dims[s.axis()];
        index_range slice =
            s.how() == shard::kind::split ? even_block(extent, comm->rank(), comm->size()) : index_range{s.offset(), s.count()};
        if (slice.offset > extent || slice.count > extent - slice.offset) {
            ctx.problems.add({errc::shape_mismatch,
                              at.field,
                              at.h5,
                              "a slice [" + std::to_string(slice.offset) + ", " + std::to_string(slice.offset + slice.count) +
                                  ") along axis " + std::to_string(s.axis()),
                              "dataset " + view.dtype + view.shape.text(),
                              {}});
            return std::nullopt;
        }
        std::array<std::size_t, rank> slice_shape{};
        for (std::size_t i = 0; i < rank; ++i) slice_shape[i] = i == s.axis() ? slice.count : view.shape.dims[i];
        const auto current = adapter::shape(std::as_const(target));
        bool unsized = false;
        if constexpr (resizable_tensor<X>) unsized = std::all_of(current.begin(), current.end(), [](std::size_t d) { return d == 0; });
        if (!unsized && current != slice_shape) {
            ctx.problems.add({errc::shape_mismatch, at.field, at.h5, "dataset " + shape_text(dtype, current),
                              "a slice " + shape_text(dtype, slice_shape) + " of dataset " + view.dtype + view.shape.text(),
                              "this rank's slice along axis " + std::to_string(s.axis())});
            return std::nullopt;
        }
        return sliced_read{std::move(dataset), std::move(view.type), view.shape.dims, s.axis(), slice};
    }

    /// Collective: every rank reads its slice, the checksum of the whole tensor is computed and
    /// checked, and the slice is staged for the target.
    template <class X, class Ctx>
    void read_slice(Ctx& ctx, sliced_read& read, const std::vector<std::array<std::uint64_t, load_record::size>>& all, X& target,
                    const where& at) {
        using adapter = tensor_adapter<X>;
        using element = typename adapter::element_type;
        constexpr std::size_t rank = adapter::rank;
        std::array<std::size_t, rank> slice_shape{};
        std::array<hsize_t, rank> slice_dims{};
        std::size_t count = 1;
        for (std::size_t i = 0; i < rank; ++i) {
            slice_dims[i] = i == read.axis ? read.slice.count : read.dims[i];
            slice_shape[i] = static_cast<std::size_t>(slice_dims[i]);
            count *= slice_shape[i];
        }
        handle memory_type_id = read_memory_type<element>(read.file_type.get(), at);
        // Read straight into the value the target takes at commit (a tensor that sizes itself), or
        // into bytes copied into it then (a view).
        std::conditional_t<resizable_tensor<X>, X, std::vector<unsigned char>> staged{};
        unsigned char nothing = 0;  // H5Dread wants a buffer even for no elements
        void* buffer = &nothing;
        if constexpr (resizable_tensor<X>) {
            adapter::resize_for_overwrite(staged, slice_shape);
            if (count) buffer = static_cast<void*>(adapter::data(staged));
        } else {
            staged.resize(count * sizeof(element));
            if (count) buffer = staged.data();
        }
        std::string failure;
        {
            handle file_space(H5Dget_space(read.dataset.get()));
            handle memory_space = make_dataspace(slice_dims.data(), rank, at);
            if (count == 0) H5Sselect_none(memory_space.get());
            select_slice(file_space.get(), rank, read.dims.data(), read.axis, read.slice, at);
            if (H5Dread(read.dataset.get(), memory_type_id.get(), memory_space.get(), file_space.get(), transfer.get(), buffer) < 0) {
                H5Eclear2(H5E_DEFAULT);
                failure = "cannot be read (HDF5 error)";
            }
        }
        // The checksum covers the whole tensor: from the slices when they cover the axis once,
        // else from even blocks of rows each rank reads again.
        split_geometry g;
        g.dims.assign(read.dims.begin(), read.dims.end());
        g.axis = read.axis;
        g.element_size = sizeof(element);
        for (const auto& r : all) g.slices.push_back({r[load_record::offset], r[load_record::count]});
        std::uint64_t hash = 0;
        if (Ctx::verify && g.tiled_extent() == read.dims[read.axis]) {
            hash = global_hash(comm->get(), comm->rank(), g, buffer);
        } else if (Ctx::verify) {
            split_geometry rows = g;
            rows.axis = 0;
            rows.slices.clear();
            for (int r = 0; r < comm->size(); ++r) rows.slices.push_back(even_block(read.dims[0], r, comm->size()));
            const std::vector<unsigned char> block =
                read_rows(read, rows.slices[static_cast<std::size_t>(comm->rank())], memory_type_id.get(), failure, at);
            hash = global_hash(comm->get(), comm->rank(), rows, block.data());
        }
        if (!failure.empty()) {
            ctx.problems.add({errc::io, at.field, at.h5, {}, {}, "dataset " + failure});
            return;
        }
        if constexpr (Ctx::verify) {
            std::array<std::uint64_t, rank> dims{};
            for (std::size_t i = 0; i < rank; ++i) dims[i] = read.dims[i];
            if (!verify_read_tensor(ctx.problems, ctx.fingerprint, ctx.contents, read.dataset.get(), hash, dtype_name<element>(),
                                    dims.data(), rank, at))
                return;
        }
        if (!check_bool_elements<element>(ctx.problems, buffer, count, at)) return;
        if constexpr (resizable_tensor<X>) ctx.commits.move_into(target, std::move(staged));
        else ctx.commits.copy_into(static_cast<void*>(adapter::data(target)), std::move(staged));
    }

    /// Rows `rows` (along axis 0) of the dataset, as stored, read by this rank alone.
    std::vector<unsigned char> read_rows(const sliced_read& read, index_range rows, hid_t memory_type_id, std::string& failure,
                                         const where& at) {
        std::uint64_t per_row = H5Tget_size(memory_type_id);
        for (std::size_t i = 1; i < read.dims.size(); ++i) per_row *= read.dims[i];
        std::vector<unsigned char> block(rows.count * per_row);
        if (block.empty()) return block;
        std::vector<hsize_t> dims = read.dims;
        dims[0] = rows.count;
        handle file_space(H5Dget_space(read.dataset.get()));
        handle memory_space = make_dataspace(dims.data(), dims.size(), at);
        select_slice(file_space.get(), dims.size(), read.dims.data(), 0, rows, at);
        if (H5Dread(read.dataset.get(), memory_type_id, memory_space.get(), file_space.get(), H5P_DEFAULT, block.data()) < 0) {
            H5Eclear2(H5E_DEFAULT);
            failure = "cannot be read (HDF5 error)";
        }
        return block;
    }
};

template <bool Lenient, bool Verify, class Model>
void parallel_load_from(file_tree& tree, const std::string& path, Model& model, save_mode mode, bool report_unexpected,
                        const private_comm& comm, rank_agreement& agreement, const sharding& shards, const manifest* contents,
                        load_report* report) {
    shard_lookup lookup(shards);
    load_context<Lenient, Verify, sliced_tensor_reader> ctx;
    ctx.tree = &tree;
    ctx.contents = contents;
    ctx.file = path;
    ctx.mode = mode;
    ctx.report_unexpected = report_unexpected;
    ctx.reader.comm = &comm;
    ctx.reader.shards = &lookup;
    const where at{path, {}, "/"};
    agreement.together([&] { ctx.reader.transfer = collective_transfer(at); });
    // The walk makes collective calls only through its reader, which agrees before each; anything it
    // throws (an HDF5 failure) is kept and reported after the walk's last agreement.
    agreement.attempt([&] { load_tree(ctx, model); });
    ctx.reader.finish_walk(ctx.problems, at);
    agreement.together([&] {
        ctx.problems.throw_if_any(path);
        lookup.check_all_used(model, path);
    });
    ctx.commits.apply_all();
    if (report) *report = report_of(ctx.skipped, std::move(ctx.renamed), std::move(ctx.upgraded), std::move(ctx.converted));
}

template <class Policies, class Model>
void parallel_load(Model& model, const std::string& path, MPI_Comm user_comm, const sharding& shards, bool fresh_model,
                   load_report* report) {
    hdf5_scope hdf5;
    const private_comm comm(user_comm, path);
    rank_agreement agreement(comm, path);
    const where at{path, {}, "/"};
    // Rank 0 checks the seal (reading the metadata once), the others read the manifest (checked by
    // its own checksum) for the tensors' checksums; then all ranks open the file together.
    std::optional<manifest> contents;
    agreement.together([&] {
        if (comm.rank() == 0) contents = check_readable(path, Policies::verify);
        else if (Policies::verify) contents = read_seal(path, false);
    });
    handle file;
    load_plan plan{};
    agreement.together([&] {
        const handle fapl = parallel_file_access(file_access(at), comm.get(), at);
        file = checked(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get()), at, "cannot open file");
    });
    agreement.together([&] {
        const handle root = open_root(file.get(), path);
        const manifest* m = contents ? &*contents : nullptr;
        plan = plan_walk(choices_of<Policies>(), model_of(model, fresh_model), read_header(root.get(), path, m, Policies::verify), path);
    });
    // Every rank walks the HDF5 tree: the reads are collective, through the MPI-IO driver.
    file_tree tree(path, std::move(file));
    parallel_load_from<Policies::lenient, Policies::verify>(tree, path, model, plan.mode, plan.report_unexpected, comm, agreement, shards,
                                                            contents ? &*contents : nullptr, report);
}

}  // namespace h5ser::mpi::detail
