// h5ser/detail/json/writer.hpp: the one JSON writer: the `schema` attribute, and the h5ser tool's --json.
#pragma once

#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "h5ser/config.hpp"

namespace h5ser::detail {

/// Appends `s` as a JSON string (quoted, escaped; UTF-8 passes through).
H5SER_CORE_INLINE void append_json_string(std::string& out, std::string_view s);

/// Appends a JSON number: integral values as integers, others with 9 significant digits, null when
/// not finite (JSON has no NaN or infinity).
H5SER_CORE_INLINE void append_json_number(std::string& out, double value);

/// Writes JSON in order, inserting commas itself: the `schema` attribute (keys in the order the
/// struct declares its fields, so the schema reads like the struct) and the `--json` output of the
/// h5ser tool. Calls chain; `key` is ignored inside arrays and at the top level.
class json_writer {
public:
    json_writer& begin_object(std::string_view key = {});
    json_writer& end_object();
    json_writer& begin_array(std::string_view key = {});
    json_writer& end_array();
    json_writer& string(std::string_view key, std::string_view value);
    /// Integers as they are; floating-point numbers with 9 significant digits (null when not finite).
    template <class Number>
    requires std::is_arithmetic_v<Number> json_writer& number(std::string_view key, Number value) {
        prefix(key);
        if constexpr (std::is_integral_v<Number>) text_ += std::to_string(value);
        else append_json_number(text_, static_cast<double>(value));
        return *this;
    }
    json_writer& boolean(std::string_view key, bool value);
    json_writer& null(std::string_view key);
    [[nodiscard]] const std::string& str() const noexcept { return text_; }

private:
    json_writer& open(std::string_view key, char bracket);
    json_writer& close(char bracket);
    void prefix(std::string_view key);
    struct level {
        bool first;  ///< nothing written at this level yet
        bool array;
    };
    std::string text_;
    std::vector<level> levels_;
};

}  // namespace h5ser::detail

#if H5SER_CORE_DEFINITIONS
#include "h5ser/detail/json/writer-inl.hpp"
#endif
