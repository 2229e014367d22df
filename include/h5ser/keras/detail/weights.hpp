// h5ser/keras/detail/weights.hpp: writing one Keras weight dataset, and shapes and names as Keras
// prints them in its messages.
#pragma once

#include <hdf5.h>

#include <array>
#include <cstddef>
#include <string>
#include <type_traits>
#include <vector>

#include "h5ser/detail/format/format.hpp"
#include "h5ser/detail/hdf5/attribute.hpp"
#include "h5ser/detail/hdf5/dataset.hpp"
#include "h5ser/detail/hdf5/dtype.hpp"
#include "h5ser/detail/hdf5/hdf5.hpp"
#include "h5ser/detail/load/problems.hpp"
#include "h5ser/tensor_adapter.hpp"

namespace h5ser::keras::detail {

using namespace h5ser::detail;  // the core's internals: handle, where, checked, problem_list, ...

/// "(4, 8)", "(40,)", "()": shapes as Keras prints them (Python tuples).
inline std::string tuple_text(const std::vector<std::size_t>& shape) { return dims_text(shape, shape_style::python_tuple); }

inline std::string name_list(const std::vector<std::string>& names) {
    std::string s;
    for (std::size_t i = 0; i < names.size(); ++i) s += (i ? ", " : "") + names[i];
    return s;
}

/// Creates weight dataset `name` in a layer group and writes `data` (of `mem_type`) into it. Weight
/// names contain '/', for which Keras (through h5py) creates intermediate groups; like Keras, the
/// dataset is contiguous and unfiltered, and a bfloat16 one carries Keras 3's dtype="bfloat16".
inline void write_weight(hid_t group, const std::string& name, hid_t file_type, hid_t mem_type, const hsize_t* dims, std::size_t rank,
                         const void* data, bool bfloat16_marker, const where& at) {
    handle space = make_dataspace(dims, rank, at);
    handle lcpl = checked(H5Pcreate(H5P_LINK_CREATE), at, "H5Pcreate(link)");
    check(H5Pset_create_intermediate_group(lcpl.get(), 1), at, "H5Pset_create_intermediate_group");
    handle dataset =
        checked(H5Dcreate2(group, name.c_str(), file_type, space.get(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT), at, "cannot create dataset");
    std::size_t count = 1;
    for (std::size_t i = 0; i < rank; ++i) count *= dims[i];
    if (count != 0) check(H5Dwrite(dataset.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), at, "cannot write dataset");
    if (bfloat16_marker) write_attribute(dataset.get(), "dtype", std::string("bfloat16"), at);
}

template <class X>
void write_tensor(const X& value, hid_t group, const std::string& name, const where& at) {
    using adapter = tensor_adapter<X>;
    using element = typename adapter::element_type;
    constexpr std::size_t rank = adapter::rank;
    const auto shape = adapter::shape(value);
    std::array<hsize_t, rank == 0 ? 1 : rank> dims{};
    for (std::size_t i = 0; i < rank; ++i) dims[i] = shape[i];
    handle type = file_type<element>(at);
    handle mem = memory_type<element>(at);
    write_weight(group, name, type.get(), mem.get(), dims.data(), rank, adapter::data(value), std::is_same_v<element, bfloat16>, at);
}

}  // namespace h5ser::keras::detail
