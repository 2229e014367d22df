// h5ser/checkpoint.hpp: versioned checkpoints for training loops (the C++ counterpart of Keras's
// ModelCheckpoint and TensorFlow's CheckpointManager).
//
//     h5ser::checkpoint_manager<Model> checkpoints("run1", {.keep_last = 3, .keep_best = 1});
//     if (auto step = checkpoints.restore_latest(model)) start = *step + 1;   // resume
//     for (step = start; ...; ++step) {
//         train(model);
//         checkpoints.save(model, step, validation_loss);   // run1/ckpt-000123.h5
//     }
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "h5ser/checkpoint_options.hpp"
#include "h5ser/config.hpp"
#include "h5ser/detail/checkpoint/checkpoint_directory.hpp"
#include "h5ser/detail/format/format.hpp"
#include "h5ser/detail/hdf5/attribute.hpp"
#include "h5ser/detail/model/model_checks.hpp"
#include "h5ser/load.hpp"
#include "h5ser/save.hpp"
#include "h5ser/save_async.hpp"

namespace h5ser {

/// Saves checkpoints as `<directory>/ckpt-<step, 6+ digits>.h5`, each written atomically, keeps the
/// newest `keep_last` and the best `keep_best` and deletes the others, and updates the text file
/// `<directory>/latest` (the newest checkpoint's file name) atomically. Policies may be those of
/// h5ser::save and of h5ser::load_into, in one pack: saves take the mode (full model by default:
/// resuming needs the optimizer state) and the storage policies, restores the mode and the load
/// policies.
///
///     h5ser::checkpoint_manager<Model, h5ser::weights_only, h5ser::compressed, h5ser::no_verify> checkpoints("run");
///
/// save_async writes checkpoints in the background (see h5ser::save_async), one at a time per
/// manager; the manager keeps the staging memory for the next one, and its destructor waits for
/// the checkpoint in flight.
template <class Model, class... Policies>
class checkpoint_manager : private detail::checkpoint_directory {
    using policies = detail::checkpoint_save_policies<Policies...>;  // the mode and storage policies

    /// The root attributes of a checkpoint: its step, and its metric if any.
    struct checkpoint_attributes {
        std::uint64_t step;
        std::optional<double> metric;
        template <class Sink>
        void operator()(Sink& sink) const {
            sink.add(step_attribute, step);
            if (metric) sink.add(metric_attribute, *metric);
        }
    };

public:
    explicit checkpoint_manager(std::string directory, checkpoint_options options = {})
        : checkpoint_directory(std::move(directory), options) {}

    /// Saves `model` as checkpoint `step`; returns its path. Once it returns, the checkpoint is on
    /// disk; a crash at any moment leaves every earlier checkpoint intact. A save_async in flight
    /// is waited for first, and its error thrown if nobody has seen it. Steps only go forward: a
    /// step lower than the newest checkpoint's in the directory is an error (saving nothing), as it
    /// would never be the latest; a run resumed from an earlier step removes the newer checkpoints
    /// first, or saves into another directory. The same step again replaces its checkpoint.
    std::string save(const Model& model, std::uint64_t step, std::optional<double> metric = std::nullopt) {
        static_assert(detail::assert_model_type<Model>());
        if (saver_) saver_->settle();
        const std::string path = path_for_new(step);
        detail::save_model<policies::mode>(model, path, policies::storage::plan(), checkpoint_attributes{step, metric});
        saved(path);
        return path;
    }

    /// Saves `model` as checkpoint `step` in the background: returns once a snapshot of `model` is
    /// taken, so training may go on at once (see h5ser::save_async). Only once the checkpoint is
    /// committed does `latest` point at it and are older checkpoints pruned: a crash at any moment
    /// leaves every earlier checkpoint intact. A save_async while one runs waits for it first, and
    /// throws its error (saving nothing) if nobody has seen it; wait() and the returned
    /// pending_save report the error of this one.
    [[nodiscard("the checkpoint is written in the background: keep the pending_save, or call wait() later")]] pending_save save_async(
        const Model& model, std::uint64_t step, std::optional<double> metric = std::nullopt) {
        static_assert(detail::assert_model_type<Model>());
        if (!saver_) saver_ = std::make_unique<detail::background_saver>();
        saver_->wait_quietly();  // its commit may add a newer checkpoint (its error is thrown by start)
        const std::string path = path_for_new(step);
        return detail::pending_save_access::make(
            saver_->start([&](detail::staging_buffer& staging) { return detail::take_snapshot<policies::mode>(model, path, staging); },
                          [directory = static_cast<const checkpoint_directory&>(*this),
                           attributes = checkpoint_attributes{step, metric}](const detail::model_snapshot& snapshot) {
                              detail::save_snapshot<policies::mode>(snapshot, policies::storage::plan(), attributes);
                              directory.saved(snapshot.path());
                          }));
    }

    /// Waits until the checkpoint save_async is writing, if any, is committed; rethrows its error.
    void wait() {
        if (saver_) saver_->wait();
    }

    /// Loads the newest checkpoint into `model` (h5ser::load_into) and returns its step, or nothing
    /// when there is no checkpoint. Checkpoint files only ever appear complete, so the newest file
    /// is the newest complete checkpoint, whatever moment a previous run was killed at. A newest
    /// checkpoint that fails to load is an error, not silently skipped. A save_async in flight is
    /// waited for first (its error is left for wait()).
    std::optional<std::uint64_t> restore_latest(Model& model) const {
        static_assert(detail::assert_model_type<Model>());
        if constexpr (detail::assert_report_given<detail::checkpoint_load_policies<Policies...>>()) return restore(model, nullptr);
        else return std::nullopt;
    }
    /// restore_latest, saying in `report` what the load skipped (an h5ser::lenient manager must
    /// give one; see h5ser/load_report.hpp). With no checkpoint the report is left as it was.
    std::optional<std::uint64_t> restore_latest(Model& model, load_report& report) const {
        static_assert(detail::assert_model_type<Model>());
        return restore(model, &report);
    }

    /// Every checkpoint in the directory, oldest first.
    [[nodiscard]] std::vector<checkpoint_info> list() const {
        settled();
        return checkpoint_directory::list();
    }
    /// The newest checkpoint, with its metric.
    [[nodiscard]] std::optional<checkpoint_info> latest() const {
        settled();
        return checkpoint_directory::latest();
    }
    /// The checkpoint with the best metric (ties: the newer one).
    [[nodiscard]] std::optional<checkpoint_info> best() const {
        settled();
        return checkpoint_directory::best();
    }
    /// Where checkpoint `step` is saved.
    using checkpoint_directory::metric_attribute;
    using checkpoint_directory::path_for;
    using checkpoint_directory::step_attribute;

private:
    std::optional<std::uint64_t> restore(Model& model, load_report* report) const {
        const auto newest = latest();
        if (!newest) return std::nullopt;
        detail::load_file<detail::checkpoint_load_policies<Policies...>>(model, newest->path, false, {}, {report});
        return newest->step;
    }

    /// Waits for the save_async in flight, whose commit changes the directory (its error is left
    /// for wait() and the next save).
    void settled() const {
        if (saver_) saver_->wait_quietly();
    }

    std::unique_ptr<detail::background_saver> saver_;  // made by the first save_async
};

}  // namespace h5ser
