// h5ser/detail/hdf5/dtype-inl.hpp: definitions of h5ser/detail/hdf5/dtype.hpp (compiled once with the compiled core; see
// h5ser/config.hpp).
#pragma once

#include "h5ser/detail/hdf5/dtype.hpp"

namespace h5ser::detail {

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
        case H5T_STRING:
            return "string";
        case H5T_COMPOUND:
            return "compound";
        case H5T_ARRAY:
            return "array type";
        case H5T_VLEN:
            return "variable-length sequence";
        case H5T_REFERENCE:
            return "reference";
        case H5T_BITFIELD:
            return "bitfield";
        case H5T_TIME:
            return "time";
        default:
            return "unknown type";
    }
}

H5SER_CORE_INLINE handle file_type(element_kind kind, const where& at) {
    return with_element_type(kind, [&]<class T>() { return file_type<T>(at); });
}

H5SER_CORE_INLINE handle memory_type(element_kind kind, const where& at) {
    return with_element_type(kind, [&]<class T>() { return memory_type<T>(at); });
}

H5SER_CORE_INLINE handle read_memory_type(element_kind kind, hid_t file_type_id, const where& at) {
    if (kind == element_kind::bfloat16) return checked(H5Tcopy(file_type_id), at, "H5Tcopy");
    return memory_type(kind, at);
}

}  // namespace h5ser::detail
