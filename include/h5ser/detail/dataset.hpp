// h5ser/detail/dataset.hpp: tensors as HDF5 datasets (contiguous, native little-endian types).
#pragma once

#include <hdf5.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "h5ser/detail/attribute.hpp"
#include "h5ser/detail/dtype.hpp"
#include "h5ser/detail/group.hpp"
#include "h5ser/detail/hash.hpp"
#include "h5ser/detail/hdf5.hpp"
#include "h5ser/tensor_adapter.hpp"

namespace h5ser::detail {

template <std::size_t Rank>
std::string shape_text(std::string_view dtype, const std::array<std::size_t, Rank>& shape) {
    std::string s(dtype);
    s += '[';
    for (std::size_t i = 0; i < Rank; ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + ']';
}

inline handle make_dataspace(const hsize_t* dims, std::size_t rank, const where& at) {
    if (rank == 0) return checked(H5Screate(H5S_SCALAR), at, "H5Screate");
    return checked(H5Screate_simple(static_cast<int>(rank), dims, nullptr), at, "H5Screate_simple");
}

/// What one stored tensor contributes to the file fingerprint.
struct written_tensor {
    std::array<std::uint64_t, 32> dims{};
    std::size_t rank = 0;
    std::uint64_t data_hash = 0;
};

/// Creates dataset `name` in `parent` and writes the tensor straight from the caller's memory.
template <adapted_tensor X>
written_tensor write_dataset(hid_t parent, std::string_view name, const X& value, const creation_plists& plists,
                             const where& at) {
    using adapter = tensor_adapter<X>;
    using element = typename adapter::element_type;
    constexpr std::size_t rank = adapter::rank;
    const auto shape = adapter::shape(value);

    written_tensor out;
    out.rank = rank;
    std::array<hsize_t, rank == 0 ? 1 : rank> dims{};
    std::size_t count = 1;
    for (std::size_t i = 0; i < rank; ++i) {
        dims[i] = static_cast<hsize_t>(shape[i]);
        out.dims[i] = shape[i];
        count *= shape[i];
    }
    handle space = make_dataspace(dims.data(), rank, at);
    handle ftype = file_type<element>(at);
    const std::string n(name);
    handle dataset = checked(H5Dcreate2(parent, n.c_str(), ftype.get(), space.get(), plists.link.get(),
                                        plists.dataset.get(), H5P_DEFAULT),
                             at, "cannot create dataset");
    const element* data = adapter::data(value);
    if (count != 0) {
        handle mtype = memory_type<element>(at);
        check(H5Dwrite(dataset.get(), mtype.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, data), at, "cannot write dataset");
    }
    if constexpr (std::is_same_v<element, bfloat16>) {
        write_attribute(dataset.get(), "dtype", std::string("bfloat16"), at);  // Keras 3's marker
    }
    out.data_hash = hash_bytes(count ? static_cast<const void*>(data) : static_cast<const void*>(""), count * sizeof(element));
    return out;
}

/// The facts about a dataset a loader checks before reading any element.
struct dataset_view {
    handle type;
    extent shape;
    std::string dtype;  ///< describe_type() of the file type
};

inline dataset_view inspect_dataset(hid_t dataset, const where& at) {
    dataset_view v;
    v.type = checked(H5Dget_type(dataset), at, "H5Dget_type");
    handle space = checked(H5Dget_space(dataset), at, "H5Dget_space");
    v.shape = read_extent(space.get(), at);
    bool bfloat16_marked = false;
    if (H5Tget_class(v.type.get()) == H5T_OPAQUE) {
        const auto marker = read_string_attribute(dataset, "dtype", at);
        bfloat16_marked = marker && *marker == "bfloat16";
    }
    v.dtype = describe_type(v.type.get(), bfloat16_marked);
    return v;
}

}  // namespace h5ser::detail
