// The data API: appendable row datasets, partial reads, batches, records.
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "support.hpp"

namespace {
h5ser::tensor<float, 2> rows_from(std::size_t first, std::size_t count, std::size_t width) {
    h5ser::tensor<float, 2> t({count, width});
    for (std::size_t r = 0; r < count; ++r)
        for (std::size_t c = 0; c < width; ++c) t(r, c) = static_cast<float>((first + r) * 1000 + c);
    return t;
}
struct Sample {
    std::int64_t id;
    float loss;
    bool kept;
    std::array<double, 2> xy;
};
}  // namespace

TEST_CASE("rows append in batches and read back as ranges, picked rows and batches") {
    test::scratch_dir dir;
    auto file = h5ser::data_file::create(dir.file("d.h5"));
    auto x = file.create_rows<float, 1>("train/x", {16});
    x.append(rows_from(0, 100, 16));
    x.append(rows_from(100, 23, 16));
    x.append_row(h5ser::tensor<float, 1>({16}));  // one zero row
    CHECK(x.size() == 124);
    CHECK(x.read(95, 10) == rows_from(95, 10, 16));
    const auto picked = x.read_rows({120, 3, 3, 77});
    CHECK(picked.shape() == std::array<std::size_t, 2>{4, 16});
    CHECK(picked(0, 5) == 120005.0f);
    CHECK(picked(1, 0) == 3000.0f);
    CHECK(picked(2, 0) == 3000.0f);
    CHECK(picked(3, 15) == 77015.0f);
    CHECK(x.read(123, 1)(0, 7) == 0.0f);  // the zero row appended last
    std::size_t seen = 0, batches = 0;
    for (const auto& b : x.batches(50)) {
        CHECK(b(0, 0) == static_cast<float>(seen * 1000));
        seen += b.shape()[0];
        ++batches;
    }
    CHECK(seen == 124);
    CHECK(batches == 3);
}

TEST_CASE("a row dataset outliving its data_file, and a moved data_file, still name the file in errors") {
    test::scratch_dir dir;
    std::optional<h5ser::row_dataset<float, 1>> orphan;
    {
        auto file = h5ser::data_file::create(dir.file("d.h5"));
        orphan.emplace(file.create_rows<float, 1>("x", {16}));
    }  // the data_file is gone; HDF5 keeps the file open for its dataset
    auto e = test::expect_error([&] { orphan->append(rows_from(0, 5, 15)); });
    CHECK(e.file() == dir.file("d.h5"));
    CHECK(e.code() == h5ser::errc::shape_mismatch);
    orphan.reset();

    // A short name lives inside the std::string itself, which a move does not carry over.
    const auto cwd = std::filesystem::current_path();
    std::filesystem::current_path(dir.path());
    std::optional<h5ser::data_file> moved;
    {
        auto file = h5ser::data_file::create("s.h5");
        moved.emplace(std::move(file));
    }
    auto rows = moved->create_rows<float, 1>("y", {16});
    moved.reset();
    std::filesystem::current_path(cwd);
    e = test::expect_error([&] { rows.append(rows_from(0, 5, 15)); });
    CHECK(e.file() == "s.h5");
    e = test::expect_error([&] { (void)rows.read(3, 1); });
    CHECK(e.file() == "s.h5");
}

TEST_CASE("a batch of the wrong row shape and reads out of range are errors naming the dataset") {
    test::scratch_dir dir;
    auto file = h5ser::data_file::create(dir.file("d.h5"));
    auto x = file.create_rows<float, 1>("x", {16});
    x.append(rows_from(0, 10, 16));
    auto e = test::expect_error([&] { x.append(rows_from(0, 5, 15)); });
    CHECK(e.code() == h5ser::errc::shape_mismatch);
    CHECK(e.hdf5_path() == "/x");
    CHECK(test::contains(e.what(), "expected rows float32[5, 16], found float32[5, 15]"));
    CHECK(x.size() == 10);
    e = test::expect_error([&] { (void)x.read(8, 5); });
    CHECK(e.code() == h5ser::errc::invalid_value);
    CHECK(test::contains(e.what(), "rows [8, 13)"));
    e = test::expect_error([&] { (void)x.read_rows({1, 10}); });
    CHECK(e.code() == h5ser::errc::invalid_value);
    e = test::expect_error([&] { (void)file.rows<double, 1>("x"); });
    CHECK(e.code() == h5ser::errc::dtype_mismatch);
}

TEST_CASE("appending across process restarts keeps the earlier rows") {
    test::scratch_dir dir;
    const std::string path = dir.file("log.h5");
    for (int run = 0; run < 3; ++run) {
        const auto outcome = test::run_in_child([&] {
            auto file = run == 0 ? h5ser::data_file::create(path) : h5ser::data_file::open(path);
            auto x = run == 0 ? file.create_rows<float, 1>("x", {8}) : file.rows<float, 1>("x");
            x.append(rows_from(static_cast<std::size_t>(run) * 7, 7, 8));
            return 0;
        });
        REQUIRE(outcome == test::child_outcome::exit_0);
    }
    auto file = h5ser::data_file::open(path, false);
    const auto x = file.rows<float, 1>("x");
    CHECK(x.size() == 21);
    CHECK(x.read(0, 21) == rows_from(0, 21, 8));
}

TEST_CASE("partial reads read only the chunks holding the requested rows") {
    test::scratch_dir dir;
    {
        auto file = h5ser::data_file::create(dir.file("big.h5"));
        auto x = file.create_rows<float, 1>("x", {784});
        for (std::size_t first = 0; first < 12000; first += 1000) x.append(rows_from(first, 1000, 784));  // 36 MiB
    }
    auto file = h5ser::data_file::open(dir.file("big.h5"), false);
    const auto x = file.rows<float, 1>("x");
    std::size_t before = test::bytes_read_so_far();
    const auto all = x.read(0, x.size());
    const std::size_t full = test::bytes_read_so_far() - before;
    before = test::bytes_read_so_far();
    const auto some = x.read(5000, 100);
    const std::size_t range = test::bytes_read_so_far() - before;
    before = test::bytes_read_so_far();
    const auto picked = x.read_rows({11999, 17, 6000, 6001});
    const std::size_t batch = test::bytes_read_so_far() - before;
    MESSAGE("bytes read: all rows " << full << ", 100 rows " << range << ", 4 scattered rows " << batch);
    CHECK(full >= all.size_bytes());
    CHECK(range < full / 50);  // under 2% of a full read
    CHECK(batch < full / 20);
    CHECK(some(0, 0) == 5000000.0f);
    CHECK(picked(2, 1) == 6000001.0f);
}

TEST_CASE("records are compound rows, and row datasets take storage policies") {
    test::scratch_dir dir;
    {
        auto file = h5ser::data_file::create(dir.file("log.h5"));
        auto log = file.create_rows<Sample, 0, h5ser::compressed>("log");
        for (std::int64_t i = 0; i < 5; ++i)
            log.append_row(Sample{i, 0.5f * static_cast<float>(i), i % 2 == 0, {1.0 * static_cast<double>(i), -2.0}});
    }
    auto file = h5ser::data_file::open(dir.file("log.h5"));
    auto log = file.rows<Sample>("log");
    log.append(std::vector<Sample>{{99, 9.5f, true, {0.25, 0.5}}});
    const auto all = log.read(0, log.size());
    REQUIRE(all.size() == 6);
    CHECK(all[3].id == 3);
    CHECK(all[3].loss == 1.5f);
    CHECK_FALSE(all[3].kept);
    CHECK(all[4].xy[0] == 4.0);
    CHECK(all[5].id == 99);
    CHECK(log.read_rows({5, 0})[0].xy[1] == 0.5);
}
