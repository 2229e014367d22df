// h5ser/detail/save/save_file.hpp: the entry of every save of a model (h5ser::save, the checkpoint
// manager, asynchronous saves, the MPI writer's root attributes): the save walk runs twice, into
// the census (census.hpp), which sizes the file, then into the file writer (file_writer.hpp) over
// the one sealed-file writer (sealed_file.hpp), which seals and commits it. load/load_file.hpp is
// its mirror.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "h5ser/detail/format/format.hpp"
#include "h5ser/detail/format/manifest.hpp"
#include "h5ser/detail/hdf5/attribute.hpp"
#include "h5ser/detail/hdf5/hdf5.hpp"
#include "h5ser/detail/model/storage_plan.hpp"
#include "h5ser/detail/save/census.hpp"
#include "h5ser/detail/save/file_writer.hpp"
#include "h5ser/detail/save/save_walk.hpp"
#include "h5ser/detail/save/sealed_file.hpp"
#include "h5ser/progress.hpp"
#include "h5ser/reflect.hpp"

namespace h5ser::detail {

/// Opens the schema of a file saved in `mode` for a model of type `model_type`, before its walk.
H5SER_CORE_INLINE void begin_schema(file_writer& writer, save_mode mode, std::string_view model_type);

/// Runs `walk(sink, root)`, the save walk in `mode` of a model of type `model_type` into `sink`
/// (`writer`, or a writer wrapping it), between the schema's opening and the root attributes.
template <class Walk>
void write_walk(save_sink& sink, file_writer& writer, save_mode mode, std::string_view model_type, const Walk& walk) {
    begin_schema(writer, mode, model_type);
    walk(sink, writer.file().at());
    writer.finish(model_type);
}

/// Walks `model` into `sink` (`writer`, or a writer wrapping it), then writes the root attributes.
template <save_mode Mode, class Model>
void write_model(save_sink& sink, file_writer& writer, const Model& model) {
    write_walk(sink, writer, Mode, type_name<Model>(), [&](save_sink& s, const where& root) { walk_fields<Mode>(s, model, root); });
}

/// Where the extra root attributes of a save (a checkpoint's step and metric) go: `add(name,
/// value)` of the census records them in the manifest it sizes; the file's writes them and
/// records them in the file's manifest, so that readers find them without libhdf5.
struct extra_attributes_census {
    manifest_builder& manifest;
    template <attribute_value T>
    void add(const char* name, const T& value) {
        manifest.attribute("/", name, value);
    }
};
struct extra_attributes_writer {
    sealed_file_writer& file;
    template <attribute_value T>
    void add(const char* name, const T& value) {
        const attribute_view view = attribute_view_of(value);
        write_attribute(file.root(), name, view, file.at());
        file.add_attribute("/", name, view);
    }
};

struct no_extra_root_attributes {
    template <class Sink>
    void operator()(Sink&) const noexcept {}
};

/// How save_walk_of writes its file: atomically over the target (every save), or into an existing
/// file in place (the memory file of an isolated load's reply; sealed_file_writer's in_place_t).
enum class file_target { replace_atomically, write_in_place };

/// A model as the save entry sees it: its type's name, and its save walk, which `run` runs into
/// a sink (the census, then the file writer).
struct model_to_save {
    const void* walk = nullptr;  ///< what `run` runs (a save walk of the model)
    std::string_view model_type;
    void (*run)(save_sink& sink, const void* walk, const where& root) = nullptr;
};

/// The root attributes a save adds of its own (a checkpoint's step and metric), as the save entry
/// sees them: `count` records them in the census's manifest, `write` writes them.
struct root_attributes_to_save {
    const void* extra = nullptr;
    void (*count)(extra_attributes_census& sink, const void* extra) = nullptr;
    void (*write)(extra_attributes_writer& sink, const void* extra) = nullptr;
};

/// Writes an h5ser file of `mode` at `path` atomically (or in place: `target`) from the save walk
/// of `model`, run twice: into the census, then into the file writer. `extra` adds root
/// attributes of its own (names starting with "h5ser_"). Compiled once, whatever the model.
H5SER_CORE_INLINE void save_walk_of(save_mode mode, const std::string& path, const model_to_save& model, const storage_plan& storage,
                                    const root_attributes_to_save& extra, const progress_callback& progress, file_target target);

/// Writes an h5ser file at `path` atomically from `walk(sink, root)`, which runs the save walk of a
/// model of type `model_type` into `sink` (twice: into the census, then into the file writer).
/// `extra(sink)` may add root attributes of its own (names starting with "h5ser_") with
/// sink.add(name, value) (extra_attributes_census, extra_attributes_writer).
template <save_mode Mode, class Walk, class ExtraRootAttributes>
void save_walk_of(const std::string& path, std::string_view model_type, const Walk& walk, const storage_plan& storage,
                  const ExtraRootAttributes& extra, const progress_callback& progress,
                  file_target target = file_target::replace_atomically) {
    model_to_save model;
    model.walk = &walk;
    model.model_type = model_type;
    model.run = [](save_sink& sink, const void* w, const where& root) { (*static_cast<const Walk*>(w))(sink, root); };
    root_attributes_to_save attributes;
    if constexpr (!std::is_same_v<ExtraRootAttributes, no_extra_root_attributes>) {
        attributes.extra = &extra;
        attributes.count = [](extra_attributes_census& sink, const void* e) { (*static_cast<const ExtraRootAttributes*>(e))(sink); };
        attributes.write = [](extra_attributes_writer& sink, const void* e) { (*static_cast<const ExtraRootAttributes*>(e))(sink); };
    }
    save_walk_of(Mode, path, model, storage, attributes, progress, target);
}

/// Saves `model` to `path` atomically (or in place: file_target). `extra(sink)` may add root
/// attributes of its own (names starting with "h5ser_"; see save_walk_of).
template <save_mode Mode, class Model, class ExtraRootAttributes = no_extra_root_attributes>
void save_model(const Model& model, const std::string& path, const storage_plan& storage, const ExtraRootAttributes& extra = {},
                const progress_callback& progress = {}, file_target target = file_target::replace_atomically) {
    save_walk_of<Mode>(
        path, type_name<Model>(), [&](save_sink& sink, const where& root) { walk_fields<Mode>(sink, model, root); }, storage, extra,
        progress, target);
}

}  // namespace h5ser::detail

#if H5SER_CORE_DEFINITIONS
#include "h5ser/detail/save/save_file-inl.hpp"
#endif
