// h5ser/keras/types.hpp: what the Keras interop API takes and returns.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace h5ser::keras {

/// Mapping policies for load_weights.
struct by_order {};  ///< Keras's default: the k-th struct layer takes the k-th file layer with weights
struct by_name {};   ///< struct field names are Keras layer names; file layers the struct lacks are ignored

/// One weight as a Keras file holds it.
struct weight_info {
    std::string name;                ///< "dense_1/kernel:0" (legacy), "vars/0" (Keras 3 store)
    std::string path;                ///< HDF5 path of the dataset
    std::string dtype;               ///< "float32", ...
    std::vector<std::size_t> shape;  ///< C order; empty for a scalar
};

/// One layer, in model order; weightless layers are listed too (with no weights).
struct layer_info {
    std::string name;        ///< Keras layer name
    std::string class_name;  ///< "Dense", "LSTM", ... from the model configuration; "" when the file has none
    std::vector<weight_info> weights;
};

/// What a Keras file says about the model it holds.
struct model_config {
    std::string format;         ///< which Keras layout the file uses
    std::string keras_version;  ///< "2.1.3"; "1" for legacy files that name none (Keras's rule); "" in bare Keras 3 stores
    std::string backend;        ///< "tensorflow", "theano", ...; "" when not recorded
    std::string json;           ///< model_config (legacy .h5) or config.json (.keras); "" for weights-only files
    std::string training_json;  ///< training_config, when saved
    std::vector<layer_info> layers;
    std::vector<weight_info> optimizer_weights;  ///< in the file's order; empty when none were saved
};

/// How save_weights writes the name lists and short strings.
enum class string_encoding {
    fixed_length,     ///< fixed-length ASCII (h5py 2 style): read by every Keras loader, old and new, with any h5py
    variable_length,  ///< variable-length ASCII, what tf.keras with h5py 3 writes
};

struct save_options {
    std::string keras_version = "2.15.0";  ///< recorded as keras_version; Keras converts weights only for "1"
    std::string backend = "tensorflow";
    string_encoding strings = string_encoding::fixed_length;
    /// Layer and weight names to write, e.g. read_model_config(original).layers: layers with
    /// weights pair with the struct's layers in order; weightless layers are written as Keras
    /// does (an empty group). Empty: names come from the struct (layer = field name, weight =
    /// "<layer>/<field>:0").
    std::vector<layer_info> layout;
};

}  // namespace h5ser::keras
