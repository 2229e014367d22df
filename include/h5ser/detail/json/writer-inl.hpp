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

}  // namespace h5ser::detail
