// h5ser/detail/checkpoint/checkpoint_directory-inl.hpp: definitions of h5ser/detail/checkpoint/checkpoint_directory.hpp
// (compiled once with the compiled core; see h5ser/config.hpp).
#pragma once

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "h5ser/checkpoint.hpp"  // checkpoint_options, checkpoint_info
#include "h5ser/detail/checkpoint/checkpoint_directory.hpp"
#include "h5ser/detail/format/manifest.hpp"
#include "h5ser/detail/format/seal.hpp"
#include "h5ser/detail/hdf5/attribute.hpp"
#include "h5ser/detail/hdf5/hdf5.hpp"
#include "h5ser/detail/isolation/isolation.hpp"
#include "h5ser/detail/load/opened_file.hpp"
#include "h5ser/detail/posix/file.hpp"

namespace h5ser::detail {

H5SER_CORE_INLINE checkpoint_directory::checkpoint_directory(std::string directory, checkpoint_options options)
    : directory_(std::move(directory)), options_(options) {
    std::filesystem::create_directories(directory_);
    // A run killed while saving checkpoint N left N's temporary; the next run saves other steps.
    remove_stale_temporaries_in(directory_, [](std::string_view name) { return step_of(std::string(name)).has_value(); });
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
    for (auto& c : list())  // a NaN metric (a diverged run) is no metric: it is never the best
        if (c.metric && !std::isnan(*c.metric) && (!best || !better(*best->metric, *c.metric))) best = std::move(c);
    return best;
}

H5SER_CORE_INLINE std::string checkpoint_directory::path_for_new(std::uint64_t step) const {
    const auto all = scan();
    if (!all.empty() && all.back().step > step)
        throw error(path_for(step), problem{errc::io,
                                            {},
                                            {},
                                            "a step of at least " + std::to_string(all.back().step),
                                            "step " + std::to_string(step),
                                            "the directory holds a newer checkpoint (" + all.back().path +
                                                "), which would stay the latest; to resume a run from an earlier step, remove "
                                                "the newer checkpoints or save into another directory"});
    return path_for(step);
}

H5SER_CORE_INLINE std::string checkpoint_directory::path_for(std::uint64_t step) const {
    char name[40];
    std::snprintf(name, sizeof name, "ckpt-%06llu.h5", static_cast<unsigned long long>(step));
    return (std::filesystem::path(directory_) / name).string();
}

H5SER_CORE_INLINE void checkpoint_directory::saved(const std::string& path) const {
    write_latest_pointer(std::filesystem::path(path).filename().string());
    prune(path);
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
    std::uint64_t step = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), step);
    if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;  // more than 64 bits: not one of ours
    return step;
}

H5SER_CORE_INLINE std::optional<double> checkpoint_directory::read_metric(const std::string& path) {
    // From the manifest of a checkpoint h5ser sealed, whose seal holds: no libhdf5. A damaged or
    // foreign file in the directory has no metric (its restore reports what is wrong with it);
    // a format-1 checkpoint (no manifest) is read in a child process, as every libhdf5 parse.
    try {
        const opened_file file = opened_file::open(path);
        const seal_check seal = check_seal(file, true);
        if (seal.status != seal_status::intact) return std::nullopt;
        problem_list problems;
        const where at{path, {}, "/"};
        // Checkpoints list their step and metric in the manifest; older ones did not, and are
        // read through HDF5.
        if (seal.contents && seal.contents->attribute("/", step_attribute)) {
            const manifest_record* r = seal.contents->attribute("/", metric_attribute);
            return r ? decode_attribute<double>(*r, at, problems) : std::nullopt;
        }
        struct stored_metric {  // what the isolated child sends back
            bool present = false;
            double value = 0;
        };
        const auto read = [&]() -> stored_metric {
            hdf5_scope hdf5;
            const handle hdf5_file = file.open_hdf5(file_access(at).get(), at);
            if (H5Aexists(hdf5_file.get(), metric_attribute) <= 0) return {};
            const auto value = read_attribute<double>(hdf5_file.get(), metric_attribute, at, problems);
            return value ? stored_metric{true, *value} : stored_metric{};
        };
        const stored_metric metric = needs_isolation(isolation::hdf5_parses, path)
                                         ? run_isolated<stored_metric>(path, [&](const progress_callback&) { return read(); })
                                         : read();
        return metric.present ? std::optional<double>(metric.value) : std::nullopt;
    } catch (const error&) {
        return std::nullopt;
    }
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

H5SER_CORE_INLINE void checkpoint_directory::prune(const std::string& just_saved) const {
    if (options_.keep_last == 0) return;
    auto all = list();
    std::vector<bool> keep(all.size(), false);
    for (std::size_t i = 0; i < all.size() && i < options_.keep_last; ++i) keep[all.size() - 1 - i] = true;
    std::vector<std::size_t> ranked;
    for (std::size_t i = 0; i < all.size(); ++i) {
        if (all[i].metric && !std::isnan(*all[i].metric)) ranked.push_back(i);
        if (all[i].path == just_saved) keep[i] = true;
    }
    std::stable_sort(ranked.begin(), ranked.end(), [&](std::size_t a, std::size_t b) {
        return better(*all[a].metric, *all[b].metric) || (*all[a].metric == *all[b].metric && a > b);
    });
    for (std::size_t i = 0; i < ranked.size() && i < options_.keep_best; ++i) keep[ranked[i]] = true;
    for (std::size_t i = 0; i < all.size(); ++i) {
        std::error_code ec;
        if (!keep[i]) std::filesystem::remove(all[i].path, ec);
    }
}

}  // namespace h5ser::detail
