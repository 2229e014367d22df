// h5ser/xtensor.hpp: xt::xtensor (both layouts) and xt::xtensor_fixed round trip bit for bit, and
// the file holds x(i, j, ...) at [i, j, ...] whatever the layout.
#include <h5ser/xtensor.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "support.hpp"

namespace {

using col_major_2d = xt::xtensor<double, 2, xt::layout_type::column_major>;

struct XModel {
    xt::xtensor<float, 3> cube;  // row-major, xtensor's default
    col_major_2d col_major;
    xt::xtensor<std::int64_t, 1> ids;
    xt::xtensor_fixed<std::int32_t, xt::xshape<2, 3>> fixed;
    xt::xtensor<float, 0> scalar;
    xt::xtensor<std::uint8_t, 2> empty;  // zero-sized
    xt::xarray<double> any_rank;         // rank known at run time
    xt::xarray<std::int16_t, xt::layout_type::column_major> any_rank_col_major;
};

XModel sample() {
    XModel m;
    m.cube = xt::xtensor<float, 3>::from_shape({2, 3, 4});
    for (std::size_t i = 0; i < m.cube.size(); ++i) m.cube.data()[i] = 0.5f * static_cast<float>(i);
    m.col_major = col_major_2d::from_shape({3, 5});
    for (std::size_t i = 0; i < 3; ++i)
        for (std::size_t j = 0; j < 5; ++j) m.col_major(i, j) = 100.0 * static_cast<double>(i) + static_cast<double>(j) + 0.25;
    m.ids = {7, -8, 9};
    m.fixed = {{1, 2, 3}, {4, 5, 6}};
    m.scalar = xt::xtensor<float, 0>::from_shape({});
    m.scalar() = 3.5f;
    m.empty = xt::xtensor<std::uint8_t, 2>::from_shape({0, 4});
    m.any_rank = xt::xarray<double>::from_shape({2, 1, 3, 2});
    for (std::size_t i = 0; i < m.any_rank.size(); ++i) m.any_rank.data()[i] = -1.5 * static_cast<double>(i);
    m.any_rank_col_major = {{1, 2, 3}, {4, 5, 6}};
    return m;
}

bool same(const XModel& a, const XModel& b) {
    return a.cube == b.cube && a.col_major == b.col_major && a.ids == b.ids && a.fixed == b.fixed && a.scalar() == b.scalar() &&
           a.empty.shape() == b.empty.shape() && a.any_rank == b.any_rank && a.any_rank.shape() == b.any_rank.shape() &&
           a.any_rank_col_major == b.any_rank_col_major;
}

struct AsTensors {
    h5ser::tensor<float, 3> cube;
    h5ser::tensor<double, 2> col_major;
    h5ser::tensor<std::int64_t, 1> ids;
    h5ser::tensor<std::int32_t, 2> fixed;
    h5ser::tensor<float, 0> scalar;
    h5ser::tensor<std::uint8_t, 2> empty;
    h5ser::tensor<double, 4> any_rank;
    h5ser::tensor<std::int16_t, 2> any_rank_col_major;
};

}  // namespace

TEST_CASE("xtensor: both layouts, fixed shapes, rank 0 and empty tensors round trip bit for bit") {
    test::scratch_dir dir;
    const XModel saved = sample();
    h5ser::save(saved, dir.file("x.h5"));
    CHECK(same(h5ser::load<XModel>(dir.file("x.h5")), saved));
    CHECK(same(h5ser::load<XModel, h5ser::owned_memory>(dir.file("x.h5")), saved));
    h5ser::save<h5ser::compressed>(saved, dir.file("compact.h5"));
    CHECK(same(h5ser::load<XModel>(dir.file("compact.h5")), saved));
    h5ser::save_async(saved, dir.file("async.h5")).wait();
    CHECK(test::file_bytes(dir.file("async.h5")) == test::file_bytes(dir.file("x.h5")));
    CHECK(h5ser::fingerprint(saved) == h5ser::file_fingerprint(dir.file("x.h5")));
}

TEST_CASE("xtensor: the file holds x(i, j) at [i, j] in both layouts (read back as plain tensors, and by h5py)") {
    test::scratch_dir dir;
    const XModel saved = sample();
    h5ser::save(saved, dir.file("x.h5"));
    const auto t = h5ser::load<AsTensors>(dir.file("x.h5"));
    REQUIRE(t.col_major.shape() == std::array<std::size_t, 2>{3, 5});
    for (std::size_t i = 0; i < 3; ++i)
        for (std::size_t j = 0; j < 5; ++j) CHECK(t.col_major(i, j) == saved.col_major(i, j));
    CHECK(t.cube(1, 2, 3) == saved.cube(1, 2, 3));
    CHECK(t.fixed(1, 0) == 4);
    CHECK(t.scalar() == 3.5f);
    CHECK(t.any_rank(1, 0, 2, 1) == saved.any_rank(1, 0, 2, 1));
    CHECK(t.any_rank_col_major(1, 0) == 4);
    CHECK(t.any_rank_col_major(0, 2) == 3);
    if (std::system("/usr/bin/python3 -c 'import h5py' 2>/dev/null") != 0) return;
    const std::string check =
        "/usr/bin/python3 -c \"import h5py, sys; f = h5py.File(sys.argv[1], 'r'); c = f['col_major'][()]; "
        "assert c.shape == (3, 5); assert all(c[i, j] == 100 * i + j + 0.25 for i in range(3) for j in range(5)); "
        "assert f['cube'][1, 2, 3] == 0.5 * 23; assert f['fixed'][1, 0] == 4\" " +
        dir.file("x.h5");
    CHECK(std::system(check.c_str()) == 0);
}

TEST_CASE("xtensor: fixed shapes must match the file, and a failed load changes nothing") {
    test::scratch_dir dir;
    h5ser::save(sample(), dir.file("x.h5"));
    struct Wrong {
        xt::xtensor_fixed<std::int32_t, xt::xshape<3, 2>> fixed;
    };
    Wrong w;
    w.fixed.fill(-1);
    h5ser::load_report report;
    const auto e = test::expect_error([&] { h5ser::load_into<h5ser::lenient>(w, dir.file("x.h5"), report); });
    CHECK(e.code() == h5ser::errc::shape_mismatch);
    CHECK(e.field_path() == "fixed");
    CHECK(w.fixed(2, 1) == -1);
}

TEST_CASE("xtensor: an xarray takes the rank and shape of the file, whatever it held") {
    test::scratch_dir dir;
    const XModel saved = sample();
    h5ser::save(saved, dir.file("x.h5"));
    XModel m = sample();
    m.any_rank = xt::xarray<double>::from_shape({7});  // another rank
    m.any_rank_col_major = xt::xarray<std::int16_t, xt::layout_type::column_major>::from_shape({1, 1, 1});
    h5ser::load_into(m, dir.file("x.h5"));
    CHECK(m.any_rank.shape() == saved.any_rank.shape());
    CHECK(m.any_rank == saved.any_rank);
    CHECK(m.any_rank_col_major == saved.any_rank_col_major);

    // A rank-0 xarray (xtensor's default: one element) and a scalar dataset.
    struct Scalar {
        xt::xarray<float> value;
    };
    Scalar s;
    s.value = xt::xarray<float>(2.5f);
    h5ser::save(s, dir.file("scalar.h5"));
    const auto loaded = h5ser::load<Scalar>(dir.file("scalar.h5"));
    CHECK(loaded.value.dimension() == 0);
    CHECK(loaded.value() == 2.5f);
    // The dtype still has to match.
    struct Ints {
        xt::xarray<std::int32_t> value;
    };
    const auto e = test::expect_error([&] { (void)h5ser::load<Ints>(dir.file("scalar.h5")); });
    CHECK(e.code() == h5ser::errc::dtype_mismatch);
    CHECK(test::contains(e.what(), "int32 of any rank"));
}
