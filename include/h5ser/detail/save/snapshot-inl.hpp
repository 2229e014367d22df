// h5ser/detail/save/snapshot-inl.hpp: definitions of h5ser/detail/save/snapshot.hpp (compiled once with the
// compiled core; see h5ser/config.hpp).
#pragma once

#include <cstring>
#include <system_error>
#include <thread>

#include "h5ser/detail/save/snapshot.hpp"

namespace h5ser::detail {

namespace snapshot_detail {
constexpr std::size_t alignment = 64;
constexpr std::size_t aligned(std::size_t bytes) noexcept { return (bytes + alignment - 1) / alignment * alignment; }
// Below this, a second thread costs more than it saves.
constexpr std::size_t copied_by_two_threads_from = std::size_t{32} << 20;

struct named {
    named(std::string_view n, const where& a) : name(n), at(a) {}
    std::string name;
    where at;
};

struct dataset_node final : snapshot_node, named {
    dataset_node(std::string_view n, const where& a, bool o, const tensor_view& t) : named(n, a), optimizer(o), tensor(t) {
        bytes = {t.count ? t.data : nullptr, static_cast<std::size_t>(t.bytes()), nullptr};
        tensor.data = nullptr;  // replayed from the staging copy
    }
    void replay(save_sink& sink) const override {
        tensor_view staged = tensor;
        staged.data = bytes.staged;
        sink.dataset(name, staged, at, optimizer);
    }
    bool optimizer;
    tensor_view tensor;
    staged_bytes bytes;
};

/// An attribute, its elements copied: strings into `strings`, numbers and bools into `bytes`.
struct attribute_node final : snapshot_node, named {
    attribute_node(std::string_view n, const where& a, bool o, const attribute_view& v) : named(n, a), optimizer(o), value(v) {
        if (v.strings) {
            const auto* first = static_cast<const std::string*>(v.elements);
            strings.assign(first, first + v.count);
        } else {
            const auto* first = static_cast<const std::byte*>(v.elements);
            bytes.assign(first, first + v.count * element_size(v.kind));
        }
        value.elements = nullptr;
    }
    void replay(save_sink& sink) const override {
        attribute_view copy = value;
        copy.elements = value.strings ? static_cast<const void*>(strings.data()) : static_cast<const void*>(bytes.data());
        sink.attribute(name, copy, at, optimizer);
    }
    bool optimizer;
    attribute_view value;  // its dtype is an attribute_dtype_name: static storage
    std::vector<std::string> strings;
    std::vector<std::byte> bytes;
};

struct absent_node final : snapshot_node, named {
    using named::named;
    void replay(save_sink& sink) const override { sink.absent(name, at); }
};

struct begin_node final : snapshot_node, named {
    begin_node(std::string_view n, const where& a, const container_info& i) : named(n, a), info(i) {}
    void replay(save_sink& sink) const override { sink.begin(name, at, info); }
    container_info info;  // its type_name is a type_name<T>(): static storage
};

struct end_node final : snapshot_node {
    explicit end_node(const container_info& i) : info(i) {}
    void replay(save_sink& sink) const override { sink.end(info); }
    container_info info;
};

struct version_node final : snapshot_node {
    version_node(const where& a, std::string_view t, int v) : at(a), type_name(t), version(v) {}
    void replay(save_sink& sink) const override { sink.version(at, type_name, version); }
    where at;
    std::string_view type_name;  // a type_name<T>(): static storage
    int version;
};

struct storage_node final : snapshot_node {
    storage_node(const storage_plan& p, bool n, const std::vector<std::size_t>& c) : plan(p), names_compact(n), chunks(c) {}
    void replay(save_sink& sink) const override { sink.push_storage(plan, names_compact, chunks); }
    storage_plan plan;
    bool names_compact;
    std::vector<std::size_t> chunks;
};

struct storage_end_node final : snapshot_node {
    void replay(save_sink& sink) const override { sink.pop_storage(); }
};
}  // namespace snapshot_detail

H5SER_CORE_INLINE std::byte* staging_buffer::reserve(std::size_t bytes) {
    if (bytes > capacity_ || (capacity_ > 2 * bytes && capacity_ > (std::size_t{1} << 20))) {
        memory_.reset();
        capacity_ = 0;
        const std::size_t size = bytes == 0 ? snapshot_detail::alignment : bytes;
        memory_.reset(static_cast<std::byte*>(::operator new[](size, std::align_val_t{snapshot_detail::alignment})));
        capacity_ = size;
    }
    return memory_.get();
}

H5SER_CORE_INLINE std::size_t model_snapshot::staging_bytes() const noexcept {
    std::size_t total = 0;
    for (const staged_bytes* t : tensors_) total += snapshot_detail::aligned(t->size);
    return total;
}

H5SER_CORE_INLINE void model_snapshot::copy_tensors(std::byte* staging) {
    struct piece {
        std::byte* to;
        const std::byte* from;
        std::size_t size;
    };
    std::vector<piece> pieces;
    pieces.reserve(tensors_.size());
    std::size_t offset = 0, total = 0;
    for (staged_bytes* t : tensors_) {
        if (t->size == 0) continue;
        t->staged = staging + offset;
        pieces.push_back({staging + offset, static_cast<const std::byte*>(t->source), t->size});
        offset += snapshot_detail::aligned(t->size);
        total += t->size;
        t->source = nullptr;  // from now on, nothing of the model is referred to
    }
    const auto copy = [](const piece* first, const piece* last) {
        for (; first != last; ++first) std::memcpy(first->to, first->from, first->size);
    };
    if (total < snapshot_detail::copied_by_two_threads_from || std::thread::hardware_concurrency() < 2) {
        copy(pieces.data(), pieces.data() + pieces.size());
        return;
    }
    // Two threads copy half the bytes each: the piece that straddles the middle is split in two.
    std::size_t first_half = 0, split = 0;
    while (split < pieces.size() && first_half + pieces[split].size <= total / 2) first_half += pieces[split++].size;
    std::vector<piece> second(pieces.begin() + static_cast<std::ptrdiff_t>(split), pieces.end());
    pieces.resize(split);
    if (!second.empty() && first_half < total / 2) {
        const std::size_t head = total / 2 - first_half;
        pieces.push_back({second.front().to, second.front().from, head});
        second.front().to += head;
        second.front().from += head;
        second.front().size -= head;
    }
    std::thread helper;
    try {
        helper = std::thread(copy, second.data(), second.data() + second.size());
    } catch (const std::system_error&) {  // no thread to be had: copy it all here
        copy(second.data(), second.data() + second.size());
    }
    copy(pieces.data(), pieces.data() + pieces.size());
    if (helper.joinable()) helper.join();
}

H5SER_CORE_INLINE void staging_buffer::release() noexcept {
    memory_.reset();
    capacity_ = 0;
}

H5SER_CORE_INLINE void model_snapshot::dataset(std::string_view name, const tensor_view& tensor, const where& at, bool optimizer) {
    auto node = std::make_unique<snapshot_detail::dataset_node>(name, at, optimizer, tensor);
    tensors_.push_back(&node->bytes);
    nodes_.push_back(std::move(node));
}
H5SER_CORE_INLINE void model_snapshot::attribute(std::string_view name, const attribute_view& value, const where& at, bool optimizer) {
    nodes_.push_back(std::make_unique<snapshot_detail::attribute_node>(name, at, optimizer, value));
}
H5SER_CORE_INLINE void model_snapshot::absent(std::string_view name, const where& at) {
    nodes_.push_back(std::make_unique<snapshot_detail::absent_node>(name, at));
}
H5SER_CORE_INLINE void model_snapshot::begin(std::string_view name, const where& at, const container_info& info) {
    nodes_.push_back(std::make_unique<snapshot_detail::begin_node>(name, at, info));
}
H5SER_CORE_INLINE void model_snapshot::end(const container_info& info) {
    nodes_.push_back(std::make_unique<snapshot_detail::end_node>(info));
}
H5SER_CORE_INLINE void model_snapshot::version(const where& at, std::string_view type_name, int version) {
    nodes_.push_back(std::make_unique<snapshot_detail::version_node>(at, type_name, version));
}
H5SER_CORE_INLINE void model_snapshot::push_storage(const storage_plan& plan, bool names_compact, const std::vector<std::size_t>& chunks) {
    nodes_.push_back(std::make_unique<snapshot_detail::storage_node>(plan, names_compact, chunks));
}
H5SER_CORE_INLINE void model_snapshot::pop_storage() { nodes_.push_back(std::make_unique<snapshot_detail::storage_end_node>()); }
H5SER_CORE_INLINE void model_snapshot::replay(save_sink& sink) const {
    for (const auto& node : nodes_) node->replay(sink);
}

}  // namespace h5ser::detail
