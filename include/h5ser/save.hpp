// h5ser/save.hpp: h5ser::save, the walk from a C++ struct to an HDF5 file.
#pragma once

#include <hdf5.h>

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "h5ser/config.hpp"
#include "h5ser/detail/attribute.hpp"
#include "h5ser/detail/dataset.hpp"
#include "h5ser/detail/file.hpp"
#include "h5ser/detail/group.hpp"
#include "h5ser/detail/hash.hpp"
#include "h5ser/detail/hdf5.hpp"
#include "h5ser/detail/json.hpp"
#include "h5ser/detail/seal.hpp"
#include "h5ser/detail/walk.hpp"
#include "h5ser/mapping.hpp"
#include "h5ser/policy.hpp"
#include "h5ser/progress.hpp"
#include "h5ser/reflect.hpp"
#include "h5ser/version.hpp"

namespace h5ser {

namespace detail {

/// Root attribute names h5ser keeps for itself: everything starting with "h5ser_", and the
/// DESIGN.md names model_type, schema and fingerprint. A root field of such a name would collide.
constexpr bool is_reserved_root_name(std::string_view name) noexcept {
    return name.substr(0, 6) == "h5ser_" || name == "model_type" || name == "schema" || name == "fingerprint";
}

template <class T>
consteval bool root_fields_avoid_reserved_names() {
    for (std::string_view field : field_names_v<T>)
        if (is_reserved_root_name(field)) return false;
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
                      "(model_type, schema, fingerprint, or any name starting with h5ser_); rename it or move it "
                      "into a nested struct");
        return true;
    }
    return false;
}

inline constexpr std::string_view mode_name(save_mode mode) noexcept {
    return mode == save_mode::weights_only ? "weights_only" : "full_model";
}

/// The bytes of a tensor's elements.
template <class X>
std::uint64_t tensor_bytes(const X& value) noexcept {
    std::uint64_t n = sizeof(typename tensor_adapter<X>::element_type);
    for (const std::size_t d : tensor_adapter<X>::shape(value)) n *= d;
    return n;
}

/// Writes what the walk visits into an HDF5 file, and builds the schema (full model) and
/// fingerprint on the way. Only dataset() and attribute() depend on the field's type; the rest is
/// compiled once with the core (h5ser/config.hpp).
class file_writer {
public:
    file_writer(save_mode mode, hid_t root, const where& at, storage_plan storage, const progress_callback& progress,
                std::uint64_t total_bytes);

    void push_storage(const storage_plan& field, bool names_compact, const std::vector<std::size_t>& chunks);
    void pop_storage() { plans_.pop_back(); }

    template <class X>
    void dataset(std::string_view name, const X& value, const where& at, bool optimizer) {
        constexpr std::string_view dtype = dtype_name<typename tensor_adapter<X>::element_type>();
        const written_tensor w = write_dataset(parent(), name, value, plists_, plans_.back(), at);
        record_dataset(name, dtype, w, tensor_bytes(value), at, optimizer);
    }

    template <class X>
    void attribute(std::string_view name, const X& value, const where& at, bool optimizer) {
        write_attribute(parent(), name, value, at, plists_.attributes());
        std::optional<std::size_t> list_length;
        if constexpr (attribute_codec<X>::is_list) list_length = value.size();
        record_attribute(name, attribute_dtype_name<X>(), list_length, optimizer);
    }

    void absent(std::string_view name, const where& at);
    void begin(std::string_view name, const where& at, const container_info& info);
    void end(const container_info& info);

    json_writer& schema() noexcept { return schema_; }
    [[nodiscard]] const std::vector<byte_range>& data_ranges() const noexcept { return data_ranges_; }
    [[nodiscard]] std::string fingerprint() const { return fingerprint_.hex(); }

protected:
    // For writers that store tensors their own way (h5ser/mpi.hpp writes one slice per rank).
    [[nodiscard]] hid_t parent() const noexcept { return groups_.empty() ? root_ : groups_.back().get(); }
    [[nodiscard]] const creation_plists& plists() const noexcept { return plists_; }
    [[nodiscard]] const storage_plan& plan() const noexcept { return plans_.back(); }

    /// Adds a written tensor to the fingerprint, the seal's data ranges, the progress and the schema.
    void record_dataset(std::string_view name, std::string_view dtype, const written_tensor& w, std::uint64_t bytes,
                        const where& at, bool optimizer);

private:
    /// Adds a written attribute (`list_length`: of a list) to the schema.
    void record_attribute(std::string_view name, std::string_view dtype, std::optional<std::size_t> list_length, bool optimizer);
    void open_schema(std::string_view name, bool optimizer);

    bool with_schema_;  ///< weights-only files have none
    hid_t root_;
    creation_plists plists_;
    std::vector<handle> groups_;       // open groups below the root, innermost last
    std::vector<storage_plan> plans_;  // the storage plan in force, innermost override last
    fingerprint_builder fingerprint_;
    json_writer schema_;
    std::vector<byte_range> data_ranges_;
    const progress_callback& progress_;
    std::uint64_t total_bytes_ = 0;
    std::uint64_t done_bytes_ = 0;
};

/// Counts the datasets a save will write (to size the seal's userblock) and their bytes (for progress).
struct dataset_counter : ignoring_visitor {
    std::size_t count = 0;
    std::uint64_t bytes = 0;
    template <class X>
    void dataset(std::string_view, const X& value, const where&, bool) noexcept {
        ++count;
        bytes += tensor_bytes(value);
    }
};

struct no_extra_root_attributes {
    void operator()(hid_t, const where&) const noexcept {}
};

/// Writes `model` below `root_group` through `writer` (a file_writer for Mode), then the root
/// attributes: format version, mode, schema (full model) and fingerprint.
template <save_mode Mode, class Writer, class Model, class ExtraRootAttributes>
void write_model(Writer& writer, hid_t root_group, const Model& model, const where& root, const ExtraRootAttributes& extra) {
    if constexpr (Mode != save_mode::weights_only) {
        writer.schema().begin_object();
        writer.schema().number("h5ser_schema", 1);
        writer.schema().value("type", type_name<Model>());
        writer.schema().value("kind", "group");
        writer.schema().begin_object("fields");
    }
    walk_fields<Mode>(writer, model, root);
    write_attribute(root_group, "h5ser_format_version", format_version, root);
    write_attribute(root_group, "h5ser_mode", std::string(mode_name(Mode)), root);
    if constexpr (Mode != save_mode::weights_only) {
        writer.schema().end_object();
        writer.schema().end_object();
        write_attribute(root_group, "h5ser_version", std::string(h5ser::version), root);
        write_attribute(root_group, "model_type", std::string(type_name<Model>()), root);
        write_attribute(root_group, "schema", writer.schema().str(), root);
    }
    write_attribute(root_group, "fingerprint", writer.fingerprint(), root);
    extra(root_group, root);
}

/// `extra(root, at)` may add root attributes of its own (names starting with "h5ser_").
template <save_mode Mode, class Model, class ExtraRootAttributes = no_extra_root_attributes>
void save_model(const Model& model, const std::string& path, const storage_plan& storage,
                const ExtraRootAttributes& extra = {}, const progress_callback& progress = {}) {
    quiet_hdf5_errors quiet;
    dataset_counter counter;
    walk_fields<Mode>(counter, model, where{path, {}, "/"});
    const std::uint64_t userblock = seal_userblock_size(counter.count);
    atomic_file out(path);
    std::vector<byte_range> data_ranges;
    {
        handle file = create_for_writing(out, userblock);
        const where root{path, {}, "/"};
        handle root_group = checked(H5Gopen2(file.get(), "/", H5P_DEFAULT), root, "cannot open root group");
        file_writer writer(Mode, root_group.get(), root, storage, progress, counter.bytes);
        write_model<Mode>(writer, root_group.get(), model, root, extra);
        data_ranges = writer.data_ranges();
        root_group.reset();
        if (file.close() < 0) throw_hdf5(root, "cannot write the file", errc::io);
    }
    write_seal(out.temp_path(), userblock, std::move(data_ranges), path);
    out.commit();
    if (progress) progress(counter.bytes, counter.bytes);  // durable now
}

#if H5SER_CORE_DEFINITIONS
// ---- core definitions (compiled once with H5SER_COMPILED_CORE; see h5ser/config.hpp) ----

H5SER_CORE_INLINE file_writer::file_writer(save_mode mode, hid_t root, const where& at, storage_plan storage,
                                           const progress_callback& progress, std::uint64_t total_bytes)
    : with_schema_(mode != save_mode::weights_only), root_(root), plists_(at), progress_(progress), total_bytes_(total_bytes) {
    plans_.push_back(std::move(storage));
}

H5SER_CORE_INLINE void file_writer::push_storage(const storage_plan& field, bool names_compact, const std::vector<std::size_t>& chunks) {
    storage_plan plan = plans_.back().overridden_by(field, names_compact);
    if (!chunks.empty()) {  // a chunk shape given at run time, in the field's h5ser::stored wrapper
        plan.layout = layout_kind::chunked;
        plan.chunk_dims = chunks;
        plan.chunks_for_one_field = true;
    }
    plans_.push_back(std::move(plan));
}

H5SER_CORE_INLINE void file_writer::absent(std::string_view name, const where&) {
    if (!with_schema_) return;
    schema_.begin_object(name);
    schema_.value("kind", "absent");
    schema_.end_object();
}

H5SER_CORE_INLINE void file_writer::begin(std::string_view name, const where& at, const container_info& info) {
    groups_.push_back(create_group(parent(), name, plists_, at));
    if (!with_schema_) return;
    open_schema(name, info.optimizer);
    if (info.kind == node_kind::sequence) {
        schema_.value("kind", "sequence");
        schema_.number("length", info.length);
        schema_.begin_object("elements");
    } else if (info.kind == node_kind::map) {
        schema_.value("kind", "map");
        schema_.begin_object("entries");
    } else {
        schema_.value("kind", "group");
        schema_.value("type", info.type_name);
        schema_.begin_object("fields");
    }
}

H5SER_CORE_INLINE void file_writer::end(const container_info&) {
    groups_.pop_back();
    if (!with_schema_) return;
    schema_.end_object();
    schema_.end_object();
}

H5SER_CORE_INLINE void file_writer::record_dataset(std::string_view name, std::string_view dtype, const written_tensor& w,
                                                   std::uint64_t bytes, const where& at, bool optimizer) {
    fingerprint_.add_tensor(at.h5, dtype, w.dims.data(), w.rank, w.data_hash);
    if (w.offset != HADDR_UNDEF && w.stored_bytes != 0) data_ranges_.push_back({w.offset, w.stored_bytes});
    if (progress_) {
        done_bytes_ += bytes;
        progress_(done_bytes_, total_bytes_);
    }
    if (!with_schema_) return;
    open_schema(name, optimizer);
    schema_.value("kind", "dataset");
    schema_.value("dtype", dtype);
    schema_.begin_array("shape");
    for (std::size_t i = 0; i < w.rank; ++i) schema_.number({}, w.dims[i]);
    schema_.end_array();
    schema_.end_object();
}

H5SER_CORE_INLINE void file_writer::record_attribute(std::string_view name, std::string_view dtype,
                                                     std::optional<std::size_t> list_length, bool optimizer) {
    if (!with_schema_) return;
    open_schema(name, optimizer);
    schema_.value("kind", "attribute");
    schema_.value("dtype", dtype);
    if (list_length) {
        schema_.begin_array("shape");
        schema_.number({}, *list_length);
        schema_.end_array();
    }
    schema_.end_object();
}

H5SER_CORE_INLINE void file_writer::open_schema(std::string_view name, bool optimizer) {
    schema_.begin_object(name);
    if (optimizer) schema_.boolean("optimizer_state", true);
}

#endif  // H5SER_CORE_DEFINITIONS

}  // namespace detail

/// Saves `model` to `path`, atomically: the file at `path` is replaced only once the new one is
/// complete and on disk, so a crash or an error leaves the previous file as it was.
///
///     h5ser::save(model, "m.h5");                          // every field, plus schema
///     h5ser::save<h5ser::weights_only>(model, "w.h5");     // tensors only
///
/// `progress` (optional) is told the tensor bytes written so far (see h5ser/progress.hpp).
template <class... Policies, class Model>
void save(const Model& model, const std::string& path, const progress_callback& progress = {}) {
    static_assert(detail::assert_model_type<Model>());
    using policies = detail::policy_set<full_model, Policies...>;
    static_assert(policies::mode != detail::save_mode::as_saved);
    detail::save_model<policies::mode>(model, path, policies::storage::plan(), detail::no_extra_root_attributes{}, progress);
}

}  // namespace h5ser
