// h5ser/detail/walk.hpp: the one traversal of a model that save and fingerprint share, so both
// see the same nodes, in the same (field) order, under the same HDF5 paths.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "h5ser/detail/hdf5.hpp"
#include "h5ser/error.hpp"
#include "h5ser/mapping.hpp"
#include "h5ser/reflect.hpp"
#include "h5ser/config.hpp"

namespace h5ser::detail {

/// What a visitor is told when the walk enters a group-like node.
struct container_info {
    node_kind kind;              ///< group, sequence or map
    std::string_view type_name;  ///< groups: the struct's type name
    std::size_t length = 0;      ///< sequences: element count
    bool optimizer = false;      ///< inside optimizer state
};

H5SER_CORE_INLINE void check_child_name(std::string_view key, const where& at);

/// A visitor that ignores everything: visitors that look only at some nodes (the tensors, say)
/// derive from it and declare just those.
struct ignoring_visitor {
    template <class X>
    void dataset(std::string_view, const X&, const where&, bool) noexcept {}
    template <class X>
    void attribute(std::string_view, const X&, const where&, bool) noexcept {}
    void absent(std::string_view, const where&) noexcept {}
    void begin(std::string_view, const where&, const container_info&) noexcept {}
    void end(const container_info&) noexcept {}
    void push_storage(const storage_plan&, bool, const std::vector<std::size_t>&) noexcept {}
    void pop_storage() noexcept {}
};

/// Visits `value` (stored under `name`, located at `at`) and everything below it that `Mode`
/// stores. The visitor provides:
///     void dataset(std::string_view name, const X& tensor, const where& at, bool optimizer);
///     void attribute(std::string_view name, const X& value, const where& at, bool optimizer);
///     void absent(std::string_view name, const where& at);          // an empty std::optional
///     void begin(std::string_view name, const where& at, const container_info& info);
///     void end(const container_info& info);
///     void push_storage(const storage_plan& field_plan, bool names_compact, const std::vector<std::size_t>& chunks);
///     void pop_storage();
template <save_mode Mode, class Visitor, class T>
void walk(Visitor& visitor, std::string_view name, const T& value, const where& at, bool optimizer = false);

template <save_mode Mode, class Visitor, class T>
void walk_fields(Visitor& visitor, const T& value, const where& at) {
    for_each_field(value, [&](std::string_view name, const auto& field) {
        using field_type = std::remove_cvref_t<decltype(field)>;
        if constexpr (is_stored<field_type, Mode>()) walk<Mode>(visitor, name, field, at.child(name));
    });
}

template <save_mode Mode, class Visitor, class T>
void walk(Visitor& visitor, std::string_view name, const T& value, const where& at, bool optimizer) {
    static_assert(assert_storable<T>());
    constexpr node_kind kind = kind_of<T>();
    optimizer = optimizer || is_optimizer_state_v<T>;
    if constexpr (kind == node_kind::storage_wrapper) {
        using storage = typename storage_wrapper_traits<T>::storage;
        visitor.push_storage(storage::plan(), storage::names_compact, value.chunks);
        walk<Mode>(visitor, name, value.value, at, optimizer);
        visitor.pop_storage();
    } else if constexpr (kind == node_kind::optimizer_wrapper) {
        walk<Mode>(visitor, name, value.value, at, true);
    } else if constexpr (kind == node_kind::optional) {
        if (value) walk<Mode>(visitor, name, *value, at, optimizer);
        else visitor.absent(name, at);
    } else if constexpr (kind == node_kind::dataset) {
        visitor.dataset(name, value, at, optimizer);
    } else if constexpr (kind == node_kind::attribute) {
        visitor.attribute(name, value, at, optimizer);
    } else if constexpr (kind == node_kind::sequence) {
        const container_info info{kind, {}, value.size(), optimizer};
        visitor.begin(name, at, info);
        std::size_t index = 0;
        for (const auto& element : value) {
            const std::string key = std::to_string(index++);
            walk<Mode>(visitor, key, element, at.child(key, true), optimizer);
        }
        visitor.end(info);
    } else if constexpr (kind == node_kind::map) {
        const container_info info{kind, {}, value.size(), optimizer};
        visitor.begin(name, at, info);
        for (const auto& [key, element] : value) {
            check_child_name(key, at);
            walk<Mode>(visitor, key, element, at.key(key), optimizer);
        }
        visitor.end(info);
    } else {
        static_assert(kind == node_kind::group);
        const container_info info{kind, type_name<T>(), 0, optimizer};
        visitor.begin(name, at, info);
        walk_fields<Mode>(visitor, value, at);
        visitor.end(info);
    }
}

#if H5SER_CORE_DEFINITIONS
// ---- core definitions (compiled once with H5SER_COMPILED_CORE; see h5ser/config.hpp) ----

H5SER_CORE_INLINE void check_child_name(std::string_view key, const where& at) {
    if (key.empty() || key == "." || key.find('/') != std::string_view::npos) {
        throw error(std::string(at.file),
                    problem{errc::invalid_value, at.field, at.h5_or_root(), {}, {},
                            "map key '" + std::string(key) + "' cannot be an HDF5 name (it must be non-empty, not \".\", "
                            "and contain no '/')"});
    }
}

#endif  // H5SER_CORE_DEFINITIONS

}  // namespace h5ser::detail
