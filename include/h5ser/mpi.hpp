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
// mpi/detail/collective.hpp for the one rule that ensures it).
#pragma once

#include <hdf5.h>
#include <mpi.h>

#ifndef H5_HAVE_PARALLEL
#error "h5ser/mpi.hpp needs the MPI build of HDF5 (Debian: libhdf5-openmpi-dev); link the CMake target h5ser::mpi"
#endif

#include <string>
#include <type_traits>

#include "h5ser/detail/model/model_checks.hpp"
#include "h5ser/h5ser.hpp"  // the serial API works on the same files, in the same program
#include "h5ser/mpi/detail/loader.hpp"
#include "h5ser/mpi/detail/writer.hpp"
#include "h5ser/mpi/sharding.hpp"

namespace h5ser::mpi {

/// Saves `model` to `path` with every rank of `comm` (collective: all ranks call it). Tensors
/// named in `shards` are slices; the file holds the whole tensors, exactly as h5ser::save writes
/// them for the unsharded model. Atomic like h5ser::save: rank 0 renames the finished file over
/// `path` after every rank has written and flushed. `progress` is told this rank's tensor bytes.
template <class... Policies, class Model>
void save(const Model& model, const std::string& path, MPI_Comm comm, const sharding& shards = {}, const progress_callback& progress = {}) {
    static_assert(h5ser::detail::assert_model_type<Model>());
    using policies = h5ser::detail::save_policies<Policies...>;
    static_assert(policies::mode != h5ser::detail::save_mode::as_saved);
    detail::parallel_save<policies::mode>(model, path, comm, shards, policies::storage::plan(), progress);
}

/// Loads a model from `path` with every rank of `comm` (collective). Tensors named in `shards`
/// are read as this rank's slice only; the others whole. Checks as h5ser::load does, including
/// the checksums of the whole tensors and the fingerprint. A lenient load takes a report.
template <class Model, class... Policies>
[[nodiscard]] Model load(const std::string& path, MPI_Comm comm, const sharding& shards = {}) {
    static_assert(h5ser::detail::assert_model_type<Model>());
    static_assert(std::is_default_constructible_v<Model>, "h5ser::mpi::load<Model>: Model must be default-constructible");
    Model model{};
    if constexpr (h5ser::detail::assert_report_given<h5ser::detail::mpi_load_policies<Policies...>>())
        detail::parallel_load<h5ser::detail::mpi_load_policies<Policies...>>(model, path, comm, shards, true, nullptr);
    return model;
}
/// h5ser::mpi::load, saying in `report` what the load skipped (see h5ser/load_report.hpp); every
/// rank gets the same report.
template <class Model, class... Policies>
[[nodiscard]] Model load(const std::string& path, MPI_Comm comm, const sharding& shards, load_report& report) {
    static_assert(h5ser::detail::assert_model_type<Model>());
    static_assert(std::is_default_constructible_v<Model>, "h5ser::mpi::load<Model>: Model must be default-constructible");
    Model model{};
    detail::parallel_load<h5ser::detail::mpi_load_policies<Policies...>>(model, path, comm, shards, true, &report);
    return model;
}

/// Fills an existing model from `path` with every rank of `comm` (collective); see h5ser::load_into.
template <class... Policies, class Model>
void load_into(Model& model, const std::string& path, MPI_Comm comm, const sharding& shards = {}) {
    static_assert(h5ser::detail::assert_model_type<Model>());
    if constexpr (h5ser::detail::assert_report_given<h5ser::detail::mpi_load_policies<Policies...>>())
        detail::parallel_load<h5ser::detail::mpi_load_policies<Policies...>>(model, path, comm, shards, false, nullptr);
}
/// h5ser::mpi::load_into, saying in `report` what the load skipped.
template <class... Policies, class Model>
void load_into(Model& model, const std::string& path, MPI_Comm comm, const sharding& shards, load_report& report) {
    static_assert(h5ser::detail::assert_model_type<Model>());
    detail::parallel_load<h5ser::detail::mpi_load_policies<Policies...>>(model, path, comm, shards, false, &report);
}

}  // namespace h5ser::mpi
