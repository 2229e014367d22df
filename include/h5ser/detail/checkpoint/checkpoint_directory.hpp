// h5ser/detail/checkpoint/checkpoint_directory.hpp: the part of h5ser::checkpoint_manager that does not
// depend on the model: the directory, its files, the `latest` pointer and pruning.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "h5ser/checkpoint_options.hpp"
#include "h5ser/config.hpp"
#include "h5ser/detail/format/format.hpp"

namespace h5ser::detail {

/// The part of checkpoint_manager that does not depend on the model: the directory, its files,
/// the `latest` pointer and pruning.
class checkpoint_directory {
public:
    checkpoint_directory(std::string directory, checkpoint_options options);

    [[nodiscard]] std::vector<checkpoint_info> list() const;
    [[nodiscard]] std::optional<checkpoint_info> latest() const;
    [[nodiscard]] std::optional<checkpoint_info> best() const;
    [[nodiscard]] std::string path_for(std::uint64_t step) const;
    /// path_for(step) for a new save; throws (errc::io) when the directory holds a newer
    /// checkpoint: the newest checkpoint is the one with the highest step, and a save of an older
    /// step would be pruned at once or restored never (see checkpoint_manager::save).
    [[nodiscard]] std::string path_for_new(std::uint64_t step) const;

    static constexpr const char* step_attribute = format::checkpoint_step_attribute;
    static constexpr const char* metric_attribute = format::checkpoint_metric_attribute;

    /// After checkpoint `path` is saved: points `latest` at it and deletes the checkpoints not kept
    /// (never `path` itself).
    void saved(const std::string& path) const;

private:
    [[nodiscard]] std::vector<checkpoint_info> scan() const;
    [[nodiscard]] bool better(double a, double b) const { return options_.higher_is_better ? a > b : a < b; }
    static std::optional<std::uint64_t> step_of(const std::string& name);
    static std::optional<double> read_metric(const std::string& path);
    void write_latest_pointer(const std::string& file_name) const;
    void prune(const std::string& just_saved) const;

    std::string directory_;
    checkpoint_options options_;
};

}  // namespace h5ser::detail

#if H5SER_CORE_DEFINITIONS
#include "h5ser/detail/checkpoint/checkpoint_directory-inl.hpp"
#endif
