// h5ser/detail/file_writer.hpp: the sink of the save walk that writes a model into an h5ser file:
// groups, datasets and attributes, the schema of a full model, progress; and save_model, which
// runs the walk into a sealed_file_writer.
#pragma once

#include <hdf5.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "h5ser/config.hpp"
#include "h5ser/detail/attribute.hpp"
#include "h5ser/detail/dataset.hpp"
#include "h5ser/detail/format.hpp"
#include "h5ser/detail/group.hpp"
#include "h5ser/detail/hdf5.hpp"
#include "h5ser/detail/json.hpp"
#include "h5ser/detail/save_walk.hpp"
#include "h5ser/detail/sealed_file.hpp"
#include "h5ser/progress.hpp"
#include "h5ser/reflect.hpp"

namespace h5ser::detail {

/// The bytes of a tensor's elements.
template <class X>
std::uint64_t tensor_bytes(const X& value) noexcept {
    std::uint64_t n = sizeof(typename tensor_adapter<X>::element_type);
    for (const std::size_t d : tensor_adapter<X>::shape(value)) n *= d;
    return n;
}

/// The storage plan in force during a save walk: the save's own, overridden by h5ser::stored
/// fields on the way down (push) and restored on the way up (pop).
class storage_stack {
public:
    explicit storage_stack(storage_plan save) { plans_.push_back(std::move(save)); }
    void push(const storage_plan& field, bool names_compact, const std::vector<std::size_t>& chunks);
    void pop() { plans_.pop_back(); }
    [[nodiscard]] const storage_plan& top() const noexcept { return plans_.back(); }

private:
    std::vector<storage_plan> plans_;  // innermost override last
};

/// The HDF5 path of the object holding attribute `name`, from the attribute's own path `at`.
H5SER_CORE_INLINE std::string_view attribute_owner(const where& at, std::string_view name) noexcept;

/// Writes what the save walk visits into `file`, and builds the schema (full model) on the way.
/// Only dataset() and attribute() depend on the field's type; the rest is compiled once with the
/// core (h5ser/config.hpp).
///
/// Writers that store tensors their own way (h5ser::mpi writes one slice per rank) wrap this one:
/// they write through parent(), plists() and plan() and report each tensor to record_dataset().
class file_writer {
public:
    file_writer(save_mode mode, sealed_file_writer& file, storage_plan storage, const progress_callback& progress,
                std::uint64_t total_bytes);

    void push_storage(const storage_plan& field, bool names_compact, const std::vector<std::size_t>& chunks) {
        plans_.push(field, names_compact, chunks);
    }
    void pop_storage() { plans_.pop(); }

    template <class X>
    void dataset(std::string_view name, const X& value, const where& at, bool optimizer) {
        constexpr std::string_view dtype = dtype_name<typename tensor_adapter<X>::element_type>();
        const written_tensor w = write_dataset(parent(), name, value, plists(), plan(), at, file_.writeback());
        record_dataset(name, dtype, w, tensor_bytes(value), at, optimizer);
    }

    template <class X>
    void attribute(std::string_view name, const X& value, const where& at, bool optimizer) {
        write_attribute(parent(), name, value, at, plists().attributes());
        file_.add_attribute(attribute_owner(at, name), name, value);
        std::optional<std::size_t> list_length;
        if constexpr (attribute_codec<X>::is_list) list_length = value.size();
        record_attribute(name, attribute_dtype_name<X>(), list_length, optimizer);
    }

    void absent(std::string_view name, const where& at);
    void begin(std::string_view name, const where& at, const container_info& info);
    void end(const container_info& info);
    /// Writes the version of the struct at `at` into its group (the group begin() opened last, or
    /// the root) and notes it for the schema's "versions".
    void version(const where& at, std::string_view type_name, int version);

    /// The group the next node is written into, the shared creation plists, the storage plan in force.
    [[nodiscard]] hid_t parent() const noexcept { return groups_.empty() ? file_.root() : groups_.back().get(); }
    [[nodiscard]] const creation_plists& plists() const noexcept { return file_.plists(); }
    [[nodiscard]] const storage_plan& plan() const noexcept { return plans_.top(); }

    /// Adds a written tensor (`bytes` of it in memory) to the fingerprint and the seal's data
    /// ranges, the progress and the schema.
    void record_dataset(std::string_view name, std::string_view dtype, const written_tensor& w, std::uint64_t bytes,
                        const where& at, bool optimizer);

    /// After the walk: the root attributes, with the schema of a full `model_type`.
    void finish(std::string_view model_type);

    [[nodiscard]] sealed_file_writer& file() noexcept { return file_; }
    json_writer& schema() noexcept { return schema_; }

private:
    /// Adds a written attribute (`list_length`: of a list) to the schema.
    void record_attribute(std::string_view name, std::string_view dtype, std::optional<std::size_t> list_length, bool optimizer);
    void open_schema(std::string_view name, bool optimizer);

    save_mode mode_;
    sealed_file_writer& file_;
    std::vector<handle> groups_;       // open groups below the root, innermost last
    storage_stack plans_;
    json_writer schema_;
    std::vector<std::pair<std::string_view, int>> versions_;  // struct type names (static storage) and versions, each once
    const progress_callback& progress_;
    std::uint64_t total_bytes_ = 0;
    std::uint64_t done_bytes_ = 0;
};

/// What a save will write, found before the file is created: the number of datasets and the
/// size of the manifest (to size the userblock), and the tensors' bytes (for progress). It
/// records into a manifest_builder exactly what the file writer will, offsets and checksums aside.
class save_census : public ignoring_sink {
public:
    explicit save_census(storage_plan storage) : plans_(std::move(storage)) {}

    template <class X>
    void dataset(std::string_view, const X& value, const where& at, bool) {
        ++count;
        bytes += tensor_bytes(value);
        using element = typename tensor_adapter<X>::element_type;
        std::size_t elements = 0;
        const written_tensor w = tensor_extent(value, elements);
        add_dataset_record(manifest, at.h5, dtype_name<element>(), w, plans_.top());
        if (stored_layout(plans_.top(), w.rank, elements, sizeof(element)) == record_layout::compact) compact_bytes += elements * sizeof(element);
    }
    template <class X>
    void attribute(std::string_view name, const X& value, const where& at, bool) {
        manifest.attribute(attribute_owner(at, name), name, value);
    }
    void begin(std::string_view, const where& at, const container_info&) { manifest.group(at.h5); }
    void version(const where& at, std::string_view, int version) { manifest.attribute(at.h5, format::struct_version_attribute, version); }
    void push_storage(const storage_plan& field, bool names_compact, const std::vector<std::size_t>& chunks) {
        plans_.push(field, names_compact, chunks);
    }
    void pop_storage() { plans_.pop(); }

    std::size_t count = 0;
    std::uint64_t bytes = 0;
    std::uint64_t compact_bytes = 0;  ///< element bytes of the compact datasets (their records hold them)
    manifest_builder manifest;

private:
    storage_stack plans_;
};

/// Hashes the tensors the save walk visits, exactly as the file writer does (h5ser::fingerprint).
class fingerprint_sink : public ignoring_sink {
public:
    template <class X>
    void dataset(std::string_view, const X& value, const where& at, bool) {
        std::size_t count = 0;
        const written_tensor t = digest_tensor(value, count);
        builder_.add_tensor(at.h5, dtype_name<typename tensor_adapter<X>::element_type>(), t.dims.data(), t.rank, t.data_hash);
    }

    [[nodiscard]] std::string hex() const { return builder_.hex(); }

private:
    fingerprint_builder builder_;
};

/// Runs `walk(sink, root)`, the save walk of a model of type `model_type` into `sink` (`writer`, or
/// a writer wrapping it), between the schema's opening and the root attributes.
template <save_mode Mode, class Sink, class Walk>
void write_walk(Sink& sink, file_writer& writer, std::string_view model_type, const Walk& walk) {
    if constexpr (Mode != save_mode::weights_only) {
        writer.schema().begin_object();
        writer.schema().number("h5ser_schema", 1);
        writer.schema().string("type", model_type);
        writer.schema().string("kind", "group");
        writer.schema().begin_object("fields");
    }
    walk(sink, writer.file().at());
    writer.finish(model_type);
}

/// Walks `model` into `sink` (`writer`, or a writer wrapping it), then writes the root attributes.
template <save_mode Mode, class Sink, class Model>
void write_model(Sink& sink, file_writer& writer, const Model& model) {
    write_walk<Mode>(sink, writer, type_name<Model>(), [&](auto& s, const where& root) { walk_fields<Mode>(s, model, root); });
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
        write_attribute(file.root(), name, value, file.at());
        file.add_attribute("/", name, value);
    }
};

struct no_extra_root_attributes {
    template <class Sink>
    void operator()(Sink&) const noexcept {}
};

/// How save_walk_of writes its file: atomically over the target (every save), or into an existing
/// file in place (the memory file of an isolated load's reply; sealed_file_writer's in_place_t).
enum class file_target { replace_atomically, write_in_place };

/// Writes an h5ser file at `path` atomically from `walk(sink, root)`, which runs the save walk of a
/// model of type `model_type` into `sink` (twice: into the census, then into the file writer).
/// `extra(sink)` may add root attributes of its own (names starting with "h5ser_") with
/// sink.add(name, value) (extra_attributes_census, extra_attributes_writer).
template <save_mode Mode, class Walk, class ExtraRootAttributes>
void save_walk_of(const std::string& path, std::string_view model_type, const Walk& walk, const storage_plan& storage,
                  const ExtraRootAttributes& extra, const progress_callback& progress,
                  file_target target = file_target::replace_atomically) {
    hdf5_scope hdf5;
    save_census counter(storage);
    walk(counter, where{path, {}, "/"});
    extra_attributes_census census{counter.manifest};
    extra(census);
    std::optional<sealed_file_writer> file;
    if (target == file_target::write_in_place) file.emplace(in_place_t{}, path, counter.count, counter.manifest.size());
    else file.emplace(path, counter.count, counter.manifest.size());
    file_writer writer(Mode, *file, storage, progress, counter.bytes);
    write_walk<Mode>(writer, writer, model_type, walk);
    extra_attributes_writer extra_writer{*file};
    extra(extra_writer);
    file->close();
    file->seal_and_commit();
    if (progress) progress(counter.bytes, counter.bytes);  // durable now
}

/// Saves `model` to `path` atomically (or in place: file_target). `extra(sink)` may add root
/// attributes of its own (names starting with "h5ser_"; see save_walk_of).
template <save_mode Mode, class Model, class ExtraRootAttributes = no_extra_root_attributes>
void save_model(const Model& model, const std::string& path, const storage_plan& storage,
                const ExtraRootAttributes& extra = {}, const progress_callback& progress = {},
                file_target target = file_target::replace_atomically) {
    save_walk_of<Mode>(path, type_name<Model>(), [&](auto& sink, const where& root) { walk_fields<Mode>(sink, model, root); }, storage,
                       extra, progress, target);
}

}  // namespace h5ser::detail

#if H5SER_CORE_DEFINITIONS
#include "h5ser/detail/file_writer-inl.hpp"
#endif
