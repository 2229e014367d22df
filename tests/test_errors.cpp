// Bad input gets an h5ser::error that says what, where (C++ field path and HDF5 path), expected vs
// found, and the user's model is left as it was.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "support.hpp"

namespace {
struct Dense {
    h5ser::tensor<float, 2> kernel;
    h5ser::tensor<float, 1> bias;
    int units = 0;
};
struct Mlp {
    Dense layer_1;
    Dense layer_2;
};
Mlp make_mlp() {
    Mlp m{{h5ser::tensor<float, 2>({4, 8}), h5ser::tensor<float, 1>({8}), 8},
          {h5ser::tensor<float, 2>({8, 2}), h5ser::tensor<float, 1>({2}), 2}};
    m.layer_2.kernel(3, 1) = 2.5f;
    return m;
}
struct MlpWithDoubleBias {
    Dense layer_1;
    struct {
        h5ser::tensor<float, 2> kernel;
        h5ser::tensor<double, 1> bias;
        int units = 0;
    } layer_2;
};
}  // namespace

TEST_CASE("a missing dataset names the field path, the HDF5 path and what was expected") {
    test::scratch_dir dir;
    h5ser::save(make_mlp(), dir.file("m.h5"));
    { test::raw_file(dir.file("m.h5")).remove("/layer_2/bias"); }
    const auto e = test::expect_error([&] { (void)h5ser::load<Mlp>(dir.file("m.h5")); });
    CHECK(e.code() == h5ser::errc::missing_field);
    CHECK(e.field_path() == "layer_2.bias");
    CHECK(e.hdf5_path() == "/layer_2/bias");
    CHECK(test::contains(e.what(), "missing field at layer_2.bias (/layer_2/bias): expected dataset float32, found nothing"));
}

TEST_CASE("an unexpected dataset is reported with its path") {
    test::scratch_dir dir;
    h5ser::save(make_mlp(), dir.file("m.h5"));
    { test::raw_file(dir.file("m.h5")).write_float_dataset("/layer_1/training_inputs", {100, 4}); }
    const auto e = test::expect_error([&] { (void)h5ser::load<Mlp>(dir.file("m.h5")); });
    CHECK(e.code() == h5ser::errc::unexpected_field);
    CHECK(e.hdf5_path() == "/layer_1/training_inputs");
    CHECK(test::contains(e.what(), "the struct has no field of this name"));
}

TEST_CASE("a wrong shape names both shapes, load_into leaves the model untouched") {
    test::scratch_dir dir;
    h5ser::save(make_mlp(), dir.file("m.h5"));
    Mlp target = make_mlp();
    target.layer_2.kernel = h5ser::tensor<float, 2>({8, 3});
    target.layer_1.units = 12345;
    const Mlp before = target;
    const auto e = test::expect_error([&] { h5ser::load_into(target, dir.file("m.h5")); });
    CHECK(e.code() == h5ser::errc::shape_mismatch);
    CHECK(e.field_path() == "layer_2.kernel");
    CHECK(test::contains(e.what(), "expected dataset float32[8, 3], found dataset float32[8, 2]"));
    CHECK(target.layer_1.units == 12345);  // no partial overwrite, although layer_1 loaded cleanly
    CHECK(test::same_bytes(target.layer_1.kernel, before.layer_1.kernel));
    CHECK(test::same_bytes(target.layer_2.kernel, before.layer_2.kernel));
}

TEST_CASE("a wrong dtype names both dtypes") {
    test::scratch_dir dir;
    h5ser::save(make_mlp(), dir.file("m.h5"));
    const auto e = test::expect_error([&] { (void)h5ser::load<MlpWithDoubleBias>(dir.file("m.h5")); });
    CHECK(e.code() == h5ser::errc::dtype_mismatch);
    CHECK(e.field_path() == "layer_2.bias");
    CHECK(test::contains(e.what(), "expected dataset float64 of rank 1, found dataset float32[2]"));
}

TEST_CASE("an attribute of another type is a dtype mismatch") {
    test::scratch_dir dir;
    h5ser::save(make_mlp(), dir.file("m.h5"));
    { test::raw_file(dir.file("m.h5")).write_int_attribute("/layer_1", "units", 7); }  // int64, field is int32
    const auto e = test::expect_error([&] { (void)h5ser::load<Mlp>(dir.file("m.h5")); });
    CHECK(e.code() == h5ser::errc::dtype_mismatch);
    CHECK(e.field_path() == "layer_1.units");
    CHECK(test::contains(e.what(), "expected attribute int32 scalar, found attribute int64 scalar"));
}

TEST_CASE("every problem of a strict load is listed in one error") {
    test::scratch_dir dir;
    h5ser::save(make_mlp(), dir.file("m.h5"));
    {
        test::raw_file f(dir.file("m.h5"));
        f.remove("/layer_1/bias");
        f.remove("/layer_2/kernel");
        f.write_float_dataset("/layer_2/kernel", {16});  // rank 1 where the field has rank 2
        f.write_float_dataset("/extra", {3});
    }
    const auto e = test::expect_error([&] { (void)h5ser::load<Mlp>(dir.file("m.h5")); });
    REQUIRE(e.problems().size() == 3);
    CHECK(e.problems()[0].code == h5ser::errc::missing_field);
    CHECK(e.problems()[1].code == h5ser::errc::shape_mismatch);
    CHECK(e.problems()[2].code == h5ser::errc::unexpected_field);
    CHECK(test::contains(e.what(), "3 problems in '"));
    CHECK(std::string(e.what()) + "\n" ==
          test::replaced(test::documented_output("docs/integrity.md", "strict load error"), {{"'m.h5'", "'" + dir.file("m.h5") + "'"}}));
}

TEST_CASE("file not found, not an HDF5 file, not an h5ser file") {
    test::scratch_dir dir;
    auto e = test::expect_error([&] { (void)h5ser::load<Mlp>(dir.file("nope.h5")); });
    CHECK(e.code() == h5ser::errc::file_not_found);
    CHECK(test::contains(e.what(), dir.file("nope.h5")));

    std::ofstream(dir.file("text.h5")) << "this is not HDF5\n";
    e = test::expect_error([&] { (void)h5ser::load<Mlp>(dir.file("text.h5")); });
    CHECK(e.code() == h5ser::errc::not_hdf5);
    CHECK(test::contains(e.what(), "text.h5"));

    {
        test::raw_file f(dir.file("plain.h5"), true);
        f.write_float_dataset("/x", {2});
    }
    e = test::expect_error([&] { (void)h5ser::load<Mlp>(dir.file("plain.h5")); });
    CHECK(e.code() == h5ser::errc::not_h5ser_file);
    CHECK(test::contains(e.what(), "plain.h5"));
}

TEST_CASE("a file from a newer format version is refused, naming both versions") {
    test::scratch_dir dir;
    h5ser::save(make_mlp(), dir.file("m.h5"));
    {
        test::raw_file f(dir.file("m.h5"));
        H5Adelete(f.id(), "h5ser_format_version");
        const hid_t space = H5Screate(H5S_SCALAR);
        const hid_t attr = H5Acreate2(f.id(), "h5ser_format_version", H5T_STD_I32LE, space, H5P_DEFAULT, H5P_DEFAULT);
        const int v = 99;
        H5Awrite(attr, H5T_NATIVE_INT, &v);
        H5Aclose(attr);
        H5Sclose(space);
    }
    const auto e = test::expect_error([&] { (void)h5ser::load<Mlp>(dir.file("m.h5")); });
    CHECK(e.code() == h5ser::errc::unsupported_format);
    CHECK(test::contains(e.what(), "format version 99"));
    CHECK(test::contains(e.what(), "format version 2 or older"));
}

TEST_CASE("soft and external links are refused, not followed") {
    test::scratch_dir dir;
    h5ser::save(make_mlp(), dir.file("m.h5"));
    {
        test::raw_file f(dir.file("m.h5"));
        f.remove("/layer_2/bias");
        REQUIRE(H5Lcreate_soft("/layer_1/bias", f.id(), "/layer_2/bias", H5P_DEFAULT, H5P_DEFAULT) >= 0);
        f.remove("/layer_1/kernel");
        REQUIRE(H5Lcreate_external("/etc/elsewhere.h5", "/k", f.id(), "/layer_1/kernel", H5P_DEFAULT, H5P_DEFAULT) >= 0);
    }
    const auto e = test::expect_error([&] { (void)h5ser::load<Mlp>(dir.file("m.h5")); });
    REQUIRE(e.problems().size() == 2);  // one problem per link: refused, not also "missing"
    CHECK(e.problems()[0].code == h5ser::errc::unsafe_file);
    CHECK(e.problems()[1].code == h5ser::errc::unsafe_file);
    CHECK(test::contains(e.what(), "found external link"));
    CHECK(test::contains(e.what(), "found soft link"));
}

TEST_CASE("a bool stored as a byte other than 0 or 1 is refused") {
    struct Flags {
        h5ser::tensor<bool, 1> mask;
    };
    test::scratch_dir dir;
    h5ser::save(Flags{h5ser::tensor<bool, 1>({3}, {true, false, true})}, dir.file("b.h5"));
    {
        test::raw_file f(dir.file("b.h5"));
        const hid_t ds = H5Dopen2(f.id(), "/mask", H5P_DEFAULT);
        const unsigned char bytes[3] = {1, 7, 0};
        const hid_t type = H5Dget_type(ds);  // the file's own enum type: the bytes go in unconverted
        REQUIRE(H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, bytes) >= 0);
        H5Tclose(type);
        H5Dclose(ds);
    }
    // The checksum would catch the rewrite first; skip it to reach the bool check.
    const auto e = test::expect_error([&] { (void)h5ser::load<Flags, h5ser::no_verify>(dir.file("b.h5")); });
    CHECK(e.code() == h5ser::errc::invalid_value);
    CHECK(test::contains(e.what(), "byte value 7 at element 1"));
}

TEST_CASE("strings with NUL bytes and unusable map keys are refused at save, the previous file survives") {
    struct Named {
        std::string label;
        std::map<std::string, int> table;
    };
    test::scratch_dir dir;
    h5ser::save(Named{"good", {{"a", 1}}}, dir.file("n.h5"));

    auto e = test::expect_error([&] { h5ser::save(Named{std::string("bad\0label", 9), {}}, dir.file("n.h5")); });
    CHECK(e.code() == h5ser::errc::invalid_value);
    CHECK(e.field_path() == "label");
    CHECK(test::contains(e.what(), "NUL byte at offset 3"));

    e = test::expect_error([&] { h5ser::save(Named{"x", {{"a/b", 1}}}, dir.file("n.h5")); });
    CHECK(e.field_path() == "table");
    CHECK(test::contains(e.what(), "map key 'a/b'"));

    CHECK(h5ser::load<Named>(dir.file("n.h5")).label == "good");
    CHECK(test::count_files(dir.path()) == 1);  // no temporary files left behind
}

TEST_CASE("saving into a missing or read-only directory names the directory") {
    test::scratch_dir dir;
    auto e = test::expect_error([&] { h5ser::save(make_mlp(), dir.file("no/such/dir/m.h5")); });
    CHECK(e.code() == h5ser::errc::io);
    CHECK(test::contains(e.what(), "no/such/dir"));

    const std::string locked = dir.file("locked");
    std::filesystem::create_directory(locked);
    ::chmod(locked.c_str(), 0555);
    // Root ignores directory permissions, so the check runs in a child that drops to "nobody".
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) ::_exit(3);
        try {
            h5ser::save(make_mlp(), locked + "/m.h5");
        } catch (const h5ser::error& err) {
            const std::string what = err.what();
            ::_exit(what.find("cannot create a file in '" + locked + "'") != std::string::npos &&
                            what.find("Permission denied") != std::string::npos
                        ? 0
                        : 2);
        }
        ::_exit(1);
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    ::chmod(locked.c_str(), 0755);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("a file cut short is refused by its seal, without a seal HDF5's error stack says why") {
    struct Big {
        h5ser::tensor<float, 2> weights;
    };
    test::scratch_dir dir;
    h5ser::save(Big{h5ser::tensor<float, 2>({256, 256})}, dir.file("big.h5"));
    const auto size = std::filesystem::file_size(dir.file("big.h5"));
    std::filesystem::resize_file(dir.file("big.h5"), size / 2);
    auto e = test::expect_error([&] { (void)h5ser::load<Big>(dir.file("big.h5")); });
    CHECK(e.code() == h5ser::errc::checksum_mismatch);
    CHECK(test::contains(e.what(), "the file has " + std::to_string(size / 2) + " bytes, the seal says " + std::to_string(size)));

    test::unseal(dir.file("big.h5"));  // as if another program had written it
    e = test::expect_error([&] { (void)h5ser::load<Big>(dir.file("big.h5")); });
    CHECK((e.code() == h5ser::errc::hdf5 || e.code() == h5ser::errc::io));
    CHECK_FALSE(e.hdf5_stack().empty());
    CHECK(test::contains(e.what(), "big.h5"));
    CHECK(test::contains(e.what(), "HDF5 error stack:"));
}
