// h5ser/mpi.hpp: sharded checkpoints through parallel HDF5 (MPI-IO). Opt-in: link the CMake target
// h5ser::mpi, which uses the MPI build of HDF5 instead of the serial one.
//
//     h5ser::mpi::sharding shards{{"embedding.table", h5ser::mpi::shard::split(0)}};
//     h5ser::mpi::save(model, "ckpt.h5", MPI_COMM_WORLD, shards);      // every rank, its slice
//     auto m = h5ser::mpi::load<Model>("ckpt.h5", MPI_COMM_WORLD, shards);  // any number of ranks
//
// The file is the one h5ser::save writes for the whole model: the same groups, datasets, storage,
// attributes, checksums of the whole tensors and fingerprint. h5ser::load, h5py and the h5ser
// tool read it unchanged, and h5ser::mpi::load reads any h5ser file, each rank only its slices.
//
// Every rank of the communicator calls save and load together, with a model of the same structure
// and the same hyperparameters (save checks this). Tensors not named in the sharding are
// replicated: saved from rank 0 after checking every rank holds the same bytes, loaded whole by
// every rank. An error on one rank is an error on every rank, and nothing hangs (see
// detail/mpi_collective.hpp for the one rule that ensures it).
#pragma once

#include <mpi.h>
#include <hdf5.h>

#ifndef H5_HAVE_PARALLEL
#error "h5ser/mpi.hpp needs the MPI build of HDF5 (Debian: libhdf5-openmpi-dev); link the CMake target h5ser::mpi"
#endif

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "h5ser/detail/mpi_collective.hpp"
#include "h5ser/detail/sharded_tensor.hpp"
#include "h5ser/h5ser.hpp"  // the serial API works on the same files, in the same program

namespace h5ser::mpi {

/// How the ranks hold one tensor of the model.
class shard {
public:
    enum class kind { replicated, split, slice };

    /// Every rank holds the whole tensor (the default for tensors the sharding does not name).
    static constexpr shard replicated() noexcept { return {}; }
    /// Saving: the ranks' tensors are consecutive slices along `axis`, in rank order.
    /// Loading: each rank gets an even block along `axis` (the first ranks one index more).
    static constexpr shard split(std::size_t axis) noexcept { return {kind::split, axis, 0, 0}; }
    /// This rank's tensor is indices [offset, offset + count) along `axis`. Saving: the slices of
    /// all ranks must cover the axis exactly once. Loading: any slice, even overlapping.
    static constexpr shard slice(std::size_t axis, std::size_t offset, std::size_t count) noexcept {
        return {kind::slice, axis, offset, count};
    }

    [[nodiscard]] constexpr kind how() const noexcept { return kind_; }
    [[nodiscard]] constexpr std::size_t axis() const noexcept { return axis_; }
    [[nodiscard]] constexpr std::size_t offset() const noexcept { return offset_; }
    [[nodiscard]] constexpr std::size_t count() const noexcept { return count_; }

private:
    constexpr shard() noexcept = default;
    constexpr shard(kind k, std::size_t axis, std::size_t offset, std::size_t count) noexcept
        : kind_(k), axis_(axis), offset_(offset), count_(count) {}
    kind kind_ = kind::replicated;
    std::size_t axis_ = 0;
    std::size_t offset_ = 0;
    std::size_t count_ = 0;
};

/// The tensors that are not replicated, by C++ field path ("encoder.kernel", "layers[3].bias") or
/// HDF5 path ("/encoder/kernel"). Naming a field the model does not store as a tensor is an error.
using sharding = std::map<std::string, shard, std::less<>>;

}  // namespace h5ser::mpi

namespace h5ser::detail {

/// Finds the shard of each tensor and remembers which entries were used.
class shard_lookup {
public:
    explicit shard_lookup(const mpi::sharding& shards) : shards_(shards) {}

    [[nodiscard]] mpi::shard find(const where& at) {
        for (const std::string* key : {&at.h5, &at.field}) {
            if (const auto it = shards_.find(*key); it != shards_.end()) {
                used_.push_back(it->first);
                return it->second;
            }
        }
        return mpi::shard::replicated();
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
                unknown.push_back({errc::invalid_value, key, {}, "a tensor field of the model", "no such tensor",
                                   "h5ser::mpi::sharding names a field the model does not store as a tensor"});
        }
        if (!unknown.empty()) throw error(file, std::move(unknown));
    }

private:
    // Marks the entries naming a tensor field of the model.
    struct marker : ignoring_visitor {
        explicit marker(shard_lookup& l) noexcept : lookup(l) {}
        shard_lookup& lookup;
        template <class X>
        void dataset(std::string_view, const X&, const where& at, bool) {
            (void)lookup.find(at);
        }
    };

    const mpi::sharding& shards_;
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

// ---- saving ---------------------------------------------------------------------------------

/// What each rank tells the others about one tensor it is about to save.
struct save_record {
    static constexpr std::size_t size = 40;
    enum : std::size_t { structure, how, axis, offset, count, local_hash, rank, dims };
    std::array<std::uint64_t, size> v{};
};

/// A file_writer whose tensors are written by all ranks together, each its slice.
template <save_mode Mode>
class parallel_file_writer : public file_writer {
    using base = file_writer;

public:
    parallel_file_writer(hid_t root, const where& at, storage_plan storage, const progress_callback& progress, std::uint64_t local_bytes,
                         const private_comm& comm, rank_agreement& agreement, shard_lookup& shards)
        : base(Mode, root, at, std::move(storage), progress, local_bytes),
          comm_(comm),
          agreement_(agreement),
          shards_(shards),
          transfer_(collective_transfer(at)),
          structure_(fingerprint_builder::new_state()) {}

    template <class X>
    void dataset(std::string_view name, const X& value, const where& at, bool optimizer) {
        using adapter = tensor_adapter<X>;
        using element = typename adapter::element_type;
        constexpr std::size_t rank = adapter::rank;
        constexpr std::string_view dtype = dtype_name<element>();
        note_structure(at.h5, dtype);

        // 1. Every rank says what it holds; all check the same records.
        save_record mine;
        std::size_t local_count = 0;
        const written_tensor local_extent = tensor_extent(value, local_count);
        const void* local = element_bytes(value, local_count);
        agreement_.together([&] {
            const mpi::shard s = shards_.find(at);
            const auto shape = adapter::shape(value);
            mine.v[save_record::structure] = XXH3_64bits_digest(structure_.get());
            mine.v[save_record::how] = static_cast<std::uint64_t>(s.how());
            mine.v[save_record::axis] = s.axis();
            mine.v[save_record::offset] = s.offset();
            mine.v[save_record::count] = s.count();
            mine.v[save_record::rank] = rank;
            for (std::size_t i = 0; i < rank; ++i) mine.v[save_record::dims + i] = local_extent.dims[i];
            if (s.how() == mpi::shard::kind::replicated) {
                mine.v[save_record::local_hash] = hash_bytes(local, local_count * sizeof(element));
            } else if (s.axis() >= rank) {
                throw error(std::string(at.file), problem{errc::invalid_value, at.field, at.h5, "a split axis below " + std::to_string(rank),
                                                          "axis " + std::to_string(s.axis()), "h5ser::mpi::shard of a rank-" + std::to_string(rank) + " tensor"});
            } else if (s.how() == mpi::shard::kind::slice && s.count() != shape[s.axis()]) {
                throw error(std::string(at.file), problem{errc::shape_mismatch, at.field, at.h5,
                                                          "a slice of " + std::to_string(s.count()) + " along axis " + std::to_string(s.axis()),
                                                          shape_text(dtype, shape), "the shard's count and the tensor this rank holds differ"});
            }
        });
        const auto records = allgather(comm_, mine.v);

        // 2. The whole tensor: its shape, how the ranks split it, its checksum.
        written_tensor w;
        w.rank = rank;
        std::optional<split_geometry> split;
        agreement_.together([&] { split = whole_tensor(records, at, sizeof(element), w); });
        w.data_hash = split ? global_hash(comm_.get(), comm_.rank(), *split, local) : records[0][save_record::local_hash];

        // 3. Write it, every rank its part, then its attributes (collective calls).
        std::array<hsize_t, rank == 0 ? 1 : rank> dims{};
        for (std::size_t i = 0; i < rank; ++i) dims[i] = w.dims[i];
        handle mtype;
        handle dataset;
        bool compact = false;
        agreement_.together([&] {
            handle ftype = file_type<element>(at);
            mtype = memory_type<element>(at);
            dataset = create_tensor_dataset(this->parent(), name, ftype.get(), dims.data(), rank, this->plists(), this->plan(), at, &compact);
        });
        std::vector<unsigned char> whole;
        if (compact && split && split->total_bytes() > 0) whole = gather_whole(comm_.get(), comm_.rank(), *split, local);
        agreement_.together([&] {
            write_elements(dataset.get(), mtype.get(), dims.data(), rank, split, compact, compact && split ? whole.data() : local, at);
        });
        agreement_.together([&] {
            write_tensor_attributes(dataset.get(), std::is_same_v<element, bfloat16>, w.data_hash, this->plists(), at);
            close_written_dataset(dataset, w, at);
        });
        // User code (the progress callback) may throw on one rank: the next agreement reports it.
        agreement_.attempt([&] { this->record_dataset(name, dtype, w, local_count * sizeof(element), at, optimizer); });
    }

    template <class X>
    void attribute(std::string_view name, const X& value, const where& at, bool optimizer) {
        // Hyperparameters are stored once, so every rank must hold the same.
        note_structure(at.h5, attribute_dtype_name<X>());
        std::array<std::uint64_t, 1> digest{};
        agreement_.together([&] { digest[0] = value_digest(value); });
        const auto all = allgather(comm_, digest);
        agreement_.together([&] {
            for (std::size_t r = 1; r < all.size(); ++r) {
                if (all[r][0] != all[0][0])
                    throw error(std::string(at.file), problem{errc::invalid_value, at.field, at.h5, "the same value on every MPI rank",
                                                              "another value on rank " + std::to_string(r),
                                                              "attributes are stored once; only tensors may differ between ranks"});
            }
            base::attribute(name, value, at, optimizer);
        });
    }

    void absent(std::string_view name, const where& at) {
        note_structure(at.h5, "absent");
        agreement_.together([&] { base::absent(name, at); });
    }
    void begin(std::string_view name, const where& at, const container_info& info) {
        note_structure(at.h5, "group");
        agreement_.together([&] { base::begin(name, at, info); });
    }
    void end(const container_info& info) { base::end(info); }

    /// Collective: checks, after the walk, that every rank walked the same model.
    void finish(const where& at) {
        std::array<std::uint64_t, 1> digest{XXH3_64bits_digest(structure_.get())};
        const auto all = allgather(comm_, digest);
        agreement_.together([&] { check_same_structure(all, at); });
    }

private:
    void note_structure(std::string_view path, std::string_view what) {
        const char nul = '\0';
        XXH3_64bits_update(structure_.get(), path.data(), path.size());
        XXH3_64bits_update(structure_.get(), &nul, 1);
        XXH3_64bits_update(structure_.get(), what.data(), what.size());
        XXH3_64bits_update(structure_.get(), &nul, 1);
    }

    template <class X>
    static std::uint64_t value_digest(const X& value) {
        using element = typename attribute_codec<X>::element;
        if constexpr (std::is_same_v<X, std::string>) return hash_bytes(value.data(), value.size());
        else if constexpr (!attribute_codec<X>::is_list) return hash_bytes(&value, sizeof value);
        else if constexpr (std::is_same_v<element, std::string>) {
            const auto state = fingerprint_builder::new_state();
            for (const std::string& s : value) {
                const std::uint64_t n = s.size();
                XXH3_64bits_update(state.get(), &n, sizeof n);
                XXH3_64bits_update(state.get(), s.data(), s.size());
            }
            return XXH3_64bits_digest(state.get());
        } else {
            return hash_bytes(value.data(), value.size() * sizeof(element));
        }
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
            throw error(std::string(at.file), problem{errc::shape_mismatch, at.field, at.h5, std::move(expected), std::move(found), std::move(why)});
        };
        for (std::size_t r = 1; r < records.size(); ++r) {
            if (records[r][save_record::rank] != first[save_record::rank])
                refuse("a tensor of rank " + std::to_string(first[save_record::rank]) + " on every MPI rank",
                       "rank " + std::to_string(records[r][save_record::rank]) + " on MPI rank " + std::to_string(r), {});
            if (records[r][save_record::how] != first[save_record::how] || records[r][save_record::axis] != first[save_record::axis])
                refuse("the same h5ser::mpi::shard on every rank", "another on rank " + std::to_string(r), {});
        }
        const auto how = static_cast<mpi::shard::kind>(first[save_record::how]);
        if (how == mpi::shard::kind::replicated) {
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
                    refuse("slices of one shape but along axis " + std::to_string(g.axis), "another shape on rank " + std::to_string(r), {});
            }
            const std::uint64_t count = records[r][save_record::dims + g.axis];
            const std::uint64_t offset = how == mpi::shard::kind::split ? next : records[r][save_record::offset];
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

    const private_comm& comm_;
    rank_agreement& agreement_;
    shard_lookup& shards_;
    handle transfer_;
    fingerprint_builder::state_ptr structure_;
};

template <save_mode Mode, class Model>
void parallel_save(const Model& model, const std::string& path, MPI_Comm user_comm, const mpi::sharding& shards,
                   const storage_plan& storage, const progress_callback& progress) {
    quiet_hdf5_errors quiet;
    const private_comm comm(user_comm, path);
    rank_agreement agreement(comm, path);
    const where root{path, {}, "/"};
    std::optional<atomic_file> out;  // rank 0 owns the temporary file, commits or removes it
    std::string temp;
    dataset_counter counter;
    agreement.together([&] {
        walk_fields<Mode>(counter, model, root);
        check_target_path(path);
        if (comm.rank() == 0) {
            out.emplace(path);
            temp = out->temp_path();
        }
    });
    temp = broadcast_bytes(comm.get(), 0, temp);
    std::uint64_t userblock = seal_userblock_size(counter.count);
    MPI_Bcast(&userblock, 1, MPI_UINT64_T, 0, comm.get());

    std::vector<byte_range> data_ranges;
    {
        handle file;
        agreement.together([&] {
            handle fapl = parallel_file_access(writer_file_access(root), comm.get(), root);
            file = create_hdf5_file(temp, path, userblock, file_style::h5ser, fapl.get());
        });
        handle root_group;
        agreement.together([&] { root_group = checked(H5Gopen2(file.get(), "/", H5P_DEFAULT), root, "cannot open root group"); });
        shard_lookup lookup(shards);
        parallel_file_writer<Mode> writer(root_group.get(), root, storage, progress, counter.bytes, comm, agreement, lookup);
        // The walk agrees at every node; what write_model does after it (root attributes, all
        // alike on every rank) is checked by the agreement that follows.
        agreement.attempt([&] {
            write_model<Mode>(writer, root_group.get(), model, root, no_extra_root_attributes{});
            lookup.check_all_used(model, path);
        });
        agreement.agree();
        writer.finish(root);
        data_ranges = writer.data_ranges();
        agreement.together([&] {
            root_group.reset();
            // Every rank's data reaches the file (MPI_File_sync) before the file closes.
            check(H5Fflush(file.get(), H5F_SCOPE_GLOBAL), root, "cannot flush the file");
            if (file.close() < 0) throw_hdf5(root, "cannot write the file", errc::io);
        });
    }
    // All ranks have written and flushed: rank 0 seals the file and renames it over the target.
    agreement.together([&] {
        if (comm.rank() != 0) return;
        write_seal(temp, userblock, std::move(data_ranges), path);
        out->commit();
    });
    if (progress) agreement.together([&] { progress(counter.bytes, counter.bytes); });
}

// ---- loading --------------------------------------------------------------------------------

/// What each rank tells the others about one tensor it is about to load.
struct load_record {
    static constexpr std::size_t size = 6;
    enum : std::size_t { structure, sharded, reading, axis, offset, count };
};
inline constexpr std::uint64_t end_of_walk = ~std::uint64_t{0};

template <bool Lenient, bool Verify>
struct parallel_load_context : load_context<Lenient, Verify> {
    const private_comm* comm = nullptr;
    shard_lookup* shards = nullptr;
    handle transfer;
    bool diverged = false;  ///< the ranks walk different models: no more collective calls

    /// Tensors are read here (see load_node): replicated ones whole by every rank, split ones
    /// each rank its slice, all ranks together.
    template <class X>
    void load_dataset(hid_t parent, std::string_view name, X& target, const where& at) {
        using adapter = tensor_adapter<X>;
        using element = typename adapter::element_type;
        constexpr std::size_t rank = adapter::rank;
        constexpr std::string_view dtype = dtype_name<element>();
        const mpi::shard s = shards->find(at);
        std::array<std::uint64_t, load_record::size> mine{};
        mine[load_record::structure] = hash_bytes(at.h5.data(), at.h5.size()) ^ hash_bytes(dtype.data(), dtype.size());
        mine[load_record::sharded] = s.how() != mpi::shard::kind::replicated;
        if (s.how() == mpi::shard::kind::replicated) {
            if (!agree_on(mine, at)) return;
            detail::load_dataset(*this, parent, name, target, at);
            return;
        }
        // A split tensor: this rank's slice, checked like a whole one, read by all ranks together.
        std::optional<sliced_read> read;
        if (s.axis() >= rank) {
            this->problems.add({errc::invalid_value, at.field, at.h5, "a split axis below " + std::to_string(rank), "axis " + std::to_string(s.axis()),
                                "h5ser::mpi::shard of a rank-" + std::to_string(rank) + " tensor"});
        } else {
            read = prepare_slice<X>(parent, name, target, s, at);
        }
        mine[load_record::reading] = read.has_value() && this->reading_data();
        if (read) {
            mine[load_record::axis] = s.axis();
            mine[load_record::offset] = read->slice.offset;
            mine[load_record::count] = read->slice.count;
        }
        const auto all = allgather(*comm, mine);
        if (!check_same_walk(all, at)) return;
        for (const auto& r : all)
            if (!r[load_record::reading]) return;  // the load fails anyway (some rank found a problem)
        read_slice<X>(*read, all, target, at);
    }

    /// Collective: the last agreement of the walk (a rank with tensors left over finds out here).
    void finish_walk(const where& at) {
        std::array<std::uint64_t, load_record::size> mine{};
        mine[load_record::structure] = end_of_walk;
        agree_on(mine, at);
    }

private:
    struct sliced_read {
        handle dataset;
        handle file_type;
        std::vector<hsize_t> dims;  ///< the whole tensor's
        std::size_t axis = 0;
        index_range slice;
    };

    bool check_same_walk(const std::vector<std::array<std::uint64_t, load_record::size>>& all, const where& at) {
        for (std::size_t r = 1; r < all.size(); ++r) {
            if (all[r][load_record::structure] != all[0][load_record::structure] || all[r][load_record::sharded] != all[0][load_record::sharded]) {
                this->problems.add({errc::kind_mismatch, at.field, at.h5_or_root(), "the same model and sharding on every MPI rank",
                                    "another on rank " + std::to_string(r),
                                    "every rank must load a model of the same fields with the same fields sharded"});
                diverged = true;
                return false;
            }
        }
        return true;
    }

    bool agree_on(const std::array<std::uint64_t, load_record::size>& mine, const where& at) {
        if (diverged) return false;
        return check_same_walk(allgather(*comm, mine), at);
    }

    /// Opens the dataset and checks it against the target's dtype and this rank's slice shape.
    template <class X>
    std::optional<sliced_read> prepare_slice(hid_t parent, std::string_view name, X& target, const mpi::shard& s, const where& at) {
        using adapter = tensor_adapter<X>;
        using element = typename adapter::element_type;
        constexpr std::size_t rank = adapter::rank;
        constexpr std::string_view dtype = dtype_name<element>();
        handle dataset = open_child(this->problems, parent, name, H5I_DATASET, "dataset " + std::string(dtype), at);
        if (!dataset) return std::nullopt;
        dataset_view view = inspect_dataset(dataset.get(), at);
        if (view.dtype != dtype || view.shape.null || view.shape.scalar || view.shape.dims.size() != rank) {
            this->problems.add({view.dtype != dtype ? errc::dtype_mismatch : errc::shape_mismatch, at.field, at.h5,
                                "dataset " + std::string(dtype) + " of rank " + std::to_string(rank), "dataset " + view.dtype + view.shape.text(), {}});
            return std::nullopt;
        }
        if (!dataset_is_readable(this->problems, view, sizeof(element), at)) return std::nullopt;
        const std::uint64_t extent = view.shape.dims[s.axis()];
        index_range slice = s.how() == mpi::shard::kind::split ? even_block(extent, comm->rank(), comm->size())
                                                              : index_range{s.offset(), s.count()};
        if (slice.offset > extent || slice.count > extent - slice.offset) {
            this->problems.add({errc::shape_mismatch, at.field, at.h5,
                                "a slice [" + std::to_string(slice.offset) + ", " + std::to_string(slice.offset + slice.count) + ") along axis " +
                                    std::to_string(s.axis()),
                                "dataset " + view.dtype + view.shape.text(), {}});
            return std::nullopt;
        }
        std::array<std::size_t, rank> slice_shape{};
        for (std::size_t i = 0; i < rank; ++i) slice_shape[i] = i == s.axis() ? slice.count : view.shape.dims[i];
        const auto current = adapter::shape(std::as_const(target));
        bool unsized = false;
        if constexpr (resizable_tensor<X>) unsized = std::all_of(current.begin(), current.end(), [](std::size_t d) { return d == 0; });
        if (!unsized && current != slice_shape) {
            this->problems.add({errc::shape_mismatch, at.field, at.h5, "dataset " + shape_text(dtype, current),
                                "a slice " + shape_text(dtype, slice_shape) + " of dataset " + view.dtype + view.shape.text(),
                                "this rank's slice along axis " + std::to_string(s.axis())});
            return std::nullopt;
        }
        return sliced_read{std::move(dataset), std::move(view.type), view.shape.dims, s.axis(), slice};
    }

    /// Collective: every rank reads its slice, the checksum of the whole tensor is computed and
    /// checked, and the slice is staged for the target.
    template <class X>
    void read_slice(sliced_read& read, const std::vector<std::array<std::uint64_t, load_record::size>>& all, X& target, const where& at) {
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
            if (H5Dread(read.dataset.get(), memory_type_id.get(), memory_space.get(), file_space.get(), transfer.get(),
                        buffer) < 0) {
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
        if (Verify && g.tiled_extent() == read.dims[read.axis]) {
            hash = global_hash(comm->get(), comm->rank(), g, buffer);
        } else if (Verify) {
            split_geometry rows = g;
            rows.axis = 0;
            rows.slices.clear();
            for (int r = 0; r < comm->size(); ++r) rows.slices.push_back(even_block(read.dims[0], r, comm->size()));
            const std::vector<unsigned char> block = read_rows(read, rows.slices[static_cast<std::size_t>(comm->rank())], memory_type_id.get(), failure, at);
            hash = global_hash(comm->get(), comm->rank(), rows, block.data());
        }
        if (!failure.empty()) {
            this->problems.add({errc::io, at.field, at.h5, {}, {}, "dataset " + failure});
            return;
        }
        if constexpr (Verify) {
            std::array<std::uint64_t, rank> dims{};
            for (std::size_t i = 0; i < rank; ++i) dims[i] = read.dims[i];
            if (!verify_read_tensor(this->problems, this->fingerprint, read.dataset.get(), hash, dtype_name<element>(), dims.data(), rank, at))
                return;
        }
        if (!check_bool_elements<element>(this->problems, buffer, count, at)) return;
        if constexpr (resizable_tensor<X>) this->commits.move_into(target, std::move(staged));
        else this->commits.copy_into(static_cast<void*>(adapter::data(target)), std::move(staged));
    }

    /// Rows `rows` (along axis 0) of the dataset, as stored, read by this rank alone.
    std::vector<unsigned char> read_rows(const sliced_read& read, index_range rows, hid_t memory_type_id, std::string& failure, const where& at) {
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
void parallel_load_from(hid_t root, const std::string& path, Model& model, save_mode mode, bool report_unexpected,
                        const private_comm& comm, rank_agreement& agreement, const mpi::sharding& shards) {
    shard_lookup lookup(shards);
    parallel_load_context<Lenient, Verify> ctx;
    ctx.file = path;
    ctx.mode = mode;
    ctx.report_unexpected = report_unexpected && !Lenient;
    ctx.comm = &comm;
    ctx.shards = &lookup;
    const where at{path, {}, "/"};
    agreement.together([&] { ctx.transfer = collective_transfer(at); });
    // The walk makes collective calls only through ctx, which agrees before each; anything it
    // throws (an HDF5 failure) is kept and reported after the walk's last agreement.
    agreement.attempt([&] { load_tree(ctx, root, model); });
    ctx.finish_walk(at);
    agreement.together([&] {
        ctx.problems.throw_if_any(path);
        lookup.check_all_used(model, path);
    });
    ctx.commits.apply_all();
}

template <class Policies, class Model>
void parallel_load(Model& model, const std::string& path, MPI_Comm user_comm, const mpi::sharding& shards, bool fresh_model) {
    quiet_hdf5_errors quiet;
    const private_comm comm(user_comm, path);
    rank_agreement agreement(comm, path);
    const where at{path, {}, "/"};
    // Rank 0 checks the seal (reading the metadata once); then all ranks open the file together.
    agreement.together([&] {
        if (comm.rank() == 0) check_readable(path, Policies::verify);
    });
    handle file;
    handle root;
    load_plan plan{};
    agreement.together([&] {
        const handle fapl = parallel_file_access(file_access(at), comm.get(), at);
        file = checked(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get()), at, "cannot open file");
    });
    agreement.together([&] {
        root = checked(H5Gopen2(file.get(), "/", H5P_DEFAULT), at, "cannot open root group");
        plan = plan_load<Policies, Model>(read_header(root.get(), path), path, fresh_model);
    });
    parallel_load_from<Policies::lenient, Policies::verify>(root.get(), path, model, plan.mode, plan.report_unexpected, comm, agreement,
                                                            shards);
}

}  // namespace h5ser::detail

namespace h5ser::mpi {

/// Saves `model` to `path` with every rank of `comm` (collective: all ranks call it). Tensors
/// named in `shards` are slices; the file holds the whole tensors, exactly as h5ser::save writes
/// them for the unsharded model. Atomic like h5ser::save: rank 0 renames the finished file over
/// `path` after every rank has written and flushed. `progress` is told this rank's tensor bytes.
template <class... Policies, class Model>
void save(const Model& model, const std::string& path, MPI_Comm comm, const sharding& shards = {}, const progress_callback& progress = {}) {
    static_assert(detail::assert_model_type<Model>());
    using policies = detail::policy_set<full_model, Policies...>;
    static_assert(policies::mode != detail::save_mode::as_saved);
    detail::parallel_save<policies::mode>(model, path, comm, shards, policies::storage::plan(), progress);
}

/// Loads a model from `path` with every rank of `comm` (collective). Tensors named in `shards`
/// are read as this rank's slice only; the others whole. Checks as h5ser::load does, including
/// the checksums of the whole tensors and the fingerprint.
template <class Model, class... Policies>
[[nodiscard]] Model load(const std::string& path, MPI_Comm comm, const sharding& shards = {}) {
    static_assert(detail::assert_model_type<Model>());
    static_assert(std::is_default_constructible_v<Model>, "h5ser::mpi::load<Model>: Model must be default-constructible");
    Model model{};
    detail::parallel_load<detail::policy_set<detail::as_saved, Policies...>>(model, path, comm, shards, true);
    return model;
}

/// Fills an existing model from `path` with every rank of `comm` (collective); see h5ser::load_into.
template <class... Policies, class Model>
void load_into(Model& model, const std::string& path, MPI_Comm comm, const sharding& shards = {}) {
    static_assert(detail::assert_model_type<Model>());
    detail::parallel_load<detail::policy_set<detail::as_saved, Policies...>>(model, path, comm, shards, false);
}

}  // namespace h5ser::mpi
