// h5ser/load.hpp: h5ser::load and h5ser::load_into, from an HDF5 file to a C++ struct.
#pragma once

#include <string>
#include <type_traits>
#include <utility>

#include "h5ser/detail/format/format.hpp"
#include "h5ser/detail/load/load_file.hpp"
#include "h5ser/detail/load/load_walk.hpp"
#include "h5ser/detail/model/model_checks.hpp"
#include "h5ser/load_report.hpp"
#include "h5ser/policy.hpp"
#include "h5ser/progress.hpp"

namespace h5ser {

/// A fingerprint known apart from the file, which a load checks the tensors it reads against,
/// beside the file's own: one published with the file, or the h5ser::file_fingerprint of the h5ser
/// file a .safetensors file was converted from (a format that keeps no checksums, and whose
/// `__metadata__` anyone can rewrite; docs/safetensors.md). 16 hex digits, as h5ser::fingerprint
/// and `h5ser verify` give them.
///
///     auto model = h5ser::load<Gpt2>("gpt2.safetensors", h5ser::verify_with("0e0ea2f0d103420c"));
///
/// The load reads and hashes every tensor of the file, so it is strict and verified
/// (h5ser::lenient and h5ser::no_verify do not compile with it), and fails with
/// errc::checksum_mismatch, changing nothing, when their fingerprint is another.
class verify_with {
public:
    explicit verify_with(std::string fingerprint) : fingerprint_(std::move(fingerprint)) {}
    [[nodiscard]] const std::string& fingerprint() const noexcept { return fingerprint_; }

private:
    std::string fingerprint_;
};

namespace detail {
/// Whether a load under `Policies` can check an h5ser::verify_with fingerprint (false, after the error).
template <class Policies>
constexpr bool assert_checks_every_tensor() {
    static_assert(!Policies::lenient && Policies::verify,
                  "h5ser::verify_with checks the fingerprint of every tensor of the file: load strictly and verified "
                  "(without h5ser::lenient and h5ser::no_verify)");
    return !Policies::lenient && Policies::verify;
}
}  // namespace detail

/// Loads a model from `path` into a new `Model`.
///
///     auto model = h5ser::load<Mlp>("m.h5");
///
/// Strict by default: one h5ser::error lists every missing field, unexpected object, shape and dtype
/// mismatch. A sealed format-2 file is mapped: its contiguous tensors are views of the mapping,
/// verified before the model is returned (h5ser::owned_memory copies them instead; see
/// docs/performance.md for what mapping adds). A file h5ser did not seal (written by h5py, or by
/// h5ser before seals) is parsed in a child process, so that a damaged one cannot crash or hang
/// the program (h5ser::trusted skips that; see docs/integrity.md). `progress` (optional) is
/// told the file's bytes read so far (see h5ser/progress.hpp). A lenient load takes a report.
template <class Model, class... Policies>
[[nodiscard]] Model load(const std::string& path, const progress_callback& progress = {}) {
    static_assert(detail::assert_model_type<Model>());
    static_assert(std::is_default_constructible_v<Model>, "h5ser::load<Model>: Model must be default-constructible");
    Model model{};
    if constexpr (detail::assert_report_given<detail::load_policies<Policies...>>())
        detail::load_file<detail::load_policies<Policies...>>(model, path, true, progress);
    return model;
}

/// h5ser::load, checking the tensors against a fingerprint known apart from the file (h5ser::verify_with).
template <class Model, class... Policies>
[[nodiscard]] Model load(const std::string& path, const verify_with& expected, const progress_callback& progress = {}) {
    static_assert(detail::assert_model_type<Model>());
    static_assert(std::is_default_constructible_v<Model>, "h5ser::load<Model>: Model must be default-constructible");
    Model model{};
    if constexpr (detail::assert_checks_every_tensor<detail::load_policies<Policies...>>())
        detail::load_file<detail::load_policies<Policies...>>(
            model, path, true, progress, {nullptr, true, true, detail::given_fingerprint(expected.fingerprint(), path)});
    return model;
}

/// h5ser::load, saying in `report` what the load skipped (h5ser::lenient: fields the file lacks,
/// objects the struct lacks; see h5ser/load_report.hpp):
///
///     h5ser::load_report report;
///     auto model = h5ser::load<Mlp, h5ser::lenient>("old.h5", report);
template <class Model, class... Policies>
[[nodiscard]] Model load(const std::string& path, const progress_callback& progress, load_report& report) {
    static_assert(detail::assert_model_type<Model>());
    static_assert(std::is_default_constructible_v<Model>, "h5ser::load<Model>: Model must be default-constructible");
    Model model{};
    detail::load_file<detail::load_policies<Policies...>>(model, path, true, progress, {&report});
    return model;
}
template <class Model, class... Policies>
[[nodiscard]] Model load(const std::string& path, load_report& report) {
    return load<Model, Policies...>(path, progress_callback{}, report);
}

/// Fills an existing model from `path`. Tensors that already have a shape must match the file;
/// empty ones take the file's shape. Fields a weights-only file does not hold keep their values.
/// On any error the model is left exactly as it was.
template <class... Policies, class Model>
void load_into(Model& model, const std::string& path, const progress_callback& progress = {}) {
    static_assert(detail::assert_model_type<Model>());
    if constexpr (detail::assert_report_given<detail::load_policies<Policies...>>())
        detail::load_file<detail::load_policies<Policies...>>(model, path, false, progress);
}

/// h5ser::load_into, checking the tensors against a fingerprint known apart from the file (h5ser::verify_with).
template <class... Policies, class Model>
void load_into(Model& model, const std::string& path, const verify_with& expected, const progress_callback& progress = {}) {
    static_assert(detail::assert_model_type<Model>());
    if constexpr (detail::assert_checks_every_tensor<detail::load_policies<Policies...>>())
        detail::load_file<detail::load_policies<Policies...>>(
            model, path, false, progress, {nullptr, true, true, detail::given_fingerprint(expected.fingerprint(), path)});
}

/// h5ser::load_into, saying in `report` what the load skipped (see h5ser/load_report.hpp).
template <class... Policies, class Model>
void load_into(Model& model, const std::string& path, const progress_callback& progress, load_report& report) {
    static_assert(detail::assert_model_type<Model>());
    detail::load_file<detail::load_policies<Policies...>>(model, path, false, progress, {&report});
}
template <class... Policies, class Model>
void load_into(Model& model, const std::string& path, load_report& report) {
    load_into<Policies...>(model, path, progress_callback{}, report);
}

/// The report h5ser::load<Model, Policies...>(path, report) would give, from the file's metadata
/// alone: the same checks of every field's presence, kind, dtype and shape, the same renames, the
/// same errors, but no tensor data is read, so checksums and the fingerprint are not checked. A
/// sealed file is planned from its manifest; another is parsed in a child, as its load would be.
///
///     const auto report = h5ser::plan_load<Model, h5ser::lenient>("old.h5");
///     if (!report.complete()) ...  // decide before loading gigabytes
template <class Model, class... Policies>
[[nodiscard]] load_report plan_load(const std::string& path) {
    static_assert(detail::assert_model_type<Model>());
    static_assert(std::is_default_constructible_v<Model>, "h5ser::plan_load<Model>: Model must be default-constructible");
    return detail::plan_file<detail::load_policies<Policies...>, Model>(path);
}

}  // namespace h5ser
