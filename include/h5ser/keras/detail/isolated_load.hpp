// h5ser/keras/detail/isolated_load.hpp: the Keras loaders' isolated parse. The child loads a
// Keras file into its copy of the model, exactly as the caller would have, then saves the model
// as a sealed full-model h5ser file into a scratch file; the caller loads that on the trusted
// path (seal, manifest, mapping). (h5ser's own files need no save: the child copies their tree,
// detail/load/load_file.hpp. A Keras file's tree is not the struct's, so its copy would have to be
// loaded by the Keras reader again.)
#pragma once

#include <string>
#include <type_traits>

#include "h5ser/detail/isolation/isolation.hpp"
#include "h5ser/detail/load/load_file.hpp"
#include "h5ser/detail/save/save_file.hpp"
#include "h5ser/load_report.hpp"
#include "h5ser/policy.hpp"
#include "h5ser/progress.hpp"

namespace h5ser::keras::detail {

using h5ser::detail::isolation;

/// Runs `load(model, progress)`, a load of `file` into `model` returning its report, in an
/// isolated child, and moves the result into `model`, verified; returns the child's report.
template <class Model, class Load>
load_report load_isolated(Model& model, const std::string& file, const Load& load, const progress_callback& progress) {
    namespace d = h5ser::detail;
    const d::scratch_file reply(file);
    load_report report = d::run_isolated<load_report>(
        file,
        [&](const progress_callback& child_progress) {
            load_report r = load(model, child_progress);  // the child's copy of the model
            // Every tensor contiguous (none compact), so the reply maps as a sealed original would.
            d::save_model<d::save_mode::full_model>(model, reply.path(), d::save_policies<compact_below<0>>::storage::plan(),
                                                    d::no_extra_root_attributes{}, {}, d::file_target::write_in_place);
            return r;
        },
        progress);
    try {
        d::load_file_once<d::walk_policies<d::save_mode::full_model, false, true, false, false, false>>(model, reply.path(), false, {}, {});
    } catch (const error& e) {
        d::rethrow_for_file(e, file);
    }
    return report;
}

/// Runs `load(model, progress)`, a load of `path` into `model` returning its report, in place, or
/// in a child process (load_isolated) when Policies::isolate says so for this file.
template <class Policies, class Model, class Load>
load_report load_in_place_or_isolated(Model& model, const std::string& path, const Load& load, const progress_callback& progress) {
    if (h5ser::detail::needs_isolation(Policies::isolate, path)) return load_isolated(model, path, load, progress);
    return load(model, progress);
}

}  // namespace h5ser::keras::detail
