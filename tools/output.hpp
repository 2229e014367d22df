// Output helpers of the h5ser command-line tool: a compact JSON builder, number formatting, and
// the progress bar (drawn on stderr only when it is a terminal).
#pragma once

#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include <h5ser/detail/json.hpp>

namespace h5ser_cli {

/// Builds JSON text. Values are appended in order; `key` is ignored inside arrays.
class json {
public:
    json& begin_object(std::string_view key = {}) { return open(key, '{'); }
    json& end_object() { return close('}'); }
    json& begin_array(std::string_view key = {}) { return open(key, '['); }
    json& end_array() { return close(']'); }
    json& string(std::string_view key, std::string_view value) {
        prefix(key);
        h5ser::detail::append_json_string(text_, value);
        return *this;
    }
    json& number(std::string_view key, double value) {
        prefix(key);
        if (!std::isfinite(value)) {
            text_ += "null";  // JSON has no NaN or infinity
        } else if (value == std::floor(value) && std::fabs(value) < 9e15) {
            text_ += std::to_string(static_cast<long long>(value));
        } else {
            char buf[32];
            std::snprintf(buf, sizeof buf, "%.9g", value);
            text_ += buf;
        }
        return *this;
    }
    json& boolean(std::string_view key, bool value) {
        prefix(key);
        text_ += value ? "true" : "false";
        return *this;
    }
    json& null(std::string_view key) {
        prefix(key);
        text_ += "null";
        return *this;
    }
    [[nodiscard]] std::string str() const { return text_ + "\n"; }

private:
    json& open(std::string_view key, char c) {
        prefix(key);
        text_ += c;
        first_.push_back(true);
        in_array_.push_back(c == '[');
        return *this;
    }
    json& close(char c) {
        text_ += c;
        first_.pop_back();
        in_array_.pop_back();
        return *this;
    }
    void prefix(std::string_view key) {
        if (!first_.empty()) {
            if (!first_.back()) text_ += ",";
            first_.back() = false;
        }
        if (!in_array_.empty() && !in_array_.back()) {
            h5ser::detail::append_json_string(text_, key);
            text_ += ":";
        }
    }
    std::string text_;
    std::vector<bool> first_;
    std::vector<bool> in_array_;
};

/// 1234567 -> "1,234,567"
inline std::string grouped(std::uint64_t n) {
    std::string digits = std::to_string(n), out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return out;
}

inline std::string shape_text(const std::vector<std::size_t>& shape) {
    std::string s = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

/// A progress bar on stderr, drawn only when stderr is a terminal (never into pipes or logs).
class progress_bar {
public:
    explicit progress_bar(std::string label, bool enabled = true) : label_(std::move(label)), on_(enabled && ::isatty(2) == 1) {}
    progress_bar(const progress_bar&) = delete;
    progress_bar& operator=(const progress_bar&) = delete;
    ~progress_bar() {
        if (drawn_) std::fprintf(stderr, "\r\033[K");
    }
    void operator()(std::uint64_t done, std::uint64_t total) {
        if (!on_) return;
        const int percent = total ? static_cast<int>(100.0 * static_cast<double>(done) / static_cast<double>(total)) : 100;
        if (percent == last_) return;
        last_ = percent;
        const int width = 30, filled = percent * width / 100;
        std::fprintf(stderr, "\r%s [%s%s] %3d%%", label_.c_str(), std::string(static_cast<std::size_t>(filled), '#').c_str(),
                     std::string(static_cast<std::size_t>(width - filled), '.').c_str(), percent);
        std::fflush(stderr);
        drawn_ = true;
    }

private:
    std::string label_;
    bool on_;
    bool drawn_ = false;
    int last_ = -1;
};

}  // namespace h5ser_cli
