// h5ser/checkpoint_options.hpp: what h5ser::checkpoint_manager (h5ser/checkpoint.hpp) is told
// to keep, and what it reports of each checkpoint.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace h5ser {

struct checkpoint_options {
    std::size_t keep_last = 5;      ///< the newest N checkpoints are kept (0: keep every checkpoint)
    std::size_t keep_best = 0;      ///< the N best by metric are kept too, however old
    bool higher_is_better = false;  ///< false: a lower metric is better (a loss); true: accuracy and such
};

struct checkpoint_info {
    std::uint64_t step = 0;
    std::string path;
    std::optional<double> metric;  ///< stored in the file as the root attribute h5ser_checkpoint_metric
};

}  // namespace h5ser
