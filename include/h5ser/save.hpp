// h5ser/save.hpp: h5ser::save, from a C++ struct to an HDF5 file.
#pragma once

#include <string>

#include "h5ser/detail/format/format.hpp"
#include "h5ser/detail/model/model_checks.hpp"
#include "h5ser/detail/save/save_file.hpp"
#include "h5ser/detail/save/saves_in_flight.hpp"
#include "h5ser/policy.hpp"
#include "h5ser/progress.hpp"

namespace h5ser {

/// Saves `model` to `path`, atomically: the file at `path` is replaced only once the new one is
/// complete and on disk, so a crash or an error leaves the previous file as it was.
///
///     h5ser::save(model, "m.h5");                          // every field, plus schema
///     h5ser::save<h5ser::weights_only>(model, "w.h5");     // tensors only
///
/// An h5ser::save_async of the same path still in flight is waited for first, so the file holds
/// this save's model. `progress` (optional) is told the tensor bytes written so far (see
/// h5ser/progress.hpp).
template <class... Policies, class Model>
void save(const Model& model, const std::string& path, const progress_callback& progress = {}) {
    static_assert(detail::assert_model_type<Model>());
    using policies = detail::save_policies<Policies...>;
    static_assert(policies::mode != detail::save_mode::as_saved);
    detail::settle_saves_of(path);
    detail::save_model<policies::mode>(model, path, policies::storage::plan(), detail::no_extra_root_attributes{}, progress);
}

}  // namespace h5ser
