// h5ser/detail/json/reader.hpp: the one JSON reader: h5ser's schema (the h5ser tool), the configurations
// Keras stores (the Keras module).
//
// Keras writes its JSON with Python's json.dumps, which emits the bare tokens NaN, Infinity and
// -Infinity for non-finite floats. Strict parsers refuse those files; this one accepts them. It
// builds a plain tree, limits nesting depth (hostile input must not overflow the stack) and reports
// the byte offset of the first error.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace h5ser::detail {

struct json_value {
    enum class type { null, boolean, number, string, array, object };
    type kind = type::null;
    bool boolean = false;
    double number = 0;
    std::string text;               ///< strings
    std::vector<json_value> items;  ///< arrays; the member values of objects
    std::vector<std::string> keys;  ///< objects: member names, in file order, parallel to `items`

    [[nodiscard]] bool is_object() const noexcept { return kind == type::object; }
    [[nodiscard]] bool is_array() const noexcept { return kind == type::array; }
    [[nodiscard]] bool is_string() const noexcept { return kind == type::string; }

    /// The member `key` of an object; nullptr when absent or not an object.
    [[nodiscard]] const json_value* find(std::string_view key) const noexcept {
        if (kind != type::object) return nullptr;
        for (std::size_t i = 0; i < keys.size(); ++i)
            if (keys[i] == key) return &items[i];
        return nullptr;
    }
    /// The string member `key`, or "" when absent or not a string.
    [[nodiscard]] std::string_view string_at(std::string_view key) const noexcept {
        const json_value* v = find(key);
        return v && v->is_string() ? std::string_view(v->text) : std::string_view();
    }
};

class json_parser {
public:
    explicit json_parser(std::string_view text) : s_(text) {}

    json_value parse() {
        json_value v = value(0);
        skip_space();
        if (pos_ != s_.size()) fail("unexpected text after the JSON value");
        return v;
    }

private:
    static constexpr int max_depth = 256;

    [[noreturn]] void fail(const std::string& what) const {
        throw std::runtime_error("invalid JSON at byte " + std::to_string(pos_) + ": " + what);
    }
    void skip_space() {
        while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\r' || s_[pos_] == '\t')) ++pos_;
    }
    bool take(std::string_view token) {
        if (s_.substr(pos_, token.size()) != token) return false;
        pos_ += token.size();
        return true;
    }

    json_value value(int depth) {
        if (depth > max_depth) fail("nested deeper than " + std::to_string(max_depth) + " levels");
        skip_space();
        if (pos_ >= s_.size()) fail("unexpected end of text");
        json_value v;
        const char c = s_[pos_];
        if (c == '{') {
            v.kind = json_value::type::object;
            ++pos_;
            skip_space();
            if (take("}")) return v;
            for (;;) {
                skip_space();
                if (pos_ >= s_.size() || s_[pos_] != '"') fail("expected a member name");
                std::string key = string();
                skip_space();
                if (!take(":")) fail("expected ':'");
                v.keys.push_back(std::move(key));
                v.items.push_back(value(depth + 1));
                skip_space();
                if (take("}")) return v;
                if (!take(",")) fail("expected ',' or '}'");
            }
        }
        if (c == '[') {
            v.kind = json_value::type::array;
            ++pos_;
            skip_space();
            if (take("]")) return v;
            for (;;) {
                v.items.push_back(value(depth + 1));
                skip_space();
                if (take("]")) return v;
                if (!take(",")) fail("expected ',' or ']'");
            }
        }
        if (c == '"') {
            v.kind = json_value::type::string;
            v.text = string();
            return v;
        }
        if (take("true") || take("false")) {
            v.kind = json_value::type::boolean;
            v.boolean = s_[pos_ - 1] == 'e' && s_[pos_ - 2] == 'u';
            return v;
        }
        if (take("null")) return v;
        v.kind = json_value::type::number;
        // Python's json.dumps writes these for non-finite floats.
        if (take("NaN")) v.number = std::numeric_limits<double>::quiet_NaN();
        else if (take("Infinity")) v.number = std::numeric_limits<double>::infinity();
        else if (take("-Infinity")) v.number = -std::numeric_limits<double>::infinity();
        else v.number = number();
        return v;
    }

    double number() {
        const std::size_t start = pos_;
        if (pos_ < s_.size() && s_[pos_] == '-') ++pos_;
        const auto digits = [&] {
            const std::size_t from = pos_;
            while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
            return pos_ > from;
        };
        if (!digits()) fail("expected a value");
        if (pos_ < s_.size() && s_[pos_] == '.') {
            ++pos_;
            if (!digits()) fail("expected digits after '.'");
        }
        if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
            ++pos_;
            if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
            if (!digits()) fail("expected an exponent");
        }
        // strtod is locale-dependent only for the decimal point, which JSON fixes as '.'; the C
        // locale is what programs run with unless they change it.
        const std::string token(s_.substr(start, pos_ - start));
        return std::strtod(token.c_str(), nullptr);
    }

    unsigned hex4() {
        if (pos_ + 4 > s_.size()) fail("short \\u escape");
        unsigned code = 0;
        for (int i = 0; i < 4; ++i) {
            const char h = s_[pos_++];
            code <<= 4;
            if (h >= '0' && h <= '9') code |= static_cast<unsigned>(h - '0');
            else if (h >= 'a' && h <= 'f') code |= static_cast<unsigned>(h - 'a' + 10);
            else if (h >= 'A' && h <= 'F') code |= static_cast<unsigned>(h - 'A' + 10);
            else fail("bad \\u escape");
        }
        return code;
    }

    static void append_utf8(std::string& out, std::uint32_t cp) {
        if (cp < 0x80) {
            out += static_cast<char>(cp);
        } else if (cp < 0x800) {
            out += static_cast<char>(0xC0 | (cp >> 6));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            out += static_cast<char>(0xE0 | (cp >> 12));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        } else {
            out += static_cast<char>(0xF0 | (cp >> 18));
            out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        }
    }

    std::string string() {
        ++pos_;  // opening quote
        std::string out;
        for (;;) {
            if (pos_ >= s_.size()) fail("unterminated string");
            const char c = s_[pos_++];
            if (c == '"') return out;
            if (c != '\\') {
                out += c;
                continue;
            }
            if (pos_ >= s_.size()) fail("unterminated escape");
            switch (const char e = s_[pos_++]) {
                case '"':
                    out += '"';
                    break;
                case '\\':
                    out += '\\';
                    break;
                case '/':
                    out += '/';
                    break;
                case 'b':
                    out += '\b';
                    break;
                case 'f':
                    out += '\f';
                    break;
                case 'n':
                    out += '\n';
                    break;
                case 'r':
                    out += '\r';
                    break;
                case 't':
                    out += '\t';
                    break;
                case 'u': {
                    std::uint32_t cp = hex4();
                    if (cp >= 0xD800 && cp < 0xDC00 && take("\\u")) {  // surrogate pair
                        const unsigned low = hex4();
                        if (low < 0xDC00 || low > 0xDFFF) fail("bad surrogate pair");
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                    }
                    append_utf8(out, cp);
                    break;
                }
                default:
                    fail(std::string("bad escape '\\") + e + "'");
            }
        }
    }

    std::string_view s_;
    std::size_t pos_ = 0;
};

/// Parses `text`; throws std::runtime_error naming the byte offset of the first error.
inline json_value parse_json(std::string_view text) { return json_parser(text).parse(); }

}  // namespace h5ser::detail
