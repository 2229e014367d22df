// h5ser/detail/load/commit-inl.hpp: definitions of h5ser/detail/load/commit.hpp (compiled once with the compiled core; see
// h5ser/config.hpp).
#pragma once

#include <algorithm>
#include <cstring>

#include "h5ser/detail/load/commit.hpp"

namespace h5ser::detail {

H5SER_CORE_INLINE void undo_log::save(void* target, std::size_t bytes) {
    const auto* from = static_cast<const unsigned char*>(target);
    saved_.push_back({target, std::vector<unsigned char>(from, from + bytes)});
}

H5SER_CORE_INLINE void undo_log::restore() noexcept {
    for (auto it = saved_.rbegin(); it != saved_.rend(); ++it)
        if (!it->bytes.empty()) std::memcpy(it->target, it->bytes.data(), it->bytes.size());
    saved_.clear();
}

H5SER_CORE_INLINE void commit_list::copy_action::apply() noexcept {
    if (!bytes.empty()) std::memcpy(target, bytes.data(), bytes.size());
}
H5SER_CORE_INLINE void commit_list::copy_action::save_undo(undo_log& undo) const { undo.save(target, bytes.size()); }

H5SER_CORE_INLINE void commit_list::copy_from_action::apply() noexcept {
    if (bytes != 0) std::memcpy(target, source, bytes);
}
H5SER_CORE_INLINE void commit_list::copy_from_action::save_undo(undo_log& undo) const { undo.save(target, bytes); }

H5SER_CORE_INLINE commit_list::move_action::~move_action() {
    if (constructed) ops->destroy(value);
}

H5SER_CORE_INLINE void commit_list::move_action::apply() noexcept { ops->move(target, value); }

namespace commit_detail {
inline std::size_t slot_alignment(const commit_list::value_ops& ops) noexcept {
    return std::max(alignof(commit_list::move_action), ops.align);
}
inline std::size_t value_offset(const commit_list::value_ops& ops) noexcept {
    return (sizeof(commit_list::move_action) + ops.align - 1) / ops.align * ops.align;
}
}  // namespace commit_detail

H5SER_CORE_INLINE void commit_list::move_action::operator delete(move_action* a, std::destroying_delete_t) noexcept {
    const std::size_t alignment = commit_detail::slot_alignment(*a->ops);
    a->~move_action();
    ::operator delete (static_cast<void*>(a), std::align_val_t{alignment});
}

H5SER_CORE_INLINE std::unique_ptr<commit_list::action> commit_list::reserve(void* target, const value_ops& ops, void*& room) {
    const std::size_t offset = commit_detail::value_offset(ops);
    void* block = ::operator new (offset + ops.size, std::align_val_t{commit_detail::slot_alignment(ops)});
    room = static_cast<unsigned char*>(block) + offset;
    return std::unique_ptr<action>(::new (block) move_action(target, room, ops));
}

H5SER_CORE_INLINE void commit_list::add(std::unique_ptr<action>&& a) { actions_.push_back(std::move(a)); }

H5SER_CORE_INLINE void commit_list::finish(staged_bytes&& s) { add(std::move(s.slot)); }

H5SER_CORE_INLINE void commit_list::copy_into(void* target, std::vector<unsigned char>&& bytes) {
    add(std::make_unique<copy_action>(target, std::move(bytes)));
}

H5SER_CORE_INLINE void commit_list::copy_into(void* target, const void* bytes, std::size_t size) {
    // As many bytes as a scalar or a short array holds live in the action itself (one allocation).
    struct small_copy_action final : action {
        void apply() noexcept override { std::memcpy(target, bytes, size); }
        void save_undo(undo_log& undo) const override { undo.save(target, size); }
        void* target = nullptr;
        std::size_t size = 0;
        unsigned char bytes[16] = {};
    };
    if (size > sizeof(small_copy_action::bytes)) {
        const auto* first = static_cast<const unsigned char*>(bytes);
        return copy_into(target, std::vector<unsigned char>(first, first + size));
    }
    auto a = std::make_unique<small_copy_action>();
    a->target = target;
    a->size = size;
    if (size != 0) std::memcpy(a->bytes, bytes, size);
    add(std::move(a));
}

H5SER_CORE_INLINE void commit_list::copy_from(void* target, const void* source, std::size_t bytes, std::shared_ptr<const void> keep) {
    add(std::make_unique<copy_from_action>(target, source, bytes, std::move(keep)));
}

H5SER_CORE_INLINE void commit_list::apply_since(std::size_t mark) noexcept {
    for (std::size_t i = mark; i < actions_.size(); ++i) actions_[i]->apply();
    actions_.resize(mark);
}

H5SER_CORE_INLINE void commit_list::apply_all() noexcept {
    for (auto& a : actions_) a->apply();
    actions_.clear();
}

H5SER_CORE_INLINE void commit_list::apply_all(undo_log& undo) {
    for (auto& a : actions_) a->save_undo(undo);
    apply_all();
}

}  // namespace h5ser::detail
