// Loads a real Keras file into its C++ struct with h5ser::keras::load_weights, then writes the
// weights back with h5ser::keras::save_weights (names taken from the original, through
// read_model_config). check_keras_files.py compares both files the way Keras loads them.
//
//     keras_reemit FIXTURE OUT [fixed|variable]
//     keras_reemit --many OUT [fixed|variable]   (6,000 layers: layer_names split into chunks)
#include <h5ser/keras.hpp>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "fixture_models.hpp"

namespace {

template <class Model>
void reemit(const std::string& in, const std::string& out, h5ser::keras::string_encoding strings) {
    Model model;
    h5ser::keras::load_weights(model, in);
    h5ser::keras::save_options options;
    options.layout = h5ser::keras::read_model_config(in).layers;
    options.strings = strings;
    h5ser::keras::save_weights(model, out, options);
}

struct Synthetic {  // check_keras_files.py writes these with h5py, in every string encoding
    fixtures::Dense dense;
    fixtures::Dense out;
};

struct ManyLayers {
    std::vector<fixtures::Dense> layers;
};

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: keras_reemit FIXTURE|--many OUT [fixed|variable]\n");
        return 2;
    }
    const std::string in = argv[1], out = argv[2];
    const auto strings = argc > 3 && std::strcmp(argv[3], "variable") == 0 ? h5ser::keras::string_encoding::variable_length
                                                                           : h5ser::keras::string_encoding::fixed_length;
    const auto is = [&](const char* name) {
        return in.size() >= std::strlen(name) && in.compare(in.size() - std::strlen(name), std::string::npos, name) == 0;
    };
    try {
        if (in == "--many") {
            ManyLayers m;
            for (int i = 0; i < 6000; ++i) {
                fixtures::Dense d{fixtures::f32<2>({1, 2}), fixtures::f32<1>({2})};
                d.kernel(0, 0) = static_cast<float>(i);
                d.bias(1) = static_cast<float>(-i);
                m.layers.push_back(std::move(d));
            }
            h5ser::keras::save_options options;
            options.strings = strings;
            h5ser::keras::save_weights(m, out, options);
        } else if (in.find("synthetic_") != std::string::npos) reemit<Synthetic>(in, out, strings);
        else if (is("k1.2.2_lstm_theano.h5")) reemit<fixtures::K1LstmModel>(in, out, strings);
        else if (is("k2.0.6_lstm.h5") || is("k2.0.6_lstm.weights_only.h5")) reemit<fixtures::LstmModel>(in, out, strings);
        else if (is("k2.1.3_bidirectional_lstm.h5")) reemit<fixtures::BidirectionalModel>(in, out, strings);
        else if (is("k2.1.3_embedding_lstm.h5")) reemit<fixtures::EmbeddingLstmModel>(in, out, strings);
        else if (is("k2.3.1_mlp_sparse_xent.h5")) reemit<fixtures::SoftmaxMlp>(in, out, strings);
        else if (is("tfk2.2.4_conv1d_bn_vlen.h5")) reemit<fixtures::ConvBnModel>(in, out, strings);
        else if (is("k3.14_legacy_mlp_adam.h5") || is("k3_mlp_adam.weights.h5") || is("k2.15_windows_backslash.keras"))
            reemit<fixtures::Mlp3>(in, out, strings);
        else {
            std::fprintf(stderr, "keras_reemit: no struct for %s\n", in.c_str());
            return 2;
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 1;
    }
    return 0;
}
