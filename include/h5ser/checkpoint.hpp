// h5ser/checkpoint.hpp: versioned checkpoints for training loops (the C++ counterpart of Keras's
// ModelCheckpoint and TensorFlow's CheckpointManager).
//
//     h5ser::checkpoint_manager<Model> checkpoints("run1", {.keep_last = 3, .keep_best = 1});
//     if (auto step = checkpoints.restore_latest(model)) start = *step + 1;   // resume
//     for (step = start; ...; ++step) {
//         train(model);
//         checkpoints.save(model, step, validation_loss);   // run1/ckpt-000123.h5
//     }
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "h5ser/config.hpp"
#include "h5ser/detail/attribute.hpp"
#include "h5ser/detail/file.hpp"
#include "h5ser/load.hpp"
#include "h5ser/save.hpp"

#if H5SER_CORE_DEFINITIONS
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#endif

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

namespace detail {

/// The part of checkpoint_manager that does not depend on the model: the directory, its files,
/// the `latest` pointer and pruning.
class checkpoint_directory {
public:
    checkpoint_directory(std::string directory, checkpoint_options options);

    [[nodiscard]] std::vector<checkpoint_info> list() const;
    [[nodiscard]] std::optional<checkpoint_info> latest() const;
    [[nodiscard]] std::optional<checkpoint_info> best() const;
    [[nodiscard]] std::string path_for(std::uint64_t step) const;

    static constexpr const char* step_attribute = "h5ser_checkpoint_step";
    static constexpr const char* metric_attribute = "h5ser_checkpoint_metric";

protected:
    /// After checkpoint `path` is saved: points `latest` at it and deletes the checkpoints not kept.
    void saved(const std::string& path) const;

private:
    [[nodiscard]] std::vector<checkpoint_info> scan() const;
    [[nodiscard]] bool better(double a, double b) const { return options_.higher_is_better ? a > b : a < b; }
    static std::optional<std::uint64_t> step_of(const std::string& name);
    static std::optional<double> read_metric(const std::string& path);
    void write_latest_pointer(const std::string& file_name) const;
    void prune() const;

    std::string directory_;
    checkpoint_options options_;
};

}  // namespace detail

/// Saves checkpoints as `<directory>/ckpt-<step, 6+ digits>.h5`, each written atomically, keeps the
/// newest `keep_last` and the best `keep_best` and deletes the others, and updates the text file
/// `<directory>/latest` (the newest checkpoint's file name) atomically. Policies are those of
/// h5ser::save and h5ser::load_into (full model by default: resuming needs the optimizer state).
template <class Model, class... Policies>
class checkpoint_manager : private detail::checkpoint_directory {
public:
    explicit checkpoint_manager(std::string directory, checkpoint_options options = {})
        : checkpoint_directory(std::move(directory), options) {}

    /// Saves `model` as checkpoint `step`; returns its path. Once it returns, the checkpoint is on
    /// disk; a crash at any moment leaves every earlier checkpoint intact.
    std::string save(const Model& model, std::uint64_t step, std::optional<double> metric = std::nullopt) {
        static_assert(detail::assert_model_type<Model>());
        using policies = detail::policy_set<full_model, Policies...>;
        const std::string path = path_for(step);
        detail::save_model<policies::mode>(model, path, policies::storage::plan(), [&](hid_t root, const detail::where& at) {
            detail::write_attribute(root, step_attribute, step, at);
            if (metric) detail::write_attribute(root, metric_attribute, *metric, at);
        });
        saved(path);
        return path;
    }

    /// Loads the newest checkpoint into `model` (h5ser::load_into) and returns its step, or nothing
    /// when there is no checkpoint. Checkpoint files only ever appear complete, so the newest file
    /// is the newest complete checkpoint, whatever moment a previous run was killed at. A newest
    /// checkpoint that fails to load is an error, not silently skipped.
    std::optional<std::uint64_t> restore_latest(Model& model) const {
        const auto newest = latest();
        if (!newest) return std::nullopt;
        load_into<Policies...>(model, newest->path);
        return newest->step;
    }

    /// Every checkpoint in the directory, oldest first.
    using checkpoint_directory::list;
    /// The newest checkpoint, with its metric.
    using checkpoint_directory::latest;
    /// The checkpoint with the best metric (ties: the newer one).
    using checkpoint_directory::best;
    /// Where checkpoint `step` is saved.
    using checkpoint_directory::path_for;
    using checkpoint_directory::step_attribute;
    using checkpoint_directory::metric_attribute;
};

namespace detail {

#if H5SER_CORE_DEFINITIONS
// ---- core definitions (compiled once with H5SER_COMPILED_CORE; see h5ser/config.hpp) ----

H5SER_CORE_INLINE checkpoint_directory::checkpoint_directory(std::string directory, checkpoint_options options)
    : directory_(std::move(directory)), options_(options) {
    std::filesystem::create_directories(directory_);
}

H5SER_CORE_INLINE std::vector<checkpoint_info> checkpoint_directory::list() const {
    auto all = scan();
    for (auto& c : all) c.metric = read_metric(c.path);
    return all;
}

H5SER_CORE_INLINE std::optional<checkpoint_info> checkpoint_directory::latest() const {
    auto all = scan();  // the newest is known from file names: open only that one for its metric
    if (all.empty()) return std::nullopt;
    all.back().metric = read_metric(all.back().path);
    return all.back();
}

H5SER_CORE_INLINE std::optional<checkpoint_info> checkpoint_directory::best() const {
    std::optional<checkpoint_info> best;
    for (auto& c : list())
        if (c.metric && (!best || !better(*best->metric, *c.metric))) best = std::move(c);
    return best;
}

H5SER_CORE_INLINE std::string checkpoint_directory::path_for(std::uint64_t step) const {
    char name[40];
    std::snprintf(name, sizeof name, "ckpt-%06llu.h5", static_cast<unsigned long long>(step));
    return (std::filesystem::path(directory_) / name).string();
}

H5SER_CORE_INLINE void checkpoint_directory::saved(const std::string& path) const {
    write_latest_pointer(std::filesystem::path(path).filename().string());
    prune();
}

// The checkpoint files in the directory, oldest first, without opening them (no metrics).
H5SER_CORE_INLINE std::vector<checkpoint_info> checkpoint_directory::scan() const {
    std::vector<checkpoint_info> out;
    std::error_code ec;
    for (std::filesystem::directory_iterator it(directory_, ec), end; !ec && it != end; it.increment(ec))
        if (const auto step = step_of(it->path().filename().string())) out.push_back({*step, it->path().string(), std::nullopt});
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.step < b.step; });
    return out;
}

H5SER_CORE_INLINE std::optional<std::uint64_t> checkpoint_directory::step_of(const std::string& name) {
    if (name.size() < 9 || name.rfind("ckpt-", 0) != 0 || name.substr(name.size() - 3) != ".h5") return std::nullopt;
    const std::string digits = name.substr(5, name.size() - 8);
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
    return std::stoull(digits);
}

H5SER_CORE_INLINE std::optional<double> checkpoint_directory::read_metric(const std::string& path) {
    quiet_hdf5_errors quiet;
    const hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    if (id < 0) {
        H5Eclear2(H5E_DEFAULT);
        return std::nullopt;
    }
    handle file(id);
    const where at{path, {}, "/"};
    if (H5Aexists(file.get(), metric_attribute) <= 0) return std::nullopt;
    problem_list problems;
    return read_attribute<double>(file.get(), metric_attribute, at, problems);
}

// `latest` names the newest checkpoint for people and tools; restore_latest() does not need it.
H5SER_CORE_INLINE void checkpoint_directory::write_latest_pointer(const std::string& file_name) const {
    const std::string target = (std::filesystem::path(directory_) / "latest").string();
    atomic_file out(target);
    {
        std::ofstream stream(out.temp_path(), std::ios::trunc);
        stream << file_name << '\n';
        stream.flush();
        if (!stream) throw_io(target, "cannot write '" + out.temp_path() + "'", errno);
    }
    out.commit();
}

H5SER_CORE_INLINE void checkpoint_directory::prune() const {
    if (options_.keep_last == 0) return;
    auto all = list();
    std::vector<bool> keep(all.size(), false);
    for (std::size_t i = 0; i < all.size() && i < options_.keep_last; ++i) keep[all.size() - 1 - i] = true;
    std::vector<std::size_t> ranked;
    for (std::size_t i = 0; i < all.size(); ++i)
        if (all[i].metric) ranked.push_back(i);
    std::stable_sort(ranked.begin(), ranked.end(), [&](std::size_t a, std::size_t b) {
        return better(*all[a].metric, *all[b].metric) || (*all[a].metric == *all[b].metric && a > b);
    });
    for (std::size_t i = 0; i < ranked.size() && i < options_.keep_best; ++i) keep[ranked[i]] = true;
    for (std::size_t i = 0; i < all.size(); ++i) {
        std::error_code ec;
        if (!keep[i]) std::filesystem::remove(all[i].path, ec);
    }
}

#endif  // H5SER_CORE_DEFINITIONS

}  // namespace detail

}  // namespace h5ser
