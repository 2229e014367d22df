// h5ser/detail/save/save_walk.hpp: the save walk, the one traversal of a model that save, fingerprint
// and the MPI writer share, so all of them see the same nodes, in the same (field) order, under
// the same HDF5 paths. It turns the model into events for a sink (save_sink): file_writer.hpp
// writes them, census.hpp counts them, fingerprint_sink.hpp hashes them, snapshot.hpp records them.
#pragma once

#include <algorithm>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "h5ser/config.hpp"
#include "h5ser/detail/hdf5/attribute.hpp"
#include "h5ser/detail/hdf5/dataset.hpp"
#include "h5ser/detail/hdf5/hdf5.hpp"
#include "h5ser/detail/model/c_order.hpp"
#include "h5ser/detail/model/dynamic_tensor.hpp"
#include "h5ser/detail/model/evolution.hpp"
#include "h5ser/detail/model/field_kind.hpp"
#include "h5ser/detail/model/storage_plan.hpp"
#include "h5ser/error.hpp"
#include "h5ser/reflect.hpp"

namespace h5ser::detail {

/// What a sink is told when the walk enters a group-like node.
struct container_info {
    field_kind kind;             ///< group, sequence or map
    std::string_view type_name;  ///< groups: the struct's type name
    std::size_t length = 0;      ///< sequences: element count
    bool optimizer = false;      ///< inside optimizer state
};

/// Refuses a map key HDF5 cannot hold as a link name.
H5SER_CORE_INLINE void check_child_name(std::string_view key, const where& at);

/// Refuses a key of a map that is the root of a file, which h5ser reserves for its root attributes
/// (h5ser_*, model_type, schema, fingerprint), as it refuses such a field name at compile time.
H5SER_CORE_INLINE void check_root_key(std::string_view key, const where& at);

/// Refuses to save the tensor at `at`, which its adapter cannot save for `reason` (a CUDA tensor).
[[noreturn]] H5SER_CORE_INLINE void refuse_tensor(const where& at, std::string reason);

/// One step of saving a map of tensors whose keys are paths ("encoder/0/w"): open group `name`
/// (whose path below the map is `key`), close the innermost open group, or save entry `index` (in
/// the map's order) as `name` (`key` is the whole key).
struct path_step {
    enum step_kind { open, close, entry } kind;
    std::string_view name;
    std::string_view key;
    std::size_t index = 0;
};

/// The steps that save a map of tensors with keys `keys` (in the map's order) as the tree its keys
/// spell: the parts of a key before the last are groups, shared by every key below them, so the
/// map saves what a map of maps would. Refuses (h5ser::error at `at`) an empty part or ".", a key
/// that is both an entry and the group of another, and at the root of a file (`root`) a reserved
/// first part. (`Keys` is a std::vector<std::string_view>: a template, so that only translation
/// units that save a map of tensors compile it.)
template <class Keys>
std::vector<path_step> path_steps(const Keys& keys, const where& at, bool root) {
    const auto refuse = [&](std::string_view key, std::string why) {
        const where w = at.key(key);
        throw error(std::string(at.file), problem{errc::invalid_value, w.field, w.h5, {}, {}, "map key '" + std::string(key) + "' " + why});
    };
    std::vector<std::vector<std::string_view>> parts(keys.size());
    for (std::size_t i = 0; i < keys.size(); ++i) {
        std::string_view rest = keys[i];
        for (;;) {
            const std::size_t slash = rest.find('/');
            const std::string_view part = rest.substr(0, slash);
            if (part.empty() || part == ".")
                refuse(keys[i], "cannot be an HDF5 path (the parts between its '/' must be non-empty and not \".\")");
            parts[i].push_back(part);
            if (slash == std::string_view::npos) break;
            rest.remove_prefix(slash + 1);
        }
        if (root) check_root_key(parts[i].front(), at);
    }
    // In the order of their parts, the keys below one group follow each other, and a key that is
    // also a group comes just before the first key below it. (Keys differ, so their parts do.)
    std::vector<std::size_t> order(keys.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return std::lexicographical_compare(parts[a].begin(), parts[a].end(), parts[b].begin(), parts[b].end());
    });
    std::vector<path_step> steps;
    std::vector<std::string_view> open;
    const std::vector<std::string_view>* previous = nullptr;
    for (const std::size_t i : order) {
        const std::vector<std::string_view>& p = parts[i];
        const std::size_t groups = p.size() - 1;
        std::size_t kept = 0;
        while (kept < open.size() && kept < groups && open[kept] == p[kept]) ++kept;
        for (; open.size() > kept; open.pop_back()) steps.push_back({path_step::close, {}, {}, 0});
        for (std::size_t d = kept; d < groups; ++d) {
            const std::size_t length = static_cast<std::size_t>(p[d].data() + p[d].size() - keys[i].data());
            if (previous && previous->size() == d + 1 && std::equal(previous->begin(), previous->end(), p.begin()))
                refuse(keys[i], "needs a group '" + std::string(keys[i].substr(0, length)) + "', which is also a key of the map");
            steps.push_back({path_step::open, p[d], keys[i].substr(0, length), 0});
            open.push_back(p[d]);
        }
        steps.push_back({path_step::entry, p.back(), keys[i], i});
        previous = &p;
    }
    for (; !open.empty(); open.pop_back()) steps.push_back({path_step::close, {}, {}, 0});
    return steps;
}

/// What a sink that uses tensors' bytes after the walk (the snapshot, the .safetensors writer) keeps
/// of the tensors the walk made for one call: a reordered tensor's C-order copy (c_order.hpp), a
/// run-time-typed tensor's view or copy (dynamic_tensor.hpp). Each would die when the call returns.
class kept_temporaries {
public:
    template <class X>
    const X& keep(X&& value) {
        auto kept = std::make_shared<const X>(std::move(value));
        const X& kept_value = *kept;
        kept_.push_back(std::move(kept));
        return kept_value;
    }

private:
    std::vector<std::shared_ptr<const void>> kept_;
};

/// What the save walk tells a sink about the nodes a save stores, in walk order. Each does nothing
/// unless the sink overrides it, so sinks that look only at some nodes (the tensors, say) override
/// just those. The events carry tensors and attributes as views (tensor_view, attribute_view), so
/// the walk of a model is compiled once, whatever sinks it runs into, and the sinks are compiled
/// once (with the core), whatever the model. (The sinks declare their members H5SER_CORE_INLINE:
/// header-only, a class whose first virtual function is declared inline has no key function, so
/// its vtable and members are emitted only where the sink is made, not in every translation unit.)
class save_sink {
public:
    save_sink() = default;
    save_sink(const save_sink&) = delete;
    save_sink& operator=(const save_sink&) = delete;
    virtual ~save_sink() = default;

    /// A tensor: its elements lie in C order in memory until the call returns.
    H5SER_CORE_INLINE virtual void dataset(std::string_view name, const tensor_view& tensor, const where& at, bool optimizer);
    H5SER_CORE_INLINE virtual void attribute(std::string_view name, const attribute_view& value, const where& at, bool optimizer);
    /// An empty std::optional.
    H5SER_CORE_INLINE virtual void absent(std::string_view name, const where& at);
    H5SER_CORE_INLINE virtual void begin(std::string_view name, const where& at, const container_info& info);
    H5SER_CORE_INLINE virtual void end(const container_info& info);
    /// The version of the struct at `at` (its h5ser::evolution declares one).
    H5SER_CORE_INLINE virtual void version(const where& at, std::string_view type_name, int version);
    /// An h5ser::stored field's storage, in force until the matching pop_storage.
    H5SER_CORE_INLINE virtual void push_storage(const storage_plan& field_plan, bool names_compact, const std::vector<std::size_t>& chunks);
    H5SER_CORE_INLINE virtual void pop_storage();

    /// Where a sink that uses tensors' bytes after the call (the snapshot, the .safetensors writer)
    /// keeps the tensors the walk made for the call; null for the others, which the walk then
    /// spares the keeping.
    [[nodiscard]] kept_temporaries* temporaries() const noexcept { return temporaries_; }

protected:
    explicit save_sink(kept_temporaries* temporaries) noexcept : temporaries_(temporaries) {}

private:
    kept_temporaries* temporaries_ = nullptr;
};

template <save_mode Mode, class T>
void walk(save_sink& sink, std::string_view name, const T& value, const where& at, bool optimizer = false);

/// Walks the entries of string-keyed map `map` (located at `at`; `root`: the root of a file). The
/// keys of a map of tensors may be paths ("encoder/0/w", as a map read from any file keeps them):
/// their parts become groups (path_steps), so such a map saves back the tree it was read from.
template <save_mode Mode, class T>
void walk_entries(save_sink& sink, const T& map, const where& at, bool optimizer, bool root) {
    if constexpr (kind_of<typename string_map_traits<T>::element>() == field_kind::tensor) {
        if (std::any_of(map.begin(), map.end(), [](const auto& e) { return e.first.find('/') != std::string::npos; })) {
            std::vector<const typename T::mapped_type*> elements;
            std::vector<std::string_view> keys;
            for (const auto& [key, element] : map) {
                keys.emplace_back(key);
                elements.push_back(&element);
            }
            const container_info info{field_kind::map, {}, 0, optimizer};
            for (const path_step& step : path_steps(keys, at, root)) {
                if (step.kind == path_step::open) sink.begin(step.name, at.key(step.key), info);
                else if (step.kind == path_step::close) sink.end(info);
                else walk<Mode>(sink, step.name, *elements[step.index], at.key(step.key), optimizer);
            }
            return;
        }
    }
    for (const auto& [key, element] : map) {
        check_child_name(key, at);
        if (root) check_root_key(key, at);
        walk<Mode>(sink, key, element, at.key(key), optimizer);
    }
}

/// Walks what `Mode` stores of the members of `value` (located at `at`): the fields of a struct,
/// or the entries of a string-keyed map that is the root of a file (h5ser::save(state_dict, path)).
template <save_mode Mode, class T>
void walk_fields(save_sink& sink, const T& value, const where& at) {
    if constexpr (string_map_traits<T>::value) {
        if constexpr (is_stored<T, Mode>()) walk_entries<Mode>(sink, value, at, false, true);
    } else {
        // A struct whose h5ser::evolution declares a version says so first (an attribute of its group).
        if constexpr (declares_version<T>) sink.version(at, type_name<T>(), version_of<T>());
        for_each_field(value, [&](std::string_view name, const auto& field) {
            using field_type = std::remove_cvref_t<decltype(field)>;
            if constexpr (is_stored<field_type, Mode>()) walk<Mode>(sink, name, field, at.child(name));
        });
    }
}

/// The save walk's visitor for one node: `name` at `at`, inside optimizer state or not.
template <save_mode Mode>
struct save_step {
    save_sink& sink;
    std::string_view name;
    const where& at;
    bool optimizer;

    template <class X>
    void tensor(const X& x) {
        // A reordered tensor is copied into C order for each sink (the census records the bytes of
        // compact datasets in the manifest, so it needs them too), and handed over as a temporary:
        // a sink that keeps pointers past the call (the snapshot) keeps the copy too. A run-time-
        // typed one becomes a dynamic_tensor of its element type (a view, or a C-order copy).
        const auto to_sink = [&](auto&& c_order) {
            if constexpr (std::is_lvalue_reference_v<decltype(c_order)>) sink.dataset(name, tensor_view_of(c_order), at, optimizer);
            else if (kept_temporaries* kept = sink.temporaries())
                sink.dataset(name, tensor_view_of(kept->keep(std::move(c_order))), at, optimizer);
            else sink.dataset(name, tensor_view_of(c_order), at, optimizer);
        };
        if constexpr (runtime_typed_tensor<X>)
            with_static_type(x, to_sink, [&](std::string reason) { refuse_tensor(at, std::move(reason)); });
        else with_c_order(x, to_sink);
    }
    template <class X>
    void attribute(const X& x) {
        sink.attribute(name, attribute_view_of(x), at, optimizer);
    }
    template <class X>
    void group(const X& x) {
        const container_info info{field_kind::group, type_name<X>(), 0, optimizer};
        sink.begin(name, at, info);
        walk_fields<Mode>(sink, x, at);
        sink.end(info);
    }
    template <class X>
    void sequence(const X& x) {
        const container_info info{field_kind::sequence, {}, x.size(), optimizer};
        sink.begin(name, at, info);
        std::size_t index = 0;
        for (const auto& element : x) {
            const std::string key = std::to_string(index++);
            walk<Mode>(sink, key, element, at.child(key, true), optimizer);
        }
        sink.end(info);
    }
    template <class X>
    void map(const X& x) {
        const container_info info{field_kind::map, {}, x.size(), optimizer};
        sink.begin(name, at, info);
        walk_entries<Mode>(sink, x, at, optimizer, false);
        sink.end(info);
    }
    template <class X>
    void optional(const X& x) {
        if (x) walk<Mode>(sink, name, *x, at, optimizer);
        else sink.absent(name, at);
    }
    template <class X>
    void optimizer_state(const X& x) {
        walk<Mode>(sink, name, x.value, at, true);
    }
    template <class X>
    void stored(const X& x) {
        using storage = typename stored_traits<X>::storage;
        sink.push_storage(storage::plan(), storage::names_compact, x.chunks);
        walk<Mode>(sink, name, x.value, at, optimizer);
        sink.pop_storage();
    }
};

/// Walks `value`, stored under `name` at `at`, and everything below it that `Mode` stores.
template <save_mode Mode, class T>
void walk(save_sink& sink, std::string_view name, const T& value, const where& at, bool optimizer) {
    visit_field(save_step<Mode>{sink, name, at, optimizer || is_optimizer_state_v<T>}, value);
}

}  // namespace h5ser::detail

#if H5SER_CORE_DEFINITIONS
#include "h5ser/detail/save/save_walk-inl.hpp"
#endif
