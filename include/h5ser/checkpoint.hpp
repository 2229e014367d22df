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
#include <optional>
#include <string>
#include <vector>

#include "h5ser/config.hpp"
#include "h5ser/detail/attribute.hpp"
#include "h5ser/detail/format.hpp"
#include "h5ser/load.hpp"
#include "h5ser/save.hpp"

namespace h5ser {

struct checkpoint_options {
    std::size_t keep_last = 5;      ///< the newest N checkpoints are kept (0: keep every checkpoint)
    std::size_t keep_best = 0;      ///< the N best by metric are kept too, however old
    bool higher_is_better = false;  ///< false: a lower metric is better (a loss); true: accuracy and such
};

struct checkpoint_info {
    std::uint64_t step = 0;
    std::string path;
    std::optional<double> metric;  ///< stored in the file as the root attribute h5ser_checkpoint_metric
};

}  // namespace h5ser

#include "h5ser/detail/checkpoint_directory.hpp"  // needs the two structs above

namespace h5ser {

/// Saves checkpoints as `<directory>/ckpt-<step, 6+ digits>.h5`, each written atomically, keeps the
/// newest `keep_last` and the best `keep_best` and deletes the others, and updates the text file
/// `<directory>/latest` (the newest checkpoint's file name) atomically. Policies are those of
/// h5ser::save and h5ser::load_into (full model by default: resuming needs the optimizer state).
template <class Model, class... Policies>
class checkpoint_manager : private detail::checkpoint_directory {
public:
    explicit checkpoint_manager(std::string directory, checkpoint_options options = {})
        : checkpoint_directory(std::move(directory), options) {}

    /// Saves `model` as checkpoint `step`; returns its path. Once it returns, the checkpoint is on
    /// disk; a crash at any moment leaves every earlier checkpoint intact.
    std::string save(const Model& model, std::uint64_t step, std::optional<double> metric = std::nullopt) {
        static_assert(detail::assert_model_type<Model>());
        using policies = detail::policy_set<full_model, Policies...>;
        const std::string path = path_for(step);
        detail::save_model<policies::mode>(model, path, policies::storage::plan(), [&](hid_t root, const detail::where& at) {
            detail::write_attribute(root, step_attribute, step, at);
            if (metric) detail::write_attribute(root, metric_attribute, *metric, at);
        });
        saved(path);
        return path;
    }

    /// Loads the newest checkpoint into `model` (h5ser::load_into) and returns its step, or nothing
    /// when there is no checkpoint. Checkpoint files only ever appear complete, so the newest file
    /// is the newest complete checkpoint, whatever moment a previous run was killed at. A newest
    /// checkpoint that fails to load is an error, not silently skipped.
    std::optional<std::uint64_t> restore_latest(Model& model) const {
        const auto newest = latest();
        if (!newest) return std::nullopt;
        load_into<Policies...>(model, newest->path);
        return newest->step;
    }

    /// Every checkpoint in the directory, oldest first.
    using checkpoint_directory::list;
    /// The newest checkpoint, with its metric.
    using checkpoint_directory::latest;
    /// The checkpoint with the best metric (ties: the newer one).
    using checkpoint_directory::best;
    /// Where checkpoint `step` is saved.
    using checkpoint_directory::path_for;
    using checkpoint_directory::step_attribute;
    using checkpoint_directory::metric_attribute;
};

}  // namespace h5ser
