// h5ser/detail/hdf5/attribute-inl.hpp: definitions of h5ser/detail/hdf5/attribute.hpp (compiled once with the compiled core; see
// h5ser/config.hpp).
#pragma once

#include "h5ser/detail/hdf5/attribute.hpp"

namespace h5ser::detail {

H5SER_CORE_INLINE handle utf8_string_type(const where& at) {
    handle t = checked(H5Tcopy(H5T_C_S1), at, "H5Tcopy(string)");
    check(H5Tset_size(t.get(), H5T_VARIABLE), at, "H5Tset_size(string)");
    check(H5Tset_cset(t.get(), H5T_CSET_UTF8), at, "H5Tset_cset(string)");
    return t;
}

H5SER_CORE_INLINE handle utf8_name_plist(hid_t class_id, const where& at) {
    handle plist = checked(H5Pcreate(class_id), at, "H5Pcreate");
    check(H5Pset_char_encoding(plist.get(), H5T_CSET_UTF8), at, "H5Pset_char_encoding");
    return plist;
}

H5SER_CORE_INLINE void check_storable_string(const std::string& s, const where& at) {
    if (const auto nul = s.find('\0'); nul != std::string::npos) {
        throw error(std::string(at.file), problem{errc::invalid_value,
                                                  at.field,
                                                  at.h5_or_root(),
                                                  {},
                                                  {},
                                                  "the string holds a NUL byte at offset " + std::to_string(nul) +
                                                      "; HDF5 strings end at the first NUL, so store binary data in an "
                                                      "h5ser::tensor<std::uint8_t, 1> instead"});
    }
}

H5SER_CORE_INLINE void create_and_write_attribute(hid_t object, std::string_view name, hid_t type, hid_t space, const void* data,
                                                  const where& at, hid_t acpl_id, hid_t memory_type) {
    handle own_acpl;
    if (acpl_id < 0) {
        own_acpl = utf8_name_plist(H5P_ATTRIBUTE_CREATE, at);
        acpl_id = own_acpl.get();
    }
    const std::string n(name);
    handle attr = checked(H5Acreate2(object, n.c_str(), type, space, acpl_id, H5P_DEFAULT), at, "cannot create attribute");
    check(H5Awrite(attr.get(), memory_type < 0 ? type : memory_type, data), at, "cannot write attribute");
}

/// The dataspace of an attribute of `count` elements: a scalar unless `is_list`.
H5SER_CORE_INLINE handle attribute_space(std::size_t count, bool is_list, const where& at) {
    const hsize_t dims = count;
    return is_list ? checked(H5Screate_simple(1, &dims, nullptr), at, "H5Screate_simple") : checked(H5Screate(H5S_SCALAR), at, "H5Screate");
}

H5SER_CORE_INLINE std::vector<std::string> read_strings(hid_t object, hid_t file_type_id, hid_t space, std::size_t count, bool is_attribute,
                                                        const where& at) {
    std::vector<std::string> out;
    out.reserve(count);
    if (count == 0) return out;
    const auto read = [&](hid_t mem_type, void* buffer) {
        const herr_t status =
            is_attribute ? H5Aread(object, mem_type, buffer) : H5Dread(object, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer);
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

H5SER_CORE_INLINE std::string extent::text() const {
    if (null) return "null dataspace";
    if (scalar) return "scalar";
    return dims_text(dims);
}

H5SER_CORE_INLINE extent read_extent(hid_t space, const where& at) {
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

H5SER_CORE_INLINE std::optional<std::string> read_string_attribute(hid_t object, const char* name, const where& at) {
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

H5SER_CORE_INLINE void write_string_attribute(hid_t object, std::string_view name, const std::string* strings, std::size_t count,
                                              bool is_list, const where& at, const attribute_ids& shared) {
    const handle space = attribute_space(count, is_list, at);
    std::vector<const char*> pointers;
    pointers.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
        check_storable_string(strings[i], at);
        pointers.push_back(strings[i].c_str());
    }
    handle own_type;
    hid_t type = shared.utf8_string;
    if (type < 0) {
        own_type = utf8_string_type(at);
        type = own_type.get();
    }
    const char* none = nullptr;  // HDF5 refuses a null buffer even for zero elements
    create_and_write_attribute(object, name, type, space.get(), pointers.empty() ? &none : pointers.data(), at, shared.create);
}

H5SER_CORE_INLINE void write_element_attribute(hid_t object, std::string_view name, hid_t file, hid_t memory, const void* data,
                                               std::size_t count, bool is_list, const where& at, const attribute_ids& shared) {
    const handle space = attribute_space(count, is_list, at);
    const std::uint64_t none = 0;  // HDF5 refuses a null buffer even for zero elements
    create_and_write_attribute(object, name, file, space.get(), count != 0 ? data : &none, at, shared.create, memory);
}

H5SER_CORE_INLINE std::optional<checked_attribute> open_checked_attribute(hid_t object, const std::string& name, std::string_view want_type,
                                                                          bool bfloat16_field, const attribute_shape& want_shape,
                                                                          const where& at, problem_list& problems) {
    checked_attribute a;
    a.attr = checked(H5Aopen(object, name.c_str(), H5P_DEFAULT), at, "cannot open attribute");
    a.type = checked(H5Aget_type(a.attr.get()), at, "H5Aget_type");
    a.space = checked(H5Aget_space(a.attr.get()), at, "H5Aget_space");
    a.shape = read_extent(a.space.get(), at);
    // Every element takes at least one stored byte: a larger count is a lie that would make us
    // allocate memory the file never backs.
    if (a.shape.count() > H5Aget_storage_size(a.attr.get()) + 1) {
        problems.add({errc::unsafe_file,
                      at.field,
                      at.h5_or_root(),
                      "an attribute stored in this file",
                      "an attribute declaring " + std::to_string(a.shape.count()) + " elements in " +
                          std::to_string(H5Aget_storage_size(a.attr.get())) + " bytes",
                      {}});
        return std::nullopt;
    }
    if (!attribute_fits(describe_type(a.type.get(), bfloat16_field), a.shape, want_type, want_shape, at, problems)) return std::nullopt;
    return a;
}

H5SER_CORE_INLINE bool attribute_fits(std::string_view found_type, const extent& shape, std::string_view want_type,
                                      const attribute_shape& want_shape, const where& at, problem_list& problems) {
    bool shape_ok = false;
    // A scalar may come as an array of one element (MATLAB's 1x1, h5py's np.array([x])).
    if (!want_shape.is_list) shape_ok = shape.scalar || (!shape.dims.empty() && shape.count() == 1);
    else shape_ok = !shape.scalar && shape.dims.size() == 1 && (!want_shape.size || shape.dims[0] == *want_shape.size);
    const bool type_ok = found_type == want_type;
    if (type_ok && shape_ok) return true;
    const std::string shape_text = !want_shape.is_list ? std::string("scalar")
                                   : want_shape.size   ? "[" + std::to_string(*want_shape.size) + "]"
                                                       : std::string("[n]");
    problems.add({type_ok ? errc::shape_mismatch : errc::dtype_mismatch,
                  at.field,
                  at.h5_or_root(),
                  "attribute " + std::string(want_type) + " " + shape_text,
                  "attribute " + std::string(found_type) + " " + shape.text(),
                  {}});
    return false;
}

H5SER_CORE_INLINE bool check_bool_bytes(const signed char* bytes, std::size_t count, const where& at, problem_list& problems) {
    for (std::size_t i = 0; i < count; ++i) {
        if (bytes[i] != 0 && bytes[i] != 1) {
            problems.add({errc::invalid_value, at.field, at.h5_or_root(), "bool 0 or 1", "byte value " + std::to_string(bytes[i]), {}});
            return false;
        }
    }
    return true;
}

H5SER_CORE_INLINE std::optional<attribute_data> read_attribute_data(hid_t object, const std::string& name, const attribute_request& want,
                                                                    const where& at, problem_list& problems) {
    // Attributes cannot carry the dtype="bfloat16" marker: a bfloat16 field accepts any 2-byte opaque.
    auto opened = open_checked_attribute(object, name, want.dtype, want.bfloat16_field, want.shape, at, problems);
    if (!opened) return std::nullopt;
    attribute_data data;
    data.count = opened->shape.count();
    switch (want.kind) {
        case attribute_request::elements::strings:
            data.strings = read_strings(opened->attr.get(), opened->type.get(), opened->space.get(), data.count, true, at);
            break;
        case attribute_request::elements::bools: {
            // Read the enum's bytes, then refuse anything but 0 and 1 (another byte would be an invalid bool).
            unsigned char* bytes = data.bytes.resize(data.count);
            const handle mem = memory_type<bool>(at);
            check(H5Aread(opened->attr.get(), mem.get(), bytes), at, "cannot read attribute");
            if (!check_bool_bytes(reinterpret_cast<const signed char*>(data.bytes.data()), data.count, at, problems)) return std::nullopt;
            break;
        }
        case attribute_request::elements::numbers: {
            unsigned char* bytes = data.bytes.resize(data.count * want.element_size);
            const handle mem = read_memory_type(want.element, opened->type.get(), at);
            check(H5Aread(opened->attr.get(), mem.get(), bytes), at, "cannot read attribute");
            break;
        }
    }
    return data;
}

H5SER_CORE_INLINE void write_attribute(hid_t object, std::string_view name, const attribute_view& value, const where& at,
                                       const attribute_ids& shared) {
    if (value.strings) {
        write_string_attribute(object, name, static_cast<const std::string*>(value.elements), value.count, value.is_list, at, shared);
    } else {
        // The file type is little-endian; HDF5 converts from the memory type on write.
        const handle ftype = file_type(value.kind, at);
        const handle mtype = memory_type(value.kind, at);
        write_element_attribute(object, name, ftype.get(), mtype.get(), value.elements, value.count, value.is_list, at, shared);
    }
}

}  // namespace h5ser::detail
