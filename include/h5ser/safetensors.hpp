// h5ser/safetensors.hpp: writes Hugging Face's .safetensors format. Reading needs nothing from here:
// h5ser::load and h5ser::load_into recognise a .safetensors file by its content
// (docs/safetensors.md).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "h5ser/detail/model/model_checks.hpp"
#include "h5ser/detail/safetensors/tree.hpp"
#include "h5ser/detail/safetensors/writer.hpp"
#include "h5ser/detail/save/saves_in_flight.hpp"
#include "h5ser/error.hpp"
#include "h5ser/progress.hpp"

namespace h5ser::safetensors {

/// The `__metadata__` of a file: string keys and values.
using metadata = std::vector<std::pair<std::string, std::string>>;

/// Saves the tensors of `model` (what h5ser::weights_only saves: no hyperparameters, no optimizer
/// state; the format holds tensors only) as the .safetensors file `path`, atomically as every h5ser
/// save. Each tensor is named by its field path joined with '.' (field `h[0].attn.c_attn.weight`
/// is "h.0.attn.c_attn.weight"), or by its key when `model` is a map of tensors; its bytes are
/// written as they are, in field order. `extra` becomes the file's `__metadata__` (by default
/// {"format": "pt"}, which Hugging Face's loaders look for), with h5ser's fingerprint of the
/// tensors added as "h5ser.fingerprint", which loads and `h5ser verify` check. `progress`: tensor
/// bytes written.
///
///     h5ser::safetensors::save(model, "model.safetensors");
///     const auto back = h5ser::load<Model>("model.safetensors");  // the same bytes, the fingerprint checked
template <class Model>
void save(const Model& model, const std::string& path, metadata extra = {{"format", "pt"}}, const progress_callback& progress = {}) {
    static_assert(detail::assert_model_type<Model>());
    for (const auto& entry : extra)
        if (entry.first == detail::safetensors::fingerprint_key)
            throw error(path, problem{errc::invalid_value,
                                      {},
                                      "__metadata__." + entry.first,
                                      "a key of your own",
                                      "h5ser's key for the fingerprint",
                                      "h5ser writes the fingerprint of the tensors it saves itself"});
    detail::settle_saves_of(path);
    detail::safetensors::tensor_collector tensors(detail::safetensors::takes_whole_names<Model>());
    detail::walk_fields<detail::save_mode::weights_only>(tensors, model, detail::where{path, {}, "/"});
    extra.emplace_back(detail::safetensors::fingerprint_key, tensors.fingerprint());
    detail::safetensors::write_file(path, tensors.tensors(), extra, progress);
}

}  // namespace h5ser::safetensors
