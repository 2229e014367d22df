// h5ser/detail/hdf5/records.hpp: records (aggregates of element types and std::arrays of them) as HDF5
// compound types, the rows of h5ser::row_dataset.
#pragma once

#include <hdf5.h>

#include <array>
#include <cstddef>
#include <string_view>
#include <type_traits>
#include <utility>

#include "h5ser/detail/hdf5/dtype.hpp"
#include "h5ser/detail/hdf5/hdf5.hpp"
#include "h5ser/element_type.hpp"
#include "h5ser/reflect.hpp"

namespace h5ser::detail {

template <class T>
struct record_field_traits {
    static constexpr bool ok = element_type<T>;
    static constexpr std::size_t count = 1;
    using element = T;
};
template <class T, std::size_t N>
struct record_field_traits<std::array<T, N>> {
    static constexpr bool ok = element_type<T>;
    static constexpr std::size_t count = N;
    using element = T;
};

/// An aggregate whose fields are element types or std::arrays of them: one HDF5 compound row.
template <class T>
constexpr bool is_record() {
    if constexpr (!is_reflectable_v<T> || element_type<T>) {
        return false;
    } else {
        return []<std::size_t... I>(std::index_sequence<I...>) { return (record_field_traits<field_type_t<T, I>>::ok && ...); }
        (std::make_index_sequence<field_count_v<T>>{});
    }
}

/// The compound type of a record: memory layout (native, with padding) or file layout (packed,
/// little-endian). Field names are the struct's.
template <class T>
handle record_type(bool for_file, const where& at) {
    handle compound = checked(H5Tcreate(H5T_COMPOUND, sizeof(T)), at, "H5Tcreate(compound)");
    static const T sample{};
    const auto* base = reinterpret_cast<const unsigned char*>(&sample);
    for_each_field(sample, [&](std::string_view name, const auto& field) {
        using traits = record_field_traits<std::remove_cvref_t<decltype(field)>>;
        using element = typename traits::element;
        handle member = for_file ? file_type<element>(at) : memory_type<element>(at);
        if constexpr (traits::count != 1 || !std::is_same_v<std::remove_cvref_t<decltype(field)>, element>) {
            const hsize_t n = traits::count;
            member = checked(H5Tarray_create2(member.get(), 1, &n), at, "H5Tarray_create2");
        }
        const auto offset = static_cast<std::size_t>(reinterpret_cast<const unsigned char*>(&field) - base);
        check(H5Tinsert(compound.get(), std::string(name).c_str(), offset, member.get()), at, "H5Tinsert");
    });
    if (for_file) check(H5Tpack(compound.get()), at, "H5Tpack");
    return compound;
}

}  // namespace h5ser::detail
