// h5ser/detail/safetensors/header-inl.hpp: definitions of h5ser/detail/safetensors/header.hpp
// (compiled once with the compiled core; see h5ser/config.hpp).
#pragma once

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <stdexcept>

#include "h5ser/detail/format/hash.hpp"  // load_u64
#include "h5ser/detail/format/seal.hpp"  // read_exact
#include "h5ser/detail/hdf5/hdf5.hpp"    // throw_io
#include "h5ser/detail/json/reader.hpp"
#include "h5ser/detail/safetensors/header.hpp"
#include "h5ser/error.hpp"

namespace h5ser::detail::safetensors {

namespace header_detail {

/// The format's dtypes h5ser maps to its element types: the format's name, h5ser's, bytes.
struct dtype_row {
    std::string_view file;
    std::string_view h5ser;
    std::size_t size;
};
inline constexpr std::array<dtype_row, 13> dtypes{{{"F64", "float64", 8},
                                                   {"F32", "float32", 4},
                                                   {"F16", "float16", 2},
                                                   {"BF16", "bfloat16", 2},
                                                   {"I64", "int64", 8},
                                                   {"I32", "int32", 4},
                                                   {"I16", "int16", 2},
                                                   {"I8", "int8", 1},
                                                   {"U64", "uint64", 8},
                                                   {"U32", "uint32", 4},
                                                   {"U16", "uint16", 2},
                                                   {"U8", "uint8", 1},
                                                   {"BOOL", "bool", 1}}};

/// Is `s` well-formed UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF)?
inline bool valid_utf8(std::string_view s) noexcept {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const auto* end = p + s.size();
    while (p < end) {
        const unsigned c = *p;
        if (c < 0x80) {
            ++p;
            continue;
        }
        std::size_t n = 0;
        std::uint32_t cp = 0;
        if (c >= 0xC2 && c <= 0xDF) n = 1, cp = c & 0x1F;
        else if (c >= 0xE0 && c <= 0xEF) n = 2, cp = c & 0x0F;
        else if (c >= 0xF0 && c <= 0xF4) n = 3, cp = c & 0x07;
        else return false;
        if (static_cast<std::size_t>(end - p) <= n) return false;
        for (std::size_t i = 1; i <= n; ++i) {
            if ((p[i] & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (p[i] & 0x3F);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        p += n + 1;
    }
    return true;
}

/// Refuses the header of `file`: what is wrong with tensor `tensor` (its name, the path an error
/// gives; "" for the file as a whole).
[[noreturn]] inline void refuse(const std::string& file, std::string tensor, std::string expected, std::string found, std::string detail) {
    throw error(file, problem{errc::malformed_file,
                              std::move(tensor),
                              {},
                              std::move(expected),
                              std::move(found),
                              "the safetensors header " + std::move(detail)});
}

/// A JSON number that must be a byte offset or a dimension: an integer from 0 to 2^53 (where a
/// double still holds every integer exactly).
inline std::uint64_t whole_number(const json_value& v, const std::string& file, const std::string& name, const char* what) {
    if (v.kind != json_value::type::number || !(v.number >= 0) || v.number > 9007199254740992.0 || std::floor(v.number) != v.number)
        refuse(file, name, std::string("an integer from 0 to 2^53 as ") + what,
               v.kind == json_value::type::number ? std::to_string(v.number) : "another JSON value",
               "gives tensor '" + name + "' an invalid " + what);
    return static_cast<std::uint64_t>(v.number);
}

}  // namespace header_detail

H5SER_CORE_INLINE bool looks_like_safetensors(const unsigned char* prefix, std::size_t prefix_size, std::uint64_t file_size) noexcept {
    if (prefix_size < 9 || file_size < 10) return false;
    const std::uint64_t n = load_u64(prefix);
    return n >= 2 && n <= max_header_bytes && n <= file_size - 8 && prefix[8] == '{';
}

H5SER_CORE_INLINE std::uint64_t header_length(const unsigned char* prefix, std::uint64_t file_size, const std::string& file) {
    if (file_size < 8)
        header_detail::refuse(file, {}, "at least 8 bytes", std::to_string(file_size) + " bytes", "is missing: the file is too short");
    const std::uint64_t n = load_u64(prefix);
    if (n > max_header_bytes)
        header_detail::refuse(file, {}, "a header of at most 100 MiB", std::to_string(n) + " bytes",
                              "length is larger than any real header");
    if (n > file_size - 8)
        header_detail::refuse(file, {}, "a header within the file's " + std::to_string(file_size) + " bytes", std::to_string(n) + " bytes",
                              "length runs past the end of the file");
    return n;
}

H5SER_CORE_INLINE header parse_header(std::string_view json, std::uint64_t file_size, const std::string& file) {
    using header_detail::refuse;
    if (!header_detail::valid_utf8(json)) refuse(file, {}, "UTF-8 text", "bytes that are not UTF-8", "is not text");
    json_value root;
    try {
        root = parse_json(json);
    } catch (const std::runtime_error& e) {
        refuse(file, {}, "a JSON object", "invalid JSON", std::string("is not JSON: ") + e.what());
    }
    if (!root.is_object()) refuse(file, {}, "a JSON object", "another JSON value", "is not an object of tensors");
    header h;
    h.json_bytes = json.size();
    h.data_start = 8 + h.json_bytes;
    if (h.data_start > file_size) refuse(file, {}, "a header within the file", "a longer one", "runs past the end of the file");
    const std::uint64_t data_bytes = file_size - h.data_start;
    bool metadata_seen = false;
    for (std::size_t i = 0; i < root.keys.size(); ++i) {
        const std::string& name = root.keys[i];
        const json_value& v = root.items[i];
        if (name == "__metadata__") {
            if (metadata_seen) refuse(file, name, "one __metadata__", "two", "lists __metadata__ twice");
            metadata_seen = true;
            if (!v.is_object())
                refuse(file, name, "an object of strings", "another JSON value", "has a __metadata__ that is not an object");
            for (std::size_t k = 0; k < v.keys.size(); ++k) {
                if (!v.items[k].is_string())
                    refuse(file, name, "string values", "another JSON value for '" + v.keys[k] + "'", "has __metadata__ that is not text");
                h.metadata.emplace_back(v.keys[k], v.items[k].text);
            }
            continue;
        }
        if (!v.is_object())
            refuse(file, name, "an object with dtype, shape and data_offsets", "another JSON value",
                   "describes tensor '" + name + "' wrongly");
        const json_value* dtype = v.find("dtype");
        const json_value* shape = v.find("shape");
        const json_value* offsets = v.find("data_offsets");
        if (!dtype || !dtype->is_string() || !shape || !shape->is_array() || !offsets || !offsets->is_array() || offsets->items.size() != 2)
            refuse(file, name, "dtype (a string), shape (an array) and data_offsets (two integers)", "something else",
                   "describes tensor '" + name + "' wrongly");
        tensor_entry t;
        t.name = name;
        const auto row = std::find_if(header_detail::dtypes.begin(), header_detail::dtypes.end(),
                                      [&](const header_detail::dtype_row& r) { return r.file == dtype->text; });
        if (row == header_detail::dtypes.end())
            throw error(file, problem{errc::dtype_mismatch,
                                      name,
                                      {},
                                      "one of F64, F32, F16, BF16, I64, I32, I16, I8, U64, U32, U16, U8, BOOL",
                                      "dtype " + dtype->text,
                                      "tensor '" + name + "' has an element type h5ser does not load (no C++ type holds it bit for bit)"});
        t.dtype = std::string(row->h5ser);
        t.file_dtype = row->file;
        t.element_size = row->size;
        std::uint64_t count = 1;
        bool overflow = false;
        for (const json_value& d : shape->items) {
            const std::uint64_t dim = header_detail::whole_number(d, file, name, "dimension");
            t.shape.push_back(dim);
            if (dim != 0 && count > UINT64_MAX / dim) overflow = true;
            else count *= dim;
        }
        if (t.shape.size() > 32)
            refuse(file, name, "at most 32 dimensions", std::to_string(t.shape.size()), "gives tensor '" + name + "' too many dimensions");
        const std::uint64_t begin = header_detail::whole_number(offsets->items[0], file, name, "data offset");
        const std::uint64_t end = header_detail::whole_number(offsets->items[1], file, name, "data offset");
        if (end < begin)
            refuse(file, name, "begin <= end", std::to_string(begin) + " > " + std::to_string(end),
                   "gives tensor '" + name + "' offsets out of order");
        if (end > data_bytes)
            refuse(file, name, "offsets within the data section's " + std::to_string(data_bytes) + " bytes", "end " + std::to_string(end),
                   "puts tensor '" + name + "' past the end of the file");
        if (overflow || count > UINT64_MAX / t.element_size || count * t.element_size != end - begin)
            refuse(file, name, overflow ? "a shape whose size fits 64 bits" : std::to_string(end - begin) + " bytes (its data_offsets)",
                   overflow ? "a larger one" : std::to_string(count) + " elements of " + std::to_string(t.element_size) + " bytes",
                   "gives tensor '" + name + "' a shape that does not match its bytes");
        t.offset = h.data_start + begin;
        t.length = end - begin;
        h.tensors.push_back(std::move(t));
    }
    // Unique names, and the data section tiled exactly: each tensor starts where the one before ends.
    std::vector<const tensor_entry*> by_name;
    for (const auto& t : h.tensors) by_name.push_back(&t);
    std::sort(by_name.begin(), by_name.end(), [](const tensor_entry* a, const tensor_entry* b) { return a->name < b->name; });
    for (std::size_t i = 1; i < by_name.size(); ++i)
        if (by_name[i]->name == by_name[i - 1]->name)
            refuse(file, by_name[i]->name, "unique names", "two tensors of this name", "names a tensor twice");
    std::stable_sort(h.tensors.begin(), h.tensors.end(), [](const tensor_entry& a, const tensor_entry& b) {
        return a.offset != b.offset ? a.offset < b.offset : a.length < b.length;
    });
    std::uint64_t at = h.data_start;
    for (const auto& t : h.tensors) {
        if (t.offset != at)
            refuse(file, t.name, "data starting at offset " + std::to_string(at - h.data_start),
                   "offset " + std::to_string(t.offset - h.data_start),
                   t.offset < at ? "overlaps tensor '" + t.name + "' with another" : "leaves a hole before tensor '" + t.name + "'");
        at += t.length;
    }
    if (at != file_size)
        refuse(file, {}, "tensors covering the data section's " + std::to_string(data_bytes) + " bytes",
               std::to_string(at - h.data_start) + " bytes covered", "leaves bytes after its last tensor");
    return h;
}

H5SER_CORE_INLINE header read_header(int fd, std::uint64_t file_size, const std::string& file) {
    unsigned char prefix[8] = {};
    if (file_size >= 8 && !read_exact(fd, prefix, 8, 0)) throw_io(file, "cannot read the safetensors header", errno ? errno : EIO);
    const std::uint64_t n = header_length(prefix, file_size, file);
    std::string json(static_cast<std::size_t>(n), '\0');
    if (n != 0 && !read_exact(fd, json.data(), json.size(), 8)) throw_io(file, "cannot read the safetensors header", errno ? errno : EIO);
    // The reference writer pads the header with spaces to align the data section; JSON allows them.
    return parse_header(json, file_size, file);
}

H5SER_CORE_INLINE std::string_view file_dtype_of(std::string_view dtype) noexcept {
    for (const auto& r : header_detail::dtypes)
        if (r.h5ser == dtype) return r.file;
    return {};
}

}  // namespace h5ser::detail::safetensors
