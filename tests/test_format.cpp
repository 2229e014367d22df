// The file format: format 2's manifest (what it lists, and that a damaged one is refused before
// HDF5 reads the file), and format-1 files written by earlier h5ser, which keep loading.
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#define XXH_INLINE_ALL  // expected checksums computed here, without h5ser
#include <xxhash.h>

#include "data/format1/format1_model.hpp"
#include "support.hpp"

namespace {

std::vector<unsigned char> read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

void write_bytes(const std::string& path, const std::vector<unsigned char>& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

/// Where the manifest of a sealed format-2 file lies: [first, first + length).
struct manifest_place {
    std::size_t first = 0;
    std::size_t length = 0;
};

manifest_place find_manifest(const std::vector<unsigned char>& file) {
    const std::uint64_t ranges = h5ser::detail::load_u64(&file[32]);
    return {static_cast<std::size_t>(64 + 16 * ranges), static_cast<std::size_t>(h5ser::detail::load_u64(&file[56]))};
}

/// Recomputes the manifest's own checksum after a test edited it (a forged manifest, which only
/// the parser's own checks can refuse).
void reseal_manifest(std::vector<unsigned char>& file, const manifest_place& m) {
    h5ser::detail::store_u64(&file[m.first + 16], XXH3_64bits(&file[m.first + 24], m.length - 24));
}

std::string format1_file(const std::string& name) { return std::string(H5SER_TEST_DATA_DIR) + "/format1/" + name; }

template <class T, std::size_t R>
bool same(const h5ser::tensor<T, R>& a, const h5ser::tensor<T, R>& b) {
    return test::same_bytes(a, b);
}

bool same_model(const format1::Model& a, const format1::Model& b, bool weights_only = false) {
    bool ok = same(a.first.kernel, b.first.kernel) && same(a.first.bias, b.first.bias) && a.blocks.size() == b.blocks.size() &&
              a.experts.size() == b.experts.size() && a.head.has_value() == b.head.has_value() && !a.absent && !b.absent &&
              same(a.embedding, b.embedding) && same(a.bytes, b.bytes) && same(a.mask, b.mask) && same(a.half, b.half) &&
              same(a.brain, b.brain) && same(a.counter, b.counter) && same(a.compressed.value, b.compressed.value);
    for (std::size_t i = 0; ok && i < a.blocks.size(); ++i)
        ok = same(a.blocks[i].kernel, b.blocks[i].kernel) && same(a.blocks[i].bias, b.blocks[i].bias);
    for (const auto& [k, v] : a.experts) ok = ok && b.experts.count(k) && same(v, b.experts.at(k));
    if (!weights_only) {
        ok = ok && a.first.units == b.first.units && a.first.activation == b.first.activation && a.tags == b.tags &&
             a.adam.value.learning_rate == b.adam.value.learning_rate && a.adam.value.step == b.adam.value.step &&
             same(a.adam.value.m, b.adam.value.m);
    }
    return ok;
}

}  // namespace

TEST_CASE("one version: CMake's project version is h5ser::version, which full-model files record") {
    CHECK(std::string(h5ser::version) == H5SER_TEST_PROJECT_VERSION);
    CHECK(std::string(h5ser::version) ==
          std::to_string(H5SER_VERSION_MAJOR) + "." + std::to_string(H5SER_VERSION_MINOR) + "." + std::to_string(H5SER_VERSION_PATCH));
    test::scratch_dir dir;
    h5ser::save(format1::make_model(), dir.file("m.h5"));
    const auto tree = h5ser::inspect<h5ser::trusted>(dir.file("m.h5"));
    const auto it = std::find_if(tree.attributes.begin(), tree.attributes.end(), [](const auto& a) { return a.name == "h5ser_version"; });
    REQUIRE(it != tree.attributes.end());
    CHECK(it->value == "\"" + std::string(h5ser::version) + "\"");
}

TEST_CASE("format-1 files written by h5ser 0.1.0 load bit for bit, and verify") {
    const format1::Model expected = format1::make_model();
    const auto full = h5ser::load<format1::Model>(format1_file("full_model.h5"));
    CHECK(same_model(full, expected));
    CHECK(h5ser::file_fingerprint(format1_file("full_model.h5")) == h5ser::fingerprint(expected));

    format1::Model target = format1::make_model();
    target.blocks[0].kernel.data()[0] = 1234.5f;
    h5ser::load_into<h5ser::weights_only>(target, format1_file("weights_only.h5"));
    CHECK(same_model(target, expected, true));

    h5ser::checkpoint_manager<format1::Model> checkpoints(format1_file("checkpoints"));
    format1::Model resumed;
    const auto step = checkpoints.restore_latest(resumed);
    REQUIRE(step.has_value());
    CHECK(*step == 7);
    CHECK(same_model(resumed, expected));

    for (const char* name : {"full_model.h5", "weights_only.h5", "checkpoints/ckpt-000007.h5"}) {
        const auto report = h5ser::verify_file(format1_file(name));
        CHECK_MESSAGE(report.ok(), name);
        std::size_t checked = 0;
        for (const auto& d : report.datasets) checked += d.result == h5ser::dataset_check::status::ok;
        CHECK(checked == report.datasets.size());  // format 1's checksum attributes were all read
    }
}

TEST_CASE("a flipped bit in a format-1 tensor is still caught by its checksum attribute") {
    test::scratch_dir dir;
    const std::string copy = dir.file("full_model.h5");
    std::filesystem::copy_file(format1_file("full_model.h5"), copy);
    haddr_t offset = HADDR_UNDEF;
    {
        const hid_t f = H5Fopen(copy.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
        const hid_t ds = H5Dopen2(f, "/embedding", H5P_DEFAULT);
        offset = H5Dget_offset(ds);
        H5Dclose(ds);
        H5Fclose(f);
    }
    REQUIRE(offset != HADDR_UNDEF);
    auto bytes = read_bytes(copy);
    bytes[offset + 17] ^= 0x04;
    write_bytes(copy, bytes);
    const auto e = test::expect_error([&] { (void)h5ser::load<format1::Model>(copy); });
    CHECK(e.code() == h5ser::errc::checksum_mismatch);
    CHECK(e.hdf5_path() == "/embedding");
}

TEST_CASE("the manifest lists every group, dataset and attribute of the field tree, in save order") {
    test::scratch_dir dir;
    const format1::Model m = format1::make_model();
    h5ser::save(m, dir.file("m.h5"));
    const auto contents = h5ser::detail::verify_seal(dir.file("m.h5"));
    REQUIRE(contents.has_value());
    CHECK(contents->format_version() == 2);
    CHECK(contents->mode() == h5ser::detail::save_mode::full_model);
    CHECK(h5ser::detail::to_hex(contents->fingerprint()) == h5ser::fingerprint(m));

    std::vector<std::string> listed;
    for (const auto& r : contents->records()) {
        const char* kind = r.kind == h5ser::detail::record_kind::group     ? "group "
                           : r.kind == h5ser::detail::record_kind::dataset ? "dataset "
                                                                           : "attribute ";
        listed.push_back(kind + std::string(r.path) + (r.name.empty() ? "" : ":" + std::string(r.name)));
    }
    const std::vector<std::string> first = {"group /first",           "dataset /first/kernel",       "dataset /first/bias",
                                            "attribute /first:units", "attribute /first:activation", "group /blocks",
                                            "group /blocks/0"};
    REQUIRE(listed.size() > first.size());
    CHECK(std::vector<std::string>(listed.begin(), listed.begin() + static_cast<std::ptrdiff_t>(first.size())) == first);
    CHECK(std::find(listed.begin(), listed.end(), "attribute /:tags") != listed.end());  // root fields, not h5ser's own
    CHECK(std::find(listed.begin(), listed.end(), "attribute /:fingerprint") == listed.end());

    const auto* kernel = contents->dataset("/first/kernel");
    REQUIRE(kernel != nullptr);
    CHECK(kernel->dtype == "float32");
    CHECK(kernel->rank == 2);
    CHECK(kernel->dim(0) == 8);
    CHECK(kernel->dim(1) == 16);
    CHECK(kernel->checksum == XXH3_64bits(m.first.kernel.data(), m.first.kernel.size_bytes()));
    const auto* compressed = contents->dataset("/compressed");
    REQUIRE(compressed != nullptr);
    CHECK(compressed->layout == h5ser::detail::record_layout::chunked);
    REQUIRE(compressed->filter_count == 1);
    CHECK(compressed->filter(0) == H5Z_FILTER_DEFLATE);
    const auto* big = contents->dataset("/experts/b");  // 2400 bytes: compact by default
    REQUIRE(big != nullptr);
    CHECK(big->layout == h5ser::detail::record_layout::compact);
    CHECK(big->length == 2400);

    // The values of attributes, little-endian; strings with their lengths.
    for (const auto& r : contents->records()) {
        if (r.kind != h5ser::detail::record_kind::attribute) continue;
        if (r.path == "/first" && r.name == "units") {
            std::int32_t units = 0;
            REQUIRE(r.value.size() == 4);
            std::memcpy(&units, r.value.data(), 4);
            CHECK(units == 16);
        }
        if (r.path == "/" && r.name == "tags") CHECK(r.value == std::string_view("\5\0\0\0alpha\4\0\0\0beta\0\0\0\0", 21));
    }
}

TEST_CASE("a contiguous tensor's manifest record says where its bytes lie in the file") {
    test::scratch_dir dir;
    const format1::Model m = format1::make_model();
    h5ser::save<h5ser::compact_below<0>>(m, dir.file("m.h5"));
    const auto contents = h5ser::detail::verify_seal(dir.file("m.h5"));
    REQUIRE(contents.has_value());
    const auto bytes = read_bytes(dir.file("m.h5"));
    std::size_t contiguous = 0;
    for (const auto& r : contents->records()) {
        if (r.kind != h5ser::detail::record_kind::dataset || r.layout != h5ser::detail::record_layout::contiguous || r.length == 0)
            continue;
        ++contiguous;
        REQUIRE(r.offset + r.length <= bytes.size());
        CHECK_MESSAGE(XXH3_64bits(&bytes[r.offset], r.length) == r.checksum, r.path);  // the bytes as stored are what is hashed
    }
    CHECK(contiguous >= 15);
}

TEST_CASE("a damaged manifest is refused before HDF5 reads the file, saying what is wrong") {
    test::scratch_dir dir;
    h5ser::save<h5ser::compact_below<0>>(format1::make_model(), dir.file("m.h5"));
    const auto good = read_bytes(dir.file("m.h5"));
    const manifest_place m = find_manifest(good);
    REQUIRE(m.length > 100);
    const auto refused = [&](const std::vector<unsigned char>& bytes, const std::string& expect) {
        write_bytes(dir.file("bad.h5"), bytes);
        const auto e = test::expect_error([&] { (void)h5ser::load<format1::Model>(dir.file("bad.h5")); });
        CHECK(e.code() == h5ser::errc::checksum_mismatch);
        CHECK_MESSAGE(test::contains(e.what(), expect), e.what());
        CHECK_FALSE(h5ser::verify_file(dir.file("bad.h5")).ok());
    };

    auto flipped = good;  // any damage: the manifest's own checksum
    flipped[m.first + m.length / 2] ^= 0x20;
    refused(flipped, "the file's manifest is damaged: its checksum differs");

    auto length = good;  // its length in the seal header
    h5ser::detail::store_u64(&length[56], m.length - 8);
    refused(length, "manifest is damaged");

    auto none = good;  // a format-2 file whose manifest was dropped
    h5ser::detail::store_u64(&none[56], 0);
    refused(none, "a format-2 file with its seal and manifest");

    // A forged manifest (checksum recomputed) whose data range leaves the file: the parser checks
    // every offset and length against the file's size.
    const auto contents = h5ser::detail::verify_seal(dir.file("m.h5"));
    const auto* kernel = contents->dataset("/first/kernel");
    REQUIRE(kernel != nullptr);
    auto outside = good;
    // The kernel record's data triple follows its path, dtype and dimensions (8 * 2 bytes).
    const std::string needle = "/first/kernelfloat32";
    const auto at = std::search(outside.begin() + static_cast<std::ptrdiff_t>(m.first), outside.end(), needle.begin(), needle.end());
    REQUIRE(at != outside.end());
    const std::size_t data_at = static_cast<std::size_t>(at - outside.begin()) + needle.size() + 16;
    h5ser::detail::store_u64(&outside[data_at], good.size() - 100);  // offset: its bytes would run past the end
    reseal_manifest(outside, m);
    refused(outside, "outside the");
}

TEST_CASE("the manifest parser refuses or accepts any mutation of a manifest, and never reads out of bounds") {
    test::scratch_dir dir;
    h5ser::save(format1::make_model(), dir.file("m.h5"));
    const auto good = read_bytes(dir.file("m.h5"));
    const manifest_place m = find_manifest(good);
    const std::vector<unsigned char> original(good.begin() + static_cast<std::ptrdiff_t>(m.first),
                                              good.begin() + static_cast<std::ptrdiff_t>(m.first + m.length));
    std::mt19937_64 random(12345);
    std::size_t refused = 0;
    constexpr int rounds = 3000;
    for (int round = 0; round < rounds; ++round) {
        std::vector<unsigned char> bytes = original;
        const int edits = 1 + static_cast<int>(random() % 4);
        for (int k = 0; k < edits && bytes.size() > 25; ++k) {
            const std::size_t at = 24 + random() % (bytes.size() - 24);
            switch (random() % 3) {
                case 0:
                    bytes[at] ^= static_cast<unsigned char>(1u << (random() % 8));
                    break;
                case 1:
                    bytes[at] = static_cast<unsigned char>(random());
                    break;
                default:
                    bytes.resize(at);
                    break;
            }
        }
        if (bytes.size() >= 24) h5ser::detail::store_u64(&bytes[16], XXH3_64bits(bytes.data() + 24, bytes.size() - 24));
        try {
            const h5ser::detail::manifest parsed(bytes, good.size(), 4096, "m.h5");
            for (const auto& r : parsed.records()) {  // every record handed out can be read in full
                for (std::size_t i = 0; i < r.rank; ++i) (void)r.dim(i);
                for (std::size_t i = 0; i < r.filter_count; ++i) (void)r.filter(i);
                if (r.kind == h5ser::detail::record_kind::dataset && r.layout == h5ser::detail::record_layout::contiguous && r.length)
                    CHECK(r.offset + r.length <= good.size());
            }
        } catch (const h5ser::error& e) {
            ++refused;
            CHECK(test::contains(e.what(), "manifest"));
        }
    }
    CHECK(refused > rounds / 2);
}

TEST_CASE("a compact tensor's copy in the manifest is checked by its checksum like any tensor data") {
    test::scratch_dir dir;
    const format1::Model saved = format1::make_model();
    h5ser::save(saved, dir.file("m.h5"));
    const auto contents = h5ser::detail::verify_seal(dir.file("m.h5"));
    REQUIRE(contents.has_value());
    const auto* bias = contents->dataset("/first/bias");
    REQUIRE(bias != nullptr);
    REQUIRE(bias->layout == h5ser::detail::record_layout::compact);
    REQUIRE(bias->value.size() == saved.first.bias.size_bytes());
    CHECK(std::memcmp(bias->value.data(), saved.first.bias.data(), bias->value.size()) == 0);  // the element bytes

    // Forge the copy (the manifest's own checksum recomputed): the tensor's checksum refuses it.
    auto forged = read_bytes(dir.file("m.h5"));
    const manifest_place m = find_manifest(forged);
    const std::size_t copy_at =
        m.first + static_cast<std::size_t>(reinterpret_cast<const unsigned char*>(bias->value.data()) - contents->bytes());
    forged[copy_at + 5] ^= 0x10;
    reseal_manifest(forged, m);
    write_bytes(dir.file("forged.h5"), forged);
    const auto e = test::expect_error([&] { (void)h5ser::load<format1::Model>(dir.file("forged.h5")); });
    CHECK(e.code() == h5ser::errc::checksum_mismatch);
    CHECK(e.field_path() == "first.bias");
    // A load into memory of its own copies from the manifest too: refused the same way.
    const auto owned = test::expect_error([&] { (void)h5ser::load<format1::Model, h5ser::owned_memory>(dir.file("forged.h5")); });
    CHECK(owned.field_path() == "first.bias");
}

TEST_CASE("the manifest parser refuses a manifest that is not a tree: objects outside listed groups, names twice, short values") {
    using h5ser::detail::manifest;
    using h5ser::detail::manifest_builder;
    using h5ser::detail::record_layout;
    const auto parse_error = [](const manifest_builder& b) -> std::string {
        try {
            const manifest parsed(b.finish(h5ser::detail::save_mode::full_model, 0), 1 << 20, 4096, "m.h5");
            return {};
        } catch (const h5ser::error& e) {
            return e.what();
        }
    };
    const std::uint64_t dims[1] = {2};
    const float values[2] = {1, 2};
    {
        manifest_builder b;  // no records (a model without fields): still a root (found by the fuzzer)
        CHECK(parse_error(b).empty());
        const manifest parsed(b.finish(h5ser::detail::save_mode::full_model, 0), 1 << 20, 4096, "m.h5");
        REQUIRE(parsed.group("/") != nullptr);
        CHECK(parsed.group("/")->links.empty());
    }
    {
        manifest_builder b;  // a tree: accepted
        b.group("/a");
        b.dataset("/a/k", "float32", dims, 1, record_layout::compact, {}, 0, 8, 0, values);
        b.attribute("/a", "units", std::int32_t{3});
        b.attribute("/a/k", "note", std::string("x"));  // an attribute of a dataset
        b.attribute("/", "tags", std::vector<std::string>{"p", "q"});
        CHECK(parse_error(b).empty());
        const manifest parsed(b.finish(h5ser::detail::save_mode::full_model, 0), 1 << 20, 4096, "m.h5");
        REQUIRE(parsed.group("/") != nullptr);
        REQUIRE(parsed.group("/a") != nullptr);
        CHECK(parsed.group("/a/k") == nullptr);
        CHECK(parsed.group("/")->links.size() == 1);
        CHECK(parsed.group("/")->attributes.size() == 1);
        CHECK(parsed.group("/a")->links.size() == 1);
        CHECK(parsed.group("/a")->attributes.size() == 1);
        CHECK(parsed.records()[parsed.group("/a")->links[0]].link_name() == "k");
    }
    {
        manifest_builder b;  // a dataset in a group not listed before it
        b.dataset("/a/k", "float32", dims, 1, record_layout::compact, {}, 0, 8, 0, values);
        b.group("/a");
        CHECK(test::contains(parse_error(b), "lies in no group listed before it"));
    }
    {
        manifest_builder b;
        b.group("/a");
        b.dataset("/a", "float32", dims, 1, record_layout::compact, {}, 0, 8, 0, values);
        CHECK(test::contains(parse_error(b), "names an object twice"));
    }
    {
        manifest_builder b;
        b.group("/a/");
        CHECK(test::contains(parse_error(b), "empty link name"));
    }
    {
        manifest_builder b;
        b.attribute("/nowhere", "x", std::int32_t{1});
        CHECK(test::contains(parse_error(b), "an attribute of an object not listed before it"));
    }
    {
        manifest_builder b;
        b.attribute("/", "x", std::int32_t{1});
        b.attribute("/", "x", std::int32_t{2});
        CHECK(test::contains(parse_error(b), "names attribute 'x' twice"));
    }
    {
        manifest_builder b;  // 3 bytes for an int32
        b.attribute("/", "x", "int32", false, 1, std::string_view("\1\2\3", 3));
        CHECK(test::contains(parse_error(b), "does not hold its 1 elements"));
    }
    {
        manifest_builder b;  // a string whose length runs past the value
        b.attribute("/", "s", "string", false, 1, std::string_view("\x09\0\0\0abc", 7));
        CHECK(test::contains(parse_error(b), "does not hold its 1 elements"));
    }
}
