// Tensors typed at run time: the run-time form of h5ser::tensor_adapter (runtime_typed_tensor), with
// a tensor type of the test's own (element type and shape chosen at run time; libtorch's adapter
// uses the same form: tests/test_torch.cpp, GCC build only); h5ser::any_tensor, the core's; and
// h5ser::read_tensor, one tensor of a file by its path. This suite runs in every build, sanitizers
// included.
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "support.hpp"

namespace {

/// Elements of a kind chosen at run time, in C order, or strided (a transposed matrix view).
struct Blob {
    h5ser::element_kind kind = h5ser::element_kind::float32;
    std::vector<std::size_t> shape;
    std::shared_ptr<const void> bytes;
    bool transposed = false;           ///< a 2-D view of `bytes` (cols x rows, C order) as rows x cols
    std::shared_ptr<const void> kept;  ///< what view() was given to keep
};

std::size_t count(const std::vector<std::size_t>& shape) {
    std::size_t n = 1;
    for (std::size_t d : shape) n *= d;
    return n;
}

/// Fills `bytes` bytes of elements of `kind` with a pattern of `seed` (bools 0 or 1).
void fill_pattern(unsigned char* out, std::size_t bytes, h5ser::element_kind kind, unsigned seed) {
    for (std::size_t i = 0; i < bytes; ++i)
        out[i] =
            kind == h5ser::element_kind::bool_ ? static_cast<unsigned char>((i + seed) % 2) : static_cast<unsigned char>(i * 31 + seed);
}

Blob make_blob(h5ser::element_kind kind, std::vector<std::size_t> shape, unsigned seed) {
    const std::size_t bytes = count(shape) * h5ser::element_size(kind);
    auto memory = std::shared_ptr<unsigned char[]>(new unsigned char[bytes == 0 ? 1 : bytes]);
    fill_pattern(memory.get(), bytes, kind, seed);
    return {kind, std::move(shape), std::shared_ptr<const void>(memory, memory.get()), false, nullptr};
}

/// The elements of `b` in C order of its shape.
std::vector<unsigned char> c_order_bytes(const Blob& b) {
    const std::size_t size = h5ser::element_size(b.kind);
    const auto* in = static_cast<const unsigned char*>(b.bytes.get());
    std::vector<unsigned char> out(count(b.shape) * size);
    if (!b.transposed) {
        if (!out.empty()) std::memcpy(out.data(), in, out.size());
        return out;
    }
    const std::size_t rows = b.shape[0], cols = b.shape[1];
    for (std::size_t i = 0; i < rows; ++i)
        for (std::size_t j = 0; j < cols; ++j) std::memcpy(&out[(i * cols + j) * size], &in[(j * rows + i) * size], size);
    return out;
}

}  // namespace

template <>
struct h5ser::tensor_adapter<Blob> {
    using element_type = h5ser::runtime_element;
    static constexpr std::size_t rank = h5ser::dynamic_rank;
    static std::string refusal(const Blob& b) {
        return b.bytes || count(b.shape) == 0 ? std::string() : std::string("a blob without bytes");
    }
    static h5ser::element_kind kind(const Blob& b) { return b.kind; }
    static h5ser::dynamic_shape shape(const Blob& b) { return h5ser::dynamic_shape(b.shape); }
    static const void* data(const Blob& b) { return b.transposed ? nullptr : b.bytes.get(); }
    static void copy_to_c_order(const Blob& b, void* out) {
        const auto bytes = c_order_bytes(b);
        std::memcpy(out, bytes.data(), bytes.size());
    }
    static bool holds(h5ser::element_kind kind) { return kind != h5ser::element_kind::uint64; }
    static Blob view(h5ser::element_kind kind, const h5ser::dynamic_shape& shape, void* data, std::shared_ptr<const void> keep) {
        return {kind, {shape.begin(), shape.end()}, std::shared_ptr<const void>(keep, data), false, keep};
    }
};

namespace {

static_assert(h5ser::runtime_typed_tensor<Blob>);

bool same_blob(const Blob& a, const Blob& b) { return a.kind == b.kind && a.shape == b.shape && c_order_bytes(a) == c_order_bytes(b); }

struct Model {
    Blob weight;
    std::map<std::string, Blob> extra;
    std::vector<Blob> history;
    h5ser::tensor<float, 1> plain;
};

}  // namespace

TEST_CASE("runtime-typed tensors: every element type and rank round trips bit for bit, typed by the file") {
    test::scratch_dir dir;
    Model saved;
    saved.weight = make_blob(h5ser::element_kind::float32, {3, 4}, 1);
    unsigned seed = 2;
    for (const h5ser::element_kind kind : h5ser::all_element_kinds) {
        if (kind == h5ser::element_kind::uint64) continue;
        saved.extra[std::string(h5ser::dtype_name(kind))] = make_blob(kind, {2, 3, 1}, seed++);
    }
    saved.extra["scalar"] = make_blob(h5ser::element_kind::float64, {}, 9);
    saved.extra["empty"] = make_blob(h5ser::element_kind::int16, {0, 5}, 9);
    saved.history = {make_blob(h5ser::element_kind::int8, {7}, 3), make_blob(h5ser::element_kind::bfloat16, {1, 1, 1, 1, 2}, 4)};
    saved.plain = h5ser::tensor<float, 1>({2}, {1.0f, 2.0f});
    h5ser::save(saved, dir.file("m.h5"));

    for (const bool owned : {false, true}) {
        CAPTURE(owned);
        const Model loaded = owned ? h5ser::load<Model, h5ser::owned_memory>(dir.file("m.h5")) : h5ser::load<Model>(dir.file("m.h5"));
        CHECK(same_blob(loaded.weight, saved.weight));
        REQUIRE(loaded.extra.size() == saved.extra.size());
        for (const auto& entry : saved.extra) {
            const std::string& key = entry.first;
            const Blob& blob = entry.second;
            CAPTURE(key);
            CHECK(same_blob(loaded.extra.at(key), blob));
            if (key != "empty") CHECK(loaded.extra.at(key).kept != nullptr);  // view() was given what owns the elements
        }
        REQUIRE(loaded.history.size() == 2);
        CHECK(same_blob(loaded.history[1], saved.history[1]));
        CHECK(reinterpret_cast<std::uintptr_t>(loaded.weight.bytes.get()) % 64 == 0);
    }
    // The file is the one h5ser::tensor fields of the same types and shapes make: h5py and every
    // other reader see plain datasets.
    struct Typed {
        h5ser::tensor<float, 2> weight;
    };
    h5ser::load_report report;
    const auto typed = h5ser::load<Typed, h5ser::lenient>(dir.file("m.h5"), report);
    CHECK(report.missing.empty());
    CHECK(!report.unexpected.empty());  // the model's other fields
    REQUIRE(typed.weight.shape() == std::array<std::size_t, 2>{3, 4});
    CHECK(std::memcmp(typed.weight.data(), saved.weight.bytes.get(), typed.weight.size_bytes()) == 0);
    // Through the isolated child too, once the file lost its seal.
    test::unseal(dir.file("m.h5"));
    CHECK(same_blob(h5ser::load<Model>(dir.file("m.h5")).extra.at("float16"), saved.extra.at("float16")));
}

TEST_CASE("runtime-typed tensors: not in C order are copied into C order, and asynchronous saves keep the copy") {
    test::scratch_dir dir;
    Model saved;
    saved.weight = make_blob(h5ser::element_kind::int32, {4, 3}, 5);
    saved.weight.transposed = true;
    h5ser::save(saved, dir.file("sync.h5"));
    h5ser::save_async(saved, dir.file("async.h5")).wait();
    CHECK(test::file_bytes(dir.file("sync.h5")) == test::file_bytes(dir.file("async.h5")));
    const Model loaded = h5ser::load<Model>(dir.file("sync.h5"));
    CHECK(!loaded.weight.transposed);
    CHECK(same_blob(loaded.weight, saved.weight));
    CHECK(h5ser::fingerprint(saved) == h5ser::file_fingerprint(dir.file("sync.h5")));
}

TEST_CASE("runtime-typed tensors: refusals name the field, and a load that fails changes nothing") {
    test::scratch_dir dir;
    Model m;
    m.weight = make_blob(h5ser::element_kind::float32, {2}, 1);
    m.extra["bad"] = Blob{h5ser::element_kind::float32, {2}, nullptr, false, nullptr};
    auto e = test::expect_error([&] { h5ser::save(m, dir.file("m.h5")); });
    CHECK(e.code() == h5ser::errc::invalid_value);
    CHECK(e.field_path() == "extra[\"bad\"]");
    CHECK(test::contains(e.what(), "a blob without bytes"));
    CHECK(!std::filesystem::exists(dir.file("m.h5")));

    // A dtype the adapter cannot hold.
    struct Wide {
        h5ser::tensor<std::uint64_t, 1> weight;
    };
    h5ser::save(Wide{h5ser::tensor<std::uint64_t, 1>({1}, {7})}, dir.file("wide.h5"));
    struct One {
        Blob weight;
    };
    One target{make_blob(h5ser::element_kind::int8, {1}, 0)};
    e = test::expect_error([&] { h5ser::load_into(target, dir.file("wide.h5")); });
    CHECK(e.code() == h5ser::errc::dtype_mismatch);
    CHECK(e.field_path() == "weight");
    CHECK(test::contains(e.what(), "uint64"));
    CHECK(target.weight.kind == h5ser::element_kind::int8);

    // A group where the tensor should be.
    struct Nested {
        struct {
            h5ser::tensor<float, 1> x;
        } weight;
    };
    h5ser::save(Nested{}, dir.file("nested.h5"));
    e = test::expect_error([&] { h5ser::load_into(target, dir.file("nested.h5")); });
    CHECK(e.code() == h5ser::errc::kind_mismatch);
    CHECK(target.weight.kind == h5ser::element_kind::int8);
}

TEST_CASE("string-keyed maps are legal roots: keys stay link names, reserved and impossible ones are refused") {
    test::scratch_dir dir;
    using state = std::map<std::string, h5ser::tensor<float, 1>>;
    const state saved{{"layer1.0.weight", h5ser::tensor<float, 1>({2}, {1, 2})}, {"bias", h5ser::tensor<float, 1>({1}, {3})}};
    h5ser::save(saved, dir.file("state.h5"));
    const auto loaded = h5ser::load<state>(dir.file("state.h5"));
    REQUIRE(loaded.size() == 2);
    CHECK(test::same_bytes(loaded.at("layer1.0.weight"), saved.at("layer1.0.weight")));
    // A map of attributes at the root does not pick up h5ser's own root attributes.
    using settings = std::map<std::string, std::string>;
    h5ser::save(settings{{"optimizer", "adam"}}, dir.file("settings.h5"));
    CHECK(h5ser::load<settings>(dir.file("settings.h5")) == settings{{"optimizer", "adam"}});
    // A filled map is loaded key by key: a key the file lacks, or one it has and the map lacks, fails.
    state filled{{"bias", {}}};
    CHECK(test::expect_error([&] { h5ser::load_into(filled, dir.file("state.h5")); }).code() == h5ser::errc::unexpected_field);
    for (const std::string key :
         {"", ".", "/a", "a/", "a//b", "a/./b", "h5ser_format", "h5ser_format/a", "schema", "fingerprint", "model_type"}) {
        CAPTURE(key);
        const auto e = test::expect_error([&] { h5ser::save(state{{key, {}}}, dir.file("bad.h5")); });
        CHECK(e.code() == h5ser::errc::invalid_value);
        CHECK(!std::filesystem::exists(dir.file("bad.h5")));
    }
    // A key of a map of anything but tensors is one link name: '/' is refused there.
    CHECK(test::expect_error([&] { h5ser::save(settings{{"a/b", "x"}}, dir.file("bad.h5")); }).code() == h5ser::errc::invalid_value);
}

namespace {
struct Tree {
    struct Block {
        h5ser::tensor<float, 2> kernel;
        h5ser::tensor<std::int16_t, 1> ids;
    };
    Block a;
    struct Deeper {
        Block inner;
        h5ser::tensor<double, 1> scale;
    } b;
    h5ser::tensor<std::uint8_t, 1> top;
};
}  // namespace

TEST_CASE("string-keyed maps of tensors: keys are paths, a nested file reads flat and saves back as the same tree") {
    test::scratch_dir dir;
    Tree saved{
        {h5ser::tensor<float, 2>({2, 2}, {1, 2, 3, 4}), h5ser::tensor<std::int16_t, 1>({2}, {-1, 7})},
        {{h5ser::tensor<float, 2>({1, 3}, {5, 6, 7}), h5ser::tensor<std::int16_t, 1>({1}, {9})}, h5ser::tensor<double, 1>({1}, {0.5})},
        h5ser::tensor<std::uint8_t, 1>({3}, {1, 2, 3})};
    h5ser::save(saved, dir.file("tree.h5"));
    using flat = std::map<std::string, h5ser::any_tensor>;
    const flat loaded = h5ser::load<flat>(dir.file("tree.h5"));
    std::vector<std::string> keys;
    for (const auto& entry : loaded) keys.push_back(entry.first);
    CHECK(keys == std::vector<std::string>{"a/ids", "a/kernel", "b/inner/ids", "b/inner/kernel", "b/scale", "top"});
    CHECK(test::same_bytes(loaded.at("b/inner/kernel").as<float, 2>(), saved.b.inner.kernel));
    CHECK(test::same_bytes(loaded.at("a/ids").as<std::int16_t, 1>(), saved.a.ids));
    // Saved, the map writes the struct's tree: the struct reads it back, whichever order the map kept.
    h5ser::save<h5ser::weights_only>(loaded, dir.file("flat.h5"));
    const Tree again = h5ser::load<Tree>(dir.file("flat.h5"));
    CHECK(test::same_bytes(again.b.inner.kernel, saved.b.inner.kernel));
    CHECK(test::same_bytes(again.b.scale, saved.b.scale));
    CHECK(test::same_bytes(again.a.ids, saved.a.ids));
    CHECK(test::same_bytes(again.top, saved.top));
    // The same through the isolated child, once the file lost its seal, and for a map of one tensor type.
    test::unseal(dir.file("flat.h5"));
    CHECK(h5ser::load<flat>(dir.file("flat.h5")) == loaded);
    using kernels = std::map<std::string, h5ser::tensor<float, 2>>;
    kernels two{{"x/kernel", saved.a.kernel}, {"y/z/kernel", saved.b.inner.kernel}};
    h5ser::save(two, dir.file("two.h5"));
    const auto two_loaded = h5ser::load<kernels>(dir.file("two.h5"));
    REQUIRE(two_loaded.size() == 2);
    CHECK(test::same_bytes(two_loaded.at("y/z/kernel"), saved.b.inner.kernel));
    // A filled map is loaded key by key through the groups; a key whose group is missing is named.
    kernels filled{{"x/kernel", {}}, {"y/z/kernel", {}}};
    h5ser::load_into(filled, dir.file("two.h5"));
    CHECK(test::same_bytes(filled.at("x/kernel"), saved.a.kernel));
    kernels missing{{"x/kernel", {}}, {"y/z/kernel", {}}, {"y/w/kernel", {}}};
    const auto e = test::expect_error([&] { h5ser::load_into(missing, dir.file("two.h5")); });
    CHECK(e.code() == h5ser::errc::missing_field);
    CHECK(std::string(e.what()).find("[\"y/w/kernel\"]") != std::string::npos);
    CHECK(missing.at("x/kernel").size() == 0);  // nothing changed
    kernels through_dataset{{"x/kernel/deeper", {}}, {"y/z/kernel", {}}};
    CHECK(test::expect_error([&] { h5ser::load_into(through_dataset, dir.file("two.h5")); }).code() == h5ser::errc::kind_mismatch);
    // A key that is both an entry and the group of another cannot be saved.
    const auto both = test::expect_error([&] { h5ser::save(kernels{{"x", {}}, {"x/kernel", {}}}, dir.file("bad.h5")); });
    CHECK(both.code() == h5ser::errc::invalid_value);
    CHECK(std::string(both.what()).find("group 'x'") != std::string::npos);
    CHECK(!std::filesystem::exists(dir.file("bad.h5")));
}

namespace {

/// `shape` elements of `kind` whose bytes are a pattern of `seed` (bools 0 or 1).
h5ser::any_tensor patterned(h5ser::element_kind kind, const h5ser::dynamic_shape& shape, unsigned seed) {
    h5ser::any_tensor t(kind, shape);
    fill_pattern(static_cast<unsigned char*>(t.data()), t.size_bytes(), kind, seed);
    return t;
}

struct AnyModel {
    h5ser::any_tensor weight;
    std::map<std::string, h5ser::any_tensor> extra;
    int step = 0;
};

}  // namespace

TEST_CASE("any_tensor: every element type and rank round trips bit for bit, its dtype and shape the file's") {
    test::scratch_dir dir;
    AnyModel saved;
    saved.weight = patterned(h5ser::element_kind::float32, {3, 4}, 1);
    unsigned seed = 2;
    for (const h5ser::element_kind kind : h5ser::all_element_kinds) {
        saved.extra[std::string(h5ser::dtype_name(kind))] = patterned(kind, {2, 3, 5}, seed++);
        saved.extra[std::string(h5ser::dtype_name(kind)) + "_big"] = patterned(kind, {70000}, seed++);  // stored contiguous, mapped
    }
    saved.extra["scalar"] = patterned(h5ser::element_kind::float64, {}, 9);
    saved.extra["empty"] = h5ser::any_tensor(h5ser::element_kind::int16, {0, 5});
    saved.extra["rank9"] = patterned(h5ser::element_kind::uint8, {1, 2, 1, 2, 1, 2, 1, 2, 3}, 4);
    saved.step = 7;
    h5ser::save(saved, dir.file("m.h5"));

    const auto check = [&](const AnyModel& loaded) {
        CHECK(loaded.weight == saved.weight);
        CHECK(loaded.step == 7);
        REQUIRE(loaded.extra.size() == saved.extra.size());
        for (const auto& entry : saved.extra) {
            const std::string& key = entry.first;
            const h5ser::any_tensor& t = entry.second;
            CAPTURE(key);
            const h5ser::any_tensor& l = loaded.extra.at(key);
            CHECK(l.kind() == t.kind());
            CHECK(l.shape() == t.shape());
            CHECK(l == t);
            if (!l.empty()) CHECK(reinterpret_cast<std::uintptr_t>(l.data()) % 64 == 0);
        }
    };
    // Into a default model, and into one whose tensors held other types and shapes: the file's win.
    check(h5ser::load<AnyModel>(dir.file("m.h5")));
    check(h5ser::load<AnyModel, h5ser::owned_memory>(dir.file("m.h5")));
    AnyModel other;
    other.weight = patterned(h5ser::element_kind::int8, {9}, 0);
    for (const auto& entry : saved.extra) other.extra[entry.first] = patterned(h5ser::element_kind::uint64, {1, 1}, 1);
    h5ser::load_into(other, dir.file("m.h5"));
    check(other);
    // A load that fails leaves it as it was.
    AnyModel kept = other;
    test::flip_element_bit(dir.file("m.h5"), "/extra/float32_big");
    CHECK(test::expect_error([&] { h5ser::load_into(kept, dir.file("m.h5")); }).code() == h5ser::errc::checksum_mismatch);
    check(kept);
    // The file holds plain datasets: an h5ser::tensor field of the same type reads it.
    h5ser::save(saved, dir.file("m.h5"));
    struct Typed {
        h5ser::tensor<float, 2> weight;
        std::map<std::string, h5ser::any_tensor> extra;
        int step = 0;
    };
    const auto typed = h5ser::load<Typed>(dir.file("m.h5"));
    CHECK(test::same_bytes(typed.weight, saved.weight.as<float, 2>()));
    // Through the isolated child too, once the file lost its seal.
    test::unseal(dir.file("m.h5"));
    check(h5ser::load<AnyModel>(dir.file("m.h5")));
}

TEST_CASE("any_tensor: typed views share the elements, and a view of another type or rank is an error saying what it holds") {
    h5ser::tensor<std::int64_t, 2> source({2, 3}, {1, 2, 3, 4, 5, 6});
    const std::int64_t* elements = source.data();
    h5ser::any_tensor t(std::move(source));  // takes the memory over
    CHECK(t.kind() == h5ser::element_kind::int64);
    CHECK(t.dtype() == "int64");
    CHECK(t.describe() == "int64[2, 3]");
    CHECK(t.data() == elements);
    auto view = t.as<std::int64_t, 2>();
    CHECK(view.data() == elements);
    CHECK(view(1, 2) == 6);
    view(0, 0) = 42;
    CHECK(static_cast<const std::int64_t*>(t.data())[0] == 42);
    const auto copy = t;  // deep
    CHECK(copy == t);
    CHECK(copy.data() != t.data());

    auto e = test::expect_error([&] { (void)t.as<float, 2>(); });
    CHECK(e.code() == h5ser::errc::dtype_mismatch);
    CHECK(test::contains(e.what(), "expected float32 of rank 2, found int64[2, 3]"));
    e = test::expect_error([&] { (void)t.as<std::int64_t, 1>(); });
    CHECK(e.code() == h5ser::errc::shape_mismatch);
    CHECK(test::contains(e.what(), "found int64[2, 3]"));

    // The view outlives the any_tensor it came from.
    h5ser::tensor<std::int64_t, 2> kept;
    {
        const h5ser::any_tensor scoped = t;
        kept = scoped.as<std::int64_t, 2>();
    }
    CHECK(kept(0, 0) == 42);
    CHECK(h5ser::any_tensor().empty());
    CHECK(h5ser::any_tensor().describe() == "float32[0]");
}

TEST_CASE("any_tensor: a string-keyed map of them reads a file's datasets whatever their types and ranks") {
    test::scratch_dir dir;
    struct Layer {
        h5ser::tensor<float, 2> kernel;
        h5ser::tensor<float, 1> bias;
        h5ser::tensor<std::int32_t, 3> table;
    };
    Layer saved{h5ser::tensor<float, 2>({2, 2}, {1, 2, 3, 4}), h5ser::tensor<float, 1>({2}, {5, 6}),
                h5ser::tensor<std::int32_t, 3>({1, 1, 2}, {7, 8})};
    h5ser::save<h5ser::weights_only>(saved, dir.file("layer.h5"));
    // A map of one tensor type stops at the first dataset of another rank...
    CHECK(test::expect_error([&] { (void)h5ser::load<std::map<std::string, h5ser::tensor<float, 2>>>(dir.file("layer.h5")); }).code() ==
          h5ser::errc::shape_mismatch);
    // ... a map of any_tensor takes each as it is.
    const auto loaded = h5ser::load<std::map<std::string, h5ser::any_tensor>>(dir.file("layer.h5"));
    REQUIRE(loaded.size() == 3);
    CHECK(test::same_bytes(loaded.at("kernel").as<float, 2>(), saved.kernel));
    CHECK(test::same_bytes(loaded.at("bias").as<float, 1>(), saved.bias));
    CHECK(test::same_bytes(loaded.at("table").as<std::int32_t, 3>(), saved.table));
    // And saved, it holds what the struct's file held.
    h5ser::save<h5ser::weights_only>(loaded, dir.file("again.h5"));
    const auto again = h5ser::load<Layer>(dir.file("again.h5"));
    CHECK(test::same_bytes(again.kernel, saved.kernel));
    CHECK(test::same_bytes(again.table, saved.table));
}

namespace {
struct Encoder {
    struct Block {
        h5ser::tensor<float, 2> kernel;
        h5ser::tensor<std::int16_t, 1> ids;
        int units = 0;
    } block;
    h5ser::tensor<double, 3> big;
};
}  // namespace

TEST_CASE("read_tensor: one tensor by its path, mapped and verified, the rest of the file unread") {
    test::scratch_dir dir;
    Encoder saved;
    saved.block.kernel = h5ser::tensor<float, 2>({3, 2}, {1, 2, 3, 4, 5, 6});
    saved.block.ids = h5ser::tensor<std::int16_t, 1>({4}, {-1, 0, 1, 2});
    saved.block.units = 2;
    saved.big = h5ser::tensor<double, 3>({16, 32, 64}, h5ser::uninitialized);
    for (std::size_t i = 0; i < saved.big.size(); ++i) saved.big.data()[i] = static_cast<double>(i) * 0.25;
    const std::string path = dir.file("m.h5");
    h5ser::save(saved, path);

    const auto big = h5ser::read_tensor<double, 3>(path, "/big");
    CHECK(test::same_bytes(big, saved.big));
    CHECK(big.maps_file());
    CHECK(!h5ser::read_tensor<double, 3, h5ser::owned_memory>(path, "big").maps_file());
    CHECK(test::same_bytes(h5ser::read_tensor<float, 2>(path, "block/kernel"), saved.block.kernel));
    const h5ser::any_tensor ids = h5ser::read_tensor(path, "/block/ids");
    CHECK(ids.describe() == "int16[4]");
    CHECK(test::same_bytes(ids.as<std::int16_t, 1>(), saved.block.ids));
    // Another element type converts when asked.
    const auto as_double = h5ser::read_tensor<double, 2, h5ser::convert_dtypes>(path, "/block/kernel");
    CHECK(as_double(2, 1) == 6.0);

    // Errors name the path and say what is there.
    auto e = test::expect_error([&] { (void)h5ser::read_tensor<float, 2>(path, "/block/kernels"); });
    CHECK(e.code() == h5ser::errc::missing_field);
    CHECK(e.hdf5_path() == "/block/kernels");
    e = test::expect_error([&] { (void)h5ser::read_tensor<float, 2>(path, "/nothing/kernel"); });
    CHECK(e.code() == h5ser::errc::missing_field);
    CHECK(e.hdf5_path() == "/nothing");
    e = test::expect_error([&] { (void)h5ser::read_tensor<float, 1>(path, "/block/kernel"); });
    CHECK(e.code() == h5ser::errc::shape_mismatch);
    CHECK(test::contains(e.what(), "/block/kernel"));
    e = test::expect_error([&] { (void)h5ser::read_tensor<std::int32_t, 2>(path, "/block/kernel"); });
    CHECK(e.code() == h5ser::errc::dtype_mismatch);
    e = test::expect_error([&] { (void)h5ser::read_tensor(path, "/block"); });
    CHECK(e.code() == h5ser::errc::kind_mismatch);
    e = test::expect_error([&] { (void)h5ser::read_tensor(path, "/block/kernel/x"); });
    CHECK(e.code() == h5ser::errc::kind_mismatch);
    for (const std::string bad : {"", "/", "a//b", "block/"}) {
        CAPTURE(bad);
        CHECK(test::expect_error([&] { (void)h5ser::read_tensor(path, bad); }).code() == h5ser::errc::invalid_value);
    }

    // Only the tensor read is verified: damage elsewhere does not stop it, its own does.
    test::flip_element_bit(path, "/big");
    CHECK(test::same_bytes(h5ser::read_tensor<float, 2>(path, "/block/kernel"), saved.block.kernel));
    e = test::expect_error([&] { (void)h5ser::read_tensor(path, "/big"); });
    CHECK(e.code() == h5ser::errc::checksum_mismatch);
    CHECK(e.hdf5_path() == "/big");

    // A file h5ser did not seal: parsed in the child, which copies that tensor alone; or in place.
    h5ser::save(saved, path);
    test::unseal(path);
    CHECK(test::same_bytes(h5ser::read_tensor<double, 3>(path, "/big"), saved.big));
    CHECK(test::same_bytes(h5ser::read_tensor<float, 2>(path, "/block/kernel"), saved.block.kernel));
    CHECK(test::same_bytes(h5ser::read_tensor<float, 2, h5ser::trusted>(path, "/block/kernel"), saved.block.kernel));
    CHECK(test::expect_error([&] { (void)h5ser::read_tensor<float, 2>(path, "/block/x"); }).code() == h5ser::errc::missing_field);

    // A .safetensors file: tensors by the names it gives them.
    h5ser::safetensors::save(saved, dir.file("m.safetensors"));
    CHECK(test::same_bytes(h5ser::read_tensor<float, 2>(dir.file("m.safetensors"), "/block.kernel"), saved.block.kernel));
    CHECK(h5ser::read_tensor(dir.file("m.safetensors"), "big").describe() == "float64[16, 32, 64]");
}

namespace {
/// The part `s` of `t`, element by element (h5py's t[a:a+n, b:b+m, c:c+k]).
h5ser::tensor<double, 3> expected_part(const h5ser::tensor<double, 3>& t, const h5ser::slice& s) {
    std::array<std::size_t, 3> start{}, count = t.shape();
    for (std::size_t d = 0; d < s.start.size(); ++d) start[d] = s.start[d], count[d] = s.count[d];
    h5ser::tensor<double, 3> out(count);
    for (std::size_t i = 0; i < count[0]; ++i)
        for (std::size_t j = 0; j < count[1]; ++j)
            for (std::size_t k = 0; k < count[2]; ++k) out(i, j, k) = t(start[0] + i, start[1] + j, start[2] + k);
    return out;
}
}  // namespace

TEST_CASE("read_tensor: slices are h5py's [a:b, c:d], verified whole or read alone unverified, and bounds are checked") {
    test::scratch_dir dir;
    Encoder saved;
    saved.big = h5ser::tensor<double, 3>({16, 32, 64}, h5ser::uninitialized);
    for (std::size_t i = 0; i < saved.big.size(); ++i) saved.big.data()[i] = static_cast<double>(i) * 0.25;
    const std::string path = dir.file("m.h5");
    h5ser::save(saved, path);
    const h5ser::slice parts[] = {h5ser::rows(3, 5),
                                  h5ser::slice{{2, 4}, {3, 10}},
                                  h5ser::slice{{0, 0, 60}, {16, 32, 4}},
                                  h5ser::rows(15, 1),
                                  h5ser::rows(5, 0),
                                  h5ser::slice{{0}, {16}},
                                  h5ser::slice{{}, {}},
                                  h5ser::slice{{1, 2, 3}, {2, 3, 4}}};
    for (const auto& part : parts) {
        CAPTURE(part.start.size());
        CAPTURE(part.count.size() ? part.count[0] : 0);
        const auto expected = expected_part(saved.big, part);
        CHECK(test::same_bytes(h5ser::read_tensor<double, 3>(path, "/big", part), expected));
        CHECK(test::same_bytes(h5ser::read_tensor<double, 3, h5ser::no_verify>(path, "/big", part), expected));
        const h5ser::any_tensor any = h5ser::read_tensor<h5ser::no_verify>(path, "big", part);
        CHECK(test::same_bytes(any.as<double, 3>(), expected));
    }
    // A part outside the tensor, or of more dimensions than it has: the path and the bounds.
    auto e = test::expect_error([&] { (void)h5ser::read_tensor<double, 3>(path, "/big", h5ser::rows(10, 7)); });
    CHECK(e.code() == h5ser::errc::invalid_value);
    CHECK(e.hdf5_path() == "/big");
    CHECK(test::contains(e.what(), "elements 10:17 of dimension 0"));
    CHECK(test::contains(e.what(), "within the 16 elements of dimension 0"));
    e = test::expect_error([&] { (void)h5ser::read_tensor<h5ser::no_verify>(path, "/big", h5ser::slice{{0, 31}, {1, 2}}); });
    CHECK(test::contains(e.what(), "of dimension 1"));
    e = test::expect_error([&] { (void)h5ser::read_tensor(path, "/big", h5ser::slice{{0, 0, 0, 0}, {1, 1, 1, 1}}); });
    CHECK(test::contains(e.what(), "at most 3 dimensions"));
    CHECK(test::expect_error([&] { (void)h5ser::read_tensor(path, "/big", h5ser::slice{{0}, {}}); }).code() == h5ser::errc::invalid_value);

    // Verified, a part is checked with its tensor: damage outside the part is found too. Unverified,
    // the part alone is read.
    test::flip_element_bit(path, "/big", 8 * 64 * 32 * 15);  // in row 15
    CHECK(test::expect_error([&] { (void)h5ser::read_tensor<double, 3>(path, "/big", h5ser::rows(0, 2)); }).code() ==
          h5ser::errc::checksum_mismatch);
    CHECK(test::same_bytes(h5ser::read_tensor<double, 3, h5ser::no_verify>(path, "/big", h5ser::rows(0, 2)),
                           expected_part(saved.big, h5ser::rows(0, 2))));
}

namespace {
/// Flips a bit in the middle of the stored bytes of the chunk of `dataset` that holds `coords`.
void flip_chunk_byte(const std::string& path, const char* dataset, std::vector<hsize_t> coords) {
    const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    REQUIRE(f >= 0);
    const hid_t d = H5Dopen2(f, dataset, H5P_DEFAULT);
    REQUIRE(d >= 0);
    unsigned mask = 0;
    haddr_t address = HADDR_UNDEF;
    hsize_t size = 0;
    REQUIRE(H5Dget_chunk_info_by_coord(d, coords.data(), &mask, &address, &size) >= 0);
    H5Dclose(d);
    H5Fclose(f);
    REQUIRE(address != HADDR_UNDEF);
    std::fstream io(path, std::ios::in | std::ios::out | std::ios::binary);
    io.seekg(static_cast<std::streamoff>(address + size / 2));
    char c = 0;
    io.get(c);
    io.seekp(static_cast<std::streamoff>(address + size / 2));
    io.put(static_cast<char>(c ^ 0x04));
}
}  // namespace

TEST_CASE("read_tensor: a slice of a chunked tensor reads the chunks it touches, verified by the seal that covers every chunk") {
    test::scratch_dir dir;
    Encoder saved;
    saved.big = h5ser::tensor<double, 3>({64, 32, 64}, h5ser::uninitialized);  // 1 MiB, chunks of 4 rows (64 KiB)
    for (std::size_t i = 0; i < saved.big.size(); ++i) saved.big.data()[i] = static_cast<double>(i % 977) * 0.5;
    const std::string path = dir.file("m.h5");
    h5ser::save<h5ser::chunked<4, 32, 64>, h5ser::deflate<1>, h5ser::fletcher32>(saved, path);
    const h5ser::slice parts[] = {
        h5ser::rows(3, 5), h5ser::slice{{2, 4}, {3, 10}},     h5ser::slice{{0, 0, 60}, {64, 32, 4}}, h5ser::rows(63, 1),
        h5ser::rows(5, 0), h5ser::slice{{1, 2, 3}, {2, 3, 4}}};
    for (const auto& part : parts) {
        CAPTURE(part.count.size() ? part.count[0] : 0);
        const auto expected = expected_part(saved.big, part);
        CHECK(test::same_bytes(h5ser::read_tensor<double, 3>(path, "/big", part), expected));
        CHECK(test::same_bytes(h5ser::read_tensor<double, 3, h5ser::no_verify>(path, "/big", part), expected));
        const h5ser::any_tensor any = h5ser::read_tensor(path, "big", part);
        CHECK(test::same_bytes(any.as<double, 3>(), expected));
    }
    // The chunk of two rows, not the other fifteen: far fewer bytes than the tensor holds.
    const std::size_t before = test::bytes_read_so_far();
    const auto two_rows = h5ser::read_tensor<double, 3, h5ser::no_verify>(path, "/big", h5ser::rows(8, 2));
    const std::size_t read = test::bytes_read_so_far() - before;
    CHECK(test::same_bytes(two_rows, expected_part(saved.big, h5ser::rows(8, 2))));
    CHECK(read < saved.big.size_bytes() / 16);
    // A damaged chunk outside the part: verified, the seal (over every chunk) refuses the file;
    // unverified, the part is read, and HDF5's Fletcher-32 still checks each chunk it reads.
    flip_chunk_byte(path, "/big", {60, 0, 0});
    CHECK(test::expect_error([&] { (void)h5ser::read_tensor<double, 3>(path, "/big", h5ser::rows(0, 2)); }).code() ==
          h5ser::errc::checksum_mismatch);
    CHECK(test::same_bytes(h5ser::read_tensor<double, 3, h5ser::no_verify>(path, "/big", h5ser::rows(0, 2)),
                           expected_part(saved.big, h5ser::rows(0, 2))));
    CHECK(test::expect_error([&] { (void)h5ser::read_tensor<double, 3, h5ser::no_verify>(path, "/big", h5ser::rows(60, 1)); }).code() ==
          h5ser::errc::hdf5);
}

TEST_CASE("tensor_reader: a file opened once for many reads, of whole tensors and parts, from the file it opened") {
    test::scratch_dir dir;
    Encoder saved;
    saved.block.kernel = h5ser::tensor<float, 2>({3, 2}, {1, 2, 3, 4, 5, 6});
    saved.block.ids = h5ser::tensor<std::int16_t, 1>({4}, {-1, 2, -3, 4});
    saved.big = h5ser::tensor<double, 3>({16, 32, 64}, h5ser::uninitialized);
    for (std::size_t i = 0; i < saved.big.size(); ++i) saved.big.data()[i] = static_cast<double>(i) * 0.25;
    const std::string path = dir.file("m.h5");
    h5ser::save(saved, path);

    h5ser::tensor_reader file(path);
    CHECK(file.path() == path);
    for (int round = 0; round < 3; ++round) {
        CHECK(test::same_bytes(file.read<float, 2>("/block/kernel"), saved.block.kernel));
        CHECK(test::same_bytes(file.read("block/ids").as<std::int16_t, 1>(), saved.block.ids));
        CHECK(test::same_bytes(file.read<double, 3>("/big", h5ser::slice{{2, 4}, {3, 10}}),
                               expected_part(saved.big, h5ser::slice{{2, 4}, {3, 10}})));
        CHECK(test::same_bytes(file.read("/big", h5ser::rows(15, 1)).as<double, 3>(), expected_part(saved.big, h5ser::rows(15, 1))));
    }
    h5ser::tensor_reader<h5ser::no_verify, h5ser::owned_memory> unverified(path);
    CHECK(test::same_bytes(unverified.read<double, 3>("/big", h5ser::rows(3, 5)), expected_part(saved.big, h5ser::rows(3, 5))));
    CHECK(!unverified.read<double, 3>("/big").maps_file());
    // Errors are the read's, naming the path.
    CHECK(test::expect_error([&] { (void)file.read<float, 2>("/block/nothing"); }).code() == h5ser::errc::missing_field);
    CHECK(test::expect_error([&] { (void)file.read<float, 1>("/block/kernel"); }).code() == h5ser::errc::shape_mismatch);
    CHECK(test::expect_error([&] { h5ser::tensor_reader missing(dir.file("none.h5")); }).code() == h5ser::errc::file_not_found);

    // Another save renames a new file over the name: the reader reads the file it opened.
    Encoder other = saved;
    other.block.kernel = h5ser::tensor<float, 2>({3, 2}, {9, 9, 9, 9, 9, 9});
    h5ser::save(other, path);
    CHECK(test::same_bytes(file.read<float, 2>("/block/kernel"), saved.block.kernel));
    CHECK(test::same_bytes(h5ser::tensor_reader(path).read<float, 2>("/block/kernel"), other.block.kernel));

    // Chunked: a verified part checks the seal again, so damage done since the reader opened the file is found.
    h5ser::save<h5ser::chunked<4, 32, 64>, h5ser::deflate<1>>(saved, path);
    h5ser::tensor_reader chunked(path);
    h5ser::tensor_reader<h5ser::no_verify> chunked_unverified(path);
    CHECK(test::same_bytes(chunked.read<double, 3>("/big", h5ser::rows(1, 2)), expected_part(saved.big, h5ser::rows(1, 2))));
    flip_chunk_byte(path, "/big", {12, 0, 0});
    CHECK(test::expect_error([&] { (void)chunked.read<double, 3>("/big", h5ser::rows(1, 2)); }).code() == h5ser::errc::checksum_mismatch);
    CHECK(test::same_bytes(chunked_unverified.read<double, 3>("/big", h5ser::rows(1, 2)), expected_part(saved.big, h5ser::rows(1, 2))));
    // libhdf5 opens by name: once another file is renamed over it, such a read says so.
    h5ser::save<h5ser::chunked<4, 32, 64>>(other, path);
    CHECK(test::expect_error([&] { (void)chunked_unverified.read<double, 3>("/big", h5ser::rows(1, 2)); }).code() ==
          h5ser::errc::file_changed);

    // A file h5ser did not seal (each read in the isolated child), and a .safetensors file (by its names).
    h5ser::save(saved, path);
    test::unseal(path);
    h5ser::tensor_reader unsealed(path);
    CHECK(test::same_bytes(unsealed.read<float, 2>("/block/kernel"), saved.block.kernel));
    CHECK(test::same_bytes(unsealed.read<double, 3>("/big", h5ser::rows(3, 5)), expected_part(saved.big, h5ser::rows(3, 5))));
    h5ser::safetensors::save(saved, dir.file("m.safetensors"));
    h5ser::tensor_reader safetensors(dir.file("m.safetensors"));
    CHECK(test::same_bytes(safetensors.read<float, 2>("/block.kernel"), saved.block.kernel));
    CHECK(safetensors.read("big").describe() == "float64[16, 32, 64]");
}

// The tensor of the next test is 1 GiB: the GCC build runs it ("slow"), the suites skip it.
TEST_CASE("read_tensor: an unverified slice of a 1 GiB tensor reads only its bytes" * doctest::skip()) {
    test::scratch_dir dir;
    struct Big {
        h5ser::tensor<float, 2> emb;
    };
    Big saved{h5ser::tensor<float, 2>({262144, 1024}, h5ser::uninitialized)};
    for (std::size_t i = 0; i < saved.emb.size(); ++i) saved.emb.data()[i] = static_cast<float>(i % 1000003);
    h5ser::save(saved, dir.file("big.h5"));
    const std::size_t before = test::bytes_read_so_far();
    const auto part = h5ser::read_tensor<float, 2, h5ser::no_verify>(dir.file("big.h5"), "/emb", h5ser::slice{{1000, 8}, {100, 16}});
    const std::size_t read = test::bytes_read_so_far() - before;
    MESSAGE("a 100 x 16 slice of a 1 GiB tensor read " << read << " bytes");
    REQUIRE(part.shape() == std::array<std::size_t, 2>{100, 16});
    for (std::size_t i = 0; i < 100; ++i)
        for (std::size_t j = 0; j < 16; ++j) CHECK(part(i, j) == saved.emb(1000 + i, 8 + j));
    // Its 6,400 bytes, the seal and the manifest: far below a 4 KiB page per row.
    CHECK(read < 100 * 4096);
}
