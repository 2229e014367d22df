// h5ser/keras/load.hpp: loading Keras files (weights, optimizer weights, the model's description).
#pragma once

#include <map>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "h5ser/detail/hdf5/hdf5.hpp"
#include "h5ser/error.hpp"
#include "h5ser/keras/detail/isolated_load.hpp"
#include "h5ser/keras/detail/layers.hpp"
#include "h5ser/keras/detail/loader.hpp"
#include "h5ser/keras/detail/model_config.hpp"
#include "h5ser/keras/detail/reader.hpp"
#include "h5ser/keras/types.hpp"
#include "h5ser/policy.hpp"
#include "h5ser/reflect.hpp"

namespace h5ser::keras {

namespace detail {

template <class P>
constexpr bool is_mapping = std::is_same_v<P, by_order> || std::is_same_v<P, by_name>;
template <class P>
constexpr bool is_trust = std::is_same_v<P, h5ser::trusted> || std::is_same_v<P, h5ser::untrusted>;

/// The policies of a Keras load: the mapping (load_weights only) and the trust.
template <bool TakesMapping, class... P>
struct load_policies {
    static_assert(((is_trust<P> || (TakesMapping && is_mapping<P>)) && ...),
                  "h5ser::keras: load_weights takes h5ser::keras::by_order or h5ser::keras::by_name, and h5ser::trusted or "
                  "h5ser::untrusted; load_optimizer_weights and read_model_config take h5ser::trusted or h5ser::untrusted");
    static_assert(((is_mapping<P> ? 1 : 0) + ... + 0) <= 1, "h5ser::keras: give at most one of by_order and by_name");
    static_assert(((is_trust<P> ? 1 : 0) + ... + 0) <= 1, "h5ser::keras: give at most one of h5ser::trusted and h5ser::untrusted");
    static constexpr bool by_name = (std::is_same_v<P, keras::by_name> || ...);
    // Keras files carry no h5ser seal: parsed in a child unless h5ser::trusted.
    static constexpr auto isolate =
        (std::is_same_v<P, h5ser::trusted> || ...) ? h5ser::detail::isolation::never : h5ser::detail::isolation::always;
    // The parent's load of the child's reply: verified, into memory of the model's own.
    static constexpr bool verify = true;
    static constexpr bool map = false;
};

}  // namespace detail

/// h5ser::keras::load_weights (below), saying in `report` what the load skipped: by_name lists in
/// `unexpected` the file's layers with weights that no field names ("dropout_3 (layer with 2
/// weights)"); a by_order load skips nothing (a layer count that differs is an error). See
/// h5ser/load_report.hpp.
template <class... Policies, class Model>
void load_weights(Model& model, const std::string& path, load_report& report) {
    using policies = detail::load_policies<true, Policies...>;
    report = detail::load_in_place_or_isolated<policies>(model, path,
                                                         [&](Model& target, const progress_callback&) {
                                                             std::vector<std::string> empty_vectors;
                                                             const auto target_layers = detail::collect_layers(target, &empty_vectors);
                                                             h5ser::detail::hdf5_scope hdf5;
                                                             const auto file = detail::open_store(path);
                                                             detail::loader run{file, {}, {}};
                                                             load_report r;
                                                             if constexpr (policies::by_name) detail::load_by_name(run, target_layers, r);
                                                             else detail::load_by_order(run, target_layers, empty_vectors);
                                                             run.problems.throw_if_any(path);
                                                             run.commits.apply_all();
                                                             return r;
                                                         },
                                                         {});
}

/// Loads the weights of a Keras file into `model`: legacy .h5 from Keras 1, 2, tf.keras and
/// Keras 3 (full-model or save_weights files), Keras 3 .weights.h5, and .keras archives.
/// Mapping is by_order (Keras's default) or by_name. Throws h5ser::error listing every mismatch;
/// `model` is unchanged unless everything loads.
///
///     h5ser::keras::load_weights(model, "mlp.h5");
///     h5ser::keras::load_weights<h5ser::keras::by_name>(model, "mlp.weights.h5");
///
/// The file is parsed in a child process, so that a damaged or hostile file cannot crash or hang
/// the program (errc::isolation_failed says what happened); h5ser::trusted parses it in this
/// process. See docs/integrity.md.
template <class... Policies, class Model>
void load_weights(Model& model, const std::string& path) {
    load_report ignored;  // by_name's layers the struct lacks are ignored, as in Keras
    load_weights<Policies...>(model, path, ignored);
}

/// Loads the optimizer weights of a Keras file (legacy `optimizer_weights`, Keras 3
/// `optimizer/vars`) into a struct whose tensors, in declaration order, take them in the file's
/// order. Keras's own order: legacy files list them in weight_names (e.g. Adam: iterations, then
/// all m, then all v, depending on the version); Keras 3 stores: iteration, learning_rate (if a
/// plain float), then per trainable variable its slots (m, v). Scalars are rank-0 tensors.
template <class... Policies, class Optimizer>
void load_optimizer_weights(Optimizer& optimizer, const std::string& path) {
    static_assert(is_reflectable_v<Optimizer>,
                  "h5ser::keras::load_optimizer_weights: the optimizer state must be a plain aggregate struct of tensors");
    using policies = detail::load_policies<false, Policies...>;
    detail::load_in_place_or_isolated<policies>(
        optimizer, path,
        [&](Optimizer& target, const progress_callback&) {
            std::vector<detail::tensor_slot> slots;
            detail::collect_tensors(target, h5ser::detail::where{}, slots);
            h5ser::detail::hdf5_scope hdf5;
            const auto file = detail::open_store(path);
            if (!file.optimizer)
                throw error(path, problem{errc::missing_field,
                                          {},
                                          file.kind == detail::flavour::native ? "/optimizer/vars" : "/optimizer_weights",
                                          "optimizer weights",
                                          "none",
                                          "the model was saved without optimizer state"});
            const auto& saved = *file.optimizer;
            if (saved.size() != slots.size()) {
                std::vector<std::string> fields;
                for (const auto& s : slots) fields.push_back(s.field);
                throw error(path, problem{errc::weight_count_mismatch,
                                          {},
                                          file.kind == detail::flavour::native ? "/optimizer" : "/optimizer_weights",
                                          std::to_string(slots.size()) + " weight(s) (" + detail::name_list(fields) + ")",
                                          std::to_string(saved.size()) + " weight(s)",
                                          "Optimizer weight count mismatch. The optimizer struct expects " + std::to_string(slots.size()) +
                                              " weight(s). Received " + std::to_string(saved.size()) + " saved weight(s)"});
            }
            detail::loader run{file, {}, {}};
            for (std::size_t i = 0; i < slots.size(); ++i) run.load_tensor(slots[i], saved[i], "the optimizer");
            run.problems.throw_if_any(path);
            run.commits.apply_all();
            return load_report{};
        },
        {});
}

/// What a Keras file holds: its layout, versions, configuration JSON, and every layer with the
/// names, shapes and dtypes of its weights, so a program can check the architecture it loads into.
/// Parsed in a child process unless h5ser::trusted (see load_weights).
template <class... Policies>
model_config read_model_config(const std::string& path) {
    using policies = detail::load_policies<false, Policies...>;
    if (h5ser::detail::needs_isolation(policies::isolate, path))
        return h5ser::detail::run_isolated<model_config>(path, [&](const progress_callback&) { return detail::read_config(path); });
    return detail::read_config(path);
}

}  // namespace h5ser::keras
