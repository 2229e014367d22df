// Hardening: damaged files under every load policy, loads racing saves of the same path, forged
// seals and manifests, checkpoints resumed from earlier steps, and odd paths (FIFOs, long names,
// symbolic links). Each case comes from an adversarial review of the loader (see docs/integrity.md).
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>
#include <thread>

#include "support.hpp"

namespace {

namespace d = h5ser::detail;

/// A model whose strings live in HDF5's global heap (which HDF5 1.10 does not checksum).
struct heap_model {
    std::string name;
    std::vector<std::string> labels;
    h5ser::tensor<float, 1> a;
    h5ser::tensor<std::int32_t, 2> b;
};

heap_model sample_heap_model() {
    heap_model m{
        "heap", {"first label", "second", "third, a longer one"}, h5ser::tensor<float, 1>({16}), h5ser::tensor<std::int32_t, 2>({3, 5})};
    for (std::size_t i = 0; i < m.a.size(); ++i) m.a.data()[i] = 0.25f * static_cast<float>(i);
    for (std::size_t i = 0; i < m.b.size(); ++i) m.b.data()[i] = static_cast<std::int32_t>(i * 7);
    return m;
}

bool same(const heap_model& x, const heap_model& y) {
    return x.name == y.name && x.labels == y.labels && test::same_bytes(x.a, y.a) && test::same_bytes(x.b, y.b);
}

std::string read_all(const std::string& path) { return test::file_bytes(path); }

void write_all(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    REQUIRE(out.good());
}

/// Recomputes the seal of a sealed file after its bytes were changed: what anyone can do, since
/// the seal is a check against damage, not a signature.
void reseal(const std::string& path) {
    std::string bytes = read_all(path);
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
    const std::uint64_t userblock = d::load_u64(p + 16);
    const std::uint64_t count = d::load_u64(p + 32);
    std::vector<d::byte_range> ranges(count);
    for (std::size_t i = 0; i < count; ++i) ranges[i] = {d::load_u64(p + 64 + 16 * i), d::load_u64(p + 64 + 16 * i + 8)};
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    const std::uint64_t metadata = d::hash_outside(fd, userblock, bytes.size(), ranges, path);
    ::close(fd);
    auto* w = reinterpret_cast<unsigned char*>(bytes.data());
    d::store_u64(w + 40, metadata);
    std::vector<unsigned char> seal(w, w + 64 + 16 * count);
    d::store_u64(w + 48, d::seal_checksum(seal));
    write_all(path, bytes);
}

/// Writes a "sealed" file of zeros whose userblock holds `manifest` and the data ranges `ranges`:
/// a forged file with a valid seal and manifest checksum, and no HDF5 in it at all.
void write_forged(const std::string& path, const std::vector<unsigned char>& manifest, const std::vector<d::byte_range>& ranges,
                  std::uint64_t data_bytes) {
    const std::uint64_t userblock = d::seal_userblock_size(ranges.size(), manifest.size());
    write_all(path, std::string(static_cast<std::size_t>(userblock + data_bytes), '\0'));
    d::write_seal(path, userblock, ranges, manifest, path);
}

/// Offset of HDF5's global heap collection ("GCOL") in a file's bytes.
std::size_t global_heap_at(const std::string& bytes) {
    const auto at = bytes.find("GCOL");
    REQUIRE(at != std::string::npos);
    return at;
}

/// What a load did with a damaged file.
enum class outcome { refused, same, different };

template <class Load>
outcome try_load(const Load& load, const heap_model& saved) {
    try {
        return same(load(), saved) ? outcome::same : outcome::different;
    } catch (const h5ser::error&) {
        return outcome::refused;
    }
}

/// Sets H5SER_ISOLATION_TIME_LIMIT for the scope.
class isolation_limit {
public:
    explicit isolation_limit(const char* seconds) { ::setenv("H5SER_ISOLATION_TIME_LIMIT", seconds, 1); }
    isolation_limit(const isolation_limit&) = delete;
    isolation_limit& operator=(const isolation_limit&) = delete;
    ~isolation_limit() { ::unsetenv("H5SER_ISOLATION_TIME_LIMIT"); }
};

/// Flips every bit of `count` bytes of the global heap from `first` (relative to "GCOL") and loads
/// each damaged file under every policy: none may crash or hang the caller, and a verified load
/// either refuses the file or returns exactly what was saved. Returns how many loads under
/// h5ser::no_verify (which parses a broken seal's file in a child) returned anything.
std::size_t sweep_global_heap(std::size_t first, std::size_t count, bool every_entry_point) {
    test::scratch_dir dir;
    const std::string path = dir.file("heap.h5");
    const heap_model saved = sample_heap_model();
    h5ser::save(saved, path);
    const std::string good = read_all(path);
    const std::size_t heap = global_heap_at(good);
    REQUIRE(heap + first + count <= good.size());
    const isolation_limit limit("1");  // a damaged heap can send libhdf5 into an endless loop
    std::size_t unverified_loads = 0;
    h5ser::checkpoint_manager<heap_model, h5ser::no_verify> checkpoints(dir.file("run"), {.keep_last = 0});
    for (std::size_t byte = heap + first; byte < heap + first + count; ++byte) {
        for (int bit = 0; bit < 8; ++bit) {
            std::string damaged = good;
            damaged[byte] = static_cast<char>(damaged[byte] ^ (1 << bit));
            write_all(path, damaged);
            CAPTURE(byte);
            CAPTURE(bit);
            CHECK(try_load([&] { return h5ser::load<heap_model>(path); }, saved) == outcome::refused);
            CHECK(try_load([&] { return h5ser::load<heap_model, h5ser::owned_memory>(path); }, saved) == outcome::refused);
            unverified_loads += try_load([&] { return h5ser::load<heap_model, h5ser::no_verify>(path); }, saved) != outcome::refused;
            if (!every_entry_point) continue;
            heap_model into = sample_heap_model();
            into.name = "kept";
            if (try_load(
                    [&] {
                        h5ser::load_into<h5ser::no_verify>(into, path);
                        return into;
                    },
                    saved) == outcome::refused)
                CHECK(into.name == "kept");  // a refused load changes nothing
            write_all(dir.file("run/ckpt-000001.h5"), damaged);
            try_load(
                [&] {
                    heap_model m;
                    checkpoints.restore_latest(m);
                    return m;
                },
                saved);
        }
    }
    return unverified_loads;
}

}  // namespace

TEST_CASE("hardening: a damaged global heap crashes no load, under the default, h5ser::owned_memory and h5ser::no_verify") {
    // The reproducer of the review: bit 6 of a byte of the heap's first object. Before, a load
    // with h5ser::no_verify handed the file to libhdf5 in the caller, which died with SIGSEGV.
    test::scratch_dir dir;
    const std::string path = dir.file("heap.h5");
    const heap_model saved = sample_heap_model();
    h5ser::save(saved, path);
    std::string bytes = read_all(path);
    const std::size_t heap = global_heap_at(bytes);
    bytes[heap + 72] = static_cast<char>(bytes[heap + 72] ^ 0x40);
    write_all(path, bytes);
    const auto e = test::expect_error([&] { (void)h5ser::load<heap_model>(path); });
    CHECK(e.code() == h5ser::errc::checksum_mismatch);
    CHECK(test::contains(e.what(), "seal does not match"));
    CHECK(try_load([&] { return h5ser::load<heap_model, h5ser::no_verify>(path); }, saved) != outcome::same);
    heap_model into;
    CHECK(try_load(
              [&] {
                  h5ser::load_into<h5ser::no_verify, h5ser::owned_memory>(into, path);
                  return into;
              },
              saved) != outcome::same);
    // h5ser::trusted never forks: a file whose seal is broken is refused rather than parsed here.
    const auto t = test::expect_error([&] { (void)h5ser::load<heap_model, h5ser::no_verify, h5ser::trusted>(path); });
    CHECK(t.code() == h5ser::errc::checksum_mismatch);
    CHECK(test::contains(t.what(), "h5ser::trusted"));

    // Every bit of that byte, under every policy (the sweep of 160 bytes is the slow test below).
    sweep_global_heap(72, 1, true);
}

TEST_CASE("hardening: the full global-heap sweep (1,280 flips, every policy)" * doctest::skip()) {
    // Run by CTest under the label "slow" (tests/CMakeLists.txt): a hang costs its time limit.
    // h5ser::load only: load_into and the checkpoint manager's restores share its entry
    // (load_file), and the test above runs them on the reproducer.
    const std::size_t loaded = sweep_global_heap(0, 160, false);
    MESSAGE("loads under no_verify that returned a model: " << loaded << " of 1280");
}

TEST_CASE("hardening: a forged seal does not let a damaged file reach libhdf5 in the caller") {
    // The crasher above, re-sealed: the seal only detects damage. inspect, verify_file and a load
    // of it with h5ser::owned_memory must not crash this process.
    test::scratch_dir dir;
    const std::string path = dir.file("forged.h5");
    const heap_model saved = sample_heap_model();
    h5ser::save(saved, path);
    std::string bytes = read_all(path);
    const std::size_t heap = global_heap_at(bytes);
    for (std::size_t i = 16; i < 64; ++i) bytes[heap + i] = static_cast<char>(0xff);  // lengths and offsets HDF5 trusts
    write_all(path, bytes);
    reseal(path);
    CHECK(d::check_seal(d::opened_file::open(path), true).status == d::seal_status::intact);
    bool returned = false;
    try {
        (void)h5ser::inspect(path);
        returned = true;
    } catch (const h5ser::error& e) {
        CHECK(e.code() != h5ser::errc::io);
    }
    CHECK(d::needs_isolation(d::isolation::hdf5_parses, path));  // what inspect, verify_file and the CLI ask
    (void)returned;
    try {
        (void)h5ser::verify_file(path);
    } catch (const h5ser::error&) {}
    // Loads of an intact format-2 file read its manifest and mapping, never libhdf5: the heap's
    // damage is not seen, and the strings come from the manifest, as saved.
    CHECK(same(h5ser::load<heap_model, h5ser::owned_memory>(path), saved));
    CHECK(same(h5ser::load<heap_model, h5ser::no_verify>(path), saved));
}

TEST_CASE("hardening: a manifest of 80,000 attributes is parsed in linear time") {
    // Before, each attribute was compared with every earlier one of its object: 26 s for this file.
    // Timed as a ratio (4x the attributes must cost under 12x; quadratic work costs 16x), fastest
    // of 3 runs each, so that a busy machine does not fail it; and under a bound 5x below the
    // quadratic parser's time. Not tighter: in an optimised build the load of 20,000 takes 15 ms,
    // and 80,000 map entries no longer fit the caches (GCC -O2 on CI measured 9.0x for the load).
    test::scratch_dir dir;
    const auto seconds_of = [](const auto& f) {
        double best = 1e9;
        for (int run = 0; run < 3; ++run) {
            const auto start = std::chrono::steady_clock::now();
            f();
            best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        }
        return best;
    };
    struct timing {
        double parse, load;
    };
    const auto time_with = [&](int count) {
        const std::string path = dir.file("many-" + std::to_string(count) + ".h5");
        d::manifest_builder builder;
        for (int i = 0; i < count; ++i) builder.attribute("/", "a" + std::to_string(i), std::int32_t{i});
        write_forged(path, builder.finish(d::save_mode::full_model, 0), {}, 4096);
        // The parse every command runs first (load, inspect, verify_file, the CLI, the checkpoint
        // listing), then a whole load of the values.
        const double parse = seconds_of([&] { CHECK(d::check_seal(d::opened_file::open(path), true).status == d::seal_status::intact); });
        std::map<std::string, std::int32_t> loaded;
        h5ser::load_report report;
        const double load = seconds_of([&] { loaded = h5ser::load<std::map<std::string, std::int32_t>, h5ser::lenient>(path, report); });
        CHECK(report.complete());
        CHECK(loaded.size() == static_cast<std::size_t>(count));
        CHECK(loaded.at("a" + std::to_string(count - 1)) == count - 1);
        return timing{parse, load};
    };
    const timing small = time_with(20'000);
    const timing large = time_with(80'000);
    MESSAGE("20,000 attributes: parse " << small.parse << " s, load " << small.load << " s; 80,000: parse " << large.parse << " s, load "
                                        << large.load << " s");
    CHECK(large.parse < 12 * small.parse + 0.05);
    CHECK(large.load < 12 * small.load + 0.05);
    CHECK(large.parse < 5.0);

    const std::string path = dir.file("twice.h5");
    // The same attribute twice is still refused, in the same linear pass.
    d::manifest_builder twice;
    twice.attribute("/", "x", std::int32_t{1});
    twice.attribute("/", "x", std::int32_t{2});
    write_forged(path, twice.finish(d::save_mode::full_model, 0), {}, 4096);
    const auto e = test::expect_error([&] { (void)h5ser::load<std::map<std::string, std::int32_t>>(path); });
    CHECK(test::contains(e.what(), "names attribute 'x' twice"));
}

TEST_CASE("hardening: forged manifests whose tensors share bytes, cover metadata or name impossible shapes are refused") {
    struct two_tensors {
        h5ser::tensor<float, 1> a;
        h5ser::tensor<float, 1> b;
    };
    test::scratch_dir dir;
    const std::string path = dir.file("forged.h5");
    const std::uint64_t dims[] = {256};
    const auto forged = [&](std::uint64_t a_offset, std::uint64_t b_offset, std::vector<d::byte_range> ranges) {
        d::manifest_builder m;
        m.dataset("/a", "float32", dims, 1, d::record_layout::contiguous, {}, a_offset, 1024, 0, nullptr);
        m.dataset("/b", "float32", dims, 1, d::record_layout::contiguous, {}, b_offset, 1024, 0, nullptr);
        const auto bytes = m.finish(d::save_mode::full_model, 0);
        const std::uint64_t userblock = d::seal_userblock_size(ranges.size(), bytes.size());
        for (auto& r : ranges) r.offset += userblock;
        write_all(path, std::string(static_cast<std::size_t>(userblock + 4096), '\0'));
        // Offsets are relative to the file's start: shift the records by the userblock too.
        d::manifest_builder shifted;
        shifted.dataset("/a", "float32", dims, 1, d::record_layout::contiguous, {}, userblock + a_offset, 1024, 0, nullptr);
        shifted.dataset("/b", "float32", dims, 1, d::record_layout::contiguous, {}, userblock + b_offset, 1024, 0, nullptr);
        d::write_seal(path, userblock, ranges, shifted.finish(d::save_mode::full_model, 0), path);
    };
    // Both tensors at the same bytes (one data range): they would share memory.
    forged(0, 0, {{0, 1024}});
    auto e = test::expect_error([&] { (void)h5ser::load<two_tensors, h5ser::no_verify>(path); });
    INFO(std::string(e.what()));
    CHECK(e.code() == h5ser::errc::checksum_mismatch);
    CHECK(test::contains(e.what(), "share bytes"));
    // b outside the seal's data ranges: its bytes are metadata the seal hashes.
    forged(0, 2048, {{0, 1024}});
    e = test::expect_error([&] { (void)h5ser::load<two_tensors, h5ser::no_verify>(path); });
    CHECK(test::contains(e.what(), "is not one of its data ranges"));
    // Disjoint and listed: accepted (the data are zeros, their checksums unchecked).
    forged(0, 2048, {{0, 1024}, {2048, 1024}});
    CHECK(h5ser::load<two_tensors, h5ser::no_verify>(path).b.size() == 256);

    // A tensor of zero elements whose other dimension is above PTRDIFF_MAX.
    d::manifest_builder huge;
    const std::uint64_t impossible[] = {0, std::uint64_t{1} << 63};
    huge.dataset("/a", "float32", impossible, 2, d::record_layout::compact, {}, 0, 0, 0, nullptr);
    write_forged(path, huge.finish(d::save_mode::full_model, 0), {}, 4096);
    struct matrix {
        h5ser::tensor<float, 2> a;
    };
    e = test::expect_error([&] { (void)h5ser::load<matrix, h5ser::no_verify>(path); });
    CHECK(test::contains(e.what(), "larger than any index"));
}

namespace {

struct versioned {
    h5ser::tensor<float, 1> a;
    h5ser::tensor<float, 1> b;
    std::int64_t version = 0;
};

versioned version_of(std::int64_t v) {
    versioned m{h5ser::tensor<float, 1>({64 << 10}), h5ser::tensor<float, 1>({1000}), v};
    std::fill(m.a.data(), m.a.data() + m.a.size(), static_cast<float>(v));
    std::fill(m.b.data(), m.b.data() + m.b.size(), static_cast<float>(v));
    return m;
}

/// Is `m` one whole saved version (every value is its version number)?
bool whole(const versioned& m) {
    const auto v = static_cast<float>(m.version);
    return (m.version == 1 || m.version == 2) && m.a.size() == (64u << 10) && m.b.size() == 1000 &&
           std::all_of(m.a.data(), m.a.data() + m.a.size(), [&](float x) { return x == v; }) &&
           std::all_of(m.b.data(), m.b.data() + m.b.size(), [&](float x) { return x == v; });
}

/// Loads `path` with `load` for `seconds` while another process saves versions 1 and 2 over it in
/// turn (each save an atomic rename); checks every load returned one whole version or said that
/// the file changed while it was loading. Returns how many loads said so.
template <class... SavePolicies, class Load>
int load_while_saving(const std::string& path, double seconds, const Load& load) {
    h5ser::save<SavePolicies...>(version_of(1), path);
    const pid_t saver = ::fork();
    REQUIRE(saver >= 0);
    if (saver == 0) {
        const versioned v1 = version_of(1), v2 = version_of(2);
        for (int i = 0;; ++i) {
            try {
                h5ser::save<SavePolicies...>(i % 2 ? v1 : v2, path);
            } catch (...) {
                ::_exit(1);
            }
        }
    }
    int loads = 0, changed = 0, wrong = 0, other = 0;
    const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < until) {
        ++loads;
        try {
            wrong += !whole(load());
        } catch (const h5ser::error& e) {
            if (e.code() == h5ser::errc::file_changed) ++changed;
            else {
                ++other;
                MESSAGE("load failed: " << e.what());
            }
        }
    }
    ::kill(saver, SIGKILL);
    ::waitpid(saver, nullptr, 0);
    CAPTURE(loads);
    CAPTURE(changed);
    CHECK(loads > 0);
    CHECK(wrong == 0);
    CHECK(other == 0);
    return changed;
}

}  // namespace

TEST_CASE("hardening: loads racing saves of the same path by another process return one whole version") {
    // Before, a load opened the path up to three times: with h5ser::no_verify 108 of 8,369 loads
    // mixed two versions; verified ones reported tampering where nothing was damaged.
    test::scratch_dir dir;
    const std::string path = dir.file("raced.h5");
    const double seconds = test::address_sanitized ? 1.5 : 0.75;
    // Loads from the manifest read only the descriptor they opened: a rename over the path never
    // even makes them try again.
    CHECK(load_while_saving(path, seconds, [&] { return h5ser::load<versioned>(path); }) == 0);
    CHECK(load_while_saving(path, seconds, [&] { return h5ser::load<versioned, h5ser::no_verify>(path); }) == 0);
    CHECK(load_while_saving(path, seconds, [&] { return h5ser::load<versioned, h5ser::owned_memory>(path); }) == 0);
    // Chunked tensors are read through HDF5, in a child by default and here with h5ser::trusted:
    // what HDF5 opens by name is checked to be the file the load opened (a busy machine may see
    // every attempt of a load find another file: errc::file_changed, never a mix).
    MESSAGE("chunked, replaced while loading: " << load_while_saving<h5ser::compressed>(path, seconds,
                                                                                        [&] { return h5ser::load<versioned>(path); }));
    MESSAGE("chunked, trusted, replaced while loading: " << load_while_saving<h5ser::compressed>(
                path, seconds, [&] { return h5ser::load<versioned, h5ser::trusted>(path); }));
}

namespace {

struct step_weights {
    h5ser::tensor<float, 1> w;
    std::int64_t step = 0;
};

step_weights at_step(std::uint64_t step) {
    step_weights m{h5ser::tensor<float, 1>({32}), static_cast<std::int64_t>(step)};
    std::fill(m.w.data(), m.w.data() + m.w.size(), static_cast<float>(step));
    return m;
}

std::vector<std::uint64_t> steps_of(const std::vector<h5ser::checkpoint_info>& list) {
    std::vector<std::uint64_t> out;
    for (const auto& c : list) out.push_back(c.step);
    return out;
}

}  // namespace

TEST_CASE("hardening: a checkpoint of a step older than the newest is refused, and nothing is deleted") {
    // Before, save(model, 11) after steps 15..20 with keep_last = 3 returned the path of ckpt-11,
    // which pruning had deleted at once, and restore_latest restored step 20 of the abandoned run.
    test::scratch_dir dir;
    h5ser::checkpoint_manager<step_weights> checkpoints(dir.file("run"), {.keep_last = 3});
    for (std::uint64_t step = 15; step <= 20; ++step) checkpoints.save(at_step(step), step);
    const auto e = test::expect_error([&] { (void)checkpoints.save(at_step(11), 11); });
    CHECK(test::contains(e.what(), "newer checkpoint"));
    CHECK(test::contains(e.what(), "ckpt-000020.h5"));
    // save_async is refused the same way, before anything is written.
    CHECK(test::contains(test::expect_error([&] { (void)checkpoints.save_async(at_step(12), 12); }).what(), "newer checkpoint"));
    CHECK(steps_of(checkpoints.list()) == std::vector<std::uint64_t>{18, 19, 20});
    step_weights restored;
    CHECK(checkpoints.restore_latest(restored) == 20u);
    CHECK(restored.step == 20);
    // The same step again replaces its checkpoint.
    step_weights again = at_step(20);
    again.w.data()[0] = -1;
    CHECK(std::filesystem::exists(checkpoints.save(again, 20)));
    CHECK(checkpoints.restore_latest(restored) == 20u);
    CHECK(restored.w.data()[0] == -1);
}

TEST_CASE("hardening: best() never picks a NaN metric, and stray checkpoint names do not break the listing") {
    test::scratch_dir dir;
    h5ser::checkpoint_manager<step_weights> checkpoints(dir.file("run"), {.keep_last = 0});
    checkpoints.save(at_step(1), 1, 0.5);
    checkpoints.save(at_step(2), 2, 0.7);
    checkpoints.save(at_step(3), 3, std::numeric_limits<double>::quiet_NaN());  // a diverged run
    REQUIRE(checkpoints.best().has_value());
    CHECK(checkpoints.best()->step == 1);
    h5ser::checkpoint_manager<step_weights> accuracy(dir.file("acc"), {.keep_last = 1, .keep_best = 1, .higher_is_better = true});
    accuracy.save(at_step(1), 1, 0.9);
    accuracy.save(at_step(2), 2, std::numeric_limits<double>::quiet_NaN());
    accuracy.save(at_step(3), 3, 0.1);
    CHECK(steps_of(accuracy.list()) == std::vector<std::uint64_t>{1, 3});  // the NaN one was not kept as "best"
    // A file named like a checkpoint with a step beyond 64 bits is not one of ours.
    std::ofstream(dir.file("run/ckpt-123456789012345678901234.h5")) << "x";
    CHECK(steps_of(checkpoints.list()) == std::vector<std::uint64_t>{1, 2, 3});
}

TEST_CASE("hardening: a save or load of a path waits for this process's save_async of it") {
    test::scratch_dir dir;
    const std::string path = dir.file("m.h5");
    versioned big = version_of(1);
    big.a = h5ser::tensor<float, 1>({16u << 20});  // 64 MiB: the background save takes a while
    std::fill(big.a.data(), big.a.data() + big.a.size(), 1.0f);
    // The same path spelt differently ("dir/./m.h5") is the same file.
    const std::string same_path = (dir.path() / "." / "m.h5").string();
    auto pending = h5ser::save_async(big, same_path);
    h5ser::save(version_of(2), path);  // must not be overwritten by the save in flight
    pending.wait();
    CHECK(h5ser::load<versioned>(path).version == 2);
    // A load waits for the save in flight, and sees what it saved.
    auto second = h5ser::save_async(big, path);
    const auto loaded = h5ser::load<versioned>(path);
    CHECK(loaded.version == 1);
    CHECK(loaded.a.size() == big.a.size());
    second.wait();
}

TEST_CASE("hardening: a FIFO, a directory or a device is refused at once by load, inspect and verify_file") {
    test::scratch_dir dir;
    const std::string fifo = dir.file("pipe.h5");
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    for (const std::string& path : {fifo, dir.path().string(), std::string("/dev/null")}) {
        CAPTURE(path);
        auto e = test::expect_error([&] { (void)h5ser::load<versioned>(path); });
        CHECK(e.code() == h5ser::errc::io);
        e = test::expect_error([&] { (void)h5ser::inspect(path); });
        CHECK(e.code() == h5ser::errc::io);
        e = test::expect_error([&] { (void)h5ser::verify_file(path); });
        CHECK(e.code() == h5ser::errc::io);
        CHECK_FALSE(d::has_seal(path));
    }
}

TEST_CASE("hardening: a file name of 250 characters saves and loads, and its temporaries are swept") {
    test::scratch_dir dir;
    const std::string path = dir.file(std::string(247, 'n') + ".h5");
    h5ser::save(version_of(1), path);
    CHECK(h5ser::load<versioned>(path).version == 1);
    h5ser::save(version_of(2), path);
    CHECK(h5ser::load<versioned>(path).version == 2);
    CHECK(test::count_files(dir.path()) == 1);
}

TEST_CASE("hardening: a save through a symbolic link replaces the file it names and keeps the link") {
    test::scratch_dir dir;
    std::filesystem::create_directories(dir.path() / "real");
    const std::string real = dir.file("real/model.h5"), link = dir.file("model.h5");
    std::filesystem::create_symlink("real/model.h5", link);  // dangling until the first save
    h5ser::save(version_of(1), link);
    CHECK(std::filesystem::is_symlink(link));
    CHECK(h5ser::load<versioned>(real).version == 1);
    h5ser::save(version_of(2), link);
    CHECK(std::filesystem::is_symlink(link));
    CHECK(h5ser::load<versioned>(link).version == 2);
    CHECK(test::count_files(dir.path() / "real") == 1);
}

TEST_CASE("hardening: temporaries are judged by their writer's lock, not its PID") {
    test::scratch_dir dir;
    const std::string path = dir.file("m.h5");
    // A writer in another PID namespace or on another host: a PID that does not exist here, and
    // the lock held (by a child process of this test).
    const std::string live = path + ".tmp-999999999-00000000000000aa";
    const std::string dead = path + ".tmp-999999998-00000000000000bb";
    std::ofstream(live) << "being written";
    std::ofstream(dead) << "left by a killed save";
    const auto old = std::filesystem::file_time_type::clock::now() - std::chrono::hours(1);
    std::filesystem::last_write_time(live, old);
    std::filesystem::last_write_time(dead, old);
    int ready[2];
    REQUIRE(::pipe(ready) == 0);
    const pid_t holder = ::fork();
    REQUIRE(holder >= 0);
    if (holder == 0) {
        const int fd = ::open(live.c_str(), O_RDWR);
        const bool locked = fd >= 0 && d::lock_temporary(fd);
        const char c = locked ? 'L' : 'x';
        (void)!::write(ready[1], &c, 1);
        ::pause();
        ::_exit(0);
    }
    char c = 0;
    REQUIRE(::read(ready[0], &c, 1) == 1);
    REQUIRE(c == 'L');
    h5ser::save(version_of(1), path);
    CHECK(std::filesystem::exists(live));
    CHECK_FALSE(std::filesystem::exists(dead));
    ::kill(holder, SIGKILL);
    ::waitpid(holder, nullptr, 0);
    ::close(ready[0]);
    ::close(ready[1]);
    h5ser::save(version_of(2), path);  // its writer is gone now
    CHECK_FALSE(std::filesystem::exists(live));
    CHECK(test::count_files(dir.path()) == 1);
}

TEST_CASE("hardening: scratch files of killed isolated loads are swept") {
    test::scratch_dir dir;
    const std::string path = dir.file("unsealed.h5");
    h5ser::save(version_of(1), path);
    test::unseal(path);
    const std::string stale = "/dev/shm/h5ser-isolated-load-999999999-abcdef";
    std::ofstream(stale) << "left by a killed caller";
    std::filesystem::last_write_time(stale, std::filesystem::file_time_type::clock::now() - std::chrono::hours(1));
    CHECK(h5ser::load<versioned>(path).version == 1);  // parsed in a child, through a scratch file
    CHECK_FALSE(std::filesystem::exists(stale));
}

TEST_CASE("hardening: H5SER_ISOLATION_TIME_LIMIT is checked, and the default limit starts at 5 s") {
    CHECK(d::isolation_time_limit_ms(18 << 10) < 5'100);
    CHECK(d::isolation_time_limit_ms(std::uint64_t{1} << 30) == 5'000 + 128'000);
    {
        const isolation_limit tiny("0.0001");
        CHECK(d::isolation_time_limit_ms(0) == 1);  // not 0 ms
    }
    for (const char* bad : {"abc", "-3", "0", "5s", ""}) {
        CAPTURE(bad);
        const isolation_limit limit(bad);
        const auto e = test::expect_error([] { (void)d::isolation_time_limit_ms(0); });
        CHECK(test::contains(e.what(), "H5SER_ISOLATION_TIME_LIMIT"));
    }
}
