// h5ser/detail/problems.hpp: collects every problem of a load before one error reports them all.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "h5ser/error.hpp"

namespace h5ser::detail {

class problem_list {
public:
    void add(problem p) { items_.push_back(std::move(p)); }
    [[nodiscard]] bool empty() const noexcept { return items_.empty(); }
    [[nodiscard]] std::size_t size() const noexcept { return items_.size(); }
    /// Throws one h5ser::error listing every problem, if there is any.
    void throw_if_any(const std::string& file) {
        if (!items_.empty()) throw error(file, std::move(items_));
    }

private:
    std::vector<problem> items_;
};

}  // namespace h5ser::detail
