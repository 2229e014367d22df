// h5ser/detail/load/commit-inl.hpp: definitions of h5ser/detail/load/commit.hpp (compiled once with the compiled core; see
// h5ser/config.hpp).
#pragma once

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

H5SER_CORE_INLINE commit_list::move_action::~move_action() { ops->destroy(value); }

H5SER_CORE_INLINE void commit_list::move_action::apply() noexcept { ops->move(target, value); }

H5SER_CORE_INLINE std::unique_ptr<commit_list::action> commit_list::hold(void* target, void* value, const value_ops& ops) {
    try {
        return std::make_unique<move_action>(target, value, ops);
    } catch (...) {
        ops.destroy(value);
        throw;
    }
}

H5SER_CORE_INLINE void commit_list::add(std::unique_ptr<action>&& a) { actions_.push_back(std::move(a)); }

H5SER_CORE_INLINE void commit_list::finish(staged_bytes&& s) { add(std::move(s.slot)); }

H5SER_CORE_INLINE void commit_list::copy_into(void* target, std::vector<unsigned char>&& bytes) {
    add(std::make_unique<copy_action>(target, std::move(bytes)));
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
