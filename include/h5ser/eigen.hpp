// h5ser/eigen.hpp: Eigen matrices and arrays as tensors (opt-in: Debian libeigen3-dev; CMake target
// h5ser::eigen). Includes h5ser/h5ser.hpp.
//
//     #include <h5ser/eigen.hpp>
//     struct Dense { Eigen::MatrixXf kernel; Eigen::VectorXf bias; };
//     h5ser::save(Dense{...}, "dense.h5");   // h5py: f["kernel"][i, j] == kernel(i, j)
//
// Every Eigen::Matrix and Eigen::Array of an h5ser element type: fixed and dynamic sizes, vectors
// (rank 1, whichever the storage order) and matrices (rank 2, shape (rows, cols)), row- and
// column-major. A row-major matrix is in C order already: it is written from its own memory and read
// into it. A column-major one (Eigen's default) is transposed on the way out and in, so that the file
// holds the matrix as h5py, Keras and every other reader index it; see docs/adapters.md for the cost.
// Dynamic sizes take the file's shape when empty; fixed sizes must match it.
#pragma once

#include <Eigen/Core>

#include <array>
#include <cstddef>

#include "h5ser/detail/model/c_order.hpp"
#include "h5ser/element_type.hpp"
#include "h5ser/h5ser.hpp"
#include "h5ser/tensor_adapter.hpp"

namespace h5ser {
namespace eigen_detail {

/// The adapter of Eigen::Matrix and Eigen::Array type M (a PlainObjectBase).
template <class M>
struct plain_object_adapter {
    using element_type = typename M::Scalar;
    static constexpr bool is_vector = M::IsVectorAtCompileTime;
    static constexpr std::size_t rank = is_vector ? 1 : 2;
    /// Elements in C order: vectors always, matrices when row-major.
    static constexpr bool in_c_order = is_vector || M::IsRowMajor;
    static constexpr bool resizable = M::RowsAtCompileTime == Eigen::Dynamic || M::ColsAtCompileTime == Eigen::Dynamic;

    static std::array<std::size_t, rank> shape(const M& m) noexcept {
        if constexpr (is_vector) return {static_cast<std::size_t>(m.size())};
        else return {static_cast<std::size_t>(m.rows()), static_cast<std::size_t>(m.cols())};
    }
    static const element_type* data(const M& m) noexcept requires in_c_order { return m.data(); }
    static element_type* data(M& m) noexcept requires in_c_order { return m.data(); }
    static void copy_to_c_order(const M& m, element_type* out) noexcept requires(!in_c_order) {
        detail::transpose(m.data(), out, static_cast<std::size_t>(m.rows()), static_cast<std::size_t>(m.cols()));
    }
    static void copy_from_c_order(M& m, const element_type* in) noexcept requires(!in_c_order) {
        detail::transpose(in, m.data(), static_cast<std::size_t>(m.cols()), static_cast<std::size_t>(m.rows()));
    }
    static void resize_for_overwrite(M& m, const std::array<std::size_t, rank>& s) requires resizable {
        if constexpr (is_vector) m.resize(static_cast<Eigen::Index>(s[0]));
        else m.resize(static_cast<Eigen::Index>(s[0]), static_cast<Eigen::Index>(s[1]));
    }
};

}  // namespace eigen_detail

template <class Scalar, int Rows, int Cols, int Options, int MaxRows, int MaxCols>
requires element_type<Scalar>
struct tensor_adapter<Eigen::Matrix<Scalar, Rows, Cols, Options, MaxRows, MaxCols>>
    : eigen_detail::plain_object_adapter<Eigen::Matrix<Scalar, Rows, Cols, Options, MaxRows, MaxCols>> {
};

template <class Scalar, int Rows, int Cols, int Options, int MaxRows, int MaxCols>
requires element_type<Scalar>
struct tensor_adapter<Eigen::Array<Scalar, Rows, Cols, Options, MaxRows, MaxCols>>
    : eigen_detail::plain_object_adapter<Eigen::Array<Scalar, Rows, Cols, Options, MaxRows, MaxCols>> {
};

}  // namespace h5ser
