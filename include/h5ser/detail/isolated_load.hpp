// h5ser/detail/isolated_load.hpp: loading a model from a file that is parsed in a child process
// (isolation.hpp): h5ser::load of a file h5ser did not seal, and the Keras loaders.
//
// The child loads into its copy of the model, exactly as the caller would have, then writes the
// model as a sealed full-model h5ser file into a memory file; the parent loads that on the trusted
// path (seal, manifest, mapping), so the foreign file is parsed once, by the child, and the parent
// never hands it to libhdf5. The model changes only if both loads succeed, as with every load.
#pragma once

#include <string>
#include <type_traits>

#include "h5ser/detail/file_writer.hpp"
#include "h5ser/detail/isolation.hpp"
#include "h5ser/detail/load_walk.hpp"
#include "h5ser/policy.hpp"
#include "h5ser/progress.hpp"

namespace h5ser::detail {

/// Runs `load(model, progress)`, a load of `file` into `model`, in an isolated child, and moves
/// the result into `model`. The parent's load of the child's reply verifies and maps (or copies)
/// as `Policies` (a policy_set_of) say.
template <class Policies, class Model, class Load>
void load_isolated(Model& model, const std::string& file, const Load& load, const progress_callback& progress) {
    const scratch_file reply(file);
    run_isolated<void>(
        file,
        [&](const progress_callback& child_progress) {
            load(model, child_progress);  // the child's copy of the model
            save_model<save_mode::full_model>(model, reply.path(), save_policies<>::storage::plan(), no_extra_root_attributes{}, {},
                                              file_target::write_in_place);
        },
        progress);
    using reply_policies = load_policies<full_model, std::conditional_t<Policies::verify, h5ser::verify, no_verify>,
                                         std::conditional_t<Policies::map, mapped_memory, owned_memory>, trusted>;
    try {
        load_model<reply_policies>(model, reply.path(), false, {});
    } catch (const error& e) {
        rethrow_for_file(e, file);
    }
}

/// Runs `load(model, progress)`, a load of `path` into `model`, in place, or in a child process
/// (load_isolated) when Policies::isolate says so for this file.
template <class Policies, class Model, class Load>
void load_in_place_or_isolated(Model& model, const std::string& path, const Load& load, const progress_callback& progress) {
    if (needs_isolation(Policies::isolate, path)) load_isolated<Policies>(model, path, load, progress);
    else load(model, progress);
}

/// Loads `path` into `model` under `Policies` (`fresh_model`: h5ser::load's default-constructed
/// one), in a child process when Policies::isolate says so for this file.
template <class Policies, class Model>
void load_file(Model& model, const std::string& path, bool fresh_model, const progress_callback& progress) {
    load_in_place_or_isolated<Policies>(
        model, path, [&](Model& target, const progress_callback& p) { load_model<Policies>(target, path, fresh_model, p); }, progress);
}

}  // namespace h5ser::detail
