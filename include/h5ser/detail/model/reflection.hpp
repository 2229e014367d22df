// h5ser/detail/model/reflection.hpp: how h5ser reflects aggregates: counting fields the way aggregate
// initialization does (and spotting base classes and C arrays, which PFR cannot handle), field
// access through Boost.PFR's structured-binding tie, and field and type names parsed from the
// compiler's __PRETTY_FUNCTION__. h5ser/reflect.hpp is the API built on it.
#pragma once

#include <array>
#include <cstddef>
#include <memory>
#include <string_view>
#include <type_traits>
#include <utility>

#include <boost/pfr/detail/core.hpp>  // tie_as_tuple, sequence_tuple::get

namespace h5ser {

namespace detail {

// ---- aggregate shape probes (no PFR) -------------------------------------------------------

// Converts to anything: counts initializers the way aggregate initialization consumes them.
// Only ever named in unevaluated requires-expressions; the body exists because GCC instantiates
// constexpr bodies reached through converting constructors (std::optional's) and then warns.
template <class U>
constexpr U& never_called() noexcept {
    std::remove_reference_t<U>* nowhere = nullptr;
    return *(nowhere + 1);
}

// Converts to anything: counts initializers the way aggregate initialization consumes them.
struct init_any {
    template <class U>
    constexpr operator U&() const&& noexcept {  // NOLINT(google-explicit-constructor)
        return never_called<U>();
    }
};
template <std::size_t>
using init_any_at = init_any;

// Converts only to a proper base of T: T{base_only<T>{}} is valid exactly when T's first
// aggregate element is a base class subobject.
template <class T>
struct init_base_only {
    template <class U>
    requires(std::is_base_of_v<U, T> && !std::is_same_v<U, T>) constexpr operator U&()
        const&& noexcept {  // NOLINT(google-explicit-constructor)
        return never_called<U>();
    }
};

template <class T, std::size_t... I>
constexpr bool init_with_n(std::index_sequence<I...>) noexcept {
    return requires { T{init_any_at<I>{}...}; };
}

// Largest N <= Hi with T{init_any x N} valid (brace elision makes C array elements count one each).
template <class T, std::size_t Lo, std::size_t Hi>
constexpr std::size_t flat_init_count() noexcept {
    if constexpr (Lo == Hi) {
        return Lo;
    } else {
        constexpr std::size_t mid = (Lo + Hi + 1) / 2;
        if constexpr (init_with_n<T>(std::make_index_sequence<mid>{})) return flat_init_count<T, mid, Hi>();
        else return flat_init_count<T, Lo, mid - 1>();
    }
}

// `{}` at flat position K followed by the remaining initializers: invalid exactly when position K
// starts a C array (the braces then take the whole array, leaving too many initializers).
template <class T, std::size_t... Before, std::size_t... After>
constexpr bool braces_fit_at(std::index_sequence<Before...>, std::index_sequence<After...>) noexcept {
    return requires { T{init_any_at<Before>{}..., {}, init_any_at<After>{}...}; };
}
template <class T, std::size_t Count, std::size_t... K>
constexpr bool has_c_array_member(std::index_sequence<K...>) noexcept {
    return !(braces_fit_at<T>(std::make_index_sequence<K>{}, std::make_index_sequence<Count - K - 1>{}) && ...);
}

inline constexpr std::size_t max_reflected_fields = 100;  // Boost.PFR 1.81's structured-binding limit

template <class T>
struct reflection_check {
    static constexpr bool is_aggregate = std::is_aggregate_v<T> && !std::is_union_v<T>;
    static constexpr bool has_base = [] {
        if constexpr (is_aggregate) return requires {
                T{init_base_only<T>{}};
            };
        else return false;
    }();
    static constexpr std::size_t flat_count = [] {
        if constexpr (is_aggregate && !has_base) return flat_init_count<T, 0, max_reflected_fields + 1>();
        else return std::size_t{0};
    }();
    static constexpr bool too_many_fields = flat_count > max_reflected_fields;
    static constexpr bool has_c_array = [] {
        if constexpr (is_aggregate && !has_base && !too_many_fields && flat_count > 0)
            return has_c_array_member<T, flat_count>(std::make_index_sequence<flat_count>{});
        else return false;
    }();
    /// No initializer list fits, yet T holds data: a member has no default state (a fixed-extent
    /// std::span, a reference), which makes T{} ill-formed, so no field count can be found.
    static constexpr bool fields_not_found = is_aggregate && !has_base && flat_count == 0 && !std::is_empty_v<T>;
    static constexpr bool ok = is_aggregate && !has_base && !too_many_fields && !has_c_array && !fields_not_found;
};

// ---- names from __PRETTY_FUNCTION__ ------------------------------------------------------------

// Only the addresses of T's fields inside this holder are ever formed, during constant evaluation;
// T itself is never constructed (the union's active member is `none`). It is a constant-initialized
// variable rather than an undefined `extern const T`, so that local structs work on GCC too.
template <class T>
union fake_storage {
    char none;
    T value;
    constexpr fake_storage() noexcept : none() {}
    ~fake_storage() {}  // NOLINT(modernize-use-equals-default): T's destructor must not run
};
template <class T>
inline constinit const fake_storage<T> fake_holder{};

template <class P>
struct pointer_wrapper {
    P pointer;
};
template <class P>
pointer_wrapper(P) -> pointer_wrapper<P>;

template <auto Wrapped>
consteval std::string_view signature_of() noexcept {
    return __PRETTY_FUNCTION__;
}

// Boost.PFR's public get<I> counts fields with its own fields_count(), which crashes GCC 12
// ("internal compiler error in check_noexcept_r") for members such as
// `std::vector<std::string> names{"a"};`. h5ser counts fields itself (reflection_check above) and
// uses only PFR's structured-binding tie, which has been stable from Boost 1.75 on.
template <std::size_t I, class T>
constexpr auto& get_field(T& object) noexcept {
    constexpr std::size_t count = reflection_check<std::remove_cv_t<T>>::flat_count;
    return boost::pfr::detail::sequence_tuple::get<I>(boost::pfr::detail::tie_as_tuple(object, boost::pfr::detail::size_t_<count>{}));
}

template <class T, std::size_t I>
using field_type_t = std::remove_cvref_t<decltype(get_field<I>(std::declval<T&>()))>;

template <class T, std::size_t I>
consteval std::string_view raw_field_signature() noexcept {
    return signature_of<pointer_wrapper{std::addressof(get_field<I>(fake_holder<T>.value))}>();
}

template <class T>
consteval std::string_view raw_type_signature() noexcept {
    return __PRETTY_FUNCTION__;
}

constexpr bool is_identifier_char(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// The probe fixes how many characters follow the field name in the signature.
struct name_probe {
    int h5ser_probe_member;
};
inline constexpr std::string_view probe_member_name = "h5ser_probe_member";
inline constexpr std::size_t signature_suffix = [] {
    constexpr std::string_view sig = raw_field_signature<name_probe, 0>();
    return sig.size() - (sig.rfind(probe_member_name) + probe_member_name.size());
}();

// The field name is the identifier that ends right before the suffix.
consteval std::string_view field_name_from(std::string_view sig) noexcept {
    const std::size_t end = sig.size() - signature_suffix;
    std::size_t begin = end;
    while (begin > 0 && is_identifier_char(sig[begin - 1])) --begin;
    return sig.substr(begin, end - begin);
}

}  // namespace detail
}  // namespace h5ser
// Outside h5ser: GCC prints types of the function's own namespace unqualified.
namespace h5ser_reflection_probe {
struct type_name_probe {};
struct self_check {
    int first;
    double second_field_2;
    struct nested {
        int x;
    } third;
    std::array<int, 2> fourth;
};
}  // namespace h5ser_reflection_probe
namespace h5ser {
namespace detail {
using h5ser_reflection_probe::type_name_probe;
inline constexpr std::string_view probe_type_name = "h5ser_reflection_probe::type_name_probe";
inline constexpr std::size_t type_prefix = raw_type_signature<type_name_probe>().find(probe_type_name);
inline constexpr std::size_t type_suffix = raw_type_signature<type_name_probe>().size() - type_prefix - probe_type_name.size();

}  // namespace detail

}  // namespace h5ser
