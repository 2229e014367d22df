// Storage policies: layouts, filters, presets and per-field overrides. Values stay bit-exact under
// every filter; h5py's view of the same files is checked in tests/h5py/check_storage.py.
#include <H5PLpublic.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>

#include "support.hpp"

namespace {
struct Weights {
    h5ser::tensor<float, 2> kernel;
    h5ser::tensor<float, 1> bias;
    h5ser::tensor<std::int16_t, 3> codes;
};
// Realistic weights: normal * 0.05, or the same quantized to 256 levels (which compresses well).
float quantize(float x) { return std::clamp(std::round(x / 0.2f * 128.0f), -128.0f, 127.0f) * (0.2f / 128.0f); }
Weights make_weights(std::size_t rows, bool quantized) {
    std::mt19937 rng(5);
    std::normal_distribution<float> normal(0.0f, 0.05f);
    Weights w{h5ser::tensor<float, 2>({rows, 256}), h5ser::tensor<float, 1>({256}), h5ser::tensor<std::int16_t, 3>({4, 5, 6})};
    for (float& x : w.kernel) x = quantized ? quantize(normal(rng)) : normal(rng);
    for (float& x : w.bias) x = normal(rng);
    for (std::size_t i = 0; i < w.codes.size(); ++i) w.codes.data()[i] = static_cast<std::int16_t>(i * 37 - 400);
    return w;
}
bool same_weights(const Weights& a, const Weights& b) {
    return test::same_bytes(a.kernel, b.kernel) && test::same_bytes(a.bias, b.bias) && test::same_bytes(a.codes, b.codes);
}
template <class... P>
void check_round_trip(const test::scratch_dir& dir, const Weights& w, const char* name) {
    CAPTURE(name);
    h5ser::save<P...>(w, dir.file(name));
    CHECK(same_weights(h5ser::load<Weights>(dir.file(name)), w));
}
struct dataset_facts {
    H5D_layout_t layout;
    std::vector<H5Z_filter_t> filters;
    std::vector<hsize_t> chunks;
};
dataset_facts facts(const std::string& file, const char* dataset) {
    const hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    const hid_t d = H5Dopen2(f, dataset, H5P_DEFAULT);
    const hid_t dcpl = H5Dget_create_plist(d);
    dataset_facts out{H5Pget_layout(dcpl), {}, {}};
    for (int i = 0; i < H5Pget_nfilters(dcpl); ++i) {
        unsigned flags = 0;
        std::size_t n = 0;
        out.filters.push_back(H5Pget_filter2(dcpl, static_cast<unsigned>(i), &flags, &n, nullptr, 0, nullptr, nullptr));
    }
    if (out.layout == H5D_CHUNKED) {
        out.chunks.resize(8);
        out.chunks.resize(static_cast<std::size_t>(H5Pget_chunk(dcpl, 8, out.chunks.data())));
    }
    H5Pclose(dcpl);
    H5Dclose(d);
    H5Fclose(f);
    return out;
}
}  // namespace

TEST_CASE("every layout, filter and preset round-trips bit for bit") {
    test::scratch_dir dir;
    const Weights w = make_weights(300, false);
    check_round_trip<>(dir, w, "default.h5");
    check_round_trip<h5ser::fast>(dir, w, "fast.h5");
    check_round_trip<h5ser::compressed>(dir, w, "compact.h5");
    check_round_trip<h5ser::archival>(dir, w, "archival.h5");
    check_round_trip<h5ser::auto_chunk>(dir, w, "auto_chunk.h5");
    check_round_trip<h5ser::chunked<7, 33>>(dir, w, "chunked.h5");  // applies to the 2-D kernel only
    check_round_trip<h5ser::shuffle, h5ser::deflate<1>>(dir, w, "deflate1.h5");
    check_round_trip<h5ser::fletcher32>(dir, w, "fletcher.h5");
    check_round_trip<h5ser::lz4<>>(dir, w, "lz4.h5");
    check_round_trip<h5ser::bzip2<>>(dir, w, "bzip2.h5");
    check_round_trip<h5ser::blosc<5, h5ser::blosc_codec::lz4>>(dir, w, "blosc_lz4.h5");
    check_round_trip<h5ser::blosc<5, h5ser::blosc_codec::zstd, h5ser::blosc_shuffle::byte>>(dir, w, "blosc_zstd.h5");
    check_round_trip<h5ser::compact_below<0>>(dir, w, "no_compact.h5");
}

TEST_CASE("layouts are what was asked for") {
    test::scratch_dir dir;
    const Weights w = make_weights(300, false);
    h5ser::save(w, dir.file("default.h5"));
    CHECK(facts(dir.file("default.h5"), "/kernel").layout == H5D_CONTIGUOUS);
    CHECK(facts(dir.file("default.h5"), "/bias").layout == H5D_COMPACT);  // 1 KiB < 4 KiB
    h5ser::save<h5ser::compact_below<0>>(w, dir.file("no_compact.h5"));
    CHECK(facts(dir.file("no_compact.h5"), "/bias").layout == H5D_CONTIGUOUS);

    h5ser::save<h5ser::compressed>(w, dir.file("compact.h5"));
    const auto kernel = facts(dir.file("compact.h5"), "/kernel");
    CHECK(kernel.layout == H5D_CHUNKED);
    CHECK(kernel.filters == std::vector<H5Z_filter_t>{H5Z_FILTER_SHUFFLE, H5Z_FILTER_DEFLATE});
    h5ser::save<h5ser::archival>(w, dir.file("archival.h5"));
    CHECK(facts(dir.file("archival.h5"), "/kernel").filters ==  // deflate at level 6
          std::vector<H5Z_filter_t>{H5Z_FILTER_SHUFFLE, H5Z_FILTER_DEFLATE, H5Z_FILTER_FLETCHER32});

    h5ser::save<h5ser::chunked<64, 100>, h5ser::lz4<>>(w, dir.file("chunked.h5"));
    CHECK(facts(dir.file("chunked.h5"), "/kernel").chunks == std::vector<hsize_t>{64, 100});
}

TEST_CASE("a field's chunk shape of the wrong rank names the field, a call-wide one applies to its rank only") {
    struct Cube {
        h5ser::tensor<float, 3> c;
    };
    struct OwnShape {
        h5ser::stored<h5ser::tensor<float, 3>, h5ser::chunked<4, 4>> c;
    };
    test::scratch_dir dir;
    h5ser::save<h5ser::chunked<4, 4>>(Cube{h5ser::tensor<float, 3>({8, 8, 8})}, dir.file("call.h5"));
    CHECK(facts(dir.file("call.h5"), "/c").chunks.size() == 3);  // auto_chunk for the 3-D tensor
    const auto e = test::expect_error([&] { h5ser::save(OwnShape{{h5ser::tensor<float, 3>({8, 8, 8})}}, dir.file("c.h5")); });
    CHECK(e.code() == h5ser::errc::invalid_value);
    CHECK(e.field_path() == "c");
    CHECK(test::contains(e.what(), "expected a chunk shape of rank 3, found rank 2"));
}

namespace {
struct Mixed {
    h5ser::stored<h5ser::tensor<float, 2>, h5ser::shuffle, h5ser::deflate<9>> embedding;
    h5ser::stored<h5ser::tensor<float, 2>, h5ser::contiguous> head;
    h5ser::stored<h5ser::tensor<float, 2>, h5ser::chunked<>> runtime_chunks;
    h5ser::tensor<float, 2> plain;
};
}  // namespace

TEST_CASE("a field's own policies replace the call's, including a chunk shape given at run time") {
    test::scratch_dir dir;
    const Weights src = make_weights(64, true);
    Mixed m{{src.kernel}, {src.kernel}, {src.kernel, {16, 32}}, src.kernel};
    CHECK(m.embedding->shape() == std::array<std::size_t, 2>{64, 256});  // the wrapper gives access to the value
    h5ser::save<h5ser::lz4<>>(m, dir.file("mixed.h5"));
    CHECK(facts(dir.file("mixed.h5"), "/embedding").filters == std::vector<H5Z_filter_t>{H5Z_FILTER_SHUFFLE, H5Z_FILTER_DEFLATE});
    CHECK(facts(dir.file("mixed.h5"), "/head").layout == H5D_CONTIGUOUS);
    CHECK(facts(dir.file("mixed.h5"), "/runtime_chunks").chunks == std::vector<hsize_t>{16, 32});
    CHECK(facts(dir.file("mixed.h5"), "/runtime_chunks").filters == std::vector<H5Z_filter_t>{32004});
    CHECK(facts(dir.file("mixed.h5"), "/plain").filters == std::vector<H5Z_filter_t>{32004});
    const auto loaded = h5ser::load<Mixed>(dir.file("mixed.h5"));
    CHECK(test::same_bytes(loaded.embedding.value, src.kernel));
    CHECK(test::same_bytes(*loaded.runtime_chunks, src.kernel));
}

TEST_CASE("on quantized weights the compressed preset is measurably smaller than contiguous storage") {
    test::scratch_dir dir;
    const Weights w = make_weights(1024, true);  // 1 MiB of kernel
    h5ser::save<h5ser::fast>(w, dir.file("fast.h5"));
    h5ser::save<h5ser::compressed>(w, dir.file("compact.h5"));
    h5ser::save<h5ser::archival>(w, dir.file("archival.h5"));
    const auto fast = std::filesystem::file_size(dir.file("fast.h5"));
    const auto small = std::filesystem::file_size(dir.file("compact.h5"));
    const auto smallest = std::filesystem::file_size(dir.file("archival.h5"));
    MESSAGE("fast " << fast << " B, compact " << small << " B, archival " << smallest << " B");
    CHECK(small < fast * 7 / 10);
    CHECK(smallest <= small + 4096);
}

TEST_CASE("a filter this HDF5 cannot load is an error at save time naming it, the previous file survives") {
    test::scratch_dir dir;
    const Weights w = make_weights(16, false);
    h5ser::save(w, dir.file("w.h5"));
    const auto e = test::expect_error([&] { h5ser::save<h5ser::plugin_filter<60000, 1, 2>>(w, dir.file("w.h5")); });
    CHECK(e.code() == h5ser::errc::missing_filter);
    CHECK(e.field_path() == "kernel");
    CHECK(test::contains(e.what(), "(HDF5 filter 60000) is not available to write with"));
    CHECK(test::contains(e.what(), "HDF5_PLUGIN_PATH"));
    CHECK(same_weights(h5ser::load<Weights>(dir.file("w.h5")), w));
    if (H5Zfilter_avail(32000) <= 0) {  // Debian 12: the LZF plugin does not load
        const auto lzf = test::expect_error([&] { h5ser::save<h5ser::lzf>(w, dir.file("w.h5")); });
        CHECK(test::contains(lzf.what(), "the lzf filter (HDF5 filter 32000) is not available"));
    }
}

TEST_CASE("reading a file whose filter plugin is missing names the plugin") {
    test::scratch_dir dir;
    const Weights w = make_weights(16, false);
    // Separate processes: once loaded, a plugin stays registered in a process.
    REQUIRE(test::run_in_child([&] {
                h5ser::save<h5ser::lz4<>>(w, dir.file("lz4.h5"));
                return 0;
            }) == test::child_outcome::exit_0);
    const auto outcome = test::run_in_child([&] {
        H5PLset_loading_state(0);  // as if hdf5-filter-plugin were not installed...
        H5Zunregister(32004);      // ...and had never been loaded into this process
        try {
            (void)h5ser::load<Weights>(dir.file("lz4.h5"));
        } catch (const h5ser::error& e) {
            const std::string what = e.what();
            return e.code() == h5ser::errc::missing_filter &&
                           test::contains(what, "lz4 (HDF5 filter 32004; apt-get install hdf5-filter-plugin)")
                       ? 0
                       : 1;
        }
        return 2;
    });
    CHECK(outcome == test::child_outcome::exit_0);
}

// The former name must keep compiling, with its deprecation warning (silenced here).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
TEST_CASE("h5ser::compact, the former name of h5ser::compressed, is deprecated and stores the same") {
    using h5ser::detail::flatten_t;
    using h5ser::detail::storage_of;
    const auto old_plan = storage_of<flatten_t<h5ser::compact>>::plan();
    const auto new_plan = storage_of<flatten_t<h5ser::compressed>>::plan();
    CHECK(old_plan.layout == new_plan.layout);
    REQUIRE(old_plan.filters.size() == new_plan.filters.size());
    REQUIRE(new_plan.filters.size() == 2);  // shuffle, deflate
    for (std::size_t i = 0; i < new_plan.filters.size(); ++i) {
        CHECK(old_plan.filters[i].id == new_plan.filters[i].id);
        CHECK(old_plan.filters[i].values == new_plan.filters[i].values);
    }
}
#pragma GCC diagnostic pop
