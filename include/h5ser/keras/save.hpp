// h5ser/keras/save.hpp: writing weights as tf.keras's save_weights does.
#pragma once

#include <string>

#include "h5ser/keras/detail/layers.hpp"
#include "h5ser/keras/detail/writer.hpp"
#include "h5ser/keras/types.hpp"

namespace h5ser::keras {

/// Writes `model`'s weights as tf.keras 2.x `model.save_weights("w.h5")` does: root attributes
/// layer_names, backend, keras_version; one group per layer with weight_names; datasets at
/// <layer>/<weight name> ("dense/dense/kernel:0"). Keras's load_weights (tf.keras 2.x, and Keras 3
/// for files not named .weights.h5) reads it. Atomic like h5ser::save: the previous file survives
/// any failure.
template <class Model>
void save_weights(const Model& model, const std::string& path, const save_options& options = {}) {
    detail::save_layers(detail::collect_layers(model), path, options);
}

}  // namespace h5ser::keras
