// h5ser/detail/json.hpp: the small JSON writer behind the `schema` attribute.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

#include "h5ser/config.hpp"

namespace h5ser::detail {

H5SER_CORE_INLINE void append_json_string(std::string& out, std::string_view s);

/// Writes JSON objects in order, inserting commas itself. Keys are given in the order the struct
/// declares its fields, so the schema reads like the struct.
class json_writer {
public:
    void begin_object(std::string_view key = {}) {
        prefix(key);
        text_ += '{';
        first_ = true;
    }
    void end_object() {
        text_ += '}';
        first_ = false;
    }
    void begin_array(std::string_view key = {}) {
        prefix(key);
        text_ += '[';
        first_ = true;
    }
    void end_array() {
        text_ += ']';
        first_ = false;
    }
    void value(std::string_view key, std::string_view s) {
        prefix(key);
        append_json_string(text_, s);
    }
    void number(std::string_view key, unsigned long long n) {
        prefix(key);
        text_ += std::to_string(n);
    }
    void boolean(std::string_view key, bool b) {
        prefix(key);
        text_ += b ? "true" : "false";
    }
    [[nodiscard]] const std::string& str() const noexcept { return text_; }

private:
    void prefix(std::string_view key) {
        if (!first_) text_ += ',';
        first_ = false;
        if (!key.empty()) {
            append_json_string(text_, key);
            text_ += ':';
        }
    }
    std::string text_;
    bool first_ = true;
};

#if H5SER_CORE_DEFINITIONS
// ---- core definitions (compiled once with H5SER_COMPILED_CORE; see h5ser/config.hpp) ----

H5SER_CORE_INLINE void append_json_string(std::string& out, std::string_view s) {
    out += '"';
    for (const char c : s) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
                    out += buf;
                } else {
                    out += c;  // UTF-8 passes through unchanged
                }
        }
    }
    out += '"';
}

#endif  // H5SER_CORE_DEFINITIONS

}  // namespace h5ser::detail
