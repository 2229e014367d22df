// h5ser/detail/save/save_walk.hpp: the save walk, the one traversal of a model that save, fingerprint
// and the MPI writer share, so all of them see the same nodes, in the same (field) order, under
// the same HDF5 paths. It turns the model into events for a sink: file_writer.hpp writes them.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "h5ser/config.hpp"
#include "h5ser/detail/hdf5/hdf5.hpp"
#include "h5ser/detail/model/c_order.hpp"
#include "h5ser/detail/model/dynamic_tensor.hpp"
#include "h5ser/detail/model/evolution.hpp"
#include "h5ser/detail/model/field_kind.hpp"
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

/// What a sink that uses tensors' bytes after the walk (the snapshot, the .safetensors writer) keeps
/// of the tensors the walk made for one call: a reordered tensor's C-order copy (c_order.hpp), a
/// run-time-typed tensor's view or copy (dynamic_tensor.hpp). Each dies when the call returns, so
/// such a sink takes them as rvalues (`dataset(name, X&& tensor, ...)`) and keeps them here.
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

/// What the save walk tells a sink about the nodes `Mode` stores:
///
///     void dataset(std::string_view name, const X& tensor, const where& at, bool optimizer);
///     void attribute(std::string_view name, const X& value, const where& at, bool optimizer);
///     void absent(std::string_view name, const where& at);          // an empty std::optional
///     void begin(std::string_view name, const where& at, const container_info& info);
///     void end(const container_info& info);
///     void version(const where& at, std::string_view type_name, int version);  // of the struct at `at`
///     void push_storage(const storage_plan& field_plan, bool names_compact, const std::vector<std::size_t>& chunks);
///     void pop_storage();
///
/// Sinks that look only at some nodes (the tensors, say) derive from this one, which ignores
/// everything, and declare just those.
struct ignoring_sink {
    template <class X>
    void dataset(std::string_view, const X&, const where&, bool) noexcept {}
    template <class X>
    void attribute(std::string_view, const X&, const where&, bool) noexcept {}
    void absent(std::string_view, const where&) noexcept {}
    void begin(std::string_view, const where&, const container_info&) noexcept {}
    void end(const container_info&) noexcept {}
    void version(const where&, std::string_view, int) noexcept {}
    void push_storage(const storage_plan&, bool, const std::vector<std::size_t>&) noexcept {}
    void pop_storage() noexcept {}
};

template <save_mode Mode, class Sink, class T>
void walk(Sink& sink, std::string_view name, const T& value, const where& at, bool optimizer = false);

/// Walks what `Mode` stores of the members of `value` (located at `at`): the fields of a struct,
/// or the entries of a string-keyed map that is the root of a file (h5ser::save(state_dict, path)).
template <save_mode Mode, class Sink, class T>
void walk_fields(Sink& sink, const T& value, const where& at) {
    if constexpr (string_map_traits<T>::value) {
        if constexpr (is_stored<T, Mode>()) {
            for (const auto& [key, element] : value) {
                check_child_name(key, at);
                check_root_key(key, at);
                walk<Mode>(sink, key, element, at.key(key));
            }
        }
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
template <save_mode Mode, class Sink>
struct save_step {
    Sink& sink;
    std::string_view name;
    const where& at;
    bool optimizer;

    template <class X>
    void tensor(const X& x) {
        // A reordered tensor is copied into C order for each sink (the census records the bytes of
        // compact datasets in the manifest, so it needs them too), and handed over as a temporary:
        // a sink that keeps pointers past the call (the snapshot) keeps the copy too. A run-time-
        // typed one becomes a dynamic_tensor of its element type (a view, or a C-order copy).
        const auto to_sink = [&](auto&& c_order) { sink.dataset(name, std::forward<decltype(c_order)>(c_order), at, optimizer); };
        if constexpr (runtime_typed_tensor<X>)
            with_static_type(x, to_sink, [&](std::string reason) { refuse_tensor(at, std::move(reason)); });
        else with_c_order(x, to_sink);
    }
    template <class X>
    void attribute(const X& x) {
        sink.attribute(name, x, at, optimizer);
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
        for (const auto& [key, element] : x) {
            check_child_name(key, at);
            walk<Mode>(sink, key, element, at.key(key), optimizer);
        }
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
template <save_mode Mode, class Sink, class T>
void walk(Sink& sink, std::string_view name, const T& value, const where& at, bool optimizer) {
    visit_field(save_step<Mode, Sink>{sink, name, at, optimizer || is_optimizer_state_v<T>}, value);
}

}  // namespace h5ser::detail

#if H5SER_CORE_DEFINITIONS
#include "h5ser/detail/save/save_walk-inl.hpp"
#endif
