// h5ser/mpi/detail/writer.hpp: the MPI writer: every rank writes its slices into one sealed
// file, which is exactly what h5ser::save writes for the whole model.
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

#include "h5ser/detail/format/hash.hpp"
#include "h5ser/detail/hdf5/dataset.hpp"
#include "h5ser/detail/posix/file.hpp"
#include "h5ser/detail/save/save_file.hpp"
#include "h5ser/detail/save/save_walk.hpp"
#include "h5ser/detail/save/sealed_file.hpp"
#include "h5ser/mpi/detail/parallel_io.hpp"
#include "h5ser/progress.hpp"

namespace h5ser::mpi::detail {

using namespace h5ser::detail;  // the core's internals: handle, where, checked, problem_list, ...

/// What each rank tells the others about one tensor it is about to save.
struct save_record {
    static constexpr std::size_t size = 40;
    enum : std::size_t { structure, how, axis, offset, count, local_hash, rank, dims };
    std::array<std::uint64_t, size> v{};
};

/// The save walk's sink on every rank: tensors are written by all ranks together, each its slice;
/// everything else goes to the serial file_writer it wraps, once every rank agrees.
class parallel_file_writer final : public save_sink {
public:
    parallel_file_writer(file_writer& base, const where& at, const private_comm& comm, rank_agreement& agreement, shard_lookup& shards)
        : base_(base), comm_(comm), agreement_(agreement), shards_(shards), transfer_(collective_transfer(at)), structure_() {}

    void dataset(std::string_view name, const tensor_view& tensor, const where& at, bool optimizer) override {
        const std::size_t rank = tensor.rank;
        const std::string_view dtype = tensor.dtype();
        note_structure(at.h5, dtype);

        // 1. Every rank says what it holds; all check the same records.
        save_record mine;
        const void* local = tensor.element_bytes();
        agreement_.together([&] {
            const shard s = shards_.find(at);
            mine.v[save_record::structure] = structure_.digest();
            mine.v[save_record::how] = static_cast<std::uint64_t>(s.how());
            mine.v[save_record::axis] = s.axis();
            mine.v[save_record::offset] = s.offset();
            mine.v[save_record::count] = s.count();
            mine.v[save_record::rank] = rank;
            for (std::size_t i = 0; i < rank; ++i) mine.v[save_record::dims + i] = tensor.dims[i];
            if (s.how() == shard::kind::replicated) {
                mine.v[save_record::local_hash] = hash_bytes(local, tensor.bytes());
            } else if (s.axis() >= rank) {
                throw error(std::string(at.file),
                            problem{errc::invalid_value, at.field, at.h5, "a split axis below " + std::to_string(rank),
                                    "axis " + std::to_string(s.axis()), "h5ser::mpi::shard of a rank-" + std::to_string(rank) + " tensor"});
            } else if (s.how() == shard::kind::slice && s.count() != tensor.dims[s.axis()]) {
                std::array<std::size_t, dynamic_shape::max_rank> shape{};
                for (std::size_t i = 0; i < rank; ++i) shape[i] = static_cast<std::size_t>(tensor.dims[i]);
                throw error(std::string(at.file),
                            problem{errc::shape_mismatch, at.field, at.h5,
                                    "a slice of " + std::to_string(s.count()) + " along axis " + std::to_string(s.axis()),
                                    shape_text(dtype, shape.data(), rank), "the shard's count and the tensor this rank holds differ"});
            }
        });
        const auto records = allgather(comm_, mine.v);

        // 2. The whole tensor: its shape, how the ranks split it, its checksum.
        written_tensor w;
        w.rank = rank;
        std::optional<split_geometry> split;
        agreement_.together([&] { split = whole_tensor(records, at, tensor.element_size(), w); });
        w.data_hash = split ? global_hash(comm_.get(), comm_.rank(), *split, local) : records[0][save_record::local_hash];

        // 3. Write it, every rank its part, then its attributes (collective calls).
        std::array<hsize_t, dynamic_shape::max_rank> dims{};
        for (std::size_t i = 0; i < rank; ++i) dims[i] = w.dims[i];
        handle mtype;
        handle dataset;
        bool compact = false;
        agreement_.together([&] {
            handle ftype = file_type(tensor.kind, at);
            mtype = memory_type(tensor.kind, at);
            dataset =
                create_tensor_dataset(base_.parent(), name, ftype.get(), dims.data(), rank, base_.plists(), base_.plan(), at, &compact);
        });
        std::vector<unsigned char> whole;
        if (compact && split && split->total_bytes() > 0) whole = gather_whole(comm_.get(), comm_.rank(), *split, local);
        agreement_.together([&] {
            write_elements(dataset.get(), mtype.get(), dims.data(), rank, split, compact, compact && split ? whole.data() : local, at);
        });
        agreement_.together([&] {
            write_tensor_attributes(dataset.get(), tensor.kind == element_kind::bfloat16, base_.plists(), at);
            close_written_dataset(dataset, w, at);
        });
        w.elements = compact && split ? whole.data() : local;
        // User code (the progress callback) may throw on one rank: the next agreement reports it.
        agreement_.attempt([&] { base_.record_dataset(name, dtype, w, tensor.bytes(), at, optimizer); });
    }

    void attribute(std::string_view name, const attribute_view& value, const where& at, bool optimizer) override {
        // Hyperparameters are stored once, so every rank must hold the same.
        note_structure(at.h5, value.dtype);
        std::array<std::uint64_t, 1> digest{};
        agreement_.together([&] {
            const std::string encoded = encode_attribute_value(value);
            digest[0] = hash_bytes(encoded.data(), encoded.size());
        });
        const auto all = allgather(comm_, digest);
        agreement_.together([&] {
            for (std::size_t r = 1; r < all.size(); ++r) {
                if (all[r][0] != all[0][0])
                    throw error(std::string(at.file), problem{errc::invalid_value, at.field, at.h5, "the same value on every MPI rank",
                                                              "another value on rank " + std::to_string(r),
                                                              "attributes are stored once; only tensors may differ between ranks"});
            }
            base_.attribute(name, value, at, optimizer);
        });
    }

    void absent(std::string_view name, const where& at) override {
        note_structure(at.h5, "absent");
        agreement_.together([&] { base_.absent(name, at); });
    }
    void begin(std::string_view name, const where& at, const container_info& info) override {
        note_structure(at.h5, "group");
        agreement_.together([&] { base_.begin(name, at, info); });
    }
    void end(const container_info& info) override { base_.end(info); }
    void version(const where& at, std::string_view type_name, int version) override {
        agreement_.together([&] { base_.version(at, type_name, version); });
    }
    void push_storage(const storage_plan& field, bool names_compact, const std::vector<std::size_t>& chunks) override {
        base_.push_storage(field, names_compact, chunks);
    }
    void pop_storage() override { base_.pop_storage(); }

    /// Collective: checks, after the walk, that every rank walked the same model.
    void check_same_model(const where& at) {
        std::array<std::uint64_t, 1> digest{structure_.digest()};
        const auto all = allgather(comm_, digest);
        agreement_.together([&] { check_same_structure(all, at); });
    }

private:
    void note_structure(std::string_view path, std::string_view what) {
        const char nul = '\0';
        structure_.update(path.data(), path.size());
        structure_.update(&nul, 1);
        structure_.update(what.data(), what.size());
        structure_.update(&nul, 1);
    }

    void check_same_structure(const std::vector<std::array<std::uint64_t, 1>>& digests, const where& at) const {
        for (std::size_t r = 1; r < digests.size(); ++r) {
            if (digests[r][0] != digests[0][0])
                throw error(std::string(at.file), problem{errc::kind_mismatch, at.field, at.h5_or_root(), "the model of rank 0",
                                                          "another model on rank " + std::to_string(r),
                                                          "every rank must save a model of the same fields, containers and types"});
        }
    }

    /// The whole tensor's dimensions (into `w`) and, unless it is replicated, how it is split.
    /// Throws when the ranks' records do not describe one tensor.
    std::optional<split_geometry> whole_tensor(const std::vector<std::array<std::uint64_t, save_record::size>>& records, const where& at,
                                               std::size_t element_size, written_tensor& w) const {
        std::vector<std::array<std::uint64_t, 1>> structure;
        for (const auto& r : records) structure.push_back({r[save_record::structure]});
        check_same_structure(structure, at);
        const auto& first = records[0];
        for (std::size_t i = 0; i < w.rank; ++i) w.dims[i] = first[save_record::dims + i];
        const auto refuse = [&](std::string expected, std::string found, std::string why) {
            throw error(std::string(at.file),
                        problem{errc::shape_mismatch, at.field, at.h5, std::move(expected), std::move(found), std::move(why)});
        };
        for (std::size_t r = 1; r < records.size(); ++r) {
            if (records[r][save_record::rank] != first[save_record::rank])
                refuse("a tensor of rank " + std::to_string(first[save_record::rank]) + " on every MPI rank",
                       "rank " + std::to_string(records[r][save_record::rank]) + " on MPI rank " + std::to_string(r), {});
            if (records[r][save_record::how] != first[save_record::how] || records[r][save_record::axis] != first[save_record::axis])
                refuse("the same h5ser::mpi::shard on every rank", "another on rank " + std::to_string(r), {});
        }
        const auto how = static_cast<shard::kind>(first[save_record::how]);
        if (how == shard::kind::replicated) {
            for (std::size_t r = 1; r < records.size(); ++r) {
                if (!std::equal(records[r].begin() + save_record::dims, records[r].end(), first.begin() + save_record::dims))
                    refuse("the same shape on every rank (the tensor is replicated)", "another shape on rank " + std::to_string(r),
                           "name the field in h5ser::mpi::sharding if the ranks hold slices");
                if (records[r][save_record::local_hash] != first[save_record::local_hash])
                    throw error(std::string(at.file),
                                problem{errc::invalid_value, at.field, at.h5, "the same elements on every rank (the tensor is replicated)",
                                        "other elements on rank " + std::to_string(r),
                                        "name the field in h5ser::mpi::sharding if the ranks hold slices"});
            }
            return std::nullopt;
        }
        split_geometry g;
        g.axis = static_cast<std::size_t>(first[save_record::axis]);
        g.element_size = element_size;
        std::uint64_t next = 0;
        for (std::size_t r = 0; r < records.size(); ++r) {
            for (std::size_t i = 0; i < w.rank; ++i) {
                if (i != g.axis && records[r][save_record::dims + i] != first[save_record::dims + i])
                    refuse("slices of one shape but along axis " + std::to_string(g.axis), "another shape on rank " + std::to_string(r),
                           {});
            }
            const std::uint64_t count = records[r][save_record::dims + g.axis];
            const std::uint64_t offset = how == shard::kind::split ? next : records[r][save_record::offset];
            g.slices.push_back({offset, count});
            next += count;
        }
        const std::optional<std::uint64_t> extent = g.tiled_extent();
        if (!extent) refuse("slices that cover axis " + std::to_string(g.axis) + " once, without gaps or overlaps", slice_text(g), {});
        w.dims[g.axis] = *extent;
        for (std::size_t i = 0; i < w.rank; ++i) g.dims.push_back(w.dims[i]);
        return g;
    }

    /// Writes this rank's elements (collective): all of them for a replicated tensor from rank 0;
    /// the slice of a split one; all of them from every rank for compact storage (held in the
    /// object header, which every rank must write alike).
    void write_elements(hid_t dataset, hid_t mtype, const hsize_t* dims, std::size_t rank, const std::optional<split_geometry>& split,
                        bool compact, const void* data, const where& at) const {
        std::uint64_t total = 1;
        for (std::size_t i = 0; i < rank; ++i) total *= dims[i];
        if (total == 0) return;
        if (compact || (!split && comm_.rank() == 0)) {
            check(H5Dwrite(dataset, mtype, H5S_ALL, H5S_ALL, transfer_.get(), data), at, "cannot write dataset");
            return;
        }
        handle file_space = checked(H5Dget_space(dataset), at, "H5Dget_space");
        std::array<hsize_t, 32> local_dims{};
        index_range slice{0, 0};
        if (split) {
            slice = split->slices[static_cast<std::size_t>(comm_.rank())];
            for (std::size_t i = 0; i < rank; ++i) local_dims[i] = i == split->axis ? slice.count : dims[i];
        }
        handle memory_space = make_dataspace(slice.count ? local_dims.data() : dims, rank, at);
        if (!split || slice.count == 0) check(H5Sselect_none(memory_space.get()), at, "H5Sselect_none");
        select_slice(file_space.get(), rank, dims, split ? split->axis : 0, slice, at);
        check(H5Dwrite(dataset, mtype, memory_space.get(), file_space.get(), transfer_.get(), data), at, "cannot write dataset");
    }

    file_writer& base_;
    const private_comm& comm_;
    rank_agreement& agreement_;
    shard_lookup& shards_;
    handle transfer_;
    xxh3_stream structure_;
};

/// Fails compilation when a tensor of `Model` has a rank known only at run time (static_rank_check).
template <class Model>
void check_static_ranks(const Model& model) {
    visit_field(static_rank_check{}, model);
}

template <save_mode Mode, class Model>
void parallel_save(const Model& model, const std::string& path, MPI_Comm user_comm, const sharding& shards, const storage_plan& storage,
                   const progress_callback& progress) {
    (void)&check_static_ranks<Model>;  // compiled, never run: its static_assert names the tensor
    hdf5_scope hdf5;
    const private_comm comm(user_comm, path);
    rank_agreement agreement(comm, path);
    const where root{path, {}, "/"};
    std::optional<atomic_file> out;  // rank 0 owns the temporary file, commits or removes it
    std::string temp;
    save_census counter(storage);
    agreement.together([&] {
        walk_fields<Mode>(counter, model, root);
        check_target_path(path);
        if (comm.rank() == 0) {
            out.emplace(path);
            temp = out->temp_path();
        }
    });
    temp = broadcast_bytes(comm.get(), 0, temp);
    // Ranks count their own slices: the manifest's size is the same for the whole tensors, except
    // that a slice may be empty where the whole tensor is chunked with filters (4 bytes per filter),
    // and that a compact tensor's record holds its whole data, which is at most the slices' sum.
    std::uint64_t compact_bytes = counter.compact_bytes;
    MPI_Allreduce(MPI_IN_PLACE, &compact_bytes, 1, MPI_UINT64_T, MPI_SUM, comm.get());
    std::uint64_t userblock =
        seal_userblock_size(counter.count, counter.manifest.size() + counter.count * 4 * storage.filters.size() + compact_bytes);
    MPI_Bcast(&userblock, 1, MPI_UINT64_T, 0, comm.get());

    std::optional<sealed_file_writer> file;
    agreement.together([&] {
        const handle fapl = parallel_file_access(writer_file_access(root), comm.get(), root);
        file.emplace(path, temp, userblock, fapl.get(), out ? &*out : nullptr);
    });
    shard_lookup lookup(shards);
    file_writer serial(Mode, *file, storage, progress, counter.bytes);
    parallel_file_writer writer(serial, root, comm, agreement, lookup);
    // The walk agrees at every node; what write_model does after it (root attributes, all alike on
    // every rank) is checked by the agreement that follows.
    agreement.attempt([&] {
        write_model<Mode>(writer, serial, model);
        lookup.check_all_used(model, path);
    });
    agreement.agree();
    writer.check_same_model(root);
    // Every rank's data reaches the file (MPI_File_sync) before the file closes.
    agreement.together([&] { file->close(true); });
    // All ranks have written and flushed: rank 0 seals the file and renames it over the target.
    agreement.together([&] {
        if (comm.rank() == 0) file->seal_and_commit();
    });
    if (progress) agreement.together([&] { progress(counter.bytes, counter.bytes); });
}

}  // namespace h5ser::mpi::detail
