// h5ser/detail/hdf5/dtype.hpp: HDF5 datatypes for element types, and names for what a file holds.
#pragma once

#include <hdf5.h>

#include <bit>
#include <cstdlib>
#include <string>
#include <type_traits>

#include "h5ser/config.hpp"
#include "h5ser/detail/hdf5/hdf5.hpp"
#include "h5ser/element_type.hpp"

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
inline handle make_bfloat16_type(const where& at) { return checked(H5Tcreate(H5T_OPAQUE, 2), at, "H5Tcreate(bfloat16)"); }

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

/// file_type and memory_type of the element type of `kind`: for the writes that take elements of
/// any type (tensor_view, attribute_view), compiled once.
H5SER_CORE_INLINE handle file_type(element_kind kind, const where& at);
H5SER_CORE_INLINE handle memory_type(element_kind kind, const where& at);
/// read_memory_type of the element type of `kind`, compiled once.
H5SER_CORE_INLINE handle read_memory_type(element_kind kind, hid_t file_type_id, const where& at);

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

}  // namespace h5ser::detail

#if H5SER_CORE_DEFINITIONS
#include "h5ser/detail/hdf5/dtype-inl.hpp"
#endif
