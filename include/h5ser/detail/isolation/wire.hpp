// h5ser/detail/isolation/wire.hpp: the bytes an isolated child sends its parent (isolation.hpp): results
// such as a file_node tree or a Keras model_config, and the h5ser::error it threw.
//
// Values are written field by field: integers, enums and floating-point values as their bytes,
// strings and vectors as a 64-bit count and their elements, aggregates as their fields in
// declaration order (the reflection h5ser uses for models). Both ends are the same program, so
// there is no versioning. The reader trusts nothing: the child may have been corrupted by the file
// it parsed, so every count is checked against the bytes left, nesting is bounded, and a reply that
// does not decode is an error, never a crash.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "h5ser/detail/model/reflection.hpp"

namespace h5ser::detail {

/// A reply that does not decode (the parent turns it into an h5ser::error).
struct wire_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

template <class T>
struct is_std_vector : std::false_type {};
template <class T, class A>
struct is_std_vector<std::vector<T, A>> : std::true_type {};

template <class T>
concept wire_scalar = std::is_arithmetic_v<T> || std::is_enum_v<T>;

class wire_writer {
public:
    template <class T>
    void write(const T& value) {
        if constexpr (wire_scalar<T>) {
            append(&value, sizeof(T));
        } else if constexpr (std::is_same_v<T, std::string>) {
            count(value.size());
            append(value.data(), value.size());
        } else if constexpr (is_std_vector<T>::value) {
            count(value.size());
            for (const auto& element : value) write(element);
        } else {
            static_assert(reflection_check<T>::ok, "h5ser::detail::wire_writer: a type the isolated child cannot send");
            write_fields(value, std::make_index_sequence<reflection_check<T>::flat_count>{});
        }
    }

    [[nodiscard]] std::string take() && { return std::move(bytes_); }

private:
    template <class T, std::size_t... I>
    void write_fields(const T& value, std::index_sequence<I...>) {
        (write(get_field<I>(value)), ...);
    }
    void count(std::size_t n) { write(static_cast<std::uint64_t>(n)); }
    void append(const void* data, std::size_t size) { bytes_.append(static_cast<const char*>(data), size); }

    std::string bytes_;
};

class wire_reader {
public:
    explicit wire_reader(std::string_view bytes) noexcept : rest_(bytes) {}

    template <class T>
    void read(T& value) {
        if constexpr (std::is_same_v<T, bool>) {
            unsigned char byte = 0;
            take(&byte, 1);
            if (byte > 1) throw wire_error("a boolean that is neither 0 nor 1");
            value = byte != 0;
        } else if constexpr (wire_scalar<T>) {
            take(&value, sizeof(T));
        } else if constexpr (std::is_same_v<T, std::string>) {
            const std::size_t n = count(1);
            value.assign(rest_.data(), n);
            rest_.remove_prefix(n);
        } else if constexpr (is_std_vector<T>::value) {
            // Every element takes at least one byte, so a count beyond the bytes left is a lie.
            const std::size_t n = count(1);
            const depth_guard guard(depth_);
            value.clear();
            value.resize(n);
            for (auto& element : value) read(element);
        } else {
            read_fields(value, std::make_index_sequence<reflection_check<T>::flat_count>{});
        }
    }

    /// Throws unless every byte was read.
    void finish() const {
        if (!rest_.empty()) throw wire_error("bytes left over after the reply");
    }

private:
    // Nested vectors (a file_node's children) recurse; a corrupted child must not overflow the
    // parent's stack. HDF5 files nest far less deeply than this.
    static constexpr int max_depth = 256;
    struct depth_guard {
        int& depth;
        explicit depth_guard(int& d) : depth(d) {
            if (++depth > max_depth) throw wire_error("the reply nests too deeply");
        }
        ~depth_guard() { --depth; }
        depth_guard(const depth_guard&) = delete;
        depth_guard& operator=(const depth_guard&) = delete;
    };

    template <class T, std::size_t... I>
    void read_fields(T& value, std::index_sequence<I...>) {
        (read(get_field<I>(value)), ...);
    }
    std::size_t count(std::size_t min_element_bytes) {
        std::uint64_t n = 0;
        take(&n, sizeof n);
        if (n > rest_.size() / min_element_bytes) throw wire_error("a count larger than the reply");
        return static_cast<std::size_t>(n);
    }
    void take(void* out, std::size_t size) {
        if (rest_.size() < size) throw wire_error("the reply ends early");
        std::memcpy(out, rest_.data(), size);
        rest_.remove_prefix(size);
    }

    std::string_view rest_;
    int depth_ = 0;
};

/// `value` as wire bytes.
template <class T>
std::string to_wire(const T& value) {
    wire_writer w;
    w.write(value);
    return std::move(w).take();
}

/// The value `bytes` hold; throws wire_error unless they are exactly one T.
template <class T>
T from_wire(std::string_view bytes) {
    wire_reader r(bytes);
    T value{};
    r.read(value);
    r.finish();
    return value;
}

}  // namespace h5ser::detail
