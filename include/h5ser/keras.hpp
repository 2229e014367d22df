// h5ser/keras.hpp: Keras interop (opt-in; link the CMake target h5ser::keras, which adds libzip).
//
//     struct dense { h5ser::tensor<float, 2> kernel; h5ser::tensor<float, 1> bias; };
//     struct mlp { dense hidden; dense out; };
//
//     mlp m;
//     h5ser::keras::load_weights(m, "model.h5");                      // Keras's order rules
//     h5ser::keras::load_weights<h5ser::keras::by_name>(m, "w.h5");   // field names = layer names
//     h5ser::keras::save_weights(m, "for_keras.h5");                  // tf.keras 2.x save_weights layout
//
// How a struct meets a Keras file:
//   - Each top-level field that holds tensors is one Keras layer: a struct of tensors, a single
//     tensor, each element of a std::vector/std::array of those, or each entry of a
//     std::map<std::string, layer> (keyed by layer name). Fields without tensors (hyperparameters,
//     weightless layers) and h5ser::optimizer_state fields are skipped, as Keras skips layers
//     without weights.
//   - Inside a layer, tensors in declaration order (depth first through nested structs) take the
//     layer's weights in the file's order: `weight_names` in legacy files, vars/0, vars/1, ... in
//     Keras 3 stores. Keras lists trainable weights first: Dense (kernel, bias); LSTM (kernel,
//     recurrent_kernel, bias) with gates i, f, c, o; BatchNormalization (gamma, beta, moving_mean,
//     moving_variance); Keras 1 LSTM has 12 tensors (W_i, U_i, b_i, W_c, ..., b_o).
//   - Tensors that are empty take the file's shape; tensors with a shape must match it exactly,
#pragma once

#include "h5ser/keras/load.hpp"   // load_weights, load_optimizer_weights, read_model_config
#include "h5ser/keras/save.hpp"   // save_weights
#include "h5ser/keras/types.hpp"  // by_order, by_name, model_config, save_options, ...
