// h5ser/fingerprint.hpp: the fingerprint of a model in memory and of a file on disk, so a server
// can confirm it runs the model it was told to.
#pragma once

#include <string>

#include "h5ser/detail/dataset.hpp"
#include "h5ser/detail/file.hpp"
#include "h5ser/detail/seal.hpp"
#include "h5ser/detail/hash.hpp"
#include "h5ser/detail/walk.hpp"
#include "h5ser/policy.hpp"
#include "h5ser/save.hpp"
#include "h5ser/config.hpp"

namespace h5ser {

namespace detail {

// Hashes the tensors the walk visits, exactly as the file writer does.
class fingerprint_visitor : public ignoring_visitor {
public:
    template <class X>
    void dataset(std::string_view, const X& value, const where& at, bool) {
        std::size_t count = 0;
        const written_tensor t = digest_tensor(value, count);
        builder_.add_tensor(at.h5, dtype_name<typename tensor_adapter<X>::element_type>(), t.dims.data(), t.rank, t.data_hash);
    }

    [[nodiscard]] std::string hex() const { return builder_.hex(); }

private:
    fingerprint_builder builder_;
};

}  // namespace detail

/// The fingerprint `h5ser::save<Policies...>(model, path)` would store in the file's `fingerprint`
/// attribute: XXH3-64 over every stored tensor (path, dtype, shape, element bytes) in field order,
/// as 16 hex digits. Weights-only and full-model fingerprints differ when the model holds
/// optimizer state (weights-only files leave it out).
template <class... Policies, class Model>
[[nodiscard]] std::string fingerprint(const Model& model) {
    static_assert(detail::assert_model_type<Model>());
    using policies = detail::policy_set<full_model, Policies...>;
    detail::fingerprint_visitor visitor;
    detail::walk_fields<policies::mode>(visitor, model, detail::where{{}, {}, "/"});
    return visitor.hex();
}

/// The fingerprint stored in a file h5ser wrote (its `fingerprint` root attribute). Loading with
/// h5ser::verify (the default) already checks it against the tensors it reads.
[[nodiscard]] H5SER_CORE_INLINE std::string file_fingerprint(const std::string& path);

#if H5SER_CORE_DEFINITIONS
// ---- core definitions (compiled once with H5SER_COMPILED_CORE; see h5ser/config.hpp) ----

H5SER_CORE_INLINE std::string file_fingerprint(const std::string& path) {
    detail::quiet_hdf5_errors quiet;
    detail::handle file = detail::open_for_reading(path);
    const detail::where at{path, {}, "/"};
    detail::handle root = detail::checked(H5Gopen2(file.get(), "/", H5P_DEFAULT), at, "cannot open root group");
    auto stored = detail::read_string_attribute(root.get(), "fingerprint", at);
    if (!stored) throw error(path, problem{errc::not_h5ser_file, {}, "/", "root attribute fingerprint", {}, {}});
    return *stored;
}

#endif  // H5SER_CORE_DEFINITIONS

}  // namespace h5ser
