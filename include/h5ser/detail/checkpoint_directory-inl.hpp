// h5ser/detail/checkpoint_directory-inl.hpp: definitions of h5ser/detail/checkpoint_directory.hpp
// (compiled once with the compiled core; see h5ser/config.hpp).
#pragma once

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "h5ser/checkpoint.hpp"  // checkpoint_options, checkpoint_info
#include "h5ser/detail/attribute.hpp"
#include "h5ser/detail/seal.hpp"
#include "h5ser/detail/checkpoint_directory.hpp"
#include "h5ser/detail/file.hpp"
#include "h5ser/detail/hdf5.hpp"

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
    // A checkpoint h5ser sealed, and whose seal holds, before HDF5 parses it: a damaged or foreign
    // file in the directory has no metric (its restore reports what is wrong with it).
    try {
        if (!verify_seal(path)) return std::nullopt;
    } catch (const error&) {
        return std::nullopt;
    }
    hdf5_scope hdf5;
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

}  // namespace h5ser::detail
