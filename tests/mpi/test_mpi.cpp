// Sharded checkpoints through parallel HDF5 (h5ser/mpi.hpp). CTest runs this program under
// `mpirun -np 1` and `mpirun -np 2`; every rank runs every test case, in the same order.
//
// The file a sharded save writes is compared with the file h5ser::save writes for the whole model
// (h5ser::inspect trees: groups, datasets, dtypes, shapes, storage, filters, every attribute's
// value) and loaded with the serial h5ser::load. tests/mpi/check_mpi_files.py then has h5py and
// the h5ser tool read the files this program leaves in H5SER_MPI_TEST_DIR.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <mpi.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <h5ser/h5ser.hpp>
#include <h5ser/mpi.hpp>

namespace {

int world_rank() {
    int r = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &r);
    return r;
}
int world_size() {
    int n = 1;
    MPI_Comm_size(MPI_COMM_WORLD, &n);
    return n;
}

struct Dense {
    h5ser::tensor<float, 2> kernel;
    h5ser::tensor<float, 1> bias;
};

struct Adam {
    h5ser::tensor<float, 2> m;
    h5ser::tensor<float, 2> v;
    std::int64_t step = 0;
};

struct Model {
    h5ser::tensor<float, 2> embedding;                                 // 1000 x 64: split along rows
    Dense dense;                                                       // kernel 64 x 300: split along columns; bias replicated
    h5ser::tensor<std::int32_t, 2> tiny;                               // 3 x 5: split along columns, stored compact
    h5ser::tensor<double, 3> cube;                                     // 4 x 5 x 7: split along the last axis
    h5ser::tensor<std::uint8_t, 1> flags;                              // 0 elements
    std::vector<Dense> heads;                                          // heads[1].kernel split along rows
    h5ser::optimizer_state<Adam> adam;                                 // moments split like the embedding
    std::map<std::string, h5ser::tensor<h5ser::bfloat16, 2>> experts;  // experts["b"] split along columns
    std::optional<h5ser::tensor<bool, 1>> mask;                        // split along its one axis
    float learning_rate = 0;
    std::string name;
};

template <class T, std::size_t R>
h5ser::tensor<T, R> filled(std::array<std::size_t, R> shape, std::uint32_t seed) {
    h5ser::tensor<T, R> t(shape);
    std::uint32_t x = seed * 2654435761u + 1;
    for (auto& e : t) {
        x = x * 1664525u + 1013904223u;
        e = static_cast<T>(static_cast<std::int32_t>(x >> 8) % 100000) / static_cast<T>(7);
    }
    return t;
}

Model whole_model() {
    Model m;
    m.embedding = filled<float, 2>({1000, 64}, 1);
    m.dense = {filled<float, 2>({64, 300}, 2), filled<float, 1>({300}, 3)};
    m.tiny = filled<std::int32_t, 2>({3, 5}, 4);
    m.cube = filled<double, 3>({4, 5, 7}, 5);
    m.heads = {Dense{filled<float, 2>({16, 8}, 6), filled<float, 1>({8}, 7)},
               Dense{filled<float, 2>({33, 8}, 8), filled<float, 1>({8}, 9)}};
    m.adam->m = filled<float, 2>({1000, 64}, 10);
    m.adam->v = filled<float, 2>({1000, 64}, 11);
    m.adam->step = 1234;
    for (const char* key : {"a", "b"}) {
        h5ser::tensor<h5ser::bfloat16, 2> e({6, 9});
        for (std::size_t i = 0; i < e.size(); ++i) e.data()[i] = h5ser::bfloat16(static_cast<float>(i) * (key[0] == 'a' ? 0.25f : -0.5f));
        m.experts.emplace(key, std::move(e));
    }
    h5ser::tensor<bool, 1> mask({77});
    for (std::size_t i = 0; i < mask.size(); ++i) mask.data()[i] = i % 3 == 0;
    m.mask = std::move(mask);
    m.learning_rate = 0.001f;
    m.name = "sharded";
    return m;
}

/// Indices [offset, offset + count) of `full` along `axis`.
template <class T, std::size_t R>
h5ser::tensor<T, R> slice_of(const h5ser::tensor<T, R>& full, std::size_t axis, std::size_t offset, std::size_t count) {
    auto shape = full.shape();
    shape[axis] = count;
    h5ser::tensor<T, R> out(shape);
    std::size_t rows = 1;
    for (std::size_t i = 0; i < axis; ++i) rows *= full.shape()[i];
    std::size_t step = 1;
    for (std::size_t i = axis + 1; i < R; ++i) step *= full.shape()[i];
    for (std::size_t r = 0; r < rows; ++r)
        if (count)
            std::memcpy(out.data() + r * count * step, full.data() + (r * full.shape()[axis] + offset) * step, count * step * sizeof(T));
    return out;
}

/// This rank's even block of `n` indices (as h5ser::mpi::shard::split loads them).
std::pair<std::size_t, std::size_t> block(std::size_t n, int rank, int size) {
    const auto r = static_cast<std::size_t>(rank);
    const auto s = static_cast<std::size_t>(size);
    return {r * (n / s) + std::min(r, n % s), n / s + (r < n % s ? 1 : 0)};
}

template <class T, std::size_t R>
h5ser::tensor<T, R> my_block(const h5ser::tensor<T, R>& full, std::size_t axis) {
    const auto [offset, count] = block(full.shape()[axis], world_rank(), world_size());
    return slice_of(full, axis, offset, count);
}

/// The sharding this test saves with: uneven blocks, so no two ranks hold the same shape.
const h5ser::mpi::sharding save_shards{
    {"embedding", h5ser::mpi::shard::split(0)}, {"/dense/kernel", h5ser::mpi::shard::split(1)},   {"tiny", h5ser::mpi::shard::split(1)},
    {"cube", h5ser::mpi::shard::split(2)},      {"heads[1].kernel", h5ser::mpi::shard::split(0)}, {"adam.m", h5ser::mpi::shard::split(0)},
    {"/adam/v", h5ser::mpi::shard::split(0)},   {"experts[\"b\"]", h5ser::mpi::shard::split(1)},  {"/mask", h5ser::mpi::shard::split(0)},
};

/// What this rank holds of the whole model under save_shards.
Model my_shard(const Model& whole) {
    Model m = whole;
    m.embedding = my_block(whole.embedding, 0);
    m.dense.kernel = my_block(whole.dense.kernel, 1);
    m.tiny = my_block(whole.tiny, 1);
    m.cube = my_block(whole.cube, 2);
    m.heads[1].kernel = my_block(whole.heads[1].kernel, 0);
    m.adam->m = my_block(whole.adam->m, 0);
    m.adam->v = my_block(whole.adam->v, 0);
    m.experts.at("b") = my_block(whole.experts.at("b"), 1);
    m.mask = my_block(*whole.mask, 0);
    return m;
}

template <class T, std::size_t R>
bool same_bytes(const h5ser::tensor<T, R>& a, const h5ser::tensor<T, R>& b) {
    return a.shape() == b.shape() && (a.size() == 0 || std::memcmp(a.data(), b.data(), a.size_bytes()) == 0);
}

bool same_model(const Model& a, const Model& b) {
    bool same =
        same_bytes(a.embedding, b.embedding) && same_bytes(a.dense.kernel, b.dense.kernel) && same_bytes(a.dense.bias, b.dense.bias) &&
        same_bytes(a.tiny, b.tiny) && same_bytes(a.cube, b.cube) && same_bytes(a.flags, b.flags) && a.heads.size() == b.heads.size() &&
        same_bytes(a.adam->m, b.adam->m) && same_bytes(a.adam->v, b.adam->v) && a.adam->step == b.adam->step &&
        std::memcmp(&a.learning_rate, &b.learning_rate, sizeof(float)) == 0 && a.name == b.name && a.experts.size() == b.experts.size() &&
        a.mask.has_value() == b.mask.has_value() && (!a.mask || same_bytes(*a.mask, *b.mask));
    for (const auto& [key, e] : a.experts) same = same && b.experts.count(key) && same_bytes(e, b.experts.at(key));
    for (std::size_t i = 0; same && i < a.heads.size(); ++i)
        same = same_bytes(a.heads[i].kernel, b.heads[i].kernel) && same_bytes(a.heads[i].bias, b.heads[i].bias);
    return same;
}

std::string test_dir() {
    const char* dir = std::getenv("H5SER_MPI_TEST_DIR");
    const std::string path =
        (dir ? std::string(dir) : std::filesystem::temp_directory_path().string() + "/h5ser-mpi") + "/np" + std::to_string(world_size());
    if (world_rank() == 0) std::filesystem::create_directories(path);
    MPI_Barrier(MPI_COMM_WORLD);
    return path;
}

/// Everything of a file h5ser::inspect sees, as text: to compare two files' layouts.
void describe(const h5ser::file_node& n, std::string& out) {
    out += n.path + " kind=" + std::to_string(static_cast<int>(n.kind)) + " dtype=" + n.dtype + " layout=" + n.layout +
           " stored=" + std::to_string(n.stored_bytes) + " shape=";
    for (const std::size_t d : n.shape) out += std::to_string(d) + ",";
    out += " filters=";
    for (const auto& f : n.filters) out += f + ",";
    out += "\n";
    for (const auto& a : n.attributes) out += "  @" + a.name + " " + a.dtype + a.shape + " = " + a.value + "\n";
    for (const auto& c : n.children) describe(c, out);
}
std::string layout_of(const std::string& path) {
    std::string text;
    describe(h5ser::inspect(path), text);
    return text;
}

/// Files in `dir` other than the ones named: what a failed save might leave behind.
std::vector<std::string> leftovers(const std::string& dir, const std::vector<std::string>& expected) {
    std::vector<std::string> extra;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        const std::string name = e.path().filename().string();
        if (std::find(expected.begin(), expected.end(), name) == expected.end()) extra.push_back(name);
    }
    return extra;
}

}  // namespace

TEST_CASE("a sharded save writes the file h5ser::save writes for the whole model") {
    const std::string dir = test_dir();
    const Model whole = whole_model();
    const std::string sharded = dir + "/sharded.h5";
    const std::string serial = dir + "/serial.h5";
    h5ser::mpi::save(my_shard(whole), sharded, MPI_COMM_WORLD, save_shards);
    if (world_rank() == 0) h5ser::save(whole, serial);
    MPI_Barrier(MPI_COMM_WORLD);

    // The serial loader (checksums, fingerprint and seal checked) gets the whole model back.
    const Model loaded = h5ser::load<Model>(sharded);
    CHECK(same_model(loaded, whole));
    CHECK(loaded.embedding.maps_file());  // 250 KiB, contiguous: a view of the mapped file
    CHECK(loaded.dense.kernel.maps_file());
    CHECK(same_model(h5ser::load<Model, h5ser::owned_memory>(sharded), whole));
    CHECK(h5ser::file_fingerprint(sharded) == h5ser::fingerprint(whole));
    CHECK(h5ser::verify_file(sharded).ok());
    // Same groups, datasets, dtypes, shapes, storage, filters and attribute values.
    CHECK(layout_of(sharded) == layout_of(serial));
    // And the same manifest, record for record (the data may lie elsewhere in the file).
    const auto listed = [](const std::string& path) {
        const auto contents = h5ser::detail::verify_seal(path);
        REQUIRE(contents.has_value());
        std::vector<std::string> records;
        for (const auto& r : contents->records()) {
            std::ostringstream text;
            text << static_cast<int>(r.kind) << ' ' << r.path << ' ' << r.name << ' ' << r.dtype << " layout " << static_cast<int>(r.layout)
                 << " stored " << r.length << " checksum " << r.checksum << " value " << r.value;
            for (std::size_t i = 0; i < r.rank; ++i) text << ' ' << r.dim(i);
            for (std::size_t i = 0; i < r.filter_count; ++i) text << " f" << r.filter(i);
            records.push_back(text.str());
        }
        return records;
    };
    CHECK(listed(sharded) == listed(serial));
    CHECK(listed(sharded).size() > 5);
}

TEST_CASE("a sharded file loads on any number of ranks, split along another axis") {
    const std::string dir = test_dir();
    const Model whole = whole_model();
    const std::string path = dir + "/sharded.h5";
    h5ser::mpi::save(my_shard(whole), path, MPI_COMM_WORLD, save_shards);

    const h5ser::mpi::sharding load_shards{{"embedding", h5ser::mpi::shard::split(1)},
                                           {"dense.kernel", h5ser::mpi::shard::split(0)},
                                           {"cube", h5ser::mpi::shard::split(0)},
                                           {"adam.m", h5ser::mpi::shard::split(1)}};
    const Model mine = h5ser::mpi::load<Model>(path, MPI_COMM_WORLD, load_shards);
    Model expected = whole;
    expected.embedding = my_block(whole.embedding, 1);
    expected.dense.kernel = my_block(whole.dense.kernel, 0);
    expected.cube = my_block(whole.cube, 0);
    expected.adam->m = my_block(whole.adam->m, 1);
    CHECK(same_model(mine, expected));

    // On 1 rank (each rank alone, MPI_COMM_SELF), split along another axis: the one rank gets all of it.
    CHECK(same_model(h5ser::mpi::load<Model>(path, MPI_COMM_SELF, load_shards), whole));
    const h5ser::mpi::sharding half{{"embedding", h5ser::mpi::shard::slice(1, 32, 32)}};
    CHECK(same_bytes(h5ser::mpi::load<Model>(path, MPI_COMM_SELF, half).embedding, slice_of(whole.embedding, 1, 32, 32)));

    // Replicated on every rank: the whole model, from the sharded file and from a serial one.
    CHECK(same_model(h5ser::mpi::load<Model>(path, MPI_COMM_WORLD), whole));
    const std::string serial = dir + "/serial-for-load.h5";
    if (world_rank() == 0) h5ser::save(whole, serial);
    MPI_Barrier(MPI_COMM_WORLD);
    CHECK(same_model(h5ser::mpi::load<Model>(serial, MPI_COMM_WORLD, load_shards), expected));

    // Any slice, even overlapping ones: the checksum of the whole tensor is still verified.
    const h5ser::mpi::sharding overlapping{{"embedding", h5ser::mpi::shard::slice(0, 10, 500)}};
    Model partial = h5ser::mpi::load<Model>(path, MPI_COMM_WORLD, overlapping);
    CHECK(same_bytes(partial.embedding, slice_of(whole.embedding, 0, 10, 500)));

    // A lenient load of a struct that changed says, on every rank, what it skipped.
    struct Changed {
        h5ser::tensor<float, 2> embedding;
        Dense dense;
        Dense extra;
    };
    h5ser::load_report report;
    const h5ser::mpi::sharding rows{{"embedding", h5ser::mpi::shard::split(1)}};
    const Changed changed = h5ser::mpi::load<Changed, h5ser::lenient>(path, MPI_COMM_WORLD, rows, report);
    CHECK(same_bytes(changed.embedding, expected.embedding));
    CHECK(report.missing == std::vector<std::string>{"extra (group)"});
    CHECK(report.unexpected.size() == 9);  // tiny, cube, flags, heads, adam, experts, mask, learning_rate, name
    CHECK(std::count(report.unexpected.begin(), report.unexpected.end(), "tiny (dataset)") == 1);
    CHECK(std::count(report.unexpected.begin(), report.unexpected.end(), "learning_rate (attribute)") == 1);
}

TEST_CASE("sharded saves with compression and weights only load serially, bit for bit") {
    const std::string dir = test_dir();
    const Model whole = whole_model();
    const std::string compressed = dir + "/archival.h5";
    h5ser::mpi::save<h5ser::archival>(my_shard(whole), compressed, MPI_COMM_WORLD, save_shards);
    CHECK(same_model(h5ser::load<Model>(compressed), whole));
    const auto layout = h5ser::inspect(compressed);
    CHECK(layout.children.front().layout == "chunked");
    CHECK_FALSE(layout.children.front().filters.empty());

    const std::string weights = dir + "/weights.h5";
    h5ser::mpi::save<h5ser::weights_only>(my_shard(whole), weights, MPI_COMM_WORLD, save_shards);
    Model filled = whole;
    filled.embedding = {};
    filled.dense.kernel = {};
    h5ser::load_into<h5ser::weights_only>(filled, weights);
    CHECK(same_model(filled, whole));
    CHECK(h5ser::file_fingerprint(weights) == h5ser::fingerprint<h5ser::weights_only>(whole));
}

TEST_CASE("a failure on one rank is an h5ser::error on every rank, and the previous file stays") {
    const std::string dir = test_dir() + "/failures";
    if (world_rank() == 0) std::filesystem::create_directories(dir);
    MPI_Barrier(MPI_COMM_WORLD);
    const std::string path = dir + "/model.h5";
    const Model whole = whole_model();
    h5ser::mpi::save(my_shard(whole), path, MPI_COMM_WORLD, save_shards);
    const int last = world_size() - 1;

    // `says`: text the message must contain (the API names users write, for one).
    const auto expect_every_rank_fails = [&](auto&& save, h5ser::errc code, const std::string& field, const std::string& says = {}) {
        bool threw = false;
        try {
            save();
        } catch (const h5ser::error& e) {
            threw = true;
            CHECK(e.code() == code);
            CHECK(e.field_path() == field);
            CHECK(std::string(e.what()).find(says) != std::string::npos);
            MESSAGE(std::string(e.what()));
        }
        CHECK(threw);
        MPI_Barrier(MPI_COMM_WORLD);
        CHECK(same_model(h5ser::load<Model>(path), whole));  // the previous file, intact
        CHECK(leftovers(dir, {"model.h5"}).empty());
        MPI_Barrier(MPI_COMM_WORLD);
    };

    SUBCASE("the last rank's slice does not match its shard") {
        const auto [offset, count] = block(7, world_rank(), world_size());
        h5ser::mpi::sharding shards = save_shards;
        shards.at("cube") = h5ser::mpi::shard::slice(2, offset, world_rank() == last ? count + 5 : count);
        const Model mine = my_shard(whole);
        expect_every_rank_fails([&] { h5ser::mpi::save(mine, path, MPI_COMM_WORLD, shards); }, h5ser::errc::shape_mismatch, "cube");
    }
    SUBCASE("a hyperparameter differs on the last rank") {
        Model mine = my_shard(whole);
        if (world_rank() == last && world_size() > 1) mine.learning_rate = 0.5f;
        if (world_size() > 1)
            expect_every_rank_fails([&] { h5ser::mpi::save(mine, path, MPI_COMM_WORLD, save_shards); }, h5ser::errc::invalid_value,
                                    "learning_rate");
    }
    SUBCASE("a replicated tensor differs on the last rank") {
        Model mine = my_shard(whole);
        if (world_rank() == last && world_size() > 1) mine.dense.bias.data()[3] += 1.0f;
        if (world_size() > 1)
            expect_every_rank_fails([&] { h5ser::mpi::save(mine, path, MPI_COMM_WORLD, save_shards); }, h5ser::errc::invalid_value,
                                    "dense.bias");
    }
    SUBCASE("fsync fails on rank 0 when it commits") {
        auto& calls = h5ser::detail::durability();
        const auto real_fsync = calls.fsync;
        if (world_rank() == 0)
            calls.fsync = [](int) {
                errno = EIO;
                return -1;
            };
        expect_every_rank_fails([&] { h5ser::mpi::save(my_shard(whole), path, MPI_COMM_WORLD, save_shards); }, h5ser::errc::io, "");
        calls.fsync = real_fsync;
    }
    SUBCASE("the last rank's progress callback throws midway") {
        bool threw = false;
        try {
            h5ser::mpi::save(my_shard(whole), path, MPI_COMM_WORLD, save_shards, [&](std::uint64_t done, std::uint64_t) {
                if (world_rank() == last && done > 300000) throw std::runtime_error("stopped by the user");
            });
        } catch (const h5ser::error& e) {
            threw = world_rank() != last;  // the others: the failure, as an h5ser::error
            CHECK(e.code() == h5ser::errc::rank_failed);
            CHECK(std::string(e.what()).find("stopped by the user") != std::string::npos);
        } catch (const std::runtime_error& e) {
            threw = world_rank() == last;  // the failing rank: its own exception, as h5ser::save does
        }
        CHECK(threw);
        MPI_Barrier(MPI_COMM_WORLD);
        CHECK(same_model(h5ser::load<Model>(path), whole));
        CHECK(leftovers(dir, {"model.h5"}).empty());
        MPI_Barrier(MPI_COMM_WORLD);
    }
    SUBCASE("a null communicator is refused before anything is written") {
        expect_every_rank_fails([&] { h5ser::mpi::save(my_shard(whole), path, MPI_COMM_NULL, save_shards); }, h5ser::errc::invalid_value,
                                "");
    }
    SUBCASE("a field of the sharding names no tensor") {
        h5ser::mpi::sharding shards = save_shards;
        shards.emplace("dense.kernal", h5ser::mpi::shard::split(0));
        expect_every_rank_fails([&] { h5ser::mpi::save(my_shard(whole), path, MPI_COMM_WORLD, shards); }, h5ser::errc::invalid_value,
                                "dense.kernal", "h5ser::mpi::sharding names a field the model does not store as a tensor");
    }
    SUBCASE("a load that fails on the last rank leaves every rank's model as it was") {
        Model mine = whole_model();
        mine.name = "before";
        mine.embedding = {};                                                     // takes this rank's slice
        if (world_rank() == last) mine.dense.bias = filled<float, 1>({301}, 3);  // sized, and wrong
        const Model before = mine;
        bool threw = false;
        try {
            h5ser::mpi::load_into(mine, path, MPI_COMM_WORLD, {{"embedding", h5ser::mpi::shard::split(0)}});
        } catch (const h5ser::error& e) {
            threw = true;
            CHECK(e.code() == h5ser::errc::shape_mismatch);
            CHECK(e.field_path() == "dense.bias");
        }
        CHECK(threw);
        CHECK(same_model(mine, before));
    }
}

TEST_CASE("a damaged tensor fails a sharded load on every rank") {
    const std::string dir = test_dir();
    const std::string path = dir + "/damaged.h5";
    const Model whole = whole_model();
    h5ser::mpi::save(my_shard(whole), path, MPI_COMM_WORLD, save_shards);
    if (world_rank() == 0) {  // flip one bit of the embedding's data, in place
        hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
        hid_t dataset = H5Dopen2(file, "/embedding", H5P_DEFAULT);
        const haddr_t offset = H5Dget_offset(dataset);
        H5Dclose(dataset);
        H5Fclose(file);
        std::FILE* f = std::fopen(path.c_str(), "r+b");
        REQUIRE(f);
        std::fseek(f, static_cast<long>(offset + 4000), SEEK_SET);
        const int byte = std::fgetc(f);
        std::fseek(f, static_cast<long>(offset + 4000), SEEK_SET);
        std::fputc(byte ^ 1, f);
        std::fclose(f);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    bool threw = false;
    try {
        (void)h5ser::mpi::load<Model>(path, MPI_COMM_WORLD, {{"embedding", h5ser::mpi::shard::split(1)}});
    } catch (const h5ser::error& e) {
        threw = true;
        CHECK(e.code() == h5ser::errc::checksum_mismatch);
        CHECK(e.field_path() == "embedding");
    }
    CHECK(threw);
}

int main(int argc, char** argv) {
    MPI_Init(&argc, &argv);
    doctest::Context context(argc, argv);
    int failed = context.run();
    int any = 0;
    MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    MPI_Finalize();
    return any ? 1 : 0;
}
