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

/// A tensor of a snapshot: its shape, and its elements in staging memory.
template <class E, std::size_t Rank>
struct staged_tensor {
    E* data = nullptr;  ///< null when there are no elements
    shape_of_rank<Rank> shape{};
};

}  // namespace h5ser::detail

namespace h5ser {

template <class E, std::size_t Rank>
struct tensor_adapter<detail::staged_tensor<E, Rank>> {
    using element_type = E;
    static constexpr std::size_t rank = Rank;
    static const shape_of_rank<Rank>& shape(const detail::staged_tensor<E, Rank>& t) noexcept { return t.shape; }
    static const E* data(const detail::staged_tensor<E, Rank>& t) noexcept { return t.data; }
    static E* data(detail::staged_tensor<E, Rank>& t) noexcept { return t.data; }
};

}  // namespace h5ser

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

/// One node of a recorded save walk, replayed into either sink that writes a file: the census
/// (save_census) and the file writer.
struct snapshot_node {
    snapshot_node() = default;
    snapshot_node(const snapshot_node&) = delete;
    snapshot_node& operator=(const snapshot_node&) = delete;
    virtual ~snapshot_node() = default;
    virtual void replay(save_census& sink) const = 0;
    virtual void replay(file_writer& sink) const = 0;
};

/// Implements both replays with `Derived::into(sink)`, a template over the sink.
template <class Derived>
struct replayed_node : snapshot_node {
    void replay(save_census& sink) const final { static_cast<const Derived&>(*this).into(sink); }
    void replay(file_writer& sink) const final { static_cast<const Derived&>(*this).into(sink); }
};

/// A save walk taken down as it happens (the snapshot is the walk's sink), then replayed, any
/// number of times, into the sinks of a file. Tensors are recorded as pointers into the model
/// until copy_tensors() copies them; attributes, names and paths are copied as they are recorded.
class model_snapshot {
public:
    model_snapshot(std::string path, std::string_view model_type) : path_(std::move(path)), model_type_(model_type) {}
    model_snapshot(const model_snapshot&) = delete;
    model_snapshot& operator=(const model_snapshot&) = delete;

    /// Where the walk starts: the root group of the file at path().
    [[nodiscard]] where root() const { return where{path_, {}, "/"}; }
    [[nodiscard]] const std::string& path() const noexcept { return path_; }
    [[nodiscard]] std::string_view model_type() const noexcept { return model_type_; }

    // The save walk's sink (save_walk.hpp).
    template <class X>
    void dataset(std::string_view name, const X& value, const where& at, bool optimizer) {
        using adapter = tensor_adapter<X>;
        using element = typename adapter::element_type;
        std::size_t count = 0;
        const written_tensor extent = tensor_extent(value, count);
        auto node = std::make_unique<dataset_node<element, adapter::rank>>(name, at, optimizer);
        node->shape = shape_of(value);
        node->bytes = {count ? extent.elements : nullptr, count * sizeof(element), nullptr};
        tensors_.push_back(&node->bytes);
        nodes_.push_back(std::move(node));
    }
    /// A tensor the walk made for this call (a reordered tensor's C-order copy, c_order.hpp, or a
    /// run-time-typed tensor's view or copy, dynamic_tensor.hpp): kept until the snapshot is done
    /// with it, since its elements are copied after the walk.
    template <class X>
    requires(!std::is_lvalue_reference_v<X>) void dataset(std::string_view name, X&& value, const where& at, bool optimizer) {
        dataset(name, temporaries_.keep(std::move(value)), at, optimizer);
    }
    template <class X>
    void attribute(std::string_view name, const X& value, const where& at, bool optimizer) {
        nodes_.push_back(std::make_unique<attribute_node<X>>(name, at, optimizer, value));
    }
    void absent(std::string_view name, const where& at);
    void begin(std::string_view name, const where& at, const container_info& info);
    void end(const container_info& info);
    void version(const where& at, std::string_view type_name, int version);
    void push_storage(const storage_plan& plan, bool names_compact, const std::vector<std::size_t>& chunks);
    void pop_storage();

    /// The staging memory copy_tensors() needs: every tensor's bytes, each 64-byte aligned.
    [[nodiscard]] H5SER_CORE_INLINE std::size_t staging_bytes() const noexcept;

    /// Copies every tensor into `staging` (staging_bytes() bytes, 64-byte aligned); from then on
    /// the snapshot refers to nothing of the model. Large snapshots are copied by two threads.
    H5SER_CORE_INLINE void copy_tensors(std::byte* staging);

    /// Replays the walk into `sink`: a save_census or a file_writer (the sinks snapshot_node knows).
    template <class Sink>
    void replay(Sink& sink) const {
        for (const auto& node : nodes_) node->replay(sink);
    }

private:
    struct named {
        named(std::string_view n, const where& a) : name(n), at(a) {}
        std::string name;
        where at;
    };
    template <class E, std::size_t Rank>
    struct dataset_node final : replayed_node<dataset_node<E, Rank>>, named {
        dataset_node(std::string_view n, const where& a, bool o) : named(n, a), optimizer(o) {}
        template <class Sink>
        void into(Sink& sink) const {
            const staged_tensor<E, Rank> tensor{static_cast<E*>(bytes.staged), shape};
            sink.dataset(name, tensor, at, optimizer);
        }
        bool optimizer;
        shape_of_rank<Rank> shape{};
        staged_bytes bytes;
    };
    template <class X>
    struct attribute_node final : replayed_node<attribute_node<X>>, named {
        attribute_node(std::string_view n, const where& a, bool o, const X& v) : named(n, a), optimizer(o), value(v) {}
        template <class Sink>
        void into(Sink& sink) const {
            sink.attribute(name, value, at, optimizer);
        }
        bool optimizer;
        X value;
    };
    struct absent_node final : replayed_node<absent_node>, named {
        using named::named;
        template <class Sink>
        void into(Sink& sink) const {
            sink.absent(name, at);
        }
    };
    struct begin_node final : replayed_node<begin_node>, named {
        begin_node(std::string_view n, const where& a, const container_info& i) : named(n, a), info(i) {}
        template <class Sink>
        void into(Sink& sink) const {
            sink.begin(name, at, info);
        }
        container_info info;  // its type_name is a type_name<T>(): static storage
    };
    struct end_node final : replayed_node<end_node> {
        explicit end_node(const container_info& i) : info(i) {}
        template <class Sink>
        void into(Sink& sink) const {
            sink.end(info);
        }
        container_info info;
    };
    struct version_node final : replayed_node<version_node> {
        version_node(const where& a, std::string_view t, int v) : at(a), type_name(t), version(v) {}
        template <class Sink>
        void into(Sink& sink) const {
            sink.version(at, type_name, version);
        }
        where at;
        std::string_view type_name;  // a type_name<T>(): static storage
        int version;
    };
    struct storage_node final : replayed_node<storage_node> {
        storage_node(const storage_plan& p, bool n, const std::vector<std::size_t>& c) : plan(p), names_compact(n), chunks(c) {}
        template <class Sink>
        void into(Sink& sink) const {
            sink.push_storage(plan, names_compact, chunks);
        }
        storage_plan plan;
        bool names_compact;
        std::vector<std::size_t> chunks;
    };
    struct storage_end_node final : replayed_node<storage_end_node> {
        template <class Sink>
        void into(Sink& sink) const {
            sink.pop_storage();
        }
    };

    std::string path_;
    std::string_view model_type_;  // a type_name<Model>(): static storage
    std::vector<std::unique_ptr<snapshot_node>> nodes_;
    std::vector<staged_bytes*> tensors_;  // into nodes_, in walk order
    kept_temporaries temporaries_;        // C-order copies the walk made (dataset(tensor&&))
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
        snapshot.path(), snapshot.model_type(), [&](auto& sink, const where&) { snapshot.replay(sink); }, storage, extra, progress);
}

}  // namespace h5ser::detail

#if H5SER_CORE_DEFINITIONS
#include "h5ser/detail/save/snapshot-inl.hpp"
#endif
