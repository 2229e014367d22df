// h5ser/optimizer_state.hpp: marking optimizer state, which weights-only files leave out.
#pragma once

#include <type_traits>

namespace h5ser {

/// Wraps a field that holds optimizer state (Adam moments, step counters, ...). It is stored like
/// the wrapped value under the field's own name in full-model files, and skipped in weights-only
/// files:
///
///     struct Model {
///         Mlp net;
///         h5ser::optimizer_state<AdamState> adam;   // group "adam", only in full-model files
///     };
template <class T>
struct optimizer_state {
    T value{};

    T& operator*() noexcept { return value; }
    const T& operator*() const noexcept { return value; }
    T* operator->() noexcept { return &value; }
    const T* operator->() const noexcept { return &value; }
    friend bool operator==(const optimizer_state&, const optimizer_state&) = default;
};

/// The trait behind the wrapper. Specialize it as `std::true_type` to mark a type of your own as
/// optimizer state wherever it appears, without wrapping each field:
///
///     template <> struct h5ser::is_optimizer_state<AdamState> : std::true_type {};
template <class T>
struct is_optimizer_state : std::false_type {};
template <class T>
struct is_optimizer_state<optimizer_state<T>> : std::true_type {};

template <class T>
inline constexpr bool is_optimizer_state_v = is_optimizer_state<std::remove_cv_t<T>>::value;

}  // namespace h5ser
