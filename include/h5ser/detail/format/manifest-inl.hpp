// h5ser/detail/format/manifest-inl.hpp: definitions of h5ser/detail/format/manifest.hpp (compiled once with the
// compiled core; see h5ser/config.hpp).
#pragma once

#include <algorithm>
#include <limits>
#include <unordered_map>

#include "h5ser/detail/format/manifest.hpp"

namespace h5ser::detail {

namespace manifest_detail {
/// The key of attribute `name` of the object at `path`: unambiguous, as the parser refuses NUL
/// bytes in paths and names (HDF5 names cannot hold them either).
inline std::string attribute_key(std::string_view path, std::string_view name) {
    std::string key;
    key.reserve(path.size() + 1 + name.size());
    key.append(path).push_back('\0');
    key.append(name);
    return key;
}
}  // namespace manifest_detail

H5SER_CORE_INLINE std::uint32_t manifest_record::filter(std::size_t i) const noexcept { return load_u32(filter_bytes + 4 * i); }

H5SER_CORE_INLINE std::uint64_t manifest_record::element_count() const noexcept {
    std::uint64_t n = 1;
    for (std::size_t i = 0; i < rank; ++i) n *= dim(i);
    return n;
}

H5SER_CORE_INLINE std::size_t manifest_element_size(std::string_view dtype) noexcept {
    if (dtype == "float64" || dtype == "int64" || dtype == "uint64") return 8;
    if (dtype == "float32" || dtype == "int32" || dtype == "uint32") return 4;
    if (dtype == "float16" || dtype == "bfloat16" || dtype == "int16" || dtype == "uint16") return 2;
    if (dtype == "int8" || dtype == "uint8" || dtype == "bool") return 1;
    return 0;
}

struct manifest::path_index {
    std::unordered_map<std::string_view, std::size_t> datasets;
    std::unordered_map<std::string_view, manifest_group> groups;  ///< "/" and every group record
    /// Every attribute record by attribute_key(path, name): lookups and the duplicate check in
    /// constant time, so that a manifest of many attributes is parsed in linear time.
    std::unordered_map<std::string, std::size_t> attributes;
};

H5SER_CORE_INLINE manifest::manifest(manifest&&) noexcept = default;
H5SER_CORE_INLINE manifest& manifest::operator=(manifest&&) noexcept = default;
H5SER_CORE_INLINE manifest::~manifest() = default;

H5SER_CORE_INLINE manifest::manifest(std::vector<unsigned char> bytes, std::uint64_t file_size, std::uint64_t userblock,
                                     const std::string& file)
    : bytes_(std::move(bytes)), file_size_(file_size), index_(std::make_unique<path_index>()) {
    const auto refuse = [&](const std::string& why) {
        throw error(file, problem{errc::checksum_mismatch,
                                  {},
                                  "/",
                                  {},
                                  {},
                                  "the file's manifest is damaged: " + why +
                                      " (the file was damaged or changed by another program since h5ser wrote it)"});
    };
    const std::size_t size = bytes_.size();
    if (size < manifest_header_size || std::memcmp(bytes_.data(), manifest_magic.data(), manifest_magic.size()) != 0)
        refuse("its magic bytes differ");
    if (hash_bytes(bytes_.data() + 24, size - 24) != load_u64(&bytes_[16])) refuse("its checksum differs");
    version_ = load_u32(&bytes_[24]);
    if (version_ != manifest_format_version) refuse("it says format version " + std::to_string(version_));
    const std::uint32_t mode = load_u32(&bytes_[28]);
    if (mode > 1) refuse("it names an unknown mode " + std::to_string(mode));
    mode_ = mode == 1 ? save_mode::weights_only : save_mode::full_model;
    fingerprint_ = load_u64(&bytes_[32]);
    const std::uint64_t count = load_u64(&bytes_[40]);
    if (count > (size - manifest_header_size) / manifest_record_header_size) refuse("its record count exceeds its size");
    records_.reserve(static_cast<std::size_t>(count));
    index_->groups.emplace("/", manifest_group{});  // the root, which has no record

    std::size_t at = manifest_header_size;
    // Takes `n` bytes at the cursor, or refuses the manifest when fewer are left.
    const auto take = [&](std::uint64_t n, const char* what) -> const unsigned char* {
        if (n > size - at) refuse(std::string("record ") + std::to_string(records_.size()) + " runs past the end (" + what + ")");
        const unsigned char* p = bytes_.data() + at;
        at += static_cast<std::size_t>(n);
        return p;
    };
    const auto text = [](const unsigned char* p, std::size_t n) { return std::string_view(reinterpret_cast<const char*>(p), n); };
    for (std::uint64_t i = 0; i < count; ++i) {
        const unsigned char* h = take(manifest_record_header_size, "header");
        manifest_record r;
        const unsigned kind = h[0];
        const unsigned layout = h[1];
        if (kind < 1 || kind > 3) refuse("record " + std::to_string(i) + " has kind " + std::to_string(kind));
        if (layout > 2) refuse("record " + std::to_string(i) + " has layout " + std::to_string(layout));
        r.kind = static_cast<record_kind>(kind);
        r.layout = static_cast<record_layout>(layout);
        r.rank = h[2];
        r.filter_count = h[3];
        const std::uint32_t path_length = load_u32(h + 4);
        const std::uint32_t name_length = load_u32(h + 8);
        const std::uint32_t dtype_length = load_u32(h + 12);
        r.path = text(take(path_length, "path"), path_length);
        r.name = text(take(name_length, "name"), name_length);
        r.dtype = text(take(dtype_length, "dtype"), dtype_length);
        const std::string which = "record " + std::to_string(i) + " ('" + std::string(r.path) + "')";
        if (r.path.empty() || r.path.front() != '/') refuse(which + " has no absolute path");
        if (r.path.find('\0') != std::string_view::npos || r.name.find('\0') != std::string_view::npos)
            refuse(which + " has a NUL byte in its path or name");
        if (r.rank > (r.kind == record_kind::attribute ? 1U : r.kind == record_kind::dataset ? 32U : 0U))
            refuse(which + " has rank " + std::to_string(r.rank));
        if (r.kind != record_kind::dataset && (r.filter_count != 0 || layout != 0)) refuse(which + " has storage but is no dataset");
        if ((r.kind == record_kind::attribute) != !r.name.empty()) refuse(which + " has a name but is no attribute, or the reverse");
        if (r.kind != record_kind::group && manifest_element_size(r.dtype) == 0 &&
            !(r.kind == record_kind::attribute && r.dtype == "string"))
            refuse(which + " has the unknown dtype '" + std::string(r.dtype) + "'");
        r.dims_bytes = take(8 * static_cast<std::uint64_t>(r.rank), "dimensions");
        r.filter_bytes = take(4 * static_cast<std::uint64_t>(r.filter_count), "filters");
        if (r.kind == record_kind::dataset) {
            const unsigned char* d = take(24, "data");
            r.offset = load_u64(d);
            r.length = load_u64(d + 8);
            r.checksum = load_u64(d + 16);
            // The element count must not overflow, and data stored plainly must be exactly the tensor's bytes.
            std::uint64_t elements = 1;
            const std::uint64_t element_size = manifest_element_size(r.dtype);
            for (std::size_t k = 0; k < r.rank; ++k) {
                const std::uint64_t dim = r.dim(k);
                // A tensor of zero elements may still name huge dimensions, which no index type holds.
                if (dim > static_cast<std::uint64_t>(std::numeric_limits<std::ptrdiff_t>::max()))
                    refuse(which + " has dimension " + std::to_string(dim) + ", larger than any index");
                if (dim != 0 && elements > std::numeric_limits<std::uint64_t>::max() / element_size / dim)
                    refuse(which + " has an element count that overflows");
                elements *= dim;
            }
            if (r.layout != record_layout::chunked && r.length != elements * element_size)
                refuse(which + " stores " + std::to_string(r.length) + " bytes for " + std::to_string(elements * element_size));
            if (r.layout == record_layout::contiguous && r.length != 0 &&
                (r.offset < userblock || r.offset > file_size || r.length > file_size - r.offset))
                refuse(which + " has its data at bytes " + std::to_string(r.offset) + " + " + std::to_string(r.length) + ", outside the " +
                       std::to_string(file_size) + "-byte file");
            if (r.layout != record_layout::contiguous && r.offset != 0) refuse(which + " has a data offset but is not contiguous");
            if (r.layout == record_layout::chunked && r.length > file_size) refuse(which + " stores more bytes than the file holds");
            if (r.layout == record_layout::chunked) has_chunked_ = true;
            if (r.layout == record_layout::compact) r.value = text(take(r.length, "compact data"), static_cast<std::size_t>(r.length));
        } else if (r.kind == record_kind::attribute) {
            const std::uint64_t value_length = load_u64(take(8, "value length"));
            r.value = text(take(value_length, "value"), static_cast<std::size_t>(value_length));
            if (!attribute_value_fits(r))
                refuse(which + " has a value that does not hold its " + std::to_string(r.element_count()) + " elements");
        }
        if (const std::string misplaced = place(r); !misplaced.empty()) refuse(which + " " + misplaced);
        records_.push_back(r);
    }
    if (at != size) refuse(std::to_string(size - at) + " bytes follow the last record");
}

H5SER_CORE_INLINE manifest manifest::without_checksums(std::vector<unsigned char> bytes, std::uint64_t file_size, std::uint64_t data_start,
                                                       const std::string& file, bool keeps_fingerprint) {
    manifest m(std::move(bytes), file_size, data_start, file);
    for (manifest_record& r : m.records_) r.has_checksum = false;
    m.keeps_fingerprint_ = keeps_fingerprint;
    return m;
}

H5SER_CORE_INLINE bool manifest::attribute_value_fits(const manifest_record& r) noexcept {
    const std::uint64_t count = r.element_count();
    if (r.dtype != "string") return count <= r.value.size() && r.value.size() == count * manifest_element_size(r.dtype);
    // Strings: each a 4-byte length and that many bytes, exactly filling the value.
    std::size_t at = 0;
    for (std::uint64_t i = 0; i < count; ++i) {
        if (r.value.size() - at < 4) return false;
        const std::uint32_t n = load_u32(reinterpret_cast<const unsigned char*>(r.value.data()) + at);
        at += 4;
        if (n > r.value.size() - at) return false;
        at += n;
    }
    return at == r.value.size();
}

H5SER_CORE_INLINE std::string manifest::place(const manifest_record& r) {
    const std::size_t index = records_.size();
    if (r.kind == record_kind::attribute) {
        // Attributes of groups are listed with their group; those of datasets need only the dataset.
        const auto g = index_->groups.find(r.path);
        if (g == index_->groups.end() && !index_->datasets.count(r.path)) return "is an attribute of an object not listed before it";
        if (!index_->attributes.emplace(manifest_detail::attribute_key(r.path, r.name), index).second)
            return "names attribute '" + std::string(r.name) + "' twice";
        if (g != index_->groups.end()) g->second.attributes.push_back(index);
        return {};
    }
    // A group or dataset: inside a group listed before it, under a name no other object there has.
    const std::size_t slash = r.path.rfind('/');
    if (r.link_name().empty()) return "has an empty link name";
    const auto parent = index_->groups.find(slash == 0 ? std::string_view("/") : r.path.substr(0, slash));
    if (parent == index_->groups.end()) return "lies in no group listed before it";
    if (index_->datasets.count(r.path) || index_->groups.count(r.path)) return "names an object twice";
    parent->second.links.push_back(index);
    if (r.kind == record_kind::dataset) index_->datasets.emplace(r.path, index);
    else index_->groups.emplace(r.path, manifest_group{});
    return {};
}

H5SER_CORE_INLINE const manifest_group* manifest::group(std::string_view path) const {
    const auto it = index_->groups.find(path);
    return it == index_->groups.end() ? nullptr : &it->second;
}

H5SER_CORE_INLINE const manifest_record* manifest::attribute(std::string_view path, std::string_view name) const {
    const auto it = index_->attributes.find(manifest_detail::attribute_key(path, name));
    return it == index_->attributes.end() ? nullptr : &records_[it->second];
}

H5SER_CORE_INLINE const manifest_record* manifest::dataset(std::string_view path) const {
    const auto it = index_->datasets.find(path);
    return it == index_->datasets.end() ? nullptr : &records_[it->second];
}

H5SER_CORE_INLINE manifest_builder::manifest_builder() : bytes_(manifest_header_size, 0) {}

H5SER_CORE_INLINE void manifest_builder::put_u32(std::uint32_t v) {
    for (int i = 0; i < 4; ++i) bytes_.push_back(static_cast<unsigned char>((v >> (8 * i)) & 0xff));
}

H5SER_CORE_INLINE void manifest_builder::put_u64(std::uint64_t v) {
    for (int i = 0; i < 8; ++i) bytes_.push_back(static_cast<unsigned char>((v >> (8 * i)) & 0xff));
}

H5SER_CORE_INLINE void manifest_builder::put(std::string_view bytes) { bytes_.insert(bytes_.end(), bytes.begin(), bytes.end()); }

H5SER_CORE_INLINE void manifest_builder::begin_record(record_kind kind, record_layout layout, std::size_t rank, std::size_t filters,
                                                      std::string_view path, std::string_view name, std::string_view dtype) {
    bytes_.push_back(static_cast<unsigned char>(kind));
    bytes_.push_back(static_cast<unsigned char>(layout));
    bytes_.push_back(static_cast<unsigned char>(rank));
    bytes_.push_back(static_cast<unsigned char>(filters));
    put_u32(static_cast<std::uint32_t>(path.size()));
    put_u32(static_cast<std::uint32_t>(name.size()));
    put_u32(static_cast<std::uint32_t>(dtype.size()));
    put(path);
    put(name);
    put(dtype);
    ++records_;
}

H5SER_CORE_INLINE void manifest_builder::group(std::string_view path) {
    begin_record(record_kind::group, record_layout::compact, 0, 0, path, {}, {});
}

H5SER_CORE_INLINE void manifest_builder::dataset(std::string_view path, std::string_view dtype, const std::uint64_t* dims, std::size_t rank,
                                                 record_layout layout, const std::vector<std::uint32_t>& filters, std::uint64_t offset,
                                                 std::uint64_t length, std::uint64_t checksum, const void* elements) {
    begin_record(record_kind::dataset, layout, rank, filters.size(), path, {}, dtype);
    for (std::size_t i = 0; i < rank; ++i) put_u64(dims[i]);
    for (const std::uint32_t f : filters) put_u32(f);
    put_u64(layout == record_layout::contiguous ? offset : 0);
    put_u64(length);
    put_u64(checksum);
    if (layout == record_layout::compact && length != 0) {
        const auto* bytes = static_cast<const unsigned char*>(elements);
        bytes_.insert(bytes_.end(), bytes, bytes + length);
    }
}

H5SER_CORE_INLINE void manifest_builder::attribute(std::string_view object_path, std::string_view name, std::string_view dtype,
                                                   bool is_list, std::size_t count, std::string_view value) {
    begin_record(record_kind::attribute, record_layout::compact, is_list ? 1 : 0, 0, object_path, name, dtype);
    if (is_list) put_u64(count);
    put_u64(value.size());
    put(value);
}

H5SER_CORE_INLINE std::vector<unsigned char> manifest_builder::finish(save_mode mode, std::uint64_t fingerprint) const {
    std::vector<unsigned char> out = bytes_;
    std::memcpy(out.data(), manifest_magic.data(), manifest_magic.size());
    const std::uint32_t version = manifest_format_version;
    const std::uint32_t mode_code = mode == save_mode::weights_only ? 1 : 0;
    for (int i = 0; i < 4; ++i) out[24 + i] = static_cast<unsigned char>((version >> (8 * i)) & 0xff);
    for (int i = 0; i < 4; ++i) out[28 + i] = static_cast<unsigned char>((mode_code >> (8 * i)) & 0xff);
    store_u64(&out[32], fingerprint);
    store_u64(&out[40], records_);
    store_u64(&out[16], hash_bytes(out.data() + 24, out.size() - 24));
    return out;
}

H5SER_CORE_INLINE std::optional<attribute_data> decode_attribute_data(const manifest_record& r, const attribute_request& want,
                                                                      const where& at, problem_list& problems) {
    extent shape;
    shape.scalar = r.rank == 0;
    if (r.rank == 1) shape.dims.push_back(r.dim(0));
    if (!attribute_fits(r.dtype, shape, want.dtype, want.shape, at, problems)) return std::nullopt;
    attribute_data data;
    data.count = shape.count();
    const auto* p = reinterpret_cast<const unsigned char*>(r.value.data());
    switch (want.kind) {
        case attribute_request::elements::strings:
            data.strings.reserve(data.count);
            for (std::size_t i = 0; i < data.count; ++i) {
                const std::uint32_t n = load_u32(p);
                data.strings.emplace_back(reinterpret_cast<const char*>(p + 4), n);
                p += 4 + n;
            }
            break;
        case attribute_request::elements::bools:
            if (!check_bool_bytes(reinterpret_cast<const signed char*>(p), data.count, at, problems)) return std::nullopt;
            if (data.count != 0) std::memcpy(data.bytes.resize(data.count), p, data.count);
            break;
        case attribute_request::elements::numbers:  // little-endian hosts only (hash.hpp)
            if (data.count != 0) std::memcpy(data.bytes.resize(data.count * want.element_size), p, data.count * want.element_size);
            break;
    }
    return data;
}

H5SER_CORE_INLINE void encode_attribute_string(std::string& out, std::string_view s) {
    const auto n = static_cast<std::uint32_t>(s.size());
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
    out += s;
}

H5SER_CORE_INLINE std::string encode_attribute_value(const attribute_view& value) {
    std::string out;
    if (value.strings) {
        const auto* strings = static_cast<const std::string*>(value.elements);
        for (std::size_t i = 0; i < value.count; ++i) encode_attribute_string(out, strings[i]);
    } else if (value.kind == element_kind::bool_) {
        const auto* bools = static_cast<const bool*>(value.elements);
        for (std::size_t i = 0; i < value.count; ++i) out.push_back(bools[i] ? 1 : 0);
    } else if (value.count != 0) {
        out.assign(static_cast<const char*>(value.elements), value.count * element_size(value.kind));
    }
    return out;
}

H5SER_CORE_INLINE void manifest_builder::attribute(std::string_view object_path, std::string_view name, const attribute_view& value) {
    attribute(object_path, name, value.dtype, value.is_list, value.count, encode_attribute_value(value));
}

}  // namespace h5ser::detail
