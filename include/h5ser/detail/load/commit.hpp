// h5ser/detail/load/commit.hpp: staged loads. Nothing is written into the user's model until every
// field has been read and checked; then the staged values move in, which cannot fail.
#pragma once

#include <memory>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

#include "h5ser/config.hpp"

namespace h5ser::detail {

/// Does moving a T into a field never throw? Its move assignment is noexcept, or it is a type
/// whose move assignment only moves a pointer but is not declared noexcept (libtorch's at::Tensor:
/// h5ser/torch.hpp specializes this).
template <class T>
struct moves_without_throwing : std::is_nothrow_move_assignable<T> {};

/// The bytes copies overwrote in memory the load does not stage (views, sized tensors), to put
/// back when a load that applied them early fails after all (commit_list::apply_all(undo_log&)).
class undo_log {
public:
    void save(void* target, std::size_t bytes);
    /// Puts every saved range back, last first.
    void restore() noexcept;

private:
    struct range {
        void* target;
        std::vector<unsigned char> bytes;
    };
    std::vector<range> saved_;
};

class commit_list {
public:
    struct action {
        virtual ~action() = default;
        virtual void apply() noexcept = 0;
        /// Saves what apply() will overwrite outside values the load staged.
        virtual void save_undo(undo_log&) const {}
    };

    /// How a staged value of a type only a template knows moves into its field, and is destroyed:
    /// a table of two functions per type, so that the action holding the value (move_action) is
    /// one type, compiled once, and no type gets a class and vtable of its own.
    struct value_ops {
        void (*move)(void* target, void* value) noexcept;
        void (*destroy)(void* value) noexcept;  ///< runs the destructor (the memory is the action's)
        std::size_t size;
        std::size_t align;
    };
    template <class T>
    static void move_value(void* target, void* value) noexcept {
        *static_cast<T*>(target) = std::move(*static_cast<T*>(value));
    }
    template <class T>
    static void destroy_value(void* value) noexcept {
        static_cast<T*>(value)->~T();
    }
    template <class T>
    static constexpr value_ops value_ops_of{&move_value<T>, &destroy_value<T>, sizeof(T), alignof(T)};

    /// Moves its value into `*target`. The value lives in the action's own allocation, after it
    /// (reserve): one allocation per staged value, as a load of many small tensors needs.
    struct move_action final : action {
        move_action(void* t, void* v, const value_ops& o) noexcept : target(t), value(v), ops(&o) {}
        move_action(const move_action&) = delete;
        move_action& operator=(const move_action&) = delete;
        ~move_action() override;
        void apply() noexcept override;
        /// Destroys the action and its value, and frees their allocation (aligned for the value).
        static void operator delete(move_action* a, std::destroying_delete_t) noexcept;
        void* target;
        void* value;
        const value_ops* ops;
        bool constructed = false;  ///< the value has been constructed in its room
    };
    struct copy_action final : action {
        copy_action(void* t, std::vector<unsigned char>&& b) : target(t), bytes(std::move(b)) {}
        void apply() noexcept override;
        void save_undo(undo_log& undo) const override;
        void* target;
        std::vector<unsigned char> bytes;
    };

    struct copy_from_action final : action {
        copy_from_action(void* t, const void* s, std::size_t n, std::shared_ptr<const void> k)
            : target(t), source(s), bytes(n), keep(std::move(k)) {}
        void apply() noexcept override;
        void save_undo(undo_log& undo) const override;
        void* target;
        const void* source;
        std::size_t bytes;
        std::shared_ptr<const void> keep;  ///< keeps `source` (a mapped file) alive
    };

    /// Moves `value` into `*target` when the load succeeds.
    template <class T>
    void move_into(T& target, T&& value) {
        static_assert(moves_without_throwing<T>::value,
                      "h5ser: loaded values are moved into the model at the end of a load and that must not throw; "
                      "give this type a noexcept move assignment");
        add(std::move(emplace(target, std::move(value)).slot));
    }

    /// Reserves a staged value now (so later actions can fill it) and moves it into `*target`
    /// when the load succeeds; call `finish` after the actions that fill it.
    template <class T>
    struct staged {
        std::unique_ptr<action> slot;
        T* staged_value = nullptr;  ///< in the slot, on the heap: stays where it is
        T& value() noexcept { return *staged_value; }
    };
    template <class T>
    static staged<T> stage(T& target, T initial) {
        return emplace(target, std::move(initial));
    }
    /// The same, the value made from `args` where it stays.
    template <class T, class... Args>
    static staged<T> emplace(T& target, Args&&... args) {
        void* room = nullptr;
        std::unique_ptr<action> slot = reserve(&target, value_ops_of<T>, room);
        T* value = ::new (room) T(std::forward<Args>(args)...);
        static_cast<move_action&>(*slot).constructed = true;
        return {std::move(slot), value};
    }
    template <class T>
    void finish(staged<T>&& s) {
        add(std::move(s.slot));
    }

    /// A move_action for `target` with room (`room`) for a value of the type of `ops`, which the
    /// caller constructs there and marks constructed.
    static std::unique_ptr<action> reserve(void* target, const value_ops& ops, void*& room);

    /// A staged value whose type only its slot knows (a tensor_target's new tensor), and where its
    /// elements are; `finish` it to move it into its target when the load succeeds, or drop it.
    struct staged_bytes {
        std::unique_ptr<action> slot;
        void* data = nullptr;
    };
    void finish(staged_bytes&& s);

    /// Copies bytes into memory the model does not own (views) when the load succeeds.
    void copy_into(void* target, std::vector<unsigned char>&& bytes);
    /// Copies `size` bytes from `bytes` (copied now: an attribute's few) into `target` when the load succeeds.
    void copy_into(void* target, const void* bytes, std::size_t size);

    /// Copies `bytes` bytes from `source`, which `keep` keeps alive (a mapped file), into memory the
    /// model owns when the load succeeds: no staging copy.
    void copy_from(void* target, const void* source, std::size_t bytes, std::shared_ptr<const void> keep);

    /// Where the actions added from now on start (for apply_since).
    [[nodiscard]] std::size_t mark() const noexcept { return actions_.size(); }

    /// Applies and drops the actions added since `mark`, in order: for actions that fill a staging
    /// value of the load's own (a C-order copy of a reordered tensor), never the model itself.
    void apply_since(std::size_t mark) noexcept;

    void apply_all() noexcept;

    /// Applies every action before the load is known to succeed (the fields of a struct an upgrade
    /// hook then upgrades), saving into `undo` what they overwrite beyond the load's own values.
    void apply_all(undo_log& undo);

private:
    void add(std::unique_ptr<action>&& a);

    std::vector<std::unique_ptr<action>> actions_;
};

}  // namespace h5ser::detail

#if H5SER_CORE_DEFINITIONS
#include "h5ser/detail/load/commit-inl.hpp"
#endif
