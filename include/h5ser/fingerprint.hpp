// h5ser/fingerprint.hpp: the fingerprint of a model in memory and of a file on disk, so a server
// can confirm it runs the model it was told to.
#pragma once

#include <string>

#include "h5ser/config.hpp"
#include "h5ser/detail/format/format.hpp"
#include "h5ser/detail/model/model_checks.hpp"
#include "h5ser/detail/save/fingerprint_sink.hpp"
#include "h5ser/detail/save/save_walk.hpp"
#include "h5ser/policy.hpp"

namespace h5ser {

/// The fingerprint `h5ser::save<Policies...>(model, path)` would store in the file's `fingerprint`
/// attribute: XXH3-64 over every stored tensor (path, dtype, shape, element bytes) in field order,
/// as 16 hex digits. Weights-only and full-model fingerprints differ when the model holds
/// optimizer state (weights-only files leave it out).
template <class... Policies, class Model>
[[nodiscard]] std::string fingerprint(const Model& model) {
    static_assert(detail::assert_model_type<Model>());
    using policies = detail::save_policies<Policies...>;
    detail::fingerprint_sink visitor;
    detail::walk_fields<policies::mode>(visitor, model, detail::where{{}, {}, "/"});
    return visitor.hex();
}

/// The fingerprint stored in a file h5ser wrote (its `fingerprint` root attribute). Loading with
/// h5ser::verify (the default) already checks it against the tensors it reads. A file without a
/// seal is read in a child process (docs/integrity.md).
[[nodiscard]] H5SER_CORE_INLINE std::string file_fingerprint(const std::string& path);

}  // namespace h5ser

#if H5SER_CORE_DEFINITIONS
#include "h5ser/detail/load/fingerprint-inl.hpp"
#endif
