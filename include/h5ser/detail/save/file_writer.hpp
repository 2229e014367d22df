// h5ser/detail/save/file_writer.hpp: the sink of the save walk that writes a model into an h5ser file:
// groups, datasets and attributes, the schema of a full model, progress. save_file.hpp runs the
// walk into it.
#pragma once

#include <hdf5.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "h5ser/config.hpp"
#include "h5ser/detail/format/format.hpp"
#include "h5ser/detail/hdf5/attribute.hpp"
#include "h5ser/detail/hdf5/dataset.hpp"
#include "h5ser/detail/hdf5/group.hpp"
#include "h5ser/detail/hdf5/hdf5.hpp"
#include "h5ser/detail/json/writer.hpp"
#include "h5ser/detail/save/save_walk.hpp"
#include "h5ser/detail/save/sealed_file.hpp"
#include "h5ser/progress.hpp"
#include "h5ser/reflect.hpp"

namespace h5ser::detail {

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
/// Compiled once with the core (h5ser/config.hpp), whatever the model.
///
/// Writers that store tensors their own way (h5ser::mpi writes one slice per rank) wrap this one:
/// they write through parent(), plists() and plan() and report each tensor to record_dataset().
class file_writer : public save_sink {
public:
    file_writer(save_mode mode, sealed_file_writer& file, storage_plan storage, const progress_callback& progress,
                std::uint64_t total_bytes);

    H5SER_CORE_INLINE void dataset(std::string_view name, const tensor_view& tensor, const where& at, bool optimizer) override;
    H5SER_CORE_INLINE void attribute(std::string_view name, const attribute_view& value, const where& at, bool optimizer) override;
    H5SER_CORE_INLINE void absent(std::string_view name, const where& at) override;
    H5SER_CORE_INLINE void begin(std::string_view name, const where& at, const container_info& info) override;
    H5SER_CORE_INLINE void end(const container_info& info) override;
    /// Writes the version of the struct at `at` into its group (the group begin() opened last, or
    /// the root) and notes it for the schema's "versions".
    H5SER_CORE_INLINE void version(const where& at, std::string_view type_name, int version) override;
    H5SER_CORE_INLINE void push_storage(const storage_plan& field, bool names_compact, const std::vector<std::size_t>& chunks) override;
    H5SER_CORE_INLINE void pop_storage() override;

    /// The group the next node is written into, the shared creation plists, the storage plan in force.
    [[nodiscard]] hid_t parent() const noexcept { return groups_.empty() ? file_.root() : groups_.back().get(); }
    [[nodiscard]] const creation_plists& plists() const noexcept { return file_.plists(); }
    [[nodiscard]] const storage_plan& plan() const noexcept { return plans_.top(); }

    /// Adds a written tensor (`bytes` of it in memory) to the fingerprint and the seal's data
    /// ranges, the progress and the schema.
    void record_dataset(std::string_view name, std::string_view dtype, const written_tensor& w, std::uint64_t bytes, const where& at,
                        bool optimizer);

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
    std::vector<handle> groups_;  // open groups below the root, innermost last
    storage_stack plans_;
    json_writer schema_;
    std::vector<std::pair<std::string_view, int>> versions_;  // struct type names (static storage) and versions, each once
    const progress_callback& progress_;
    std::uint64_t total_bytes_ = 0;
    std::uint64_t done_bytes_ = 0;
};

}  // namespace h5ser::detail

#if H5SER_CORE_DEFINITIONS
#include "h5ser/detail/save/file_writer-inl.hpp"
#endif
