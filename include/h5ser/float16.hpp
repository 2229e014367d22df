// h5ser/float16.hpp: 16-bit floating-point storage types (IEEE half and bfloat16).
//
// They hold the 16 bits exactly as stored; h5ser moves those bits to and from files untouched.
// Conversions to and from float are provided for convenience (round to nearest, ties to even).
#pragma once

#include <bit>
#include <cstdint>

namespace h5ser {

namespace detail {
struct from_bits_tag {};
}  // namespace detail

/// IEEE 754 binary16. Stored in HDF5 as a 2-byte float type that h5py reads as numpy float16.
struct float16 {
    std::uint16_t bits = 0;

    float16() = default;
    constexpr float16(detail::from_bits_tag, std::uint16_t b) noexcept : bits(b) {}
    explicit float16(float value) noexcept : bits(encode(value)) {}

    [[nodiscard]] static constexpr float16 from_bits(std::uint16_t b) noexcept { return {detail::from_bits_tag{}, b}; }
    explicit operator float() const noexcept { return decode(bits); }

    friend bool operator==(float16 a, float16 b) noexcept { return float(a) == float(b); }

private:
    static std::uint16_t encode(float value) noexcept {
        const std::uint32_t f = std::bit_cast<std::uint32_t>(value);
        const std::uint32_t sign = (f >> 16) & 0x8000u;
        const std::uint32_t abs = f & 0x7fffffffu;
        if (abs >= 0x7f800000u) {  // inf or NaN: keep the top mantissa bits, force quiet NaN
            return static_cast<std::uint16_t>(sign | 0x7c00u | (abs > 0x7f800000u ? (0x200u | ((abs >> 13) & 0x3ffu)) : 0u));
        }
        if (abs >= 0x477ff000u) return static_cast<std::uint16_t>(sign | 0x7c00u);  // rounds to inf
        if (abs < 0x38800000u) {                                                    // subnormal half or zero
            if (abs < 0x33000000u) return static_cast<std::uint16_t>(sign);
            const std::uint32_t exp = abs >> 23;
            const std::uint32_t mant = (abs & 0x7fffffu) | 0x800000u;
            const std::uint32_t shift = 126u - exp;  // 14..24
            std::uint32_t half = mant >> shift;
            const std::uint32_t rest = mant & ((1u << shift) - 1u);
            const std::uint32_t mid = 1u << (shift - 1u);
            if (rest > mid || (rest == mid && (half & 1u))) ++half;
            return static_cast<std::uint16_t>(sign | half);
        }
        std::uint32_t half = ((abs - 0x38000000u) >> 13);
        const std::uint32_t rest = abs & 0x1fffu;
        if (rest > 0x1000u || (rest == 0x1000u && (half & 1u))) ++half;
        return static_cast<std::uint16_t>(sign | half);
    }
    static float decode(std::uint16_t h) noexcept {
        const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
        const std::uint32_t exp = (h >> 10) & 0x1fu;
        std::uint32_t mant = h & 0x3ffu;
        std::uint32_t out = 0;
        if (exp == 0x1fu) {
            out = sign | 0x7f800000u | (mant << 13);
        } else if (exp != 0) {
            out = sign | ((exp + 112u) << 23) | (mant << 13);
        } else if (mant != 0) {  // subnormal: normalise
            std::uint32_t e = 113;
            while ((mant & 0x400u) == 0) {
                mant <<= 1;
                --e;
            }
            out = sign | (e << 23) | ((mant & 0x3ffu) << 13);
        } else {
            out = sign;
        }
        return std::bit_cast<float>(out);
    }
};

/// bfloat16 (the top 16 bits of a float32). Stored in HDF5 as a 2-byte opaque type, and datasets
/// carry the attribute dtype="bfloat16", as Keras 3 writes them; h5py reads the raw bytes (numpy
/// "|V2"), which `ml_dtypes.bfloat16` views without conversion.
struct bfloat16 {
    std::uint16_t bits = 0;

    bfloat16() = default;
    constexpr bfloat16(detail::from_bits_tag, std::uint16_t b) noexcept : bits(b) {}
    explicit bfloat16(float value) noexcept : bits(encode(value)) {}

    [[nodiscard]] static constexpr bfloat16 from_bits(std::uint16_t b) noexcept { return {detail::from_bits_tag{}, b}; }
    explicit operator float() const noexcept { return std::bit_cast<float>(static_cast<std::uint32_t>(bits) << 16); }

    friend bool operator==(bfloat16 a, bfloat16 b) noexcept { return float(a) == float(b); }

private:
    static std::uint16_t encode(float value) noexcept {
        const std::uint32_t f = std::bit_cast<std::uint32_t>(value);
        if ((f & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((f >> 16) | 0x40u);  // quiet NaN
        const std::uint32_t rounding = 0x7fffu + ((f >> 16) & 1u);
        return static_cast<std::uint16_t>((f + rounding) >> 16);
    }
};

static_assert(sizeof(float16) == 2 && sizeof(bfloat16) == 2);

}  // namespace h5ser
