// Loads of sealed format-2 files map the file: contiguous tensors are views of the mapping (private,
// copy-on-write), verified on the mapping before the model changes; everything else is read
// through HDF5. h5ser::owned_memory asks for copies.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#define XXH_INLINE_ALL  // expected checksums computed here, without h5ser
#include <xxhash.h>

#include "data/format1/format1_model.hpp"
#include "support.hpp"

namespace {

template <class T, std::size_t R>
bool aligned(const h5ser::tensor<T, R>& t) {
    return t.size() == 0 || reinterpret_cast<std::uintptr_t>(t.data()) % 64 == 0;
}

bool same_tensors(const format1::Model& a, const format1::Model& b) {
    using test::same_bytes;
    bool ok = same_bytes(a.first.kernel, b.first.kernel) && same_bytes(a.first.bias, b.first.bias) &&
              same_bytes(a.embedding, b.embedding) && same_bytes(a.bytes, b.bytes) && same_bytes(a.mask, b.mask) &&
              same_bytes(a.half, b.half) && same_bytes(a.brain, b.brain) && same_bytes(a.counter, b.counter) &&
              same_bytes(a.compressed.value, b.compressed.value) && same_bytes(a.adam.value.m, b.adam.value.m) &&
              a.blocks.size() == b.blocks.size() && a.head && b.head && same_bytes(a.head->kernel, b.head->kernel);
    for (std::size_t i = 0; ok && i < a.blocks.size(); ++i) ok = same_bytes(a.blocks[i].kernel, b.blocks[i].kernel);
    for (const auto& [k, v] : b.experts) ok = ok && a.experts.count(k) && same_bytes(a.experts.at(k), v);
    return ok;
}

std::size_t count_mapped(const format1::Model& m) {
    std::size_t n = m.first.kernel.maps_file() + m.first.bias.maps_file() + m.embedding.maps_file() + m.bytes.maps_file() +
                    m.mask.maps_file() + m.half.maps_file() + m.brain.maps_file() + m.adam.value.m.maps_file();
    for (const auto& b : m.blocks) n += b.kernel.maps_file() + b.bias.maps_file();
    return n;
}

bool all_aligned(const format1::Model& m) {
    bool ok = aligned(m.first.kernel) && aligned(m.first.bias) && aligned(m.embedding) && aligned(m.bytes) && aligned(m.mask) &&
              aligned(m.half) && aligned(m.brain) && aligned(m.counter) && aligned(m.compressed.value) && aligned(m.adam.value.m);
    for (const auto& b : m.blocks) ok = ok && aligned(b.kernel) && aligned(b.bias);
    for (const auto& [k, v] : m.experts) ok = ok && aligned(v);
    return ok;
}

/// The process's anonymous resident memory (RssAnon), in bytes.
std::size_t rss_anon() { return test::status_bytes("RssAnon"); }

struct Weights {
    h5ser::tensor<float, 2> big;    // 128 KiB: page-aligned in the file, so a view
    h5ser::tensor<float, 1> small;  // 40 bytes
};

Weights make_weights(float sign) {
    Weights w{h5ser::tensor<float, 2>({128, 256}), h5ser::tensor<float, 1>({10})};
    for (std::size_t i = 0; i < w.big.size(); ++i) w.big.data()[i] = sign * static_cast<float>(i % 313);
    for (std::size_t i = 0; i < w.small.size(); ++i) w.small.data()[i] = sign * static_cast<float>(i);
    return w;
}

}  // namespace

TEST_CASE("mapped and owned loads are bit-exact for every dtype, and every tensor is 64-byte aligned") {
    test::scratch_dir dir;
    const format1::Model saved = format1::make_model();
    h5ser::save<h5ser::compact_below<0>>(saved, dir.file("m.h5"));  // every unfiltered tensor contiguous
    const auto mapped = h5ser::load<format1::Model>(dir.file("m.h5"));
    const auto unverified = h5ser::load<format1::Model, h5ser::no_verify>(dir.file("m.h5"));
    const auto owned = h5ser::load<format1::Model, h5ser::owned_memory>(dir.file("m.h5"));
    CHECK(same_tensors(mapped, saved));
    CHECK(same_tensors(unverified, saved));
    CHECK(same_tensors(owned, saved));
    CHECK(all_aligned(mapped));
    CHECK(all_aligned(owned));
    CHECK(count_mapped(owned) == 0);
    // The 8 KiB embedding lies page-aligned (HDF5 aligns it past the userblock); smaller tensors are
    // views where they happen to be 64-byte aligned in the file and copies where not.
    CHECK(mapped.embedding.maps_file());
    CHECK(unverified.embedding.maps_file());
    CHECK(count_mapped(mapped) >= 1);
    // Chunked and deflated: the file needs libhdf5, so an isolated child decompresses it into a
    // sealed copy with every tensor contiguous and 64-byte aligned, which this process maps.
    CHECK(mapped.compressed.value.maps_file());
    CHECK_FALSE(h5ser::load<format1::Model, h5ser::trusted>(dir.file("m.h5")).compressed.value.maps_file());  // read through HDF5 here
    CHECK(h5ser::fingerprint(mapped) == h5ser::file_fingerprint(dir.file("m.h5")));

    // Format-1 files have no manifest: read through HDF5 (in a child process, whose reply is
    // mapped; with h5ser::trusted in this one, into memory of their own).
    const std::string format1_file = std::string(H5SER_TEST_DATA_DIR) + "/format1/full_model.h5";
    const auto old = h5ser::load<format1::Model>(format1_file);
    const auto old_here = h5ser::load<format1::Model, h5ser::trusted>(format1_file);
    CHECK_FALSE(old_here.embedding.maps_file());
    CHECK(same_tensors(old, old_here));
    CHECK(all_aligned(old));
    CHECK(all_aligned(old_here));
}

TEST_CASE("writing to a mapped tensor changes that tensor only: the file stays verifiable, copies are owned") {
    test::scratch_dir dir;
    const Weights saved = make_weights(1);
    h5ser::save(saved, dir.file("m.h5"));
    auto loaded = h5ser::load<Weights>(dir.file("m.h5"));
    REQUIRE(loaded.big.maps_file());
    CHECK(aligned(loaded.big));
    CHECK(aligned(loaded.small));
    h5ser::tensor<float, 2> copy = loaded.big;
    CHECK_FALSE(copy.maps_file());
    CHECK(test::same_bytes(copy, saved.big));
    loaded.big(3, 5) = 1e30f;
    CHECK(loaded.big(3, 5) == 1e30f);
    CHECK(copy(3, 5) == saved.big(3, 5));
    CHECK(h5ser::verify_file(dir.file("m.h5")).ok());
    CHECK(test::same_bytes(h5ser::load<Weights>(dir.file("m.h5")).big, saved.big));
    h5ser::tensor<float, 2> moved = std::move(loaded.big);
    CHECK(moved.maps_file());
    CHECK(moved(3, 5) == 1e30f);
    CHECK_FALSE(loaded.big.maps_file());  // NOLINT(bugprone-use-after-move): a moved-from tensor is empty
    CHECK(loaded.big.empty());
}

TEST_CASE("tensors loaded from a file keep their values when a later save replaces or deletes the file") {
    test::scratch_dir dir;
    const Weights first = make_weights(1);
    h5ser::save(first, dir.file("m.h5"));
    const auto loaded = h5ser::load<Weights>(dir.file("m.h5"));
    REQUIRE(loaded.big.maps_file());
    const Weights second = make_weights(-1);
    h5ser::save(second, dir.file("m.h5"));  // atomic: a new file renamed over the old one
    CHECK(test::same_bytes(loaded.big, first.big));
    CHECK(test::same_bytes(h5ser::load<Weights>(dir.file("m.h5")).big, second.big));
    std::filesystem::remove(dir.file("m.h5"));
    CHECK(test::same_bytes(loaded.big, first.big));
}

TEST_CASE("a flipped bit in a mapped tensor is a checksum mismatch naming it, and no_verify maps without reading it") {
    test::scratch_dir dir;
    const Weights saved = make_weights(1);
    h5ser::save(saved, dir.file("m.h5"));
    const auto contents = h5ser::detail::verify_seal(dir.file("m.h5"));
    REQUIRE(contents.has_value());
    const auto* big = contents->dataset("/big");
    REQUIRE(big != nullptr);
    {
        std::fstream f(dir.file("m.h5"), std::ios::in | std::ios::out | std::ios::binary);
        f.seekg(static_cast<std::streamoff>(big->offset + 4 * 1000));
        const char c = static_cast<char>(f.get());
        f.seekp(static_cast<std::streamoff>(big->offset + 4 * 1000));
        f.put(static_cast<char>(c ^ 0x01));
    }
    Weights target = make_weights(-1);
    const auto e = test::expect_error([&] { h5ser::load_into(target, dir.file("m.h5")); });
    CHECK(e.code() == h5ser::errc::checksum_mismatch);
    CHECK(e.field_path() == "big");
    CHECK(e.hdf5_path() == "/big");
    CHECK(test::contains(e.what(), "the data differs from what was saved"));
    CHECK(test::same_bytes(target.big, make_weights(-1).big));  // left as it was
    const auto unchecked = h5ser::load<Weights, h5ser::no_verify>(dir.file("m.h5"));
    CHECK(unchecked.big.maps_file());
    CHECK(unchecked.big.data()[1000] != saved.big.data()[1000]);
}

TEST_CASE("load_into a corrupted file checks everything on the mapping first: the model is unchanged, and no second copy is made") {
    struct Big {
        h5ser::tensor<float, 2> a;
        h5ser::tensor<float, 2> b;
    };
    test::scratch_dir dir;
    constexpr std::size_t rows = 16384, cols = 1024;  // 64 MiB each, 128 MiB in all
    Big saved{h5ser::tensor<float, 2>({rows, cols}, h5ser::uninitialized), h5ser::tensor<float, 2>({rows, cols}, h5ser::uninitialized)};
    for (std::size_t i = 0; i < saved.a.size(); ++i) {
        saved.a.data()[i] = static_cast<float>(i % 1000);
        saved.b.data()[i] = static_cast<float>(i % 777);
    }
    h5ser::save(saved, dir.file("big.h5"));
    const auto contents = h5ser::detail::verify_seal(dir.file("big.h5"));
    REQUIRE(contents.has_value());
    const auto* b = contents->dataset("/b");
    REQUIRE(b != nullptr);
    {
        std::fstream f(dir.file("big.h5"), std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(static_cast<std::streamoff>(b->offset + b->length - 5));
        f.put('\x7f');
    }

    Big target{h5ser::tensor<float, 2>({rows, cols}), h5ser::tensor<float, 2>({rows, cols})};  // zeros, resident
    const std::size_t before = rss_anon();
    std::atomic<bool> done{false};
    std::size_t peak = before;
    std::thread sampler([&] {
        while (!done) {
            peak = std::max(peak, rss_anon());
            std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
    });
    const auto e = test::expect_error([&] { h5ser::load_into(target, dir.file("big.h5")); });
    done = true;
    sampler.join();
    CHECK(e.code() == h5ser::errc::checksum_mismatch);
    CHECK(e.hdf5_path() == "/b");
    CHECK(std::all_of(target.a.begin(), target.a.end(), [](float x) { return x == 0.0f; }));  // nothing written
    CHECK(std::all_of(target.b.begin(), target.b.end(), [](float x) { return x == 0.0f; }));
    MESSAGE("anonymous memory grew by ", (peak - before) >> 20, " MiB during the load (the model is 128 MiB)");
    CHECK(peak - before < (std::size_t{64} << 20));  // staging the tensors would add 128 MiB

    // The good file loads in place: the target keeps its own memory.
    h5ser::save(saved, dir.file("big.h5"));
    const float* a_memory = target.a.data();
    h5ser::load_into(target, dir.file("big.h5"));
    CHECK(target.a.data() == a_memory);
    CHECK_FALSE(target.a.maps_file());
    CHECK(test::same_bytes(target.a, saved.a));
    CHECK(test::same_bytes(target.b, saved.b));
}

TEST_CASE("tensor types without a view form are filled by one copy from the mapping") {
    struct Vectors {
        std::vector<float> big;  // 128 KiB: its record is mappable, but a std::vector cannot view
        std::vector<std::int32_t> small;
    };
    test::scratch_dir dir;
    Vectors saved{std::vector<float>(32768), std::vector<std::int32_t>{1, -2, 3}};
    for (std::size_t i = 0; i < saved.big.size(); ++i) saved.big[i] = static_cast<float>(i) * 0.5f;
    h5ser::save(saved, dir.file("v.h5"));
    const auto contents = h5ser::detail::verify_seal(dir.file("v.h5"));
    REQUIRE(contents.has_value());
    REQUIRE(contents->dataset("/big") != nullptr);
    CHECK(contents->dataset("/big")->offset % 4096 == 0);  // page-aligned in the file: taken from the mapping
    const auto loaded = h5ser::load<Vectors>(dir.file("v.h5"));
    CHECK(loaded.big == saved.big);
    CHECK(loaded.small == saved.small);

    Vectors target{std::vector<float>(32768, -1.0f), {}};  // sized: copied into its own memory at commit
    const float* memory = target.big.data();
    h5ser::load_into(target, dir.file("v.h5"));
    CHECK(target.big.data() == memory);
    CHECK(target.big == saved.big);
    CHECK(target.small == saved.small);
}

namespace {

/// The most HDF5 files this process had open at once while a load ran (sampled at every progress
/// report, that is after every tensor).
template <class Load>
std::size_t hdf5_files_open_during(const Load& load) {
    std::size_t most = 0;
    const h5ser::progress_callback progress = [&](std::uint64_t, std::uint64_t) {
        most = std::max(most, static_cast<std::size_t>(H5Fget_obj_count(static_cast<hid_t>(H5F_OBJ_ALL), H5F_OBJ_FILE)));
    };
    load(progress);
    return most;
}

/// A model the format-1 files hold, read with a wrong type or a missing field in many places.
struct Mismatched {
    struct Dense {
        h5ser::tensor<double, 2> kernel;  // float32 in the file
        h5ser::tensor<float, 1> bias;
        std::string units;  // int32 in the file
    };
    Dense first;  // its activation is missing here
    std::vector<Dense> blocks;
    std::map<std::string, h5ser::tensor<float, 1>> experts;  // float64 in the file
    h5ser::tensor<float, 3> embedding;                       // rank 2 in the file
    h5ser::tensor<float, 1> missing;                         // not in the file
    std::array<std::string, 2> tags;                         // 3 in the file
};

}  // namespace

TEST_CASE("a sealed file loads from its manifest: HDF5 opens the file only for chunked tensors") {
    test::scratch_dir dir;
    const Weights saved = make_weights(1);
    h5ser::save(saved, dir.file("w.h5"));
    CHECK(hdf5_files_open_during([&](const auto& progress) { (void)h5ser::load<Weights>(dir.file("w.h5"), progress); }) == 0);
    CHECK(hdf5_files_open_during([&](const auto& progress) { (void)h5ser::load<Weights, h5ser::no_verify>(dir.file("w.h5"), progress); }) ==
          0);
    // Owned memory copies from the mapping: no HDF5 either.
    CHECK(hdf5_files_open_during(
              [&](const auto& progress) { (void)h5ser::load<Weights, h5ser::owned_memory>(dir.file("w.h5"), progress); }) == 0);

    // A model with a chunked tensor: the file is opened for it, in a child process by default
    // (every libhdf5 parse of a file not trusted is), here with h5ser::trusted; the rest still
    // comes from the manifest.
    const format1::Model model = format1::make_model();
    h5ser::save(model, dir.file("m.h5"));
    format1::Model loaded;
    CHECK(hdf5_files_open_during([&](const auto& progress) { loaded = h5ser::load<format1::Model>(dir.file("m.h5"), progress); }) == 0);
    CHECK(same_tensors(loaded, model));
    CHECK(hdf5_files_open_during(
              [&](const auto& progress) { loaded = h5ser::load<format1::Model, h5ser::trusted>(dir.file("m.h5"), progress); }) == 1);
    CHECK(same_tensors(loaded, model));
    CHECK(all_aligned(loaded));
    CHECK(loaded.first.units == model.first.units);
    CHECK(loaded.first.activation == model.first.activation);
    CHECK(loaded.tags == model.tags);
    CHECK(loaded.adam.value.learning_rate == model.adam.value.learning_rate);
    CHECK(loaded.adam.value.step == model.adam.value.step);
    CHECK_FALSE(loaded.absent.has_value());
    CHECK(h5ser::fingerprint(loaded) == h5ser::file_fingerprint(dir.file("m.h5")));
    // Compact tensors (by default those under 4 KiB) come from their manifest record's copy: owned.
    CHECK_FALSE(loaded.first.bias.maps_file());
    CHECK_FALSE(loaded.experts.at("b").maps_file());
}

TEST_CASE("loads from the manifest and through HDF5 report the same problems in the same words") {
    test::scratch_dir dir;
    h5ser::save(format1::make_model(), dir.file("m.h5"));
    const auto from_manifest = test::expect_error([&] { (void)h5ser::load<Mismatched>(dir.file("m.h5")); });
    const auto through_hdf5 = test::expect_error([&] { (void)h5ser::load<Mismatched, h5ser::owned_memory>(dir.file("m.h5")); });
    CHECK(std::string(from_manifest.what()) == through_hdf5.what());
    CHECK(from_manifest.problems().size() == through_hdf5.problems().size());
    CHECK(from_manifest.problems().size() >= 8);
    MESSAGE(std::string(from_manifest.what()));
    for (const char* part :
         {"first.kernel", "first.units", "first.activation", "experts[\"a\"]", "embedding", "missing", "tags", "unexpected", "head"}) {
        CHECK_MESSAGE(test::contains(from_manifest.what(), part), part);
    }
    // Lenient loads skip the same things either way.
    struct Part {
        format1::Dense first;
        std::vector<format1::Dense> blocks;
    };
    h5ser::load_report report_a, report_b;
    const auto a = h5ser::load<Part, h5ser::lenient>(dir.file("m.h5"), report_a);
    const auto b = h5ser::load<Part, h5ser::lenient, h5ser::owned_memory>(dir.file("m.h5"), report_b);
    CHECK(report_a.missing.empty());
    for (const char* entry : {"embedding (dataset)", "head (group)", "adam (group)", "tags (attribute)"})
        CHECK_MESSAGE(std::count(report_a.unexpected.begin(), report_a.unexpected.end(), entry) == 1, entry);
    CHECK(h5ser::to_string(report_b) == h5ser::to_string(report_a));
    CHECK(test::same_bytes(a.first.kernel, b.first.kernel));
    CHECK(a.blocks.size() == 2);
    CHECK(b.blocks.size() == 2);
    CHECK(a.first.activation == b.first.activation);
}

TEST_CASE("a file edited in place by another program is refused, or read through HDF5 without verification") {
    test::scratch_dir dir;
    const Weights saved = make_weights(1);
    h5ser::save(saved, dir.file("w.h5"));
    {  // Another program adds a dataset: HDF5 changes the metadata; the seal no longer holds.
        const hid_t f = H5Fopen(dir.file("w.h5").c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
        REQUIRE(f >= 0);
        const hsize_t n = 3;
        const hid_t space = H5Screate_simple(1, &n, nullptr);
        const hid_t d = H5Dcreate2(f, "extra", H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        const float values[3] = {1, 2, 3};
        H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values);
        H5Dclose(d);
        H5Sclose(space);
        H5Fclose(f);
    }
    const auto e = test::expect_error([&] { (void)h5ser::load<Weights>(dir.file("w.h5")); });
    CHECK(e.code() == h5ser::errc::checksum_mismatch);
    // Without verification the seal only decides the way in: HDF5's tree shows the new dataset.
    const auto e2 = test::expect_error([&] { (void)h5ser::load<Weights, h5ser::no_verify>(dir.file("w.h5")); });
    CHECK(e2.code() == h5ser::errc::unexpected_field);
    CHECK(e2.hdf5_path() == "/extra");
    // (parsed in a child process: a file whose seal does not hold is never parsed by libhdf5 here)
    h5ser::load_report report;
    const auto loaded = h5ser::load<Weights, h5ser::no_verify, h5ser::lenient>(dir.file("w.h5"), report);
    CHECK(test::same_bytes(loaded.big, saved.big));
    CHECK(h5ser::to_string(report) == "unexpected: extra (dataset)\n");
}

TEST_CASE("a tensor of 64 MiB and more is saved in pieces of whole rows, the last one short, and loads bit for bit") {
    struct Big {
        h5ser::tensor<float, 2> w;
    };
    test::scratch_dir dir;
    constexpr std::size_t rows = 16411, cols = 1024;  // 64.1 MiB: pieces of 8192 rows, then 27
    static_assert(rows * cols * sizeof(float) >= h5ser::detail::written_in_pieces_from);
    Big saved{h5ser::tensor<float, 2>({rows, cols}, h5ser::uninitialized)};
    for (std::size_t i = 0; i < saved.w.size(); ++i) saved.w.data()[i] = static_cast<float>((i * 2654435761u) % 100003);
    h5ser::save(saved, dir.file("big.h5"));
    const auto contents = h5ser::detail::verify_seal(dir.file("big.h5"));
    REQUIRE(contents.has_value());
    CHECK(contents->dataset("/w")->layout == h5ser::detail::record_layout::contiguous);
    CHECK(contents->dataset("/w")->checksum == XXH3_64bits(saved.w.data(), saved.w.size_bytes()));
    CHECK(test::same_bytes(h5ser::load<Big>(dir.file("big.h5")).w, saved.w));
    CHECK(test::same_bytes(h5ser::load<Big, h5ser::owned_memory>(dir.file("big.h5")).w, saved.w));  // through HDF5
    CHECK(h5ser::verify_file(dir.file("big.h5")).ok());
}
