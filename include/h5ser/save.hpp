// h5ser/save.hpp: h5ser::save, the walk from a C++ struct to an HDF5 file.
#pragma once

#include <hdf5.h>

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <type_traits>

#include "h5ser/detail/attribute.hpp"
#include "h5ser/detail/dataset.hpp"
#include "h5ser/detail/file.hpp"
#include "h5ser/detail/group.hpp"
#include "h5ser/detail/hash.hpp"
#include "h5ser/detail/hdf5.hpp"
#include "h5ser/detail/json.hpp"
#include "h5ser/mapping.hpp"
#include "h5ser/policy.hpp"
#include "h5ser/reflect.hpp"
#include "h5ser/version.hpp"

namespace h5ser {

namespace detail {

/// Root attributes h5ser writes; a root field of the same name would collide with them.
inline constexpr std::array<std::string_view, 6> reserved_root_names = {
    "h5ser_format_version", "h5ser_version", "h5ser_mode", "model_type", "schema", "fingerprint"};

template <class T>
consteval bool root_fields_avoid_reserved_names() {
    for (std::string_view field : field_names_v<T>)
        for (std::string_view reserved : reserved_root_names)
            if (field == reserved) return false;
    return true;
}

template <class T>
constexpr bool assert_model_type() {
    static_assert(std::is_class_v<T> && kind_of<T>() == node_kind::group,
                  "h5ser: save and load take a struct (the model) whose fields are stored; wrap a lone tensor or "
                  "container in a struct");
    if constexpr (assert_storable<T>()) {
        static_assert(root_fields_avoid_reserved_names<T>(),
                      "h5ser: a field of the model struct is named like one of h5ser's root attributes "
                      "(h5ser_format_version, h5ser_version, h5ser_mode, model_type, schema, fingerprint); rename it "
                      "or move it into a nested struct");
        return true;
    }
    return false;
}

inline constexpr std::string_view mode_name(save_mode mode) noexcept {
    return mode == save_mode::weights_only ? "weights_only" : "full_model";
}

inline void check_child_name(std::string_view key, const where& at) {
    if (key.empty() || key == "." || key.find('/') != std::string_view::npos) {
        throw error(std::string(at.file),
                    problem{errc::invalid_value, at.field, at.h5_or_root(), {}, {},
                            "map key '" + std::string(key) + "' cannot be an HDF5 name (it must be non-empty, not \".\", "
                            "and contain no '/')"});
    }
}

template <save_mode Mode>
struct save_context {
    std::string_view file;
    creation_plists plists;
    fingerprint_builder fingerprint;
    json_writer schema;
};

template <save_mode Mode, class T>
void save_node(save_context<Mode>& ctx, hid_t parent, std::string_view name, const T& value, const where& at,
               bool optimizer = false);

template <save_mode Mode, class T>
void save_fields(save_context<Mode>& ctx, hid_t group, const T& value, const where& at) {
    for_each_field(value, [&](std::string_view name, const auto& field) {
        using field_type = std::remove_cvref_t<decltype(field)>;
        if constexpr (is_stored<field_type, Mode>()) save_node(ctx, group, name, field, at.child(name));
    });
}

template <save_mode Mode, class T>
void save_node(save_context<Mode>& ctx, hid_t parent, std::string_view name, const T& value, const where& at,
               bool optimizer) {
    static_assert(assert_storable<T>());
    constexpr bool with_schema = Mode != save_mode::weights_only;
    constexpr node_kind kind = kind_of<T>();
    optimizer = optimizer || is_optimizer_state_v<T>;

    if constexpr (kind == node_kind::optimizer_wrapper) {
        save_node(ctx, parent, name, value.value, at, true);
        return;
    } else if constexpr (kind == node_kind::optional) {
        if (value) {
            save_node(ctx, parent, name, *value, at, optimizer);
        } else if constexpr (with_schema) {
            ctx.schema.begin_object(name);
            ctx.schema.value("kind", "absent");
            ctx.schema.end_object();
        }
        return;
    } else {
        if constexpr (with_schema) {
            ctx.schema.begin_object(name);
            if (optimizer) ctx.schema.boolean("optimizer_state", true);
        }
        if constexpr (kind == node_kind::dataset) {
            using adapter = tensor_adapter<T>;
            constexpr std::string_view dtype = dtype_name<typename adapter::element_type>();
            const written_tensor w = write_dataset(parent, name, value, ctx.plists, at);
            ctx.fingerprint.add_tensor(at.h5, dtype, w.dims.data(), w.rank, w.data_hash);
            if constexpr (with_schema) {
                ctx.schema.value("kind", "dataset");
                ctx.schema.value("dtype", dtype);
                ctx.schema.begin_array("shape");
                for (std::size_t i = 0; i < w.rank; ++i) ctx.schema.number({}, w.dims[i]);
                ctx.schema.end_array();
            }
        } else if constexpr (kind == node_kind::attribute) {
            write_attribute(parent, name, value, at);
            if constexpr (with_schema) {
                ctx.schema.value("kind", "attribute");
                ctx.schema.value("dtype", attribute_dtype_name<T>());
                if constexpr (attribute_codec<T>::is_list) {
                    ctx.schema.begin_array("shape");
                    ctx.schema.number({}, value.size());
                    ctx.schema.end_array();
                }
            }
        } else if constexpr (kind == node_kind::sequence) {
            handle group = create_group(parent, name, ctx.plists, at);
            if constexpr (with_schema) {
                ctx.schema.value("kind", "sequence");
                ctx.schema.number("length", value.size());
                ctx.schema.begin_object("elements");
            }
            std::size_t index = 0;
            for (const auto& element : value) {
                const std::string key = std::to_string(index++);
                save_node(ctx, group.get(), key, element, at.child(key, true), optimizer);
            }
            if constexpr (with_schema) ctx.schema.end_object();
        } else if constexpr (kind == node_kind::map) {
            handle group = create_group(parent, name, ctx.plists, at);
            if constexpr (with_schema) {
                ctx.schema.value("kind", "map");
                ctx.schema.begin_object("entries");
            }
            for (const auto& [key, element] : value) {
                check_child_name(key, at);
                save_node(ctx, group.get(), key, element, at.key(key), optimizer);
            }
            if constexpr (with_schema) ctx.schema.end_object();
        } else {
            static_assert(kind == node_kind::group);
            handle group = create_group(parent, name, ctx.plists, at);
            if constexpr (with_schema) {
                ctx.schema.value("kind", "group");
                ctx.schema.value("type", type_name<T>());
                ctx.schema.begin_object("fields");
            }
            save_fields(ctx, group.get(), value, at);
            if constexpr (with_schema) ctx.schema.end_object();
        }
        if constexpr (with_schema) ctx.schema.end_object();
    }
}

template <save_mode Mode, class Model>
void save_model(const Model& model, const std::string& path) {
    quiet_hdf5_errors quiet;
    atomic_file out(path);
    {
        handle file = create_for_writing(out);
        const where root{path, {}, "/"};
        save_context<Mode> ctx{path, creation_plists(root), {}, {}};
        handle root_group = checked(H5Gopen2(file.get(), "/", H5P_DEFAULT), root, "cannot open root group");
        if constexpr (Mode != save_mode::weights_only) {
            ctx.schema.begin_object();
            ctx.schema.number("h5ser_schema", 1);
            ctx.schema.value("type", type_name<Model>());
            ctx.schema.value("kind", "group");
            ctx.schema.begin_object("fields");
        }
        save_fields(ctx, root_group.get(), model, root);
        write_attribute(root_group.get(), "h5ser_format_version", format_version, root);
        write_attribute(root_group.get(), "h5ser_mode", std::string(mode_name(Mode)), root);
        if constexpr (Mode != save_mode::weights_only) {
            ctx.schema.end_object();
            ctx.schema.end_object();
            write_attribute(root_group.get(), "h5ser_version", std::string(h5ser::version), root);
            write_attribute(root_group.get(), "model_type", std::string(type_name<Model>()), root);
            write_attribute(root_group.get(), "schema", ctx.schema.str(), root);
        }
        write_attribute(root_group.get(), "fingerprint", ctx.fingerprint.hex(), root);
        root_group.reset();
        if (H5Fclose(file.get()) < 0) throw_hdf5(root, "cannot close file", errc::io);
        static_cast<void>(file.release());
    }
    out.commit();
}

}  // namespace detail

/// Saves `model` to `path`, atomically: the file at `path` is replaced only once the new one is
/// complete and on disk, so a crash or an error leaves the previous file as it was.
///
///     h5ser::save(model, "m.h5");                          // every field, plus schema
///     h5ser::save<h5ser::weights_only>(model, "w.h5");     // tensors only
template <class... Policies, class Model>
void save(const Model& model, const std::string& path) {
    static_assert(detail::assert_model_type<Model>());
    using policies = detail::policy_set<full_model, Policies...>;
    static_assert(policies::mode != detail::save_mode::as_saved);
    detail::save_model<policies::mode>(model, path);
}

}  // namespace h5ser
