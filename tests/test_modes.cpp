// Full-model vs weights-only files, optimizer state, lenient loading, the schema.
#include <map>
#include <string>
#include <vector>

#include "support.hpp"

namespace {
struct Dense {
    h5ser::tensor<float, 2> kernel;
    h5ser::tensor<float, 1> bias;
    int units = 0;
    std::string activation = "relu";
};
struct Moments {
    h5ser::tensor<float, 2> m;
    std::int64_t step = 0;
};
struct Model {
    Dense layer_1;
    std::vector<Dense> blocks;
    float learning_rate = 0.01f;
    h5ser::optimizer_state<Moments> adam;
};
Model make_model() {
    Model m;
    m.layer_1 = {h5ser::tensor<float, 2>({2, 3}, {1, 2, 3, 4, 5, 6}), h5ser::tensor<float, 1>({3}, {7, 8, 9}), 3, "tanh"};
    m.blocks = {{h5ser::tensor<float, 2>({1, 1}, {0.5f}), h5ser::tensor<float, 1>({1}, {-1}), 1, "gelu"}};
    m.learning_rate = 0.125f;
    m.adam->m = h5ser::tensor<float, 2>({2, 3}, {6, 5, 4, 3, 2, 1});
    m.adam->step = 40;
    return m;
}
std::vector<std::string> paths(const h5ser::file_node& node) {
    std::vector<std::string> out;
    for (const auto& a : node.attributes) out.push_back((node.path == "/" ? "/@" : node.path + "/@") + a.name);
    for (const auto& c : node.children) {
        out.push_back(c.path);
        for (auto& p : paths(c)) out.push_back(std::move(p));
    }
    return out;
}
bool has(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }
}  // namespace

TEST_CASE("a full-model file holds every field, the schema and the root attributes") {
    test::scratch_dir dir;
    const Model saved = make_model();
    h5ser::save(saved, dir.file("full.h5"));
    const auto tree = paths(h5ser::inspect(dir.file("full.h5")));
    for (const char* p : {"/@h5ser_format_version", "/@h5ser_version", "/@h5ser_mode", "/@model_type", "/@schema", "/@fingerprint",
                          "/@learning_rate", "/layer_1/kernel", "/layer_1/@units", "/blocks/0/bias", "/adam/m", "/adam/@step"})
        CHECK_MESSAGE(has(tree, p), p);

    const auto loaded = h5ser::load<Model>(dir.file("full.h5"));
    CHECK(test::same_bytes(loaded.adam->m, saved.adam->m));
    CHECK(loaded.adam->step == 40);
    CHECK(loaded.learning_rate == 0.125f);
    CHECK(loaded.blocks.at(0).activation == "gelu");
}

TEST_CASE("the schema describes the field tree with kinds, dtypes and shapes") {
    test::scratch_dir dir;
    h5ser::save(make_model(), dir.file("full.h5"));
    std::string schema;
    for (const auto& a : h5ser::inspect(dir.file("full.h5")).attributes)
        if (a.name == "model_type") CHECK(test::contains(a.value, "::Model\""));  // GCC and Clang name anonymous namespaces differently
    // Read the whole attribute (inspect abbreviates long strings).
    const hid_t f = H5Fopen(dir.file("full.h5").c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    const hid_t attr = H5Aopen(f, "schema", H5P_DEFAULT);
    const hid_t type = H5Aget_type(attr);
    char* text = nullptr;
    REQUIRE(H5Aread(attr, type, &text) >= 0);
    schema = text;
    H5free_memory(text);
    H5Tclose(type);
    H5Aclose(attr);
    H5Fclose(f);
    CHECK(test::contains(schema, R"(::Dense","fields":{"kernel":{"kind":"dataset","dtype":"float32","shape":[2,3]})"));
    CHECK(test::contains(schema, R"("units":{"kind":"attribute","dtype":"int32"})"));
    CHECK(test::contains(schema, R"("blocks":{"kind":"sequence","length":1,"elements":{"0":)"));
    CHECK(test::contains(schema, R"("adam":{"optimizer_state":true,"kind":"group")"));
}

TEST_CASE("a weights-only file holds tensors only: no attributes, no optimizer state") {
    test::scratch_dir dir;
    h5ser::save<h5ser::weights_only>(make_model(), dir.file("w.h5"));
    const auto tree = paths(h5ser::inspect(dir.file("w.h5")));
    CHECK(has(tree, "/layer_1/kernel"));
    CHECK(has(tree, "/blocks/0/kernel"));
    CHECK(has(tree, "/@fingerprint"));
    CHECK(has(tree, "/@h5ser_mode"));
    CHECK_FALSE(has(tree, "/adam"));
    CHECK_FALSE(has(tree, "/layer_1/@units"));
    CHECK_FALSE(has(tree, "/@learning_rate"));
    CHECK_FALSE(has(tree, "/@schema"));
}

TEST_CASE("load_into from a weights-only file replaces tensors and keeps everything else") {
    test::scratch_dir dir;
    h5ser::save<h5ser::weights_only>(make_model(), dir.file("w.h5"));
    Model target;
    target.layer_1.units = 77;
    target.learning_rate = 3.0f;
    target.adam->step = 5;
    target.blocks.resize(1);
    target.blocks[0].activation = "mine";
    h5ser::load_into(target, dir.file("w.h5"));
    CHECK(test::same_bytes(target.layer_1.kernel, make_model().layer_1.kernel));
    CHECK(test::same_bytes(target.blocks[0].bias, make_model().blocks[0].bias));
    CHECK(target.layer_1.units == 77);
    CHECK(target.learning_rate == 3.0f);
    CHECK(target.adam->step == 5);
    CHECK(target.adam->m.empty());
    CHECK(target.blocks[0].activation == "mine");
}

TEST_CASE("load<Model> of a weights-only file is refused, since hyperparameters would be silently defaulted") {
    test::scratch_dir dir;
    h5ser::save<h5ser::weights_only>(make_model(), dir.file("w.h5"));
    const auto e = test::expect_error([&] { (void)h5ser::load<Model>(dir.file("w.h5")); });
    CHECK(e.code() == h5ser::errc::mode_mismatch);
    CHECK(test::contains(e.what(), "h5ser::load_into(model, path)"));
    const auto e2 = test::expect_error([&] { (void)h5ser::load<Model, h5ser::full_model>(dir.file("w.h5")); });
    CHECK(e2.code() == h5ser::errc::mode_mismatch);

    struct OnlyTensors {  // nothing a weights-only file leaves out: load<T> is fine
        h5ser::tensor<float, 2> kernel;
    };
    h5ser::save<h5ser::weights_only>(OnlyTensors{h5ser::tensor<float, 2>({1, 2}, {1, 2})}, dir.file("t.h5"));
    CHECK(h5ser::load<OnlyTensors>(dir.file("t.h5")).kernel(0, 1) == 2.0f);
}

TEST_CASE("loading weights_only from a full-model file reads the tensors only") {
    test::scratch_dir dir;
    h5ser::save(make_model(), dir.file("full.h5"));
    Model target;
    target.layer_1.units = 1;
    h5ser::load_into<h5ser::weights_only>(target, dir.file("full.h5"));
    CHECK(target.layer_1.units == 1);
    CHECK(test::same_bytes(target.layer_1.kernel, make_model().layer_1.kernel));
    CHECK(target.adam->m.empty());
}

namespace {
struct Adam2 {
    h5ser::tensor<float, 1> v;
};
}  // namespace
template <>
struct h5ser::is_optimizer_state<Adam2> : std::true_type {};
namespace {
struct Marked {
    h5ser::tensor<float, 1> w;
    Adam2 state;  // marked through the trait, no wrapper
};
}  // namespace

TEST_CASE("optimizer state can be marked by specializing is_optimizer_state") {
    test::scratch_dir dir;
    h5ser::save<h5ser::weights_only>(Marked{h5ser::tensor<float, 1>({1}, {1}), {h5ser::tensor<float, 1>({1}, {2})}}, dir.file("w.h5"));
    CHECK_FALSE(has(paths(h5ser::inspect(dir.file("w.h5"))), "/state"));
    h5ser::save(Marked{h5ser::tensor<float, 1>({1}, {1}), {h5ser::tensor<float, 1>({1}, {2})}}, dir.file("f.h5"));
    CHECK(h5ser::load<Marked>(dir.file("f.h5")).state.v(0) == 2.0f);
}

namespace {
struct V1 {
    h5ser::tensor<float, 1> w;
    int units = 0;
};
struct V2 {  // a later version of the struct: one field more, one field renamed away
    h5ser::tensor<float, 1> w;
    h5ser::tensor<float, 1> new_bias;
    int new_setting = 5;
};
}  // namespace

TEST_CASE("lenient loading keeps in-memory values for missing fields and ignores removed ones") {
    test::scratch_dir dir;
    h5ser::save(V1{h5ser::tensor<float, 1>({2}, {1, 2}), 3}, dir.file("v1.h5"));
    const auto strict = test::expect_error([&] { (void)h5ser::load<V2>(dir.file("v1.h5")); });
    CHECK(strict.problems().size() == 3);  // new_bias and new_setting missing, units unexpected

    V2 target;
    target.new_bias = h5ser::tensor<float, 1>({1}, {9});
    h5ser::load_report report;
    h5ser::load_into<h5ser::lenient>(target, dir.file("v1.h5"), report);
    CHECK(h5ser::to_string(report) ==
          "missing: new_bias (dataset float32)\nmissing: new_setting (attribute int32)\nunexpected: units (attribute)\n");
    CHECK(target.w(1) == 2.0f);
    CHECK(target.new_bias(0) == 9.0f);
    CHECK(target.new_setting == 5);

    // Lenient still refuses wrong shapes and dtypes.
    struct V3 {
        h5ser::tensor<double, 1> w;
    };
    const auto e = test::expect_error([&] { (void)h5ser::load<V3, h5ser::lenient>(dir.file("v1.h5"), report); });
    CHECK(e.code() == h5ser::errc::dtype_mismatch);
}

TEST_CASE("sized containers must match the file, empty ones take its size") {
    test::scratch_dir dir;
    h5ser::save(make_model(), dir.file("full.h5"));
    Model two_blocks = make_model();
    two_blocks.blocks.resize(2);
    const auto e = test::expect_error([&] { h5ser::load_into(two_blocks, dir.file("full.h5")); });
    CHECK(e.code() == h5ser::errc::shape_mismatch);
    CHECK(test::contains(e.what(), "expected 2 elements, found 1 elements"));
    CHECK(two_blocks.blocks.size() == 2);
}
