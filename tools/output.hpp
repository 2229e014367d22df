// Output helpers of the h5ser command-line tool: JSON reports, number formatting, and
// the progress bar (drawn on stderr only when it is a terminal).
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "internals.hpp"

namespace h5ser_cli {

/// The library's JSON writer (the one behind the `schema` attribute) builds every --json report.
using json = internal::json_writer;

class progress_bar;

/// Erases the progress bar's line, if one is drawn, so that what is printed next starts a line of
/// its own (stdout and stderr are usually the same terminal).
inline void end_progress_line();

/// A command's report (or a failure's, on stderr): every command prints through this, after the
/// progress bar's line is erased.
inline void print_text(const std::string& text, std::FILE* to = stdout) {
    end_progress_line();
    std::fputs(text.c_str(), to);
}

/// A --json report on stdout, one line.
inline void print_json(const json& j) { print_text(j.str() + "\n"); }

/// 1234567 -> "1,234,567"
inline std::string grouped(std::uint64_t n) {
    std::string digits = std::to_string(n), out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return out;
}

/// A progress bar on stderr, drawn only when stderr is a terminal (never into pipes or logs).
class progress_bar {
public:
    explicit progress_bar(std::string label, bool enabled = true) : label_(std::move(label)), on_(enabled && ::isatty(2) == 1) {}
    progress_bar(const progress_bar&) = delete;
    progress_bar& operator=(const progress_bar&) = delete;
    ~progress_bar() {
        clear();
        if (active() == this) active() = nullptr;
    }
    /// Erases the bar's line; the next progress draws it again.
    void clear() {
        if (!drawn_) return;
        std::fprintf(stderr, "\r\033[K");
        std::fflush(stderr);
        drawn_ = false;
        last_ = -1;
    }
    /// The bar drawn last (one at a time), which print_text erases.
    static progress_bar*& active() {
        static progress_bar* bar = nullptr;
        return bar;
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
        active() = this;
    }

private:
    std::string label_;
    bool on_;
    bool drawn_ = false;
    int last_ = -1;
};

inline void end_progress_line() {
    if (progress_bar* bar = progress_bar::active()) bar->clear();
}

}  // namespace h5ser_cli
