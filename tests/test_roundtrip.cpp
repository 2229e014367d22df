// Round trips compare bytes: what is loaded is bit for bit what was saved.
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "support.hpp"

namespace {

template <class T>
h5ser::tensor<T, 1> extremes() {
    if constexpr (std::is_same_v<T, bool>) {
        return h5ser::tensor<bool, 1>({4}, {true, false, false, true});
    } else if constexpr (std::is_integral_v<T>) {
        using lim = std::numeric_limits<T>;
        return h5ser::tensor<T, 1>({5}, {lim::min(), lim::max(), T(0), T(1), static_cast<T>(lim::max() / 3)});
    } else if constexpr (std::is_same_v<T, h5ser::float16> || std::is_same_v<T, h5ser::bfloat16>) {
        // NaN with payload, signed NaN, -0, +-inf, smallest subnormal, largest finite, 1
        const std::uint16_t bits[] = {0x7e01, 0xfe55, 0x8000, 0x7c00, 0xfc00, 0x0001, 0x7bff, 0x3c00, 0x7f81, 0xff80};
        h5ser::tensor<T, 1> t({10});
        for (std::size_t i = 0; i < 10; ++i) t(i) = T::from_bits(bits[i]);
        return t;
    } else {
        using lim = std::numeric_limits<T>;
        using bits_t = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
        const bits_t payload_nan = std::bit_cast<bits_t>(lim::quiet_NaN()) | bits_t{0x5a5};
        const bits_t negative_nan = std::bit_cast<bits_t>(lim::quiet_NaN()) | (bits_t{1} << (8 * sizeof(T) - 1));
        return h5ser::tensor<T, 1>({10}, {std::bit_cast<T>(payload_nan), std::bit_cast<T>(negative_nan), T(-0.0), lim::infinity(),
                                          -lim::infinity(), lim::denorm_min(), lim::min(), lim::max(), lim::lowest(), T(1) / T(3)});
    }
}

template <class T>
struct OneOfEach {
    h5ser::tensor<T, 1> values;
    T scalar{};
    std::array<T, 2> pair{};
};

template <class T>
void check_element_type() {
    CAPTURE(h5ser::dtype_name<T>());
    test::scratch_dir dir;
    OneOfEach<T> saved{extremes<T>(), extremes<T>()(2), {extremes<T>()(0), extremes<T>()(1)}};
    h5ser::save(saved, dir.file("m.h5"));
    const auto loaded = h5ser::load<OneOfEach<T>>(dir.file("m.h5"));
    CHECK(test::same_bytes(saved.values, loaded.values));
    CHECK(test::same_bytes(saved.scalar, loaded.scalar));
    CHECK(test::same_bytes(saved.pair, loaded.pair));
}

}  // namespace

TEST_CASE("every element type round-trips bit for bit, including NaN payloads, -0, infinities, denormals and integer extremes") {
    check_element_type<bool>();
    check_element_type<std::int8_t>();
    check_element_type<std::uint8_t>();
    check_element_type<std::int16_t>();
    check_element_type<std::uint16_t>();
    check_element_type<std::int32_t>();
    check_element_type<std::uint32_t>();
    check_element_type<std::int64_t>();
    check_element_type<std::uint64_t>();
    check_element_type<long long>();
    check_element_type<unsigned long long>();
    check_element_type<float>();
    check_element_type<double>();
    check_element_type<h5ser::float16>();
    check_element_type<h5ser::bfloat16>();
}

namespace {
struct Ranks {
    h5ser::tensor<float, 0> r0;
    h5ser::tensor<float, 1> r1;
    h5ser::tensor<float, 3> r3;
    h5ser::tensor<std::int16_t, 8> r8;
    h5ser::tensor<double, 2> zero_rows;
    h5ser::tensor<double, 3> all_zero;
};
}  // namespace

TEST_CASE("ranks 0 to 8 and zero-sized dimensions round-trip") {
    test::scratch_dir dir;
    Ranks saved;
    saved.r0() = -1.5f;
    saved.r1 = h5ser::tensor<float, 1>({5}, {1, 2, 3, 4, 5});
    saved.r3 = h5ser::tensor<float, 3>({2, 3, 4});
    for (std::size_t i = 0; i < saved.r3.size(); ++i) saved.r3.data()[i] = static_cast<float>(i) * 0.25f;
    saved.r8 = h5ser::tensor<std::int16_t, 8>({2, 1, 2, 1, 3, 1, 2, 2});
    for (std::size_t i = 0; i < saved.r8.size(); ++i) saved.r8.data()[i] = static_cast<std::int16_t>(i * 7 - 50);
    saved.zero_rows = h5ser::tensor<double, 2>({0, 7});
    h5ser::save(saved, dir.file("ranks.h5"));

    const auto loaded = h5ser::load<Ranks>(dir.file("ranks.h5"));
    CHECK(test::same_bytes(saved.r0, loaded.r0));
    CHECK(test::same_bytes(saved.r1, loaded.r1));
    CHECK(test::same_bytes(saved.r3, loaded.r3));
    CHECK(test::same_bytes(saved.r8, loaded.r8));
    CHECK(loaded.zero_rows.shape() == std::array<std::size_t, 2>{0, 7});
    CHECK(loaded.all_zero.shape() == std::array<std::size_t, 3>{0, 0, 0});
}

namespace {
enum class Activation : std::uint8_t { relu = 1, tanh = 2, gelu = 200 };
struct Hyper {
    std::string name;
    std::string empty;
    std::string unicode;
    std::vector<std::string> tags;
    std::vector<std::string> no_tags;
    std::array<std::string, 2> pair;
    Activation activation = Activation::relu;
    bool use_bias = false;
    std::array<bool, 3> mask{};
    std::vector<std::int32_t> counts;  // a dataset
    std::vector<float> no_values;
};
}  // namespace

TEST_CASE("strings (empty, non-ASCII), string lists, enums and bools round-trip") {
    test::scratch_dir dir;
    Hyper saved{"dense_1",        "",   "Größe – 重み – 🙂", {"a", "", "ü"}, {}, {"x", "y"},
                Activation::gelu, true, {true, false, true},           {3, -4, 5},     {}};
    h5ser::save(saved, dir.file("hyper.h5"));
    const auto loaded = h5ser::load<Hyper>(dir.file("hyper.h5"));
    CHECK(loaded.name == saved.name);
    CHECK(loaded.empty.empty());
    CHECK(loaded.unicode == saved.unicode);
    CHECK(loaded.tags == saved.tags);
    CHECK(loaded.no_tags.empty());
    CHECK(loaded.pair == saved.pair);
    CHECK(loaded.activation == Activation::gelu);
    CHECK(loaded.use_bias);
    CHECK(loaded.mask == saved.mask);
    CHECK(loaded.counts == saved.counts);
    CHECK(loaded.no_values.empty());
}

namespace {
struct Layer {
    h5ser::tensor<float, 2> w;
    int id = 0;
};
struct Containers {
    std::vector<Layer> layers;
    std::array<Layer, 2> pair;
    std::map<std::string, Layer> by_name;
    std::map<std::string, double> scalars;
    std::vector<h5ser::tensor<std::uint8_t, 1>> blobs;
    std::optional<Layer> present;
    std::optional<Layer> absent;
    std::optional<int> maybe_number;
    std::vector<std::vector<Layer>> nested;
};
Layer make_layer(int id) {
    Layer l{h5ser::tensor<float, 2>({2, 2}), id};
    for (std::size_t i = 0; i < 4; ++i) l.w.data()[i] = static_cast<float>(id * 10 + static_cast<int>(i));
    return l;
}
bool same_layer(const Layer& a, const Layer& b) { return a.id == b.id && test::same_bytes(a.w, b.w); }
}  // namespace

TEST_CASE("vectors, arrays and maps of structs, optionals and nested containers round-trip") {
    test::scratch_dir dir;
    Containers saved;
    for (int i = 0; i < 12; ++i) saved.layers.push_back(make_layer(i));  // "10" and "11" sort before "2"
    saved.pair = {make_layer(100), make_layer(101)};
    saved.by_name = {{"encoder", make_layer(7)}, {"décodeur", make_layer(8)}};
    saved.scalars = {{"lr", 0.001}, {"momentum", 0.9}};
    saved.blobs = {h5ser::tensor<std::uint8_t, 1>({3}, {1, 2, 255}), h5ser::tensor<std::uint8_t, 1>({0})};
    saved.present = make_layer(55);
    saved.maybe_number = 17;
    saved.nested = {{make_layer(1)}, {}, {make_layer(2), make_layer(3)}};
    h5ser::save(saved, dir.file("c.h5"));

    const auto loaded = h5ser::load<Containers>(dir.file("c.h5"));
    REQUIRE(loaded.layers.size() == 12);
    for (std::size_t i = 0; i < 12; ++i) CHECK(same_layer(loaded.layers[i], saved.layers[i]));
    CHECK(same_layer(loaded.pair[1], saved.pair[1]));
    REQUIRE(loaded.by_name.size() == 2);
    CHECK(same_layer(loaded.by_name.at("décodeur"), saved.by_name.at("décodeur")));
    CHECK(loaded.scalars == saved.scalars);
    REQUIRE(loaded.blobs.size() == 2);
    CHECK(test::same_bytes(loaded.blobs[0], saved.blobs[0]));
    CHECK(loaded.blobs[1].empty());
    REQUIRE(loaded.present.has_value());
    CHECK(same_layer(*loaded.present, *saved.present));
    CHECK_FALSE(loaded.absent.has_value());
    CHECK(loaded.maybe_number == 17);
    REQUIRE(loaded.nested.size() == 3);
    CHECK(loaded.nested[1].empty());
    CHECK(same_layer(loaded.nested[2][1], saved.nested[2][1]));
}

TEST_CASE("the fingerprint depends on every bit of every tensor and on nothing else") {
    test::scratch_dir dir;
    Containers a;
    a.layers = {make_layer(1), make_layer(2)};
    h5ser::save(a, dir.file("a.h5"));
    h5ser::save(a, dir.file("a2.h5"));
    Containers b = a;
    b.layers[1].w(1, 1) = std::bit_cast<float>(std::bit_cast<std::uint32_t>(b.layers[1].w(1, 1)) ^ 1u);
    h5ser::save(b, dir.file("b.h5"));
    Containers c = a;
    c.layers[0].id = 99;  // an attribute: not part of the fingerprint
    h5ser::save(c, dir.file("c.h5"));

    const auto fingerprint = [](const std::string& path) {
        for (const auto& attr : h5ser::inspect(path).attributes)
            if (attr.name == "fingerprint") return attr.value;
        return std::string();
    };
    CHECK(fingerprint(dir.file("a.h5")).size() == 18);  // 16 hex digits in quotes
    CHECK(fingerprint(dir.file("a.h5")) == fingerprint(dir.file("a2.h5")));
    CHECK(fingerprint(dir.file("a.h5")) != fingerprint(dir.file("b.h5")));
    CHECK(fingerprint(dir.file("a.h5")) == fingerprint(dir.file("c.h5")));
}

TEST_CASE("saving over an existing file replaces it and leaves no temporary files") {
    test::scratch_dir dir;
    Layer first = make_layer(1);
    h5ser::save(first, dir.file("m.h5"));
    Layer second = make_layer(2);
    h5ser::save(second, dir.file("m.h5"));
    CHECK(same_layer(h5ser::load<Layer>(dir.file("m.h5")), second));
    CHECK(test::count_files(dir.path()) == 1);
}
