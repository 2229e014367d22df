// h5ser/detail/dtype.hpp: HDF5 datatypes for element types, and names for what a file holds.
#pragma once

#include <hdf5.h>

#include <bit>
#include <cstdlib>
#include <string>
#include <type_traits>

#include "h5ser/detail/hdf5.hpp"
#include "h5ser/element_type.hpp"
#include "h5ser/config.hpp"

namespace h5ser::detail {

inline constexpr const char* bfloat16_tag = "bfloat16";

// h5py's bool: an 8-bit enum {FALSE = 0, TRUE = 1}; numpy reads it as bool.
H5SER_CORE_INLINE handle make_bool_type(hid_t base, const where& at);

// IEEE binary16 the way h5py builds it: sign bit 15, exponent bits 10-14, mantissa bits 0-9, bias 15.
H5SER_CORE_INLINE handle make_float16_type(H5T_order_t order, const where& at);

// A 2-byte opaque type, exactly what h5py writes for Keras's bfloat16 arrays (numpy "V2"): no
// reader converts the bits to another float type behind the user's back, and h5py reads it. It
// carries no tag because h5py cannot read opaque types with tags it did not write itself; datasets
// are marked with the attribute dtype="bfloat16" instead (Keras 3's convention).
inline handle make_bfloat16_type(const where& at) {
    return checked(H5Tcreate(H5T_OPAQUE, 2), at, "H5Tcreate(bfloat16)");
}

template <element_type T>
hid_t predefined_type(bool file) {
    H5open();  // the predefined ids exist once the library is initialised
    if constexpr (std::is_same_v<T, float>) return file ? H5T_IEEE_F32LE : H5T_NATIVE_FLOAT;
    else if constexpr (std::is_same_v<T, double>) return file ? H5T_IEEE_F64LE : H5T_NATIVE_DOUBLE;
    else if constexpr (std::is_signed_v<T>) {
        if constexpr (sizeof(T) == 1) return file ? H5T_STD_I8LE : H5T_NATIVE_INT8;
        else if constexpr (sizeof(T) == 2) return file ? H5T_STD_I16LE : H5T_NATIVE_INT16;
        else if constexpr (sizeof(T) == 4) return file ? H5T_STD_I32LE : H5T_NATIVE_INT32;
        else return file ? H5T_STD_I64LE : H5T_NATIVE_INT64;
    } else {
        if constexpr (sizeof(T) == 1) return file ? H5T_STD_U8LE : H5T_NATIVE_UINT8;
        else if constexpr (sizeof(T) == 2) return file ? H5T_STD_U16LE : H5T_NATIVE_UINT16;
        else if constexpr (sizeof(T) == 4) return file ? H5T_STD_U32LE : H5T_NATIVE_UINT32;
        else return file ? H5T_STD_U64LE : H5T_NATIVE_UINT64;
    }
}

/// The type written to files: little-endian always, so a file is the same on every host.
template <element_type T>
handle file_type(const where& at) {
    if constexpr (std::is_same_v<T, bool>) return make_bool_type(H5T_STD_I8LE, at);
    else if constexpr (std::is_same_v<T, float16>) return make_float16_type(H5T_ORDER_LE, at);
    else if constexpr (std::is_same_v<T, bfloat16>) return make_bfloat16_type(at);
    else return checked(H5Tcopy(predefined_type<T>(true)), at, "H5Tcopy");
}

/// The type of the bytes in memory, in this host's byte order.
template <element_type T>
handle memory_type(const where& at) {
    if constexpr (std::is_same_v<T, bool>) return make_bool_type(H5T_NATIVE_SCHAR, at);
    else if constexpr (std::is_same_v<T, float16>)
        return make_float16_type(std::endian::native == std::endian::little ? H5T_ORDER_LE : H5T_ORDER_BE, at);
    else if constexpr (std::is_same_v<T, bfloat16>) return make_bfloat16_type(at);
    else return checked(H5Tcopy(predefined_type<T>(false)), at, "H5Tcopy");
}

/// Names the element type an HDF5 type holds, in the words of dtype_name<T>() ("float32", "bool",
/// "string", ...) when it is one h5ser reads bit for bit, otherwise a description ("compound").
/// `bfloat16_marked`: a 2-byte opaque is bfloat16 (the dataset carries Keras's attribute
/// dtype="bfloat16", or the field reading it is bfloat16). Opaques tagged "bfloat16" always are.
H5SER_CORE_INLINE std::string describe_type(hid_t type, bool bfloat16_marked = false);

/// Memory type to read `file_type` into an element of type T. bfloat16 is read with the file's own
/// opaque type (HDF5 converts between opaques only when the tags are equal).
template <element_type T>
handle read_memory_type(hid_t file_type_id, const where& at) {
    if constexpr (std::is_same_v<T, bfloat16>) return checked(H5Tcopy(file_type_id), at, "H5Tcopy");
    else return memory_type<T>(at);
}

#if H5SER_CORE_DEFINITIONS
// ---- core definitions (compiled once with H5SER_COMPILED_CORE; see h5ser/config.hpp) ----

H5SER_CORE_INLINE handle make_bool_type(hid_t base, const where& at) {
    handle t = checked(H5Tenum_create(base), at, "H5Tenum_create(bool)");
    const signed char no = 0;
    const signed char yes = 1;
    check(H5Tenum_insert(t.get(), "FALSE", &no), at, "H5Tenum_insert(FALSE)");
    check(H5Tenum_insert(t.get(), "TRUE", &yes), at, "H5Tenum_insert(TRUE)");
    return t;
}

H5SER_CORE_INLINE handle make_float16_type(H5T_order_t order, const where& at) {
    handle t = checked(H5Tcopy(H5T_IEEE_F32LE), at, "H5Tcopy(float16)");
    check(H5Tset_fields(t.get(), 15, 10, 5, 0, 10), at, "H5Tset_fields(float16)");
    check(H5Tset_size(t.get(), 2), at, "H5Tset_size(float16)");
    check(H5Tset_ebias(t.get(), 15), at, "H5Tset_ebias(float16)");
    check(H5Tset_order(t.get(), order), at, "H5Tset_order(float16)");
    return t;
}

H5SER_CORE_INLINE std::string describe_type(hid_t type, bool bfloat16_marked) {
    const std::size_t size = H5Tget_size(type);
    const std::string bytes = std::to_string(size) + "-byte";
    switch (H5Tget_class(type)) {
        case H5T_INTEGER: {
            const bool is_signed = H5Tget_sign(type) == H5T_SGN_2;
            if (H5Tget_precision(type) != 8 * size || H5Tget_offset(type) != 0 || (size != 1 && size != 2 && size != 4 && size != 8))
                return bytes + " padded integer";
            return (is_signed ? "int" : "uint") + std::to_string(8 * size);
        }
        case H5T_FLOAT: {
            std::size_t spos = 0, epos = 0, esize = 0, mpos = 0, msize = 0;
            H5Tget_fields(type, &spos, &epos, &esize, &mpos, &msize);
            const std::size_t bias = H5Tget_ebias(type);
            const bool plain = H5Tget_offset(type) == 0 && H5Tget_precision(type) == 8 * size && mpos == 0;
            if (plain && size == 2 && spos == 15 && epos == 10 && esize == 5 && msize == 10 && bias == 15) return "float16";
            if (plain && size == 4 && spos == 31 && epos == 23 && esize == 8 && msize == 23 && bias == 127) return "float32";
            if (plain && size == 8 && spos == 63 && epos == 52 && esize == 11 && msize == 52 && bias == 1023) return "float64";
            return bytes + " non-IEEE float";
        }
        case H5T_ENUM: {
            if (size == 1 && H5Tget_nmembers(type) == 2) {
                bool is_bool = true;
                for (unsigned i = 0; i < 2; ++i) {
                    char* name = H5Tget_member_name(type, i);
                    signed char value = -1;
                    H5Tget_member_value(type, i, &value);
                    const std::string member = name ? name : "";
                    H5free_memory(name);
                    is_bool = is_bool && ((member == "FALSE" && value == 0) || (member == "TRUE" && value == 1));
                }
                if (is_bool) return "bool";
            }
            return bytes + " enum";
        }
        case H5T_OPAQUE: {
            char* tag = H5Tget_tag(type);
            const std::string t = tag ? tag : "";
            H5free_memory(tag);
            if (size == 2 && (t == bfloat16_tag || bfloat16_marked)) return "bfloat16";
            return bytes + " opaque" + (t.empty() ? std::string() : " '" + t + "'");
        }
        case H5T_STRING: return "string";
        case H5T_COMPOUND: return "compound";
        case H5T_ARRAY: return "array type";
        case H5T_VLEN: return "variable-length sequence";
        case H5T_REFERENCE: return "reference";
        case H5T_BITFIELD: return "bitfield";
        case H5T_TIME: return "time";
        default: return "unknown type";
    }
}

#endif  // H5SER_CORE_DEFINITIONS

}  // namespace h5ser::detail
