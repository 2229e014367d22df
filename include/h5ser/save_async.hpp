// h5ser/save_async.hpp: h5ser::save_async, a save that writes in the background while the caller
// goes on (training, say).
#pragma once

#include <memory>
#include <string>
#include <utility>

#include "h5ser/detail/model/model_checks.hpp"
#include "h5ser/detail/save/background_save.hpp"
#include "h5ser/detail/save/snapshot.hpp"
#include "h5ser/policy.hpp"
#include "h5ser/progress.hpp"

namespace h5ser {

namespace detail {
struct pending_save_access;
}  // namespace detail

/// A save running in the background (h5ser::save_async, checkpoint_manager::save_async).
///
/// Destroying it does not wait and does not cancel: the save goes on. If it fails and nobody
/// calls wait(), the next save_async of the same saver throws that error (and saves nothing),
/// and if there is no next one, the error is written to stderr when the saver is destroyed (at
/// exit for h5ser::save_async, with its checkpoint_manager otherwise): a failure never goes unnoticed.
class pending_save {
public:
    pending_save() = default;

    /// Has the save ended: committed, or failed? Never blocks.
    [[nodiscard]] bool ready() const noexcept { return !job_ || job_->done(); }
    /// Waits until the file is durably committed (as h5ser::save commits: temporary, fsync,
    /// rename, directory fsync); rethrows the save's h5ser::error, every time it is called.
    void wait() const {
        if (job_) job_->wait();
    }
    /// The path being saved.
    [[nodiscard]] const std::string& path() const noexcept {
        static const std::string none;
        return job_ ? job_->path() : none;
    }

private:
    friend struct detail::pending_save_access;
    explicit pending_save(std::shared_ptr<detail::save_job> job) noexcept : job_(std::move(job)) {}
    std::shared_ptr<detail::save_job> job_;
};

namespace detail {
struct pending_save_access {
    static pending_save make(std::shared_ptr<save_job> job) noexcept { return pending_save(std::move(job)); }
};
}  // namespace detail

/// Saves `model` to `path` as h5ser::save does (same policies, same file, byte for byte), but
/// returns as soon as a snapshot of the model is taken: its tensors are copied into staging
/// memory, and a background thread writes the file from the copy. The caller may change or
/// destroy the model at once.
///
///     auto pending = h5ser::save_async<h5ser::weights_only>(model, "epoch-3.h5");
///     train(model);        // meanwhile the file is written
///     pending.wait();      // committed, or throws the save's h5ser::error
///
/// Memory: the staging copy holds every tensor of the model once, and is kept for the next
/// save_async (release_staging_memory() frees it). At most one save is in flight in the process: a
/// save_async while one runs first waits for it (backpressure, never a queue), so peak memory is
/// the model plus one copy of its tensors. Saves that must run in parallel use checkpoint_managers
/// of their own. `progress` is called on the background thread.
///
/// Errors the snapshot finds (a map key HDF5 cannot hold) are thrown here, and so is the error of
/// the previous save_async if nobody waited for it; errors of the write come from wait().
template <class... Policies, class Model>
[[nodiscard("the save runs in the background: keep the pending_save and wait() for it")]] pending_save save_async(
    const Model& model, const std::string& path, const progress_callback& progress = {}) {
    static_assert(detail::assert_model_type<Model>());
    using policies = detail::save_policies<Policies...>;
    static_assert(policies::mode != detail::save_mode::as_saved);
    return detail::pending_save_access::make(detail::process_saver().start(
        [&](detail::staging_buffer& staging) { return detail::take_snapshot<policies::mode>(model, path, staging); },
        [progress](const detail::model_snapshot& snapshot) {
            detail::save_snapshot<policies::mode>(snapshot, policies::storage::plan(), detail::no_extra_root_attributes{}, progress);
        }));
}

/// Waits for the save_async in flight, if any, and rethrows its error if nobody has seen it.
inline void wait_for_saves() { detail::process_saver().wait(); }

/// Waits for the save_async in flight, if any, then frees the staging memory save_async keeps
/// for the next save (as large as the tensors of the last model saved).
inline void release_staging_memory() { detail::process_saver().release_staging(); }

}  // namespace h5ser
