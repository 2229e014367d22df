// h5ser/detail/save/snapshot.hpp: a model's save walk recorded in memory, its tensors copied into
// staging memory, so that the file can be written later, on another thread, while the caller
// changes the model (h5ser::save_async). Replaying the snapshot into the file writer writes the
// same file, byte for byte, as saving the model at the moment the snapshot was taken.
#pragma once

#include <array>
#include <cstddef>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "h5ser/config.hpp"
#include "h5ser/detail/hdf5/hdf5.hpp"
#include "h5ser/detail/model/dynamic_tensor.hpp"
#include "h5ser/detail/save/save_file.hpp"
#include "h5ser/detail/save/save_walk.hpp"
#include "h5ser/storage_policy.hpp"
#include "h5ser/tensor_adapter.hpp"

namespace h5ser::detail {

/// Memory that snapshots copy tensors into, kept from one snapshot to the next: after the first,
/// taking a snapshot copies into pages that are already there, at memory speed.
class staging_buffer {
public:
    /// At least `bytes` bytes, 64-byte aligned, contents undefined. Reallocates when the buffer is
    /// too small, or more than twice too large (a much smaller model is saved now).
    H5SER_CORE_INLINE std::byte* reserve(std::size_t bytes);
    [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
    void release() noexcept;

private:
    struct free_aligned {
        void operator()(std::byte* p) const noexcept { ::operator delete[](p, std::align_val_t{64}); }
    };
    std::unique_ptr<std::byte[], free_aligned> memory_;
    std::size_t capacity_ = 0;
};

/// The bytes of one tensor of a snapshot: where they are in the model until the snapshot copies
/// them, and where the copy is.
struct staged_bytes {
    const void* source = nullptr;
    std::size_t size = 0;
    void* staged = nullptr;
};

/// One node of a recorded save walk, replayed into a sink of a file: the census (save_census)
/// and the file writer.
struct snapshot_node {
    snapshot_node() = default;
    snapshot_node(const snapshot_node&) = delete;
    snapshot_node& operator=(const snapshot_node&) = delete;
    virtual ~snapshot_node() = default;
    virtual void replay(save_sink& sink) const = 0;
};

/// A save walk taken down as it happens (the snapshot is the walk's sink), then replayed, any
/// number of times, into the sinks of a file. Tensors are recorded as pointers into the model
/// until copy_tensors() copies them; attributes, names and paths are copied as they are recorded.
/// Compiled once with the core, whatever the model.
class model_snapshot : public save_sink {
public:
    model_snapshot(std::string path, std::string_view model_type)
        : save_sink(&temporaries_), path_(std::move(path)), model_type_(model_type) {}

    /// Where the walk starts: the root group of the file at path().
    [[nodiscard]] where root() const { return where{path_, {}, "/"}; }
    [[nodiscard]] const std::string& path() const noexcept { return path_; }
    [[nodiscard]] std::string_view model_type() const noexcept { return model_type_; }

    // The save walk's sink (save_walk.hpp).
    H5SER_CORE_INLINE void dataset(std::string_view name, const tensor_view& tensor, const where& at, bool optimizer) override;
    H5SER_CORE_INLINE void attribute(std::string_view name, const attribute_view& value, const where& at, bool optimizer) override;
    H5SER_CORE_INLINE void absent(std::string_view name, const where& at) override;
    H5SER_CORE_INLINE void begin(std::string_view name, const where& at, const container_info& info) override;
    H5SER_CORE_INLINE void end(const container_info& info) override;
    H5SER_CORE_INLINE void version(const where& at, std::string_view type_name, int version) override;
    H5SER_CORE_INLINE void push_storage(const storage_plan& plan, bool names_compact, const std::vector<std::size_t>& chunks) override;
    H5SER_CORE_INLINE void pop_storage() override;

    /// The staging memory copy_tensors() needs: every tensor's bytes, each 64-byte aligned.
    [[nodiscard]] H5SER_CORE_INLINE std::size_t staging_bytes() const noexcept;

    /// Copies every tensor into `staging` (staging_bytes() bytes, 64-byte aligned); from then on
    /// the snapshot refers to nothing of the model. Large snapshots are copied by two threads.
    H5SER_CORE_INLINE void copy_tensors(std::byte* staging);

    /// Replays the walk into `sink` (a save_census or a file_writer).
    H5SER_CORE_INLINE void replay(save_sink& sink) const;

private:
    std::string path_;
    std::string_view model_type_;  // a type_name<Model>(): static storage
    std::vector<std::unique_ptr<snapshot_node>> nodes_;
    std::vector<staged_bytes*> tensors_;  // into nodes_, in walk order
    kept_temporaries temporaries_;        // C-order copies the walk made (save_sink::temporaries)
};

/// Takes a snapshot of `model` for a save in `Mode` to `path`, its tensors copied into `staging`.
template <save_mode Mode, class Model>
std::unique_ptr<model_snapshot> take_snapshot(const Model& model, const std::string& path, staging_buffer& staging) {
    auto snapshot = std::make_unique<model_snapshot>(path, type_name<Model>());
    walk_fields<Mode>(*snapshot, model, snapshot->root());
    snapshot->copy_tensors(staging.reserve(snapshot->staging_bytes()));
    return snapshot;
}

/// Writes the file of `snapshot` (taken in `Mode`), as save_model writes the model's.
template <save_mode Mode, class ExtraRootAttributes = no_extra_root_attributes>
void save_snapshot(const model_snapshot& snapshot, const storage_plan& storage, const ExtraRootAttributes& extra = {},
                   const progress_callback& progress = {}) {
    save_walk_of<Mode>(
        snapshot.path(), snapshot.model_type(), [&](save_sink& sink, const where&) { snapshot.replay(sink); }, storage, extra, progress);
}

}  // namespace h5ser::detail

#if H5SER_CORE_DEFINITIONS
#include "h5ser/detail/save/snapshot-inl.hpp"
#endif
