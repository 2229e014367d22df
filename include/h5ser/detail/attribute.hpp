// h5ser/detail/attribute.hpp: scalars, enums, strings and small arrays as HDF5 attributes.
#pragma once

#include <hdf5.h>

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "h5ser/detail/dtype.hpp"
#include "h5ser/detail/hdf5.hpp"
#include "h5ser/detail/problems.hpp"
#include "h5ser/element_type.hpp"

namespace h5ser::detail {

template <class T>
struct is_std_array : std::false_type {};
template <class T, std::size_t N>
struct is_std_array<std::array<T, N>> : std::true_type {
    using value_type = T;
    static constexpr std::size_t size = N;
};

/// What an attribute field holds, as seen from the file: a scalar or a 1-D list of elements.
template <class T>
struct attribute_codec {
    static constexpr bool supported = false;
};

// Scalar element types, and enums through their underlying integer type.
template <class T>
    requires(element_type<T> || std::is_enum_v<T>)
struct attribute_codec<T> {
    static constexpr bool supported = true;
    static constexpr bool is_list = false;
    using element = typename std::conditional_t<std::is_enum_v<T>, std::underlying_type<T>, std::type_identity<T>>::type;
    static_assert(element_type<element>, "h5ser: enums must have an integer underlying type other than char");
};

template <>
struct attribute_codec<std::string> {
    static constexpr bool supported = true;
    static constexpr bool is_list = false;
    using element = std::string;
};

template <class T, std::size_t N>
    requires(element_type<T> || std::is_same_v<T, std::string>)
struct attribute_codec<std::array<T, N>> {
    static constexpr bool supported = true;
    static constexpr bool is_list = true;
    using element = T;
};

template <class Alloc>
struct attribute_codec<std::vector<std::string, Alloc>> {
    static constexpr bool supported = true;
    static constexpr bool is_list = true;
    using element = std::string;
};

template <class T>
concept attribute_value = attribute_codec<T>::supported;

template <class T>
constexpr std::string_view attribute_dtype_name() {
    using element = typename attribute_codec<T>::element;
    if constexpr (std::is_same_v<element, std::string>) return "string";
    else return dtype_name<element>();
}

// ---- writing --------------------------------------------------------------------------------

inline handle utf8_string_type(const where& at) {
    handle t = checked(H5Tcopy(H5T_C_S1), at, "H5Tcopy(string)");
    check(H5Tset_size(t.get(), H5T_VARIABLE), at, "H5Tset_size(string)");
    check(H5Tset_cset(t.get(), H5T_CSET_UTF8), at, "H5Tset_cset(string)");
    return t;
}

inline handle utf8_name_plist(hid_t class_id, const where& at) {
    handle plist = checked(H5Pcreate(class_id), at, "H5Pcreate");
    check(H5Pset_char_encoding(plist.get(), H5T_CSET_UTF8), at, "H5Pset_char_encoding");
    return plist;
}

// Variable-length strings end at the first NUL: refuse data HDF5 would silently cut short.
inline void check_storable_string(const std::string& s, const where& at) {
    if (const auto nul = s.find('\0'); nul != std::string::npos) {
        throw error(std::string(at.file),
                    problem{errc::invalid_value, at.field, at.h5_or_root(), {}, {},
                            "the string holds a NUL byte at offset " + std::to_string(nul) +
                                "; HDF5 strings end at the first NUL, so store binary data in an "
                                "h5ser::tensor<std::uint8_t, 1> instead"});
    }
}

/// Ids one save reuses for every attribute it writes: making a property list and a string type per
/// attribute costs about as much as writing the attribute (see bench_many_small).
struct attribute_ids {
    hid_t create = H5I_INVALID_HID;       ///< attribute creation plist with UTF-8 names
    hid_t utf8_string = H5I_INVALID_HID;  ///< variable-length UTF-8 string type
};

inline void create_and_write_attribute(hid_t object, std::string_view name, hid_t type, hid_t space, const void* data,
                                       const where& at, hid_t acpl_id = H5I_INVALID_HID) {
    handle own_acpl;
    if (acpl_id < 0) {
        own_acpl = utf8_name_plist(H5P_ATTRIBUTE_CREATE, at);
        acpl_id = own_acpl.get();
    }
    const std::string n(name);
    handle attr = checked(H5Acreate2(object, n.c_str(), type, space, acpl_id, H5P_DEFAULT), at,
                          "cannot create attribute");
    check(H5Awrite(attr.get(), type, data), at, "cannot write attribute");
}

template <attribute_value T>
void write_attribute(hid_t object, std::string_view name, const T& value, const where& at, const attribute_ids& shared = {}) {
    using codec = attribute_codec<T>;
    using element = typename codec::element;
    const hsize_t count = [&]() -> hsize_t {
        if constexpr (codec::is_list) return value.size();
        else return 1;
    }();
    handle space = codec::is_list ? checked(H5Screate_simple(1, &count, nullptr), at, "H5Screate_simple")
                                  : checked(H5Screate(H5S_SCALAR), at, "H5Screate");
    if constexpr (std::is_same_v<element, std::string>) {
        std::vector<const char*> pointers;
        if constexpr (codec::is_list) {
            for (const auto& s : value) {
                check_storable_string(s, at);
                pointers.push_back(s.c_str());
            }
        } else {
            check_storable_string(value, at);
            pointers.push_back(value.c_str());
        }
        handle own_type;
        hid_t type = shared.utf8_string;
        if (type < 0) {
            own_type = utf8_string_type(at);
            type = own_type.get();
        }
        const char* none = nullptr;  // HDF5 refuses a null buffer even for zero elements
        create_and_write_attribute(object, name, type, space.get(), pointers.empty() ? &none : pointers.data(), at, shared.create);
    } else {
        // The file type is little-endian; HDF5 converts from the memory type on write.
        handle ftype = file_type<element>(at);
        handle mtype = memory_type<element>(at);
        handle own_acpl;
        hid_t acpl = shared.create;
        if (acpl < 0) {
            own_acpl = utf8_name_plist(H5P_ATTRIBUTE_CREATE, at);
            acpl = own_acpl.get();
        }
        const std::string n(name);
        handle attr = checked(H5Acreate2(object, n.c_str(), ftype.get(), space.get(), acpl, H5P_DEFAULT), at,
                              "cannot create attribute");
        const element none{};  // HDF5 refuses a null buffer even for zero elements
        const void* data = &none;
        if constexpr (codec::is_list) {
            if (count != 0) data = value.data();
        } else {
            data = &value;
        }
        check(H5Awrite(attr.get(), mtype.get(), data), at, "cannot write attribute");
    }
}

// ---- reading --------------------------------------------------------------------------------

/// Reads every string of a string attribute or dataset, whichever of the encodings h5py and Keras
/// have written: variable or fixed length, ASCII or UTF-8, NUL-terminated, NUL- or space-padded.
inline std::vector<std::string> read_strings(hid_t object, hid_t file_type_id, hid_t space, std::size_t count,
                                             bool is_attribute, const where& at) {
    std::vector<std::string> out;
    out.reserve(count);
    if (count == 0) return out;
    const auto read = [&](hid_t mem_type, void* buffer) {
        const herr_t status = is_attribute ? H5Aread(object, mem_type, buffer)
                                           : H5Dread(object, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer);
        check(status, at, "cannot read string");
    };
    if (H5Tis_variable_str(file_type_id) > 0) {
        handle mem = checked(H5Tcopy(H5T_C_S1), at, "H5Tcopy(string)");
        check(H5Tset_size(mem.get(), H5T_VARIABLE), at, "H5Tset_size");
        check(H5Tset_cset(mem.get(), H5Tget_cset(file_type_id)), at, "H5Tset_cset");
        std::vector<char*> pointers(count, nullptr);
        read(mem.get(), pointers.data());
        for (char* p : pointers) out.emplace_back(p ? p : "");
        H5Dvlen_reclaim(mem.get(), space, H5P_DEFAULT, pointers.data());
    } else {
        const std::size_t width = H5Tget_size(file_type_id);
        handle mem = checked(H5Tcopy(file_type_id), at, "H5Tcopy(string)");
        check(H5Tset_order(mem.get(), H5T_ORDER_NONE), at, "H5Tset_order");
        std::vector<char> buffer(width * count);
        read(mem.get(), buffer.data());
        const H5T_str_t pad = H5Tget_strpad(file_type_id);
        for (std::size_t i = 0; i < count; ++i) {
            std::string_view s(buffer.data() + i * width, width);
            if (pad == H5T_STR_SPACEPAD) {
                s = s.substr(0, s.find_last_not_of(' ') + 1);
            } else if (const auto nul = s.find('\0'); nul != std::string_view::npos) {
                s = s.substr(0, nul);
            }
            out.emplace_back(s);
        }
    }
    return out;
}

struct extent {
    bool scalar = false;  ///< H5S_SCALAR
    bool null = false;    ///< H5S_NULL
    std::vector<hsize_t> dims;

    [[nodiscard]] std::size_t count() const {
        std::size_t n = null ? 0 : 1;
        for (hsize_t d : dims) n *= static_cast<std::size_t>(d);
        return n;
    }
    [[nodiscard]] std::string text() const {
        if (null) return "null dataspace";
        if (scalar) return "scalar";
        std::string s = "[";
        for (std::size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
        return s + "]";
    }
};

inline extent read_extent(hid_t space, const where& at) {
    extent e;
    const H5S_class_t cls = H5Sget_simple_extent_type(space);
    if (cls == H5S_NULL) {
        e.null = true;
        return e;
    }
    if (cls == H5S_SCALAR) {
        e.scalar = true;
        return e;
    }
    const int rank = H5Sget_simple_extent_ndims(space);
    if (rank < 0) throw_hdf5(at, "cannot read dataspace");
    e.dims.resize(static_cast<std::size_t>(rank));
    if (H5Sget_simple_extent_dims(space, e.dims.data(), nullptr) < 0) throw_hdf5(at, "cannot read dataspace");
    return e;
}

/// Reads an attribute into a fresh value; records a problem and returns nothing when the file's
/// attribute has another type or shape than the field.
template <attribute_value T>
std::optional<T> read_attribute(hid_t object, const std::string& name, const where& at, problem_list& problems) {
    using codec = attribute_codec<T>;
    using element = typename codec::element;
    handle attr = checked(H5Aopen(object, name.c_str(), H5P_DEFAULT), at, "cannot open attribute");
    handle type = checked(H5Aget_type(attr.get()), at, "H5Aget_type");
    handle space = checked(H5Aget_space(attr.get()), at, "H5Aget_space");
    const extent ext = read_extent(space.get(), at);
    // Every element takes at least one stored byte: a larger count is a lie that would make us
    // allocate memory the file never backs.
    if (ext.count() > H5Aget_storage_size(attr.get()) + 1) {
        problems.add({errc::unsafe_file, at.field, at.h5_or_root(), "an attribute stored in this file",
                      "an attribute declaring " + std::to_string(ext.count()) + " elements in " +
                          std::to_string(H5Aget_storage_size(attr.get())) + " bytes",
                      {}});
        return std::nullopt;
    }
    // Attributes cannot carry the dtype="bfloat16" marker: a bfloat16 field accepts any 2-byte opaque.
    const std::string found_type = describe_type(type.get(), std::is_same_v<element, bfloat16>);
    constexpr std::string_view want_type = attribute_dtype_name<T>();

    const std::string want_shape = [&] {
        if constexpr (!codec::is_list) return std::string("scalar");
        else if constexpr (is_std_array<T>::value) return "[" + std::to_string(is_std_array<T>::size) + "]";
        else return std::string("[n]");
    }();
    bool shape_ok = false;
    if constexpr (!codec::is_list) shape_ok = ext.scalar;
    else if constexpr (is_std_array<T>::value) shape_ok = !ext.scalar && ext.dims.size() == 1 && ext.dims[0] == is_std_array<T>::size;
    else shape_ok = !ext.scalar && ext.dims.size() == 1;

    const bool type_ok = found_type == want_type;
    if (!type_ok || !shape_ok) {
        problems.add({type_ok ? errc::shape_mismatch : errc::dtype_mismatch, at.field, at.h5_or_root(),
                      "attribute " + std::string(want_type) + " " + want_shape,
                      "attribute " + found_type + " " + ext.text(), {}});
        return std::nullopt;
    }

    T value{};
    if constexpr (std::is_same_v<element, std::string>) {
        auto strings = read_strings(attr.get(), type.get(), space.get(), ext.count(), true, at);
        if constexpr (!codec::is_list) value = std::move(strings.front());
        else if constexpr (is_std_array<T>::value) std::move(strings.begin(), strings.end(), value.begin());
        else value.assign(std::make_move_iterator(strings.begin()), std::make_move_iterator(strings.end()));
    } else if constexpr (std::is_same_v<element, bool>) {
        // Read the enum's bytes, then refuse anything but 0 and 1 (another byte would be an invalid bool).
        std::vector<signed char> bytes(ext.count());
        handle mem = memory_type<bool>(at);
        check(H5Aread(attr.get(), mem.get(), bytes.data()), at, "cannot read attribute");
        for (std::size_t i = 0; i < bytes.size(); ++i) {
            if (bytes[i] != 0 && bytes[i] != 1) {
                problems.add({errc::invalid_value, at.field, at.h5_or_root(), "bool 0 or 1",
                              "byte value " + std::to_string(bytes[i]), {}});
                return std::nullopt;
            }
            if constexpr (codec::is_list) value[i] = bytes[i] == 1;
            else value = bytes[i] == 1;
        }
    } else {
        handle mem = read_memory_type<element>(type.get(), at);
        void* data = nullptr;
        if constexpr (codec::is_list) data = value.data();
        else data = &value;
        check(H5Aread(attr.get(), mem.get(), data), at, "cannot read attribute");
    }
    return value;
}

/// Reads a string attribute of any encoding; nullopt when absent or not a scalar string.
inline std::optional<std::string> read_string_attribute(hid_t object, const char* name, const where& at) {
    handle attr(H5Aopen(object, name, H5P_DEFAULT));  // one lookup, not H5Aexists and then H5Aopen
    if (!attr) {
        H5Eclear2(H5E_DEFAULT);
        return std::nullopt;
    }
    handle type = checked(H5Aget_type(attr.get()), at, "H5Aget_type");
    handle space = checked(H5Aget_space(attr.get()), at, "H5Aget_space");
    if (H5Tget_class(type.get()) != H5T_STRING || H5Sget_simple_extent_type(space.get()) != H5S_SCALAR) return std::nullopt;
    return read_strings(attr.get(), type.get(), space.get(), 1, true, at).front();
}

}  // namespace h5ser::detail
