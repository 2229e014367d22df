// h5ser/detail/json/writer-inl.hpp: definitions of h5ser/detail/json/writer.hpp (compiled once with the compiled core; see
// h5ser/config.hpp).
#pragma once

#include <cmath>
#include <cstdio>

#include "h5ser/detail/json/writer.hpp"

namespace h5ser::detail {

H5SER_CORE_INLINE void append_json_string(std::string& out, std::string_view s) {
    out += '"';
    for (const char c : s) {
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
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

H5SER_CORE_INLINE void append_json_number(std::string& out, double value) {
    if (!std::isfinite(value)) {
        out += "null";
    } else if (value == std::floor(value) && std::fabs(value) < 9e15) {
        out += std::to_string(static_cast<long long>(value));
    } else {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.9g", value);
        out += buf;
    }
}

H5SER_CORE_INLINE json_writer& json_writer::begin_object(std::string_view key) { return open(key, '{'); }
H5SER_CORE_INLINE json_writer& json_writer::end_object() { return close('}'); }
H5SER_CORE_INLINE json_writer& json_writer::begin_array(std::string_view key) { return open(key, '['); }
H5SER_CORE_INLINE json_writer& json_writer::end_array() { return close(']'); }

H5SER_CORE_INLINE json_writer& json_writer::string(std::string_view key, std::string_view value) {
    prefix(key);
    append_json_string(text_, value);
    return *this;
}

H5SER_CORE_INLINE json_writer& json_writer::boolean(std::string_view key, bool value) {
    prefix(key);
    text_ += value ? "true" : "false";
    return *this;
}

H5SER_CORE_INLINE json_writer& json_writer::null(std::string_view key) {
    prefix(key);
    text_ += "null";
    return *this;
}

H5SER_CORE_INLINE json_writer& json_writer::open(std::string_view key, char bracket) {
    prefix(key);
    text_ += bracket;
    levels_.push_back({true, bracket == '['});
    return *this;
}

H5SER_CORE_INLINE json_writer& json_writer::close(char bracket) {
    text_ += bracket;
    levels_.pop_back();
    return *this;
}

H5SER_CORE_INLINE void json_writer::prefix(std::string_view key) {
    if (levels_.empty()) return;
    if (!levels_.back().first) text_ += ',';
    levels_.back().first = false;
    if (!levels_.back().array) {
        append_json_string(text_, key);
        text_ += ':';
    }
}

}  // namespace h5ser::detail
