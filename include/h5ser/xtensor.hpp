// h5ser/xtensor.hpp: xtensor's tensors as h5ser tensors (opt-in: Debian libxtensor-dev; CMake
// target h5ser::xtensor). Includes h5ser/h5ser.hpp.
//
//     #include <h5ser/xtensor.hpp>
//     struct Conv { xt::xtensor<float, 4> kernel; xt::xtensor<float, 1> bias; };
//
// xt::xtensor<T, N> (any layout), xt::xtensor_fixed<T, xt::xshape<...>> and xt::xarray<T>, of an
// h5ser element type. Row-major ones (xtensor's default) are written from their own memory and
// read into it; a column-major (or dynamic-layout) one goes through a C-order copy
// (h5ser/tensor_adapter.hpp), so that the file holds x(i, j, ...) at [i, j, ...] either way. Empty
// xtensors take the file's shape, fixed ones must match it, and an xarray, whose rank is known only
// at run time, always takes the file's shape and rank (h5ser::dynamic_rank).
#pragma once

#include <xtensor/xadapt.hpp>
#include <xtensor/xarray.hpp>
#include <xtensor/xfixed.hpp>
#include <xtensor/xtensor.hpp>

#include <array>
#include <cstddef>

#include "h5ser/element_type.hpp"
#include "h5ser/h5ser.hpp"
#include "h5ser/tensor_adapter.hpp"

namespace h5ser {
namespace xtensor_detail {

/// The adapter of an xtensor container X of rank N (h5ser::dynamic_rank for xarray) with layout L.
template <class X, std::size_t N, xt::layout_type L, bool Resizable>
struct container_adapter {
    using element_type = typename X::value_type;
    static constexpr std::size_t rank = N;
    /// Elements in C order: a row-major container, or any of rank 0 or 1.
    static constexpr bool in_c_order = L == xt::layout_type::row_major || N <= 1;

    static shape_of_rank<N> shape(const X& x) { return detail::to_shape<N>(x.shape()); }
    static const element_type* data(const X& x) noexcept requires in_c_order { return x.data(); }
    static element_type* data(X& x) noexcept requires in_c_order { return x.data(); }
    static void copy_to_c_order(const X& x, element_type* out) requires(!in_c_order) {
        auto c_order = xt::adapt(out, x.size(), xt::no_ownership(), x.shape());  // row-major, over `out`
        c_order = x;
    }
    static void copy_from_c_order(X& x, const element_type* in) requires(!in_c_order) {
        x = xt::adapt(in, x.size(), xt::no_ownership(), x.shape());
    }
    static void resize_for_overwrite(X& x, const shape_of_rank<N>& s) requires Resizable {
        if constexpr (N == dynamic_rank) x.resize(typename X::shape_type(s.begin(), s.end()));
        else x.resize(s);
    }
};

}  // namespace xtensor_detail

template <class EC, std::size_t N, xt::layout_type L, class Tag>
requires element_type<typename EC::value_type>
struct tensor_adapter<xt::xtensor_container<EC, N, L, Tag>>
    : xtensor_detail::container_adapter<xt::xtensor_container<EC, N, L, Tag>, N, L, true> {
};

template <class EC, xt::layout_type L, class SC, class Tag>
requires element_type<typename EC::value_type>
struct tensor_adapter<xt::xarray_container<EC, L, SC, Tag>>
    : xtensor_detail::container_adapter<xt::xarray_container<EC, L, SC, Tag>, dynamic_rank, L, true> {
};

template <class ET, class S, xt::layout_type L, bool SH, class Tag>
requires element_type<ET>
struct tensor_adapter<xt::xfixed_container<ET, S, L, SH, Tag>>
    : xtensor_detail::container_adapter<xt::xfixed_container<ET, S, L, SH, Tag>, S::size(), L, false> {
};

}  // namespace h5ser
