// The structs `h5ser ls FILE --cpp` printed for real Keras files (generated at build time into
// keras_structs/) load those files: every layer's weights, and the optimizer's, strictly (each
// shape and element type checked), and the bytes equal the file's datasets.
#include <h5ser/keras.hpp>

#include <hdf5.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

// Each generated header defines Model (and Optimizer): one namespace per file. Its #includes were
// included above, so they add nothing inside the namespace.
namespace mlp3 {
#include "k3_mlp_adam_weights_h5.hpp"
}  // namespace mlp3
namespace legacy {
#include "k3_14_legacy_mlp_adam_h5.hpp"
}  // namespace legacy
namespace conv_bn {
#include "tfk2_2_4_conv1d_bn_vlen_h5.hpp"
}  // namespace conv_bn
namespace bidirectional {
#include "k2_1_3_bidirectional_lstm_h5.hpp"
}  // namespace bidirectional

namespace {

int failures = 0;

/// The bytes of every tensor of `value`, in declaration order (depth first).
template <class T>
void append_bytes(const T& value, std::vector<std::string>& out) {
    h5ser::for_each_field(value, [&](std::string_view, const auto& field) {
        out.emplace_back(reinterpret_cast<const char*>(field.data()), field.size() * sizeof(*field.data()));
    });
}

template <class Layers>
void all_tensor_bytes(const Layers& layers, std::vector<std::string>& out) {
    h5ser::for_each_field(layers, [&](std::string_view, const auto& layer) { append_bytes(layer, out); });
}

/// The bytes of dataset `path` of `file`.
std::string dataset_bytes(const std::string& file, const std::string& path) {
    const hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    const hid_t d = H5Dopen2(f, path.c_str(), H5P_DEFAULT);
    const hid_t t = H5Dget_type(d);
    std::string bytes;
    bytes.resize(static_cast<std::size_t>(H5Sget_simple_extent_npoints(H5Dget_space(d))) * H5Tget_size(t));
    if (!bytes.empty()) H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, bytes.data());
    H5Tclose(t);
    H5Dclose(d);
    H5Fclose(f);
    return bytes;
}

template <class Model, class Optimizer>
void check(const char* name) {
    const std::string path = std::string(H5SER_FIXTURES_DIR) + "/keras/" + name;
    try {
        Model model;
        h5ser::keras::load_weights<h5ser::trusted>(model, path);
        std::vector<std::string> loaded;
        all_tensor_bytes(model, loaded);
        std::vector<std::string> saved;
        const auto config = h5ser::keras::read_model_config<h5ser::trusted>(path);
        for (const auto& layer : config.layers)
            for (const auto& w : layer.weights) saved.push_back(dataset_bytes(path, w.path));
        std::size_t optimizer = 0;
        if constexpr (!std::is_same_v<Optimizer, void>) {
            Optimizer state;
            h5ser::keras::load_optimizer_weights<h5ser::trusted>(state, path);
            append_bytes(state, loaded);
            for (const auto& w : config.optimizer_weights) saved.push_back(dataset_bytes(path, w.path));
            optimizer = config.optimizer_weights.size();
        }
        if (loaded != saved) {
            std::printf("FAIL %s: the loaded tensors differ from the file's datasets (%zu loaded, %zu saved)\n", name, loaded.size(),
                        saved.size());
            ++failures;
            return;
        }
        std::printf("ok   %s: %zu tensors (%zu of the optimizer) as the file holds them\n", name, loaded.size(), optimizer);
    } catch (const std::exception& e) {
        std::printf("FAIL %s: %s\n", name, e.what());
        ++failures;
    }
}

}  // namespace

int main() {
    check<mlp3::Model, mlp3::Optimizer>("k3_mlp_adam.weights.h5");
    check<legacy::Model, legacy::Optimizer>("k3.14_legacy_mlp_adam.h5");
    check<conv_bn::Model, void>("tfk2.2.4_conv1d_bn_vlen.h5");
    check<bidirectional::Model, void>("k2.1.3_bidirectional_lstm.h5");
    return failures == 0 ? 0 : 1;
}
