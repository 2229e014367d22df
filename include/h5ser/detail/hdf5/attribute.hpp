// h5ser/detail/hdf5/attribute.hpp: scalars, enums, strings and small arrays as HDF5 attributes.
#pragma once

#include <hdf5.h>

#include <array>
#include <cstddef>
#include <cstring>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "h5ser/config.hpp"
#include "h5ser/detail/hdf5/dtype.hpp"
#include "h5ser/detail/hdf5/hdf5.hpp"
#include "h5ser/detail/load/problems.hpp"
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
requires(element_type<T> || std::is_enum_v<T>) struct attribute_codec<T> {
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
requires(element_type<T> || std::is_same_v<T, std::string>) struct attribute_codec<std::array<T, N>> {
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

H5SER_CORE_INLINE handle utf8_string_type(const where& at);

H5SER_CORE_INLINE handle utf8_name_plist(hid_t class_id, const where& at);

// Variable-length strings end at the first NUL: refuse data HDF5 would silently cut short.
H5SER_CORE_INLINE void check_storable_string(const std::string& s, const where& at);

/// Ids one save reuses for every attribute it writes: making a property list and a string type per
/// attribute costs about as much as writing the attribute (see bench_many_small).
struct attribute_ids {
    hid_t create = H5I_INVALID_HID;       ///< attribute creation plist with UTF-8 names
    hid_t utf8_string = H5I_INVALID_HID;  ///< variable-length UTF-8 string type
};

/// Creates attribute `name` of `object` with elements of `type` in `space` and writes `data`,
/// held in memory as `memory_type` (default: `type`). `acpl_id` < 0: a plist of UTF-8 names.
H5SER_CORE_INLINE void create_and_write_attribute(hid_t object, std::string_view name, hid_t type, hid_t space, const void* data,
                                                  const where& at, hid_t acpl_id = H5I_INVALID_HID, hid_t memory_type = H5I_INVALID_HID);

/// Writes `count` strings (a scalar unless `is_list`) as a UTF-8 variable-length string attribute.
H5SER_CORE_INLINE void write_string_attribute(hid_t object, std::string_view name, const std::string* strings, std::size_t count,
                                              bool is_list, const where& at, const attribute_ids& shared);
/// Writes `count` elements at `data` (a scalar unless `is_list`) of memory type `memory` as an
/// attribute of file type `file`.
H5SER_CORE_INLINE void write_element_attribute(hid_t object, std::string_view name, hid_t file, hid_t memory, const void* data,
                                               std::size_t count, bool is_list, const where& at, const attribute_ids& shared);

/// An attribute's value as the writes see it, whatever its type (attribute_view_of): its elements
/// in memory and what they are, so that writing it (to HDF5, the manifest, a snapshot) is compiled
/// once.
struct attribute_view {
    std::string_view dtype;                  ///< attribute_dtype_name (static storage)
    element_kind kind = element_kind::int8;  ///< of its numbers or bools (an enum's: of its underlying type)
    bool strings = false;                    ///< its elements are std::string, not numbers or bools
    bool is_list = false;                    ///< a 1-D list, else a scalar
    std::size_t count = 1;                   ///< its elements
    const void* elements = nullptr;          ///< `count` of them: of `kind`, or std::string
};

/// `value` (an attribute field of type T) as an attribute_view.
template <attribute_value T>
attribute_view attribute_view_of(const T& value) noexcept {
    using codec = attribute_codec<T>;
    using element = typename codec::element;
    attribute_view a;
    a.dtype = attribute_dtype_name<T>();
    a.strings = std::is_same_v<element, std::string>;
    if constexpr (!std::is_same_v<element, std::string>) {
        constexpr element_kind kind = element_kind_of<element>();
        a.kind = kind;
    }
    a.is_list = codec::is_list;
    if constexpr (codec::is_list) {
        a.count = value.size();
        a.elements = value.data();
    } else {
        a.elements = &value;  // an enum is its underlying type in memory
    }
    return a;
}

/// Writes `value` as attribute `name` of `object`: UTF-8 variable-length strings, else elements
/// little-endian in the file.
H5SER_CORE_INLINE void write_attribute(hid_t object, std::string_view name, const attribute_view& value, const where& at,
                                       const attribute_ids& shared = {});

template <attribute_value T>
void write_attribute(hid_t object, std::string_view name, const T& value, const where& at, const attribute_ids& shared = {}) {
    write_attribute(object, name, attribute_view_of(value), at, shared);
}

// ---- reading --------------------------------------------------------------------------------

/// Reads every string of a string attribute or dataset, whichever of the encodings h5py and Keras
/// have written: variable or fixed length, ASCII or UTF-8, NUL-terminated, NUL- or space-padded.
H5SER_CORE_INLINE std::vector<std::string> read_strings(hid_t object, hid_t file_type_id, hid_t space, std::size_t count, bool is_attribute,
                                                        const where& at);

struct extent {
    bool scalar = false;  ///< H5S_SCALAR
    bool null = false;    ///< H5S_NULL
    std::vector<hsize_t> dims;

    [[nodiscard]] std::size_t count() const {
        std::size_t n = null ? 0 : 1;
        for (hsize_t d : dims) n *= static_cast<std::size_t>(d);
        return n;
    }
    [[nodiscard]] std::string text() const;
};

H5SER_CORE_INLINE extent read_extent(hid_t space, const where& at);

/// An attribute opened for reading, whose type and shape match what the field wants.
struct checked_attribute {
    handle attr;
    handle type;
    handle space;
    extent shape;
};

/// The shape an attribute field wants: a scalar, a list of `size` elements, or a list of any size.
struct attribute_shape {
    bool is_list = false;
    std::optional<std::size_t> size;
};

/// Does an attribute of `found_type` elements in `shape` fit a field that wants `want_type` in
/// `want_shape` (a scalar: also an array of one element)? Records a problem if not.
H5SER_CORE_INLINE bool attribute_fits(std::string_view found_type, const extent& shape, std::string_view want_type,
                                      const attribute_shape& want_shape, const where& at, problem_list& problems);

/// The shape attribute field type T wants.
template <attribute_value T>
attribute_shape wanted_attribute_shape() {
    attribute_shape want{attribute_codec<T>::is_list, std::nullopt};
    if constexpr (is_std_array<T>::value) want.size = is_std_array<T>::size;
    return want;
}

/// Opens attribute `name` of `object` and checks it holds `want_type` elements in `want_shape`
/// (a `bfloat16_field` accepts any 2-byte opaque type); records a problem and returns nothing if not.
H5SER_CORE_INLINE std::optional<checked_attribute> open_checked_attribute(hid_t object, const std::string& name, std::string_view want_type,
                                                                          bool bfloat16_field, const attribute_shape& want_shape,
                                                                          const where& at, problem_list& problems);

/// Checks that `count` bool bytes are 0 or 1; records a problem if not.
H5SER_CORE_INLINE bool check_bool_bytes(const signed char* bytes, std::size_t count, const where& at, problem_list& problems);

/// What an attribute field wants, whatever its type (attribute_request_of): the reads that check
/// and decode attributes, from HDF5 and from a manifest, are compiled once, and only
/// attribute_from makes the field's value.
struct attribute_request {
    enum class elements { numbers, bools, strings };
    std::string_view dtype;  ///< attribute_dtype_name
    attribute_shape shape;
    elements kind = elements::numbers;
    std::size_t element_size = 0;               ///< of a number
    bool bfloat16_field = false;                ///< any 2-byte opaque type is bfloat16
    element_kind element = element_kind::int8;  ///< of a number: HDF5 reads it as its read_memory_type
};

/// The attribute_request of attribute field type T.
template <attribute_value T>
attribute_request attribute_request_of() {
    using element = typename attribute_codec<T>::element;
    attribute_request want;
    want.dtype = attribute_dtype_name<T>();
    want.shape = wanted_attribute_shape<T>();
    if constexpr (std::is_same_v<element, std::string>) {
        want.kind = attribute_request::elements::strings;
    } else if constexpr (std::is_same_v<element, bool>) {
        want.kind = attribute_request::elements::bools;
    } else {
        constexpr element_kind kind = element_kind_of<element>();
        want.element_size = sizeof(element);
        want.bfloat16_field = std::is_same_v<element, bfloat16>;
        want.element = kind;
    }
    return want;
}

/// The bytes of an attribute's numbers or bools: in place for a few (every scalar), else on the
/// heap. A load reads an attribute per field: most should cost no allocation.
class attribute_bytes {
public:
    /// Room for `n` bytes (their values indeterminate).
    unsigned char* resize(std::size_t n) {
        size_ = n;
        heap_.reset(n > sizeof(in_place_) ? new unsigned char[n] : nullptr);
        return heap_ ? heap_.get() : in_place_;
    }
    [[nodiscard]] const unsigned char* data() const noexcept { return heap_ ? heap_.get() : in_place_; }
    [[nodiscard]] std::size_t size() const noexcept { return size_; }

private:
    alignas(8) unsigned char in_place_[16] = {};
    std::unique_ptr<unsigned char[]> heap_;
    std::size_t size_ = 0;
};

/// An attribute's elements as read and checked: `count` numbers (their bytes, in memory order) or
/// bools (bytes 0 or 1), or strings.
struct attribute_data {
    std::size_t count = 0;
    attribute_bytes bytes;
    std::vector<std::string> strings;
};

/// The value of attribute field T from `data`, read for attribute_request_of<T>().
template <attribute_value T>
T attribute_from(attribute_data&& data) {
    using codec = attribute_codec<T>;
    using element = typename codec::element;
    T value{};
    if constexpr (std::is_same_v<element, std::string>) {
        if constexpr (!codec::is_list) value = std::move(data.strings.front());
        else if constexpr (is_std_array<T>::value) std::move(data.strings.begin(), data.strings.end(), value.begin());
        else value.assign(std::make_move_iterator(data.strings.begin()), std::make_move_iterator(data.strings.end()));
    } else if constexpr (std::is_same_v<element, bool>) {
        for (std::size_t i = 0; i < data.count; ++i) {
            if constexpr (codec::is_list) value[i] = data.bytes.data()[i] == 1;
            else value = data.bytes.data()[i] == 1;
        }
    } else {
        void* elements = nullptr;
        if constexpr (codec::is_list) elements = value.data();
        else elements = &value;  // an enum is read as its underlying type
        if (data.count != 0) std::memcpy(elements, data.bytes.data(), data.count * sizeof(element));
    }
    return value;
}

/// Reads attribute `name` of `object` as `want` says; records a problem and returns nothing when
/// the file's attribute has another type or shape than the field, or a bool byte is not 0 or 1.
H5SER_CORE_INLINE std::optional<attribute_data> read_attribute_data(hid_t object, const std::string& name, const attribute_request& want,
                                                                    const where& at, problem_list& problems);

/// Reads an attribute into a fresh value; records a problem and returns nothing when the file's
/// attribute has another type or shape than the field.
template <attribute_value T>
std::optional<T> read_attribute(hid_t object, const std::string& name, const where& at, problem_list& problems) {
    std::optional<attribute_data> data = read_attribute_data(object, name, attribute_request_of<T>(), at, problems);
    if (!data) return std::nullopt;
    return attribute_from<T>(std::move(*data));
}

/// Reads a string attribute of any encoding; nullopt when absent or not a scalar string.
H5SER_CORE_INLINE std::optional<std::string> read_string_attribute(hid_t object, const char* name, const where& at);

}  // namespace h5ser::detail

#if H5SER_CORE_DEFINITIONS
#include "h5ser/detail/hdf5/attribute-inl.hpp"
#endif
