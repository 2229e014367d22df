// h5ser/eigen.hpp: Eigen matrices and arrays round trip bit for bit, and the file holds each matrix
// as every reader indexes it, f[i, j] == M(i, j), whatever its storage order (HighFive wrote
// column-major matrices transposed for years). Also std::span, loaded in place.
#include <h5ser/eigen.hpp>
#include <h5ser/keras.hpp>
#include <h5ser/safetensors.hpp>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "keras/fixture_models.hpp"
#include "support.hpp"

namespace {

using RowMajorXd = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

struct EigenModel {
    Eigen::MatrixXf col_major;  // Eigen's default storage order
    RowMajorXd row_major;
    Eigen::Matrix3f fixed;
    Eigen::Matrix<std::int32_t, 2, 3, Eigen::RowMajor> fixed_row_major;
    Eigen::Matrix<std::int64_t, 2, 3> fixed_col_major;
    Eigen::VectorXd vector;
    Eigen::RowVectorXi row_vector;
    Eigen::Vector4f fixed_vector;
    Eigen::ArrayXXf array;
    Eigen::Array<std::uint8_t, Eigen::Dynamic, 1> byte_array;
    std::string name = "eigen";
};

/// M(i, j) = 100 i + j + offset, so that a transposition or a wrong order shows.
template <class M>
void fill_indexed(M& m, double offset = 0) {
    for (Eigen::Index i = 0; i < m.rows(); ++i)
        for (Eigen::Index j = 0; j < m.cols(); ++j) m(i, j) = static_cast<typename M::Scalar>(100 * i + j + offset);
}

EigenModel sample() {
    EigenModel m;
    m.col_major.resize(3, 5);
    fill_indexed(m.col_major, 0.25);
    m.row_major.resize(4, 2);
    fill_indexed(m.row_major, 0.5);
    fill_indexed(m.fixed, 0.75);
    fill_indexed(m.fixed_row_major);
    fill_indexed(m.fixed_col_major, 7);
    m.vector = Eigen::VectorXd::LinSpaced(6, -1.0, 1.0);
    m.row_vector = Eigen::RowVectorXi::LinSpaced(5, 10, 14);
    m.fixed_vector << 1.5f, -2.5f, 3.5f, -4.5f;
    m.array.resize(2, 3);
    fill_indexed(m.array, 0.125);
    m.byte_array.resize(4);
    m.byte_array << 1, 2, 254, 255;
    return m;
}

template <class A, class B>
bool same_elements(const A& a, const B& b) {
    if (a.rows() != b.rows() || a.cols() != b.cols()) return false;
    for (Eigen::Index i = 0; i < a.rows(); ++i)
        for (Eigen::Index j = 0; j < a.cols(); ++j)
            if (std::memcmp(&a(i, j), &b(i, j), sizeof(a(i, j))) != 0) return false;
    return true;
}

bool same_model(const EigenModel& a, const EigenModel& b) {
    return same_elements(a.col_major, b.col_major) && same_elements(a.row_major, b.row_major) && same_elements(a.fixed, b.fixed) &&
           same_elements(a.fixed_row_major, b.fixed_row_major) && same_elements(a.fixed_col_major, b.fixed_col_major) &&
           same_elements(a.vector, b.vector) && same_elements(a.row_vector, b.row_vector) &&
           same_elements(a.fixed_vector, b.fixed_vector) && same_elements(a.array, b.array) && same_elements(a.byte_array, b.byte_array) &&
           a.name == b.name;
}

/// The same file through plain h5ser tensors: the oracle for the layout.
struct TensorView {
    h5ser::tensor<float, 2> col_major;
    h5ser::tensor<double, 2> row_major;
    h5ser::tensor<float, 2> fixed;
    h5ser::tensor<std::int32_t, 2> fixed_row_major;
    h5ser::tensor<std::int64_t, 2> fixed_col_major;
    h5ser::tensor<double, 1> vector;
    h5ser::tensor<std::int32_t, 1> row_vector;
    h5ser::tensor<float, 1> fixed_vector;
    h5ser::tensor<float, 2> array;
    h5ser::tensor<std::uint8_t, 1> byte_array;
    std::string name;
};

template <class M, class T>
bool indexed_alike(const M& m, const T& t) {
    if (t.shape() != std::array<std::size_t, 2>{static_cast<std::size_t>(m.rows()), static_cast<std::size_t>(m.cols())}) return false;
    for (Eigen::Index i = 0; i < m.rows(); ++i)
        for (Eigen::Index j = 0; j < m.cols(); ++j)
            if (t(static_cast<std::size_t>(i), static_cast<std::size_t>(j)) != m(i, j)) return false;
    return true;
}

}  // namespace

TEST_CASE("eigen: every storage order, fixed and dynamic sizes, vectors and arrays round trip bit for bit") {
    test::scratch_dir dir;
    const EigenModel saved = sample();
    h5ser::save(saved, dir.file("eigen.h5"));
    CHECK(same_model(h5ser::load<EigenModel>(dir.file("eigen.h5")), saved));
    CHECK(same_model(h5ser::load<EigenModel, h5ser::owned_memory>(dir.file("eigen.h5")), saved));
    h5ser::save<h5ser::compressed>(saved, dir.file("compact.h5"));  // chunked and compressed: read through HDF5
    CHECK(same_model(h5ser::load<EigenModel>(dir.file("compact.h5")), saved));
    // load_into a model that has its shapes, and a weights-only file.
    EigenModel into = sample();
    into.col_major.setZero();
    h5ser::load_into(into, dir.file("eigen.h5"));
    CHECK(same_model(into, saved));
    h5ser::save<h5ser::weights_only>(saved, dir.file("weights.h5"));
    EigenModel weights_only;
    h5ser::load_into<h5ser::weights_only>(weights_only, dir.file("weights.h5"));
    CHECK(same_elements(weights_only.col_major, saved.col_major));
    // A background save writes the same file.
    h5ser::save_async(saved, dir.file("async.h5")).wait();
    CHECK(test::file_bytes(dir.file("async.h5")) == test::file_bytes(dir.file("eigen.h5")));
    // The same bytes as the same values held in h5ser::tensor: the fingerprint is the file's.
    CHECK(h5ser::fingerprint(saved) == h5ser::file_fingerprint(dir.file("eigen.h5")));
}

TEST_CASE("eigen: the file holds M(i, j) at [i, j] in both storage orders (read back as plain tensors)") {
    test::scratch_dir dir;
    const EigenModel saved = sample();
    h5ser::save(saved, dir.file("eigen.h5"));
    const auto t = h5ser::load<TensorView>(dir.file("eigen.h5"));
    CHECK(indexed_alike(saved.col_major, t.col_major));
    CHECK(indexed_alike(saved.row_major, t.row_major));
    CHECK(indexed_alike(saved.fixed, t.fixed));
    CHECK(indexed_alike(saved.fixed_row_major, t.fixed_row_major));
    CHECK(indexed_alike(saved.fixed_col_major, t.fixed_col_major));
    CHECK(indexed_alike(saved.array, t.array));
    CHECK(t.vector.shape() == std::array<std::size_t, 1>{6});
    CHECK(t.row_vector.shape() == std::array<std::size_t, 1>{5});
    CHECK(t.row_vector(4) == 14);
    // And the other way: a C-order file into column-major matrices.
    h5ser::save(t, dir.file("tensors.h5"));
    CHECK(same_model(h5ser::load<EigenModel>(dir.file("tensors.h5")), saved));
}

TEST_CASE("eigen: h5py sees shape (rows, cols) and f[i, j] == M(i, j) for both storage orders") {
    if (!test::have_h5py()) {
        std::printf("SKIPPED: /usr/bin/python3 has no h5py\n");
        return;
    }
    test::scratch_dir dir;
    h5ser::save(sample(), dir.file("eigen.h5"));
    const std::string script =
        "import h5py, sys\n"
        "f = h5py.File(sys.argv[1], 'r')\n"
        "for name, rows, cols, offset in (('col_major', 3, 5, 0.25), ('row_major', 4, 2, 0.5), ('fixed', 3, 3, 0.75),\n"
        "                                 ('fixed_row_major', 2, 3, 0), ('fixed_col_major', 2, 3, 7), ('array', 2, 3, 0.125)):\n"
        "    d = f[name][()]\n"
        "    assert d.shape == (rows, cols), (name, d.shape)\n"
        "    for i in range(rows):\n"
        "        for j in range(cols):\n"
        "            assert d[i, j] == 100 * i + j + offset, (name, i, j, d[i, j])\n"
        "assert list(f['row_vector'][()]) == [10, 11, 12, 13, 14]\n"
        "assert f['vector'].shape == (6,)\n";
    CHECK(test::run_h5py_script(dir, script, dir.file("eigen.h5")) == 0);
}

TEST_CASE("eigen: a .safetensors file holds M(i, j) at [i, j] in both storage orders, and loads back into either") {
    test::scratch_dir dir;
    const EigenModel saved = sample();
    const std::string path = dir.file("eigen.safetensors");
    h5ser::safetensors::save(saved, path);  // the tensors; `name` is a hyperparameter, not kept
    // C order, as PyTorch and NumPy index the file: plain tensors see M(i, j) at [i, j].
    TensorView t;
    h5ser::load_into<h5ser::weights_only>(t, path);
    CHECK(indexed_alike(saved.col_major, t.col_major));
    CHECK(indexed_alike(saved.row_major, t.row_major));
    CHECK(indexed_alike(saved.fixed, t.fixed));
    CHECK(indexed_alike(saved.fixed_col_major, t.fixed_col_major));
    CHECK(indexed_alike(saved.array, t.array));
    EigenModel back;
    h5ser::load_into<h5ser::weights_only>(back, path);
    CHECK(same_model(back, saved));
    // And a file of C-order tensors into column-major matrices.
    h5ser::safetensors::save(t, dir.file("tensors.safetensors"));
    EigenModel from_tensors;
    h5ser::load_into<h5ser::weights_only>(from_tensors, dir.file("tensors.safetensors"));
    CHECK(same_model(from_tensors, saved));
}

TEST_CASE("eigen: a failed load leaves the matrices as they were, and fixed sizes must match the file") {
    test::scratch_dir dir;
    h5ser::save(sample(), dir.file("eigen.h5"));
    EigenModel m = sample();
    m.col_major.resize(2, 2);
    m.col_major.setConstant(-1.0f);
    m.fixed.setConstant(9.0f);
    const auto e = test::expect_error([&] { h5ser::load_into(m, dir.file("eigen.h5")); });
    CHECK(e.code() == h5ser::errc::shape_mismatch);
    CHECK(e.field_path() == "col_major");
    CHECK(m.col_major.rows() == 2);
    CHECK(m.col_major(1, 1) == -1.0f);
    CHECK(m.fixed(0, 0) == 9.0f);  // untouched although its own dataset was fine

    struct Wider {
        Eigen::Matrix4f fixed;
    };
    struct Narrow {
        Eigen::Matrix3f fixed;
    };
    h5ser::save(Narrow{Eigen::Matrix3f::Identity()}, dir.file("narrow.h5"));
    CHECK(test::expect_error([&] { (void)h5ser::load<Wider>(dir.file("narrow.h5")); }).code() == h5ser::errc::shape_mismatch);
}

TEST_CASE("eigen: Keras weights load into an Eigen-typed struct as into h5ser tensors") {
    const std::string path = fixtures::keras_fixture("k3_mlp_adam.weights.h5");
    if (path.empty()) return;
    struct Dense {
        Eigen::MatrixXf kernel;  // column-major: transposed on the way in
        Eigen::VectorXf bias;
    };
    struct Mlp {
        Dense dense, dense_1, dense_2;
    };
    Mlp eigen;
    h5ser::keras::load_weights(eigen, path);
    fixtures::Mlp3 tensors;
    h5ser::keras::load_weights(tensors, path);
    CHECK(indexed_alike(eigen.dense.kernel, tensors.dense.kernel));
    CHECK(indexed_alike(eigen.dense_2.kernel, tensors.dense_2.kernel));
    REQUIRE(eigen.dense_1.bias.size() == static_cast<Eigen::Index>(tensors.dense_1.bias.size()));
    CHECK(std::memcmp(eigen.dense_1.bias.data(), tensors.dense_1.bias.data(), tensors.dense_1.bias.size_bytes()) == 0);
    // And back to Keras's layout, the same datasets.
    test::scratch_dir dir;
    h5ser::keras::save_weights(eigen, dir.file("back.h5"));
    fixtures::Mlp3 again;
    h5ser::keras::load_weights(again, dir.file("back.h5"));
    CHECK(h5ser::fingerprint(again) == h5ser::fingerprint(tensors));
}

TEST_CASE("span: saved from and loaded into the caller's memory, and a size mismatch is an error") {
    struct Pinned {
        std::span<float> weights;
        std::span<std::int64_t> counts;
    };
    test::scratch_dir dir;
    std::vector<float> source{1.5f, -2.5f, 3.25f, 4.0f};
    std::array<std::int64_t, 3> counts{7, -8, 9};
    h5ser::save(Pinned{source, counts}, dir.file("span.h5"));

    std::vector<float> buffer(4, 0.0f);
    std::array<std::int64_t, 3> counts_back{};
    Pinned into{buffer, counts_back};
    h5ser::load_into(into, dir.file("span.h5"));
    CHECK(buffer == source);  // written into the caller's own memory
    CHECK(counts_back == counts);
    CHECK(into.weights.data() == buffer.data());

    std::vector<float> small(3, -1.0f);
    Pinned wrong{small, counts_back};
    const auto e = test::expect_error([&] { h5ser::load_into(wrong, dir.file("span.h5")); });
    CHECK(e.code() == h5ser::errc::shape_mismatch);
    CHECK(e.field_path() == "weights");
    CHECK(small == std::vector<float>(3, -1.0f));
}

TEST_CASE("span of const: saved from read-only memory, loaded into a struct that owns its elements") {
    // Weights in a read-only mapping: writing through the span would fault, so a save that touched
    // them for anything but reading would crash this test.
    test::scratch_dir dir;
    std::vector<float> values(1000);
    for (std::size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i) * 0.37f - 11.0f;
    const std::string raw = dir.file("weights.raw");
    {
        std::FILE* f = std::fopen(raw.c_str(), "wb");
        REQUIRE(f);
        REQUIRE(std::fwrite(values.data(), sizeof(float), values.size(), f) == values.size());
        std::fclose(f);
    }
    const int fd = ::open(raw.c_str(), O_RDONLY);
    REQUIRE(fd >= 0);
    void* mapped = ::mmap(nullptr, values.size() * sizeof(float), PROT_READ, MAP_PRIVATE, fd, 0);
    ::close(fd);
    REQUIRE(mapped != MAP_FAILED);

    struct Frozen {
        std::span<const float> weights;
        std::span<const std::int64_t> counts;
        int step = 0;
    };
    struct Thawed {
        std::vector<float> weights;
        h5ser::tensor<std::int64_t, 1> counts;
        int step = 0;
    };
    const std::array<std::int64_t, 3> counts{7, -8, 9};
    const Frozen frozen{std::span<const float>(static_cast<const float*>(mapped), values.size()), counts, 12};

    h5ser::save(frozen, dir.file("frozen.h5"));
    h5ser::save_async(frozen, dir.file("frozen-async.h5")).wait();
    h5ser::safetensors::save(frozen, dir.file("frozen.safetensors"));
    for (const char* name : {"frozen.h5", "frozen-async.h5", "frozen.safetensors"}) {
        CAPTURE(name);
        const bool safetensors = name == std::string("frozen.safetensors");  // tensors only: step stays as it was
        Thawed back;
        if (safetensors) h5ser::load_into<h5ser::weights_only>(back, dir.file(name));
        else back = h5ser::load<Thawed>(dir.file(name));
        REQUIRE(back.weights.size() == values.size());
        CHECK(std::memcmp(back.weights.data(), values.data(), values.size() * sizeof(float)) == 0);
        REQUIRE(back.counts.size() == counts.size());
        CHECK(std::equal(counts.begin(), counts.end(), back.counts.data()));
        CHECK(back.step == (safetensors ? 0 : 12));
    }
    // The same model, saved from its own memory, has the same fingerprint.
    CHECK(h5ser::fingerprint(frozen) == h5ser::fingerprint(h5ser::load<Thawed>(dir.file("frozen.h5"))));
    ::munmap(mapped, values.size() * sizeof(float));
}
