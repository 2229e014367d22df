#include <cstdint>
#include <stdexcept>

#include "support.hpp"

TEST_CASE("tensor: shape, zero fill, row-major indexing, 64-byte alignment") {
    h5ser::tensor<float, 2> t({3, 4});
    CHECK(t.shape() == std::array<std::size_t, 2>{3, 4});
    CHECK(t.size() == 12);
    CHECK(t.size_bytes() == 48);
    for (float v : t) CHECK(v == 0.0f);
    t(1, 2) = 5.0f;
    CHECK(t.data()[1 * 4 + 2] == 5.0f);
    CHECK(reinterpret_cast<std::uintptr_t>(t.data()) % 64 == 0);
}

TEST_CASE("tensor: default is empty and rank 0 holds one element") {
    h5ser::tensor<double, 3> empty;
    CHECK(empty.size() == 0);
    CHECK(empty.empty());
    CHECK(empty.shape() == std::array<std::size_t, 3>{0, 0, 0});
    h5ser::tensor<std::int32_t, 0> scalar;
    CHECK(scalar.size() == 1);
    scalar() = 7;
    CHECK(scalar() == 7);
}

TEST_CASE("tensor: deep copy, move leaves source empty, equality compares shape and elements") {
    h5ser::tensor<int, 1> a({3}, {1, 2, 3});
    h5ser::tensor<int, 1> b = a;
    b(0) = 9;
    CHECK(a(0) == 1);
    CHECK_FALSE(a == b);
    b(0) = 1;
    CHECK(a == b);
    h5ser::tensor<int, 1> c = std::move(b);
    CHECK(c == a);
    CHECK(b.empty());  // NOLINT(bugprone-use-after-move): documented moved-from state
}

TEST_CASE("tensor: wrong number of initial values and overflowing shapes throw") {
    CHECK_THROWS_AS((h5ser::tensor<int, 1>({3}, {1, 2})), std::invalid_argument);
    const std::size_t huge = std::size_t{1} << 62;
    CHECK_THROWS_AS((h5ser::tensor<float, 2>({huge, huge})), std::length_error);
}

TEST_CASE("float16 and bfloat16 convert with round-to-nearest-even and keep bits") {
    CHECK(h5ser::float16(1.0f).bits == 0x3c00);
    CHECK(h5ser::float16(-2.0f).bits == 0xc000);
    CHECK(h5ser::float16(65504.0f).bits == 0x7bff);
    CHECK(h5ser::float16(1e6f).bits == 0x7c00);                   // overflow to inf
    CHECK(h5ser::float16(5.960464477539063e-8f).bits == 0x0001);  // smallest subnormal
    CHECK(static_cast<float>(h5ser::float16::from_bits(0x3555)) == 0.333251953125f);
    CHECK(static_cast<float>(h5ser::float16::from_bits(0x0001)) == 5.960464477539063e-8f);
    CHECK(h5ser::bfloat16(1.0f).bits == 0x3f80);
    CHECK(static_cast<float>(h5ser::bfloat16::from_bits(0xc0a0)) == -5.0f);
    CHECK(h5ser::bfloat16(1.00390625f).bits == 0x3f80);  // tie rounds to even
}
