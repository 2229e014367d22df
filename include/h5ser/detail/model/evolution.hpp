// h5ser/detail/model/evolution.hpp: what the save and load walks take of h5ser::evolution<T>: a struct's
// version, the names a field may be stored under, its upgrade hook; checked when a load compiles.
#pragma once

#include <algorithm>
#include <cstddef>
#include <span>
#include <string_view>
#include <type_traits>
#include <vector>

#include "h5ser/evolution.hpp"
#include "h5ser/reflect.hpp"

namespace h5ser::detail {

template <class T>
concept declares_version = requires {
    evolution<T>::version;
};

/// The version of T h5ser::evolution<T> declares: 1 when it declares none (every file saved before
/// T declared one holds version 1).
template <class T>
constexpr int version_of() noexcept {
    if constexpr (declares_version<T>) return evolution<T>::version;
    else return 1;
}

template <class T>
concept has_upgrade = requires(const old_group& old, T& now, int file_version) {
    evolution<T>::upgrade(old, now, file_version);
};

template <class T>
concept has_renames = requires {
    std::span<const rename>(evolution<T>::renames);
};

/// The renames h5ser::evolution<T> declares (none when it declares none).
template <class T>
constexpr std::span<const rename> renames_of() noexcept {
    if constexpr (has_renames<T>) return std::span<const rename>(evolution<T>::renames);
    else return {};
}

template <class T>
constexpr bool is_field_of(std::string_view name) noexcept {
    for (const std::string_view f : field_names_v<T>)
        if (f == name) return true;
    return false;
}

/// Checks T's version and upgrade hook when a load of T compiles; true when they hold.
template <class T>
constexpr bool assert_version() {
    if constexpr (declares_version<T>) {
        static_assert(std::is_same_v<std::remove_cv_t<decltype(evolution<T>::version)>, int> && version_of<T>() >= 1,
                      "h5ser::evolution<T>::version: write static constexpr int version = N; with N >= 1 (a struct that "
                      "never declared one is at version 1)");
    }
    if constexpr (has_upgrade<T>) {
        static_assert(version_of<T>() > 1,
                      "h5ser::evolution<T>::upgrade runs for files of an older version of T: declare static constexpr int "
                      "version = 2; (or later) next to it");
        static_assert(std::is_copy_constructible_v<T>,
                      "h5ser::evolution<T>::upgrade: a load upgrades a copy of the T it loads, so that a hook that throws "
                      "leaves the model as it was; give T a copy constructor");
    }
    return true;
}

/// Checks T's renames when a load of T compiles; true when they hold.
template <class T>
constexpr bool assert_renames() {
    if constexpr (has_renames<T>) {
        constexpr bool fields_exist = [] {
            for (const rename& r : renames_of<T>())
                if (!is_field_of<T>(r.field) &&
                    !std::any_of(renames_of<T>().begin(), renames_of<T>().end(), [&](const rename& o) { return o.old_name == r.field; }))
                    return false;
            return true;
        }();
        static_assert(fields_exist,
                      "h5ser::evolution<T>::renames: a rename's second name is neither a field of T nor the old name of a later "
                      "rename; write {old name, field name}, as in {\"w\", \"kernel\"}");
        constexpr bool old_names_free = [] {
            for (const rename& r : renames_of<T>())
                if (is_field_of<T>(r.old_name) || r.old_name == r.field) return false;
            return true;
        }();
        static_assert(old_names_free,
                      "h5ser::evolution<T>::renames: an old name is still a field of T, so a file holding it would be read twice; "
                      "remove the rename or rename the field");
        return fields_exist && old_names_free;
    }
    return true;
}

/// The names files saved before may hold field `field` under, by the `renames` of its struct
/// (renames_of), newest first: the old names of its renames, then theirs (a chain across
/// versions), each once.
inline std::vector<std::string_view> old_names_of(std::span<const rename> renames, std::string_view field) {
    std::vector<std::string_view> names;
    std::vector<std::string_view> pending{field};
    while (!pending.empty()) {
        const std::string_view current = pending.front();
        pending.erase(pending.begin());
        for (const rename& r : renames) {
            if (r.field != current || r.old_name == field) continue;
            if (std::find(names.begin(), names.end(), r.old_name) != names.end()) continue;
            names.push_back(r.old_name);
            pending.push_back(r.old_name);
        }
    }
    return names;
}

}  // namespace h5ser::detail
