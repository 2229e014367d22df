// The run-time form of h5ser::tensor_adapter (runtime_typed_tensor), with a tensor type of the
// test's own: element type and shape chosen at run time. libtorch's adapter uses the same form
// (tests/test_torch.cpp, GCC build only); this suite runs in every build, sanitizers included.
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

std::size_t element_size(h5ser::element_kind kind) {
    return h5ser::with_element_type(kind, []<class T>() { return sizeof(T); });
}
std::size_t count(const std::vector<std::size_t>& shape) {
    std::size_t n = 1;
    for (std::size_t d : shape) n *= d;
    return n;
}

Blob make_blob(h5ser::element_kind kind, std::vector<std::size_t> shape, unsigned seed) {
    const std::size_t bytes = count(shape) * element_size(kind);
    auto memory = std::shared_ptr<unsigned char[]>(new unsigned char[bytes == 0 ? 1 : bytes]);
    for (std::size_t i = 0; i < bytes; ++i)
        memory[i] =
            kind == h5ser::element_kind::bool_ ? static_cast<unsigned char>((i + seed) % 2) : static_cast<unsigned char>(i * 31 + seed);
    return {kind, std::move(shape), std::shared_ptr<const void>(memory, memory.get()), false, nullptr};
}

/// The elements of `b` in C order of its shape.
std::vector<unsigned char> c_order_bytes(const Blob& b) {
    const std::size_t size = element_size(b.kind);
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
    for (const std::string key : {"", ".", "a/b", "h5ser_format", "schema", "fingerprint", "model_type"}) {
        CAPTURE(key);
        const auto e = test::expect_error([&] { h5ser::save(state{{key, {}}}, dir.file("bad.h5")); });
        CHECK(e.code() == h5ser::errc::invalid_value);
        CHECK(!std::filesystem::exists(dir.file("bad.h5")));
    }
}
