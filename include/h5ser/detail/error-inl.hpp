// h5ser/detail/error-inl.hpp: definitions of h5ser/error.hpp (compiled once with the compiled core; see
// h5ser/config.hpp).
#pragma once

#include "h5ser/error.hpp"

namespace h5ser {

H5SER_CORE_INLINE std::string problem::describe() const {
    std::string text(to_string(code));
    if (!field_path.empty() || !hdf5_path.empty()) {
        text += " at ";
        text += field_path.empty() ? std::string("<root>") : field_path;
        if (!hdf5_path.empty()) text += " (" + hdf5_path + ")";
    }
    if (!expected.empty() || !found.empty()) {
        text += ": expected " + (expected.empty() ? std::string("nothing") : expected);
        text += ", found " + (found.empty() ? std::string("nothing") : found);
    }
    if (!detail.empty()) text += (expected.empty() && found.empty() ? ": " : "; ") + detail;
    return text;
}

H5SER_CORE_INLINE error::error(std::string file, std::vector<problem> problems, std::vector<std::string> hdf5_stack)
    : std::runtime_error(compose(file, problems, hdf5_stack)),
      file_(std::move(file)),
      problems_(std::move(problems)),
      hdf5_stack_(std::move(hdf5_stack)) {}

H5SER_CORE_INLINE error::error(std::string file, problem single, std::vector<std::string> hdf5_stack)
    : error(std::move(file), std::vector<problem>{std::move(single)}, std::move(hdf5_stack)) {}

H5SER_CORE_INLINE error::~error() = default;

H5SER_CORE_INLINE std::string error::compose(const std::string& file, const std::vector<problem>& problems,
                                             const std::vector<std::string>& stack) {
    std::string text = "h5ser: ";
    if (problems.size() == 1) {
        text += problems.front().describe();
        if (!file.empty()) text += " [file '" + file + "']";
    } else {
        text += std::to_string(problems.size()) + " problems";
        if (!file.empty()) text += " in '" + file + "'";
        text += ":";
        for (const auto& p : problems) text += "\n  - " + p.describe();
    }
    if (!stack.empty()) {
        text += "\n  HDF5 error stack:";
        for (const auto& line : stack) text += "\n    " + line;
    }
    return text;
}

}  // namespace h5ser
