// h5ser::keras: real Keras files into structs, structs into files Keras loads, and Keras-style errors.
#include <h5ser/keras.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "keras/fixture_models.hpp"
#include "support.hpp"

namespace {

using fixtures::f32;
namespace keras = h5ser::keras;

/// The bytes of a dataset as HDF5 stores them, read with the plain C API: the oracle.
std::vector<unsigned char> raw_bytes(const std::string& file, const std::string& path) {
    const hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    REQUIRE(f >= 0);
    const hid_t d = H5Dopen2(f, path.c_str(), H5P_DEFAULT);
    REQUIRE(d >= 0);
    const hid_t type = H5Dget_type(d);
    const hid_t space = H5Dget_space(d);
    std::vector<unsigned char> bytes(static_cast<std::size_t>(H5Sget_simple_extent_npoints(space)) * H5Tget_size(type));
    REQUIRE(H5Dread(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, bytes.data()) >= 0);
    H5Sclose(space);
    H5Tclose(type);
    H5Dclose(d);
    H5Fclose(f);
    return bytes;
}

template <class T, std::size_t R>
bool equals_dataset(const h5ser::tensor<T, R>& t, const std::string& file, const std::string& path) {
    const auto bytes = raw_bytes(file, path);
    return bytes.size() == t.size_bytes() && (bytes.empty() || std::memcmp(bytes.data(), t.data(), bytes.size()) == 0);
}

std::string message_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const h5ser::error& e) {
        return e.what();
    }
    return "no error";
}

}  // namespace

// ---- real Keras files ---------------------------------------------------------------------------

TEST_CASE("Keras 1.2.2 (Theano): 12-tensor LSTM and Dense load bit for bit, in weight_names order") {
    const auto path = fixtures::keras_fixture("k1.2.2_lstm_theano.h5");
    if (path.empty()) return;
    fixtures::K1LstmModel m;
    keras::load_weights(m, path);
    CHECK(m.lstm_1.W_i.shape() == std::array<std::size_t, 2>{1, 50});
    CHECK(equals_dataset(m.lstm_1.W_i, path, "/model_weights/lstm_1/lstm_1_W_i"));
    CHECK(equals_dataset(m.lstm_1.U_c, path, "/model_weights/lstm_1/lstm_1_U_c"));
    CHECK(equals_dataset(m.lstm_1.b_f, path, "/model_weights/lstm_1/lstm_1_b_f"));
    CHECK(equals_dataset(m.lstm_1.b_o, path, "/model_weights/lstm_1/lstm_1_b_o"));
    CHECK(equals_dataset(m.dense_1.W, path, "/model_weights/dense_1/dense_1_W"));
    CHECK(equals_dataset(m.dense_1.b, path, "/model_weights/dense_1/dense_1_b"));
}

TEST_CASE("Keras 2.0.6: full-model file and save_weights file give the same weights") {
    const auto full = fixtures::keras_fixture("k2.0.6_lstm.h5");
    const auto weights = fixtures::keras_fixture("k2.0.6_lstm.weights_only.h5");
    if (full.empty() || weights.empty()) return;
    fixtures::LstmModel a, b;
    keras::load_weights(a, full);
    keras::load_weights(b, weights);
    CHECK(equals_dataset(a.lstm_1.recurrent_kernel, full, "/model_weights/lstm_1/lstm_1/recurrent_kernel:0"));
    CHECK(equals_dataset(a.dense_1.kernel, full, "/model_weights/dense_1/dense_1/kernel:0"));
    CHECK(equals_dataset(b.lstm_1.bias, weights, "/lstm_1/lstm_1/bias:0"));
    CHECK(test::same_bytes(a.lstm_1.kernel, b.lstm_1.kernel));
    CHECK(test::same_bytes(a.dense_1.bias, b.dense_1.bias));

    fixtures::RMSpropState206 rms;
    keras::load_optimizer_weights(rms, full);
    CHECK(equals_dataset(rms.lstm_recurrent_kernel, full, "/optimizer_weights/Variable_1:0"));
    CHECK(equals_dataset(rms.dense_bias, full, "/optimizer_weights/Variable_4:0"));
}

TEST_CASE("Keras 2.1.3: Bidirectional weights at nested paths, and a single-tensor Embedding layer") {
    const auto bidir = fixtures::keras_fixture("k2.1.3_bidirectional_lstm.h5");
    const auto emb = fixtures::keras_fixture("k2.1.3_embedding_lstm.h5");
    if (bidir.empty() || emb.empty()) return;
    fixtures::BidirectionalModel b;
    keras::load_weights(b, bidir);
    CHECK(
        equals_dataset(b.bidirectional_1.forward.kernel, bidir, "/model_weights/bidirectional_1/bidirectional_1/forward_lstm_1/kernel:0"));
    CHECK(equals_dataset(b.bidirectional_1.backward.bias, bidir, "/model_weights/bidirectional_1/bidirectional_1/backward_lstm_1/bias:0"));
    fixtures::EmbeddingLstmModel e;
    keras::load_weights(e, emb);
    CHECK(equals_dataset(e.embedding_1, emb, "/model_weights/embedding_1/embedding_1/embeddings:0"));
    CHECK(equals_dataset(e.lstm_1.recurrent_kernel, emb, "/model_weights/lstm_1/lstm_1/recurrent_kernel:0"));
}

TEST_CASE("weightless Keras layers are skipped (Activation, InputLayer written as empty float64 arrays)") {
    const auto mlp = fixtures::keras_fixture("k2.3.1_mlp_sparse_xent.h5");
    const auto conv = fixtures::keras_fixture("tfk2.2.4_conv1d_bn_vlen.h5");
    if (mlp.empty() || conv.empty()) return;
    fixtures::SoftmaxMlp m;
    keras::load_weights(m, mlp);
    CHECK(equals_dataset(m.dense_1.kernel, mlp, "/model_weights/dense_1/dense_1/kernel:0"));
    fixtures::ConvBnModel c;  // variable-length name lists (h5py 3)
    keras::load_weights(c, conv);
    CHECK(c.conv1d.kernel.shape() == std::array<std::size_t, 3>{2, 25, 10});
    CHECK(equals_dataset(c.conv1d.kernel, conv, "/model_weights/conv1d/conv1d/kernel:0"));
    CHECK(equals_dataset(c.batch_normalization.moving_variance, conv,
                         "/model_weights/batch_normalization/batch_normalization/moving_variance:0"));
}

TEST_CASE("inside a layer, fields named after the Keras weights map by name, in any order") {
    const auto conv = fixtures::keras_fixture("tfk2.2.4_conv1d_bn_vlen.h5");
    if (conv.empty()) return;
    // Keras saves gamma, beta, moving_mean, moving_variance; this struct declares them otherwise.
    struct ReorderedBn {
        f32<1> moving_variance, gamma, moving_mean, beta;
    };
    struct Reordered {
        fixtures::Conv1D conv1d;
        ReorderedBn batch_normalization;
    };
    const std::string bn = "/model_weights/batch_normalization/batch_normalization/";
    for (const bool by_name : {false, true}) {
        CAPTURE(by_name);
        Reordered r;
        if (by_name) keras::load_weights<keras::by_name>(r, conv);
        else keras::load_weights(r, conv);
        CHECK(equals_dataset(r.batch_normalization.gamma, conv, bn + "gamma:0"));
        CHECK(equals_dataset(r.batch_normalization.beta, conv, bn + "beta:0"));
        CHECK(equals_dataset(r.batch_normalization.moving_mean, conv, bn + "moving_mean:0"));
        CHECK(equals_dataset(r.batch_normalization.moving_variance, conv, bn + "moving_variance:0"));
        // The file's values differ from one another, so a mix-up would show.
        CHECK_FALSE(equals_dataset(r.batch_normalization.gamma, conv, bn + "moving_mean:0"));
    }
    // Some fields named after weights and one not: which rule was meant is unclear, so it is an error.
    struct HalfNamedBn {
        f32<1> gamma, beta, mean, moving_variance;
    };
    struct HalfNamed {
        fixtures::Conv1D conv1d;
        HalfNamedBn batch_normalization;
    } h;
    const auto e = test::expect_error([&] { keras::load_weights(h, conv); });
    CHECK(e.code() == h5ser::errc::missing_field);
    CHECK(e.field_path() == "batch_normalization.mean");
    CHECK_MESSAGE(std::string(e.what()).find("moving_mean") != std::string::npos, e.what());
    CHECK(h.batch_normalization.gamma.size() == 0);  // nothing loaded
    // Fields named otherwise than the weights map by position, as Keras loads.
    struct PositionalBn {
        f32<1> g, b, m, v;
    };
    struct Positional {
        fixtures::Conv1D conv1d;
        PositionalBn batch_normalization;
    } p;
    keras::load_weights(p, conv);
    CHECK(equals_dataset(p.batch_normalization.g, conv, bn + "gamma:0"));
    CHECK(equals_dataset(p.batch_normalization.v, conv, bn + "moving_variance:0"));
}

TEST_CASE("Keras 3: legacy .h5, .weights.h5 and a Keras 2.15 .keras archive, with Adam state") {
    const auto legacy = fixtures::keras_fixture("k3.14_legacy_mlp_adam.h5");
    const auto native = fixtures::keras_fixture("k3_mlp_adam.weights.h5");
    const auto archive = fixtures::keras_fixture("k2.15_windows_backslash.keras");
    if (legacy.empty() || native.empty() || archive.empty()) return;

    fixtures::Mlp3 a;
    keras::load_weights(a, legacy);
    CHECK(equals_dataset(a.dense_1.kernel, legacy, "/model_weights/dense_1/sequential/dense_1/kernel"));
    fixtures::Adam3State adam;
    keras::load_optimizer_weights(adam, legacy);
    CHECK(adam.iteration() == 3000);
    CHECK(equals_dataset(adam.learning_rate, legacy, "/optimizer_weights/adam/learning_rate"));
    CHECK(equals_dataset(adam.layers[1].bias_v, legacy, "/optimizer_weights/adam/sequential_dense_1_bias_velocity"));

    fixtures::Mlp3 b;
    keras::load_weights(b, native);
    CHECK(b.dense.kernel.shape() == std::array<std::size_t, 2>{8, 12});
    CHECK(equals_dataset(b.dense_2.kernel, native, "/layers/dense_2/vars/0"));
    fixtures::Adam3State adam3;
    keras::load_optimizer_weights(adam3, native);
    CHECK(adam3.iteration() == 5850);
    CHECK(equals_dataset(adam3.layers[2].kernel_v, native, "/optimizer/vars/11"));

    fixtures::Mlp3 c;  // layer links named "layers\dense" (Keras 2 on Windows); weights read from memory
    keras::load_weights(c, archive);
    CHECK(c.dense.kernel.shape() == std::array<std::size_t, 2>{12, 64});
    CHECK(c.dense_2.bias.shape() == std::array<std::size_t, 1>{1});
    CHECK(c.dense_2.bias(0) == doctest::Approx(-0.52938).epsilon(1e-5));  // from the fixture's h5py dump
    fixtures::Adam215State adam215;
    keras::load_optimizer_weights(adam215, archive);
    CHECK(adam215.iteration() == 8250);
    CHECK(adam215.layers[2].bias_m(0) == doctest::Approx(-0.01618).epsilon(1e-4));
}

namespace {

/// Every dataset of an HDF5 file by its path without the leading '/', listed with the plain C API: the oracle.
std::vector<std::string> dataset_paths(const std::string& file) {
    const hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    REQUIRE(f >= 0);
    std::vector<std::string> paths;
    const auto visit = [](hid_t, const char* name, const H5O_info_t* info, void* out) -> herr_t {
        if (info->type == H5O_TYPE_DATASET) static_cast<std::vector<std::string>*>(out)->emplace_back(name);
        return 0;
    };
    REQUIRE(H5Ovisit(f, H5_INDEX_NAME, H5_ITER_INC, visit, &paths) >= 0);
    H5Fclose(f);
    std::sort(paths.begin(), paths.end());
    return paths;
}

}  // namespace

TEST_CASE("a map of any_tensor reads every dataset of a Keras file, keyed by its path, and saves the same tree back") {
    using flat = std::map<std::string, h5ser::any_tensor>;
    for (const char* name : {"k2.0.6_lstm.h5", "k2.1.3_bidirectional_lstm.h5", "k3.14_legacy_mlp_adam.h5", "k3_mlp_adam.weights.h5"}) {
        CAPTURE(name);
        const auto path = fixtures::keras_fixture(name);
        if (path.empty()) return;
        // Keras's root attributes are not h5ser's: the file loads as foreign, in the isolated child.
        const flat weights = h5ser::load<flat, h5ser::foreign>(path);
        std::vector<std::string> keys;
        for (const auto& [key, t] : weights) keys.push_back(key);
        REQUIRE(keys == dataset_paths(path));
        for (const auto& entry : weights) {
            CAPTURE(entry.first);
            const auto bytes = raw_bytes(path, "/" + entry.first);
            REQUIRE(bytes.size() == entry.second.size_bytes());
            CHECK(std::memcmp(bytes.data(), entry.second.data(), bytes.size()) == 0);
        }
        // Saved, the keys' paths become groups again: the same datasets at the same places.
        test::scratch_dir dir;
        h5ser::save<h5ser::weights_only>(weights, dir.file("flat.h5"));
        REQUIRE(dataset_paths(dir.file("flat.h5")) == keys);
        for (const auto& key : keys) CHECK(raw_bytes(dir.file("flat.h5"), "/" + key) == raw_bytes(path, "/" + key));
        const flat again = h5ser::load<flat>(dir.file("flat.h5"));
        REQUIRE(again.size() == weights.size());
        for (const auto& [key, t] : weights) CHECK(again.at(key) == t);
    }
}

TEST_CASE("by_name maps field names to Keras layer names, whatever the field order") {
    const auto path = fixtures::keras_fixture("k3.14_legacy_mlp_adam.h5");
    if (path.empty()) return;
    struct Reordered {
        fixtures::Dense dense_2;
        fixtures::Dense dense;
    } m;
    keras::load_weights<keras::by_name>(m, path);
    CHECK(equals_dataset(m.dense_2.kernel, path, "/model_weights/dense_2/sequential/dense_2/kernel"));
    CHECK(equals_dataset(m.dense.bias, path, "/model_weights/dense/sequential/dense/bias"));
    // The layer the struct does not name is left, as Keras leaves it; the report says so, from the
    // isolated child and in place alike; by_order skips nothing.
    for (const bool trusted : {false, true}) {
        decltype(m) again;
        h5ser::load_report report;
        if (trusted) keras::load_weights<keras::by_name, h5ser::trusted>(again, path, report);
        else keras::load_weights<keras::by_name>(again, path, report);
        CHECK(h5ser::to_string(report) == "unexpected: dense_1 (layer with 2 weights)\n");
        CHECK(test::same_bytes(again.dense_2.kernel, m.dense_2.kernel));
    }
    fixtures::Mlp3 all;
    h5ser::load_report report;
    report.unexpected = {"stale"};
    keras::load_weights(all, path, report);
    CHECK(report.complete());

    struct Missing {
        fixtures::Dense dense;
        fixtures::Dense head;
    } missing;
    CHECK(message_of([&] { keras::load_weights<keras::by_name>(missing, path); }) ==
          "h5ser: missing field at head (/model_weights): expected a saved layer named head, found layers dense, dense_1, "
          "dense_2; the save file has no layer of this name [file '" +
              path + "']");
    CHECK(missing.dense.kernel.size() == 0);  // nothing loaded: the load failed as a whole
}

TEST_CASE("read_model_config: versions, configuration JSON, layers with classes, weight names and shapes") {
    const auto path = fixtures::keras_fixture("k2.3.1_mlp_sparse_xent.h5");
    const auto archive = fixtures::keras_fixture("k2.15_windows_backslash.keras");
    if (path.empty() || archive.empty()) return;
    const auto config = keras::read_model_config(path);
    CHECK(config.keras_version == "2.3.1");
    CHECK(config.backend == "tensorflow");
    CHECK(config.json.find("\"class_name\": \"Sequential\"") != std::string::npos);
    CHECK(config.training_json.find("RMSprop") != std::string::npos);
    REQUIRE(config.layers.size() == 2);
    CHECK(config.layers[0].name == "dense_1");
    CHECK(config.layers[0].class_name == "Dense");
    REQUIRE(config.layers[0].weights.size() == 2);
    CHECK(config.layers[0].weights[0].name == "dense_1/kernel:0");
    CHECK(config.layers[0].weights[0].dtype == "float32");
    CHECK(config.layers[0].weights[0].shape == std::vector<std::size_t>{4, 3});
    CHECK(config.layers[1].name == "activation_1");
    CHECK(config.layers[1].class_name == "Activation");
    CHECK(config.layers[1].weights.empty());

    const auto zipped = keras::read_model_config(archive);
    CHECK(zipped.keras_version == "2.15.0");
    CHECK(zipped.json.find("\"class_name\": \"Sequential\"") != std::string::npos);
    REQUIRE(zipped.layers.size() == 3);
    CHECK(zipped.layers[2].name == "dense_2");
    CHECK(zipped.layers[2].class_name == "Dense");
    CHECK(zipped.optimizer_weights.size() == 13);
    CHECK(zipped.optimizer_weights[0].dtype == "int64");
}

// ---- errors that read like Keras's own ------------------------------------------------------------

TEST_CASE("layer count, weight count and shape mismatches: Keras's words plus the C++ field path") {
    const auto path = fixtures::keras_fixture("k2.0.6_lstm.h5");
    if (path.empty()) return;
    const std::string in_file = " [file '" + path + "']";

    struct TooFew {
        fixtures::Dense dense_1;
    } too_few;
    CHECK(message_of([&] { keras::load_weights(too_few, path); }) ==
          "h5ser: layer count mismatch at <root> (/model_weights): expected 1 layers with weights (dense_1), found 2 saved "
          "layers with weights (lstm_1, dense_1); Layer count mismatch when loading weights from file. Model expected 1 layers, "
          "found 2 saved layers." +
              in_file);

    struct WrongLayer {
        fixtures::Dense lstm;  // 2 tensors where the file has 3
        fixtures::Dense head;
    } wrong_layer;
    CHECK(message_of([&] { keras::load_weights(wrong_layer, path); }) ==
          "h5ser: weight count mismatch at lstm (/model_weights/lstm_1): expected 2 weight(s) (lstm.kernel, lstm.bias), found 3 "
          "weight(s) (lstm_1/kernel:0, lstm_1/recurrent_kernel:0, lstm_1/bias:0); Weight count mismatch for layer #0 (named lstm "
          "in the current model, lstm_1 in the save file). Layer expects 2 weight(s). Received 3 saved weight(s)" +
              in_file);

    fixtures::LstmModel sized;
    sized.dense_1.kernel = f32<2>({50, 2});  // the file's kernel is (50, 1)
    const auto before = sized.dense_1.kernel;
    CHECK(message_of([&] { keras::load_weights(sized, path); }) ==
          "h5ser: shape mismatch at dense_1.kernel (/model_weights/dense_1/dense_1/kernel:0): expected float32 (50, 2), found "
          "float32 (50, 1); Shape mismatch in layer #1 (named dense_1) for weight dense_1/kernel:0. Weight expects shape (50, 2). "
          "Received saved weight with shape (50, 1)" +
              in_file);
    CHECK(sized.lstm_1.kernel.size() == 0);  // strong guarantee: the LSTM, which matched, was not loaded either
    CHECK(test::same_bytes(sized.dense_1.kernel, before));

    struct Doubles {
        h5ser::tensor<double, 2> k;
        h5ser::tensor<double, 2> r;
        h5ser::tensor<double, 1> b;
    };
    struct WrongDtype {
        Doubles lstm_1;
        fixtures::Dense dense_1;
    } wrong_dtype;
    const auto dtype_message = message_of([&] { keras::load_weights(wrong_dtype, path); });
    CHECK(dtype_message.find("dtype mismatch at lstm_1.k (/model_weights/lstm_1/lstm_1/kernel:0): expected float64, found float32") !=
          std::string::npos);
}

TEST_CASE("files that are not Keras weights are refused with a clear error") {
    test::scratch_dir dir;
    struct Own {
        f32<1> w;
    };
    h5ser::save(Own{f32<1>({2}, {1, 2})}, dir.file("own.h5"));
    struct Model {
        fixtures::Dense dense;
    } m;
    try {
        keras::load_weights(m, dir.file("own.h5"));
        FAIL("an h5ser file loaded as Keras weights");
    } catch (const h5ser::error& e) {
        CHECK(e.code() == h5ser::errc::not_keras_file);
    }
    // An h5ser model whose top-level group is called `layers`, as a Keras 3 store's is: h5ser's root
    // attributes decide, so it is an h5ser file, not a store of 0 layers.
    struct Layered {
        std::vector<fixtures::Dense> layers;
    };
    Layered layered;
    layered.layers.resize(1);
    layered.layers[0].kernel = f32<2>({2, 3}, {1, 2, 3, 4, 5, 6});
    layered.layers[0].bias = f32<1>({3}, {7, 8, 9});
    h5ser::save(layered, dir.file("layered.h5"));
    const auto refused = test::expect_error([&] { keras::load_weights(m, dir.file("layered.h5")); });
    CHECK(refused.code() == h5ser::errc::not_keras_file);
    CHECK_MESSAGE(std::string(refused.what()).find("an h5ser file") != std::string::npos, refused.what());
    CHECK(std::string(refused.what()).find("saved layers") == std::string::npos);
    CHECK_THROWS_AS(keras::read_model_config(dir.file("layered.h5")), h5ser::error);
    try {
        keras::load_weights(m, dir.file("absent.h5"));
        FAIL("a missing file loaded");
    } catch (const h5ser::error& e) {
        CHECK(e.code() == h5ser::errc::file_not_found);
    }
    std::FILE* f = std::fopen(dir.file("fake.keras").c_str(), "wb");
    std::fputs("PK\x03\x04 not really a zip", f);
    std::fclose(f);
    try {
        keras::load_weights(m, dir.file("fake.keras"));
        FAIL("a broken archive loaded");
    } catch (const h5ser::error& e) {
        CHECK(e.code() == h5ser::errc::not_hdf5);
    }
}

TEST_CASE("a weight path through a soft link is refused, not followed") {
    test::scratch_dir dir;
    const auto path = dir.file("soft.h5");
    struct Model {
        fixtures::Dense dense;
    } m{{f32<2>({1, 1}, {1}), f32<1>({1}, {2})}};
    keras::save_weights(m, path);
    {  // replace dense/dense by a soft link to it
        const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
        REQUIRE(H5Lmove(f, "/dense/dense", f, "/elsewhere", H5P_DEFAULT, H5P_DEFAULT) >= 0);
        REQUIRE(H5Lcreate_soft("/elsewhere", f, "/dense/dense", H5P_DEFAULT, H5P_DEFAULT) >= 0);
        H5Fclose(f);
    }
    Model back;
    try {
        keras::load_weights(back, path);
        FAIL("followed a soft link");
    } catch (const h5ser::error& e) {
        CHECK(e.code() == h5ser::errc::unsafe_file);
        CHECK(e.hdf5_path() == "/dense/dense");
    }
}

// ---- writing files Keras loads ------------------------------------------------------------------

TEST_CASE("save_weights writes the tf.keras layout, load_weights reads it back bit for bit") {
    test::scratch_dir dir;
    struct Block {
        f32<2> kernel;
        h5ser::tensor<h5ser::float16, 1> scale;
        h5ser::tensor<h5ser::bfloat16, 1> shift;
        h5ser::tensor<std::int64_t, 0> step;
        float dropout = 0.5f;  // hyperparameter: not a weight
    };
    struct Model {
        Block encoder;
        std::vector<fixtures::Dense> heads;
    };
    Model m;
    m.encoder.kernel = f32<2>({2, 3}, {1, -0.0f, 3, 4, 5, 6});
    m.encoder.scale = h5ser::tensor<h5ser::float16, 1>({2}, {h5ser::float16(1.5f), h5ser::float16(-2.0f)});
    m.encoder.shift = h5ser::tensor<h5ser::bfloat16, 1>({1}, {h5ser::bfloat16(0.25f)});
    m.encoder.step = h5ser::tensor<std::int64_t, 0>({}, {42});
    m.heads.push_back({f32<2>({3, 1}, {7, 8, 9}), f32<1>({1}, {10})});
    m.heads.push_back({f32<2>({3, 1}, {11, 12, 13}), f32<1>({1}, {14})});
    const auto path = dir.file("w.h5");
    keras::save_weights(m, path);

    const auto config = keras::read_model_config(path);
    CHECK(config.keras_version == "2.15.0");
    CHECK(config.backend == "tensorflow");
    REQUIRE(config.layers.size() == 3);
    CHECK(config.layers[0].name == "encoder");
    CHECK(config.layers[1].name == "heads_0");
    REQUIRE(config.layers[0].weights.size() == 4);
    CHECK(config.layers[0].weights[0].name == "encoder/kernel:0");
    CHECK(config.layers[0].weights[2].dtype == "bfloat16");
    CHECK(config.layers[0].weights[3].shape.empty());  // scalar dataspace
    CHECK(equals_dataset(m.heads[1].kernel, path, "/heads_1/heads_1/kernel:0"));

    Model back;
    // An empty vector stands for no layer: the error names it and says to size it.
    const auto unsized = test::expect_error([&] { keras::load_weights(back, path); });
    CHECK(unsized.code() == h5ser::errc::layer_count_mismatch);
    CHECK(unsized.field_path() == "heads");
    CHECK_MESSAGE(std::string(unsized.what()).find("std::vector heads is empty") != std::string::npos, unsized.what());
    back.heads.resize(2);
    keras::load_weights(back, path);
    CHECK(test::same_bytes(back.encoder.kernel, m.encoder.kernel));
    CHECK(test::same_bytes(back.encoder.scale, m.encoder.scale));
    CHECK(test::same_bytes(back.encoder.shift, m.encoder.shift));
    CHECK(back.encoder.step() == 42);
    CHECK(test::same_bytes(back.heads[1].bias, m.heads[1].bias));

    // Keras's own rules, not h5ser's: the file uses HDF5's earliest format (superblock 0), as Keras does.
    const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    const hid_t fcpl = H5Fget_create_plist(f);
    unsigned super = 99;
    H5Pget_version(fcpl, &super, nullptr, nullptr, nullptr);
    CHECK(super == 0);
    H5Pclose(fcpl);
    H5Fclose(f);
}

TEST_CASE("save_weights with a layout from read_model_config checks the struct against it") {
    test::scratch_dir dir;
    struct Model {
        fixtures::Dense a;
        fixtures::Dense b;
    } m{{f32<2>({1, 2}), f32<1>({2})}, {f32<2>({2, 1}), f32<1>({1})}};
    keras::save_weights(m, dir.file("one.h5"));
    auto options = keras::save_options{};
    options.layout = keras::read_model_config(dir.file("one.h5")).layers;
    options.layout[1].name = "renamed";
    keras::save_weights(m, dir.file("two.h5"), options);
    CHECK(keras::read_model_config(dir.file("two.h5")).layers[1].name == "renamed");

    struct Bigger {
        fixtures::Dense a;
        fixtures::Dense b;
    } bigger{{f32<2>({1, 2}), f32<1>({2})}, {f32<2>({2, 5}), f32<1>({5})}};
    try {
        keras::save_weights(bigger, dir.file("three.h5"), options);
        FAIL("wrote weights that do not fit the layout");
    } catch (const h5ser::error& e) {
        CHECK(e.code() == h5ser::errc::shape_mismatch);
        CHECK(e.field_path() == "b.kernel");
    }
    CHECK_FALSE(std::filesystem::exists(dir.file("three.h5")));
}

// ---- the JSON reader behind read_model_config -----------------------------------------------------

TEST_CASE("Keras's JSON: Python's NaN/Infinity tokens, escapes and surrogate pairs, hostile nesting is refused") {
    using h5ser::keras::detail::parse_json;
    const auto v = parse_json(R"({"a": [1.5, -2e3, NaN, Infinity, -Infinity], "s": "x\"\u00e9\ud83d\ude00", "t": true, "n": null})");
    REQUIRE(v.is_object());
    const auto* a = v.find("a");
    REQUIRE(a);
    REQUIRE(a->items.size() == 5);
    CHECK(a->items[0].number == 1.5);
    CHECK(a->items[1].number == -2000.0);
    CHECK(std::isnan(a->items[2].number));
    CHECK(a->items[3].number == std::numeric_limits<double>::infinity());
    CHECK(a->items[4].number == -std::numeric_limits<double>::infinity());
    CHECK(v.string_at("s") == "x\"\xC3\xA9\xF0\x9F\x98\x80");
    CHECK(v.find("t")->boolean);
    CHECK(v.find("n")->kind == h5ser::detail::json_value::type::null);
    CHECK_THROWS_WITH_AS(parse_json("{\"a\": [1, 2}"), "invalid JSON at byte 11: expected ',' or ']'", std::runtime_error);
    CHECK_THROWS_AS(parse_json(std::string(100000, '[')), std::runtime_error);  // no stack overflow
    CHECK_THROWS_AS(parse_json("\"unterminated"), std::runtime_error);
}

// ---- Keras 3 stores: layer order without name lists ---------------------------------------------

namespace {

/// Writes a Keras 3 .weights.h5 store with raw HDF5 calls, creating the layers in the order given
/// (as Keras's save walk does); each layer gets vars/0 of `sizes[i]` floats, valued i + 1.
void write_native_store(const std::string& path, const std::vector<std::pair<std::string, std::size_t>>& layers) {
    const hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    REQUIRE(f >= 0);
    const hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    for (std::size_t i = 0; i < layers.size(); ++i) {
        const hsize_t n = layers[i].second;
        const std::vector<float> values(n, static_cast<float>(i + 1));
        const hid_t space = H5Screate_simple(1, &n, nullptr);
        const std::string name = "/layers/" + layers[i].first + "/vars/0";
        const hid_t d = H5Dcreate2(f, name.c_str(), H5T_IEEE_F32LE, space, lcpl, H5P_DEFAULT, H5P_DEFAULT);
        REQUIRE(d >= 0);
        H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data());
        H5Dclose(d);
        H5Sclose(space);
    }
    H5Pclose(lcpl);
    H5Fclose(f);
}

}  // namespace

TEST_CASE("Keras 3 stores: layers in the order Keras created them, not HDF5's alphabetical order") {
    test::scratch_dir dir;
    const auto path = dir.file("model.weights.h5");
    write_native_store(path, {{"normalization", 3}, {"dense", 5}});  // alphabetical order would swap them
    struct Model {
        f32<1> normalization;
        f32<1> dense;
    } m;
    keras::load_weights(m, path);
    CHECK(m.normalization.shape() == std::array<std::size_t, 1>{3});
    CHECK(m.normalization(0) == 1.0f);
    CHECK(m.dense.shape() == std::array<std::size_t, 1>{5});
    CHECK(m.dense(4) == 2.0f);
}

TEST_CASE("Keras 3 stores: when creation order contradicts Keras's name counters, by_order refuses and by_name works") {
    test::scratch_dir dir;
    const auto path = dir.file("odd.weights.h5");
    write_native_store(path, {{"dense_1", 2}, {"dense", 4}});
    struct Model {
        f32<1> dense;
        f32<1> dense_1;
    } m;
    try {
        keras::load_weights(m, path);
        FAIL("guessed a layer order");
    } catch (const h5ser::error& e) {
        CHECK(e.code() == h5ser::errc::unsupported_format);
        CHECK(std::string(e.what()).find("cannot tell the layer order of this store; load it by_name") != std::string::npos);
    }
    keras::load_weights<keras::by_name>(m, path);
    CHECK(m.dense.shape() == std::array<std::size_t, 1>{4});
    CHECK(m.dense_1.shape() == std::array<std::size_t, 1>{2});
}
