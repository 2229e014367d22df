// Files h5ser did not seal are parsed in a child process: crashes and hangs of libhdf5 become
// h5ser::errc::isolation_failed, results are those of a load in this process, and forking is safe
// while other threads save or call libhdf5. (tests/isolation/damaged_files.cpp runs a thousand
// damaged files through every entry point.)
#include <h5ser/keras.hpp>

#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "keras/fixture_models.hpp"
#include "support.hpp"

namespace {

namespace keras = h5ser::keras;

// Under AddressSanitizer, the child's bad read may be caught by ASan's memcpy interceptor, which
// reports it and exits with status 1 instead of taking the SIGSEGV.
using test::address_sanitized;

/// A copy of `source` at `to` with bit `bit` of byte `byte` flipped.
void flipped_copy(const std::string& source, const std::string& to, std::size_t byte, int bit) {
    std::filesystem::copy_file(source, to, std::filesystem::copy_options::overwrite_existing);
    std::filesystem::permissions(to, std::filesystem::perms::owner_write, std::filesystem::perm_options::add);
    std::fstream f(to, std::ios::binary | std::ios::in | std::ios::out);
    f.seekg(static_cast<std::streamoff>(byte));
    char c = 0;
    f.read(&c, 1);
    c = static_cast<char>(c ^ (1 << bit));
    f.seekp(static_cast<std::streamoff>(byte));
    f.write(&c, 1);
}

/// The h5ser::error `f` throws (REQUIREs that it throws one).
template <class F>
h5ser::error error_of(const F& f) {
    try {
        f();
    } catch (const h5ser::error& e) {
        return e;
    }
    FAIL("no h5ser::error");
    return h5ser::error("", h5ser::problem{});
}

/// A model whose strings live in HDF5's global heap.
struct tagged_model {
    std::string name = "tagged";
    std::vector<std::string> tags{"a", "bb", "ccc"};
    h5ser::tensor<float, 2> w;
    h5ser::tensor<double, 1> b;
};

tagged_model sample_model() {
    tagged_model m;
    m.w = h5ser::tensor<float, 2>({3, 4});
    for (std::size_t i = 0; i < m.w.size(); ++i) m.w.data()[i] = 0.25f * static_cast<float>(i);
    m.b = h5ser::tensor<double, 1>({5});
    for (std::size_t i = 0; i < m.b.size(); ++i) m.b.data()[i] = -1.5 * static_cast<double>(i);
    return m;
}

bool same_bytes(const tagged_model& a, const tagged_model& b) {
    return a.name == b.name && a.tags == b.tags && a.w.shape() == b.w.shape() && b.b.shape() == a.b.shape() &&
           std::memcmp(a.w.data(), b.w.data(), a.w.size_bytes()) == 0 && std::memcmp(a.b.data(), b.b.data(), a.b.size_bytes()) == 0;
}

/// Whether `load(progress)` parsed its file in a child: the child reports progress to the caller
/// while the file it sends the model back in exists (isolation.hpp's scratch_file).
template <class Load>
bool parsed_in_child(const Load& load) {
    const std::string prefix = "h5ser-isolated-load-" + std::to_string(::getpid()) + "-";
    bool seen = false;
    load([&](std::uint64_t, std::uint64_t) {
        for (const auto& dir : {std::filesystem::path("/dev/shm"), std::filesystem::temp_directory_path()}) {
            std::error_code ec;
            for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
                seen = seen || it->path().filename().string().rfind(prefix, 0) == 0;
        }
    });
    return seen;
}

/// Sets H5SER_ISOLATION_TIME_LIMIT for the scope.
class time_limit {
public:
    explicit time_limit(const char* seconds) { ::setenv("H5SER_ISOLATION_TIME_LIMIT", seconds, 1); }
    ~time_limit() { ::unsetenv("H5SER_ISOLATION_TIME_LIMIT"); }
    time_limit(const time_limit&) = delete;
    time_limit& operator=(const time_limit&) = delete;
};

}  // namespace

TEST_CASE("isolation: the issue's reproducers crash libhdf5 in the child, and the caller gets errc::isolation_failed") {
    const auto native = fixtures::keras_fixture("k3_mlp_adam.weights.h5");
    if (native.empty()) return;
    test::scratch_dir dir;
    const std::string bad = dir.file("bad.weights.h5");
    flipped_copy(native, bad, 2157, 2);  // SIGSEGV in H5HG_read when parsed in this process

    const auto e = error_of([&] { (void)keras::read_model_config(bad); });
    CHECK(e.code() == h5ser::errc::isolation_failed);
    CHECK(e.file() == bad);
    CHECK((test::contains(e.what(), "crashed with signal 11 (SIGSEGV") ||
           (address_sanitized && test::contains(e.what(), "ended with exit status 1 without a reply"))));

    // load_weights: the model stays exactly as it was.
    fixtures::Mlp3 m;
    keras::load_weights<h5ser::trusted>(m, native);
    const std::string before = h5ser::fingerprint(m);
    CHECK(error_of([&] { keras::load_weights(m, bad); }).code() == h5ser::errc::isolation_failed);
    CHECK(h5ser::fingerprint(m) == before);
    CHECK(error_of([&] { (void)h5ser::inspect(bad); }).code() == h5ser::errc::isolation_failed);

    // The process goes on: the intact file still loads.
    fixtures::Mlp3 again;
    keras::load_weights(again, native);
    CHECK(h5ser::fingerprint(again) == before);
}

TEST_CASE("isolation: a child that exceeds the time limit is killed, and the error says so") {
    // No file hangs libhdf5 reproducibly in every HDF5 build, so the limit is made shorter than
    // any child needs: a sound parse is then reported as a hang, the way a real one is. The limit
    // counts from the fork, so the child must need more than its 1 ms: it reads and hashes 64 MiB.
    test::scratch_dir dir;
    const std::string unsealed = dir.file("unsealed.h5");
    tagged_model big = sample_model();
    big.w = h5ser::tensor<float, 2>({4096, 4096});
    h5ser::save(big, unsealed);
    test::unseal(unsealed);
    const time_limit limit("0.000001");
    const auto e = error_of([&] { (void)h5ser::load<tagged_model>(unsealed); });
    CHECK(e.code() == h5ser::errc::isolation_failed);
    CHECK(test::contains(e.what(), "did not finish within its time limit of 0.0 s"));
    CHECK(test::contains(e.what(), "H5SER_ISOLATION_TIME_LIMIT"));
}

TEST_CASE("isolation: Keras files load the same with isolation on and off, byte for byte") {
    for (const char* name : {"k3.14_legacy_mlp_adam.h5", "k3_mlp_adam.weights.h5", "k2.15_windows_backslash.keras"}) {
        const auto path = fixtures::keras_fixture(name);
        if (path.empty()) return;
        CAPTURE(name);
        fixtures::Mlp3 isolated, in_process;
        keras::load_weights(isolated, path);
        keras::load_weights<h5ser::trusted>(in_process, path);
        CHECK(h5ser::fingerprint(isolated) == h5ser::fingerprint(in_process));
        CHECK(isolated.dense.kernel.size_bytes() == in_process.dense.kernel.size_bytes());
        CHECK(std::memcmp(isolated.dense.kernel.data(), in_process.dense.kernel.data(), isolated.dense.kernel.size_bytes()) == 0);
        CHECK(h5ser::detail::to_wire(keras::read_model_config(path)) ==
              h5ser::detail::to_wire(keras::read_model_config<h5ser::trusted>(path)));
        CHECK(h5ser::to_string(h5ser::inspect(path.ends_with(".keras") ? fixtures::keras_fixture("k3_mlp_adam.weights.h5") : path)) ==
              h5ser::to_string(
                  h5ser::inspect<h5ser::trusted>(path.ends_with(".keras") ? fixtures::keras_fixture("k3_mlp_adam.weights.h5") : path)));
    }
}

TEST_CASE("isolation: an h5ser file without its seal loads in a child, identically, with progress") {
    test::scratch_dir dir;
    const std::string path = dir.file("unsealed.h5");
    const tagged_model saved = sample_model();
    h5ser::save(saved, path);
    test::unseal(path);
    std::vector<std::uint64_t> done;
    const auto isolated = h5ser::load<tagged_model>(path, [&](std::uint64_t d, std::uint64_t) { done.push_back(d); });
    const auto in_process = h5ser::load<tagged_model, h5ser::trusted>(path);
    CHECK(same_bytes(isolated, saved));
    CHECK(same_bytes(in_process, saved));
    REQUIRE(!done.empty());
    CHECK(done.back() == std::filesystem::file_size(path));  // the child's progress reached the caller

    // verify_file and file_fingerprint read it in a child too; their results come back whole.
    const h5ser::verify_report report = h5ser::verify_file(path);
    CHECK(!report.seal_ok);
    CHECK(report.computed_fingerprint == h5ser::fingerprint(saved));
    CHECK(report.datasets.size() == 2);
    CHECK(report.datasets[0].path == "/w");
    CHECK(h5ser::file_fingerprint(path) == h5ser::fingerprint(saved));

    // load_into keeps its all-or-nothing promise across the process boundary.
    tagged_model target = sample_model();
    target.name = "before";
    h5ser::load_into<h5ser::owned_memory>(target, path);
    CHECK(same_bytes(target, saved));
    tagged_model wrong;
    wrong.w = h5ser::tensor<float, 2>({2, 2});
    const auto e = error_of([&] { h5ser::load_into(wrong, path); });
    CHECK(e.code() == h5ser::errc::shape_mismatch);  // the child's error, as a load here would throw it
    CHECK(e.field_path() == "w");
    CHECK(e.file() == path);
    CHECK(wrong.w.shape() == std::array<std::size_t, 2>{2, 2});
}

TEST_CASE("isolation: a stored checksum or fingerprint that no data can match is refused in a child as in place") {
    // The child checks the file without reading tensor data, and the copy it sends keeps the
    // file's checksums as numbers: a stored text that is not one (a damaged digit, or uppercase,
    // which no computed text equals) must still be refused, as the load in place refuses it.
    test::scratch_dir dir;
    const tagged_model saved = sample_model();
    const std::string fingerprint = h5ser::fingerprint(saved);
    std::string upper = fingerprint;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    REQUIRE(upper != fingerprint);  // it has a letter digit (fixed by the sample model)
    std::string damaged = fingerprint;
    damaged[5] = '`';  // a flipped bit of 'd' or 'a'..'f' gives such characters
    for (const std::string& stored : {upper, damaged}) {
        CAPTURE(stored);
        const std::string path = dir.file("fingerprint.h5");
        h5ser::save(saved, path);
        test::raw_file(path).write_string_attribute("/", "fingerprint", stored);  // unsealed when done
        const auto in_place = test::expect_error([&] { (void)h5ser::load<tagged_model, h5ser::trusted>(path); });
        const auto isolated = test::expect_error([&] { (void)h5ser::load<tagged_model>(path); });
        CHECK(in_place.code() == h5ser::errc::checksum_mismatch);
        CHECK(isolated.code() == in_place.code());
        CHECK(std::string(isolated.what()) == in_place.what());
        CHECK(test::contains(isolated.what(), "fingerprint " + stored));
        // Unverified, or not comparing fingerprints (lenient), both load it, and alike.
        CHECK(same_bytes(h5ser::load<tagged_model, h5ser::no_verify>(path), saved));
        h5ser::load_report report;
        CHECK(same_bytes(h5ser::load<tagged_model, h5ser::lenient>(path, report), saved));
        CHECK(report.complete());
    }

    // A file without a manifest keeps its tensors' checksums as dataset attributes (format 1's): one
    // that is not a checksum, on a tensor the struct reads, is refused alike.
    const std::string path = dir.file("checksum.h5");
    h5ser::save(saved, path);
    {
        test::raw_file file(path);
        file.write_string_attribute("/w", "h5ser_checksum", "xxh3-64:NOT-A-CHECKSUM!");
    }
    const auto in_place = test::expect_error([&] { (void)h5ser::load<tagged_model, h5ser::trusted>(path); });
    const auto isolated = test::expect_error([&] { (void)h5ser::load<tagged_model>(path); });
    CHECK(in_place.code() == h5ser::errc::checksum_mismatch);
    CHECK(isolated.code() == in_place.code());
    CHECK(isolated.field_path() == "w");
    CHECK(std::string(isolated.what()) == in_place.what());
}

TEST_CASE("isolation: h5ser::untrusted parses a sealed file in a child, h5ser::trusted parses an unsealed one here") {
    test::scratch_dir dir;
    const std::string sealed = dir.file("sealed.h5");
    h5ser::save(sample_model(), sealed);
    // A parse by libhdf5 is isolated for a sealed file too (a seal is no signature); a load of an
    // intact sealed file needs no libhdf5, so it stays here (below).
    CHECK(h5ser::detail::needs_isolation(h5ser::detail::isolation::hdf5_parses, sealed));
    CHECK(h5ser::detail::needs_isolation(h5ser::detail::isolation::always, sealed));
    CHECK(!h5ser::detail::needs_isolation(h5ser::detail::isolation::never, sealed));
    CHECK(same_bytes(h5ser::load<tagged_model, h5ser::untrusted>(sealed), sample_model()));
    const std::string unsealed = dir.file("unsealed.h5");
    std::filesystem::copy_file(sealed, unsealed);
    test::unseal(unsealed);
    // untrusted forks even for a sealed file; the default only for the unsealed one (the seal is
    // checked before HDF5 parses the other); trusted never.
    tagged_model m;
    CHECK(parsed_in_child([&](const auto& p) { h5ser::load_into<h5ser::untrusted>(m, sealed, p); }));
    CHECK(!parsed_in_child([&](const auto& p) { h5ser::load_into(m, sealed, p); }));
    CHECK(parsed_in_child([&](const auto& p) { h5ser::load_into(m, unsealed, p); }));
    CHECK(!parsed_in_child([&](const auto& p) { h5ser::load_into<h5ser::trusted>(m, unsealed, p); }));
    CHECK(same_bytes(h5ser::load<tagged_model, h5ser::trusted>(unsealed), sample_model()));
    CHECK(!h5ser::inspect<h5ser::trusted>(unsealed).children.empty());
}

TEST_CASE("isolation: forking is safe while another thread saves in the background and another calls libhdf5") {
    if (test::address_sanitized) {
        // Each isolated load waits for the background save in flight (the fork gate): under ASan,
        // with a thread calling libhdf5 in a tight loop beside it, about 3 s a load, two minutes
        // for the test. What ASan adds to it, a fork while other threads allocate, has a test of
        // its own below.
        MESSAGE("SKIPPED under AddressSanitizer: two minutes of waiting for background saves");
        return;
    }
    const auto native = fixtures::keras_fixture("k3_mlp_adam.weights.h5");
    if (native.empty()) return;
    test::scratch_dir dir;
    fixtures::Mlp3 expected;
    keras::load_weights<h5ser::trusted>(expected, native);
    const std::string expected_print = h5ser::fingerprint(expected);

    std::atomic<int> saves{0}, raw_calls{0};
    // jthreads: a load that throws ends the test with its message (the threads stop and join),
    // not with std::terminate.
    // h5ser's own threads: save_async's background writer, fed continuously.
    std::jthread saver([&](const std::stop_token& stop) {
        tagged_model m = sample_model();
        m.w = h5ser::tensor<float, 2>({512, 512});
        while (!stop.stop_requested()) {
            h5ser::save_async(m, dir.file("bg.h5")).wait();
            ++saves;
        }
    });
    // A thread of the program that calls libhdf5 itself (HDF5's global lock, which h5ser cannot
    // see): the child may inherit it locked and is then started again.
    const std::string raw = dir.file("raw.h5");
    h5ser::save(sample_model(), raw);
    std::jthread hdf5_user([&](const std::stop_token& stop) {
        while (!stop.stop_requested()) {
            const hid_t f = H5Fopen(raw.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
            if (f >= 0) H5Fclose(f);
            ++raw_calls;
        }
    });
    int loads = 0;
    for (; loads < 40; ++loads) {
        fixtures::Mlp3 m;
        keras::load_weights(m, native);
        REQUIRE(h5ser::fingerprint(m) == expected_print);
    }
    saver.request_stop();
    hdf5_user.request_stop();
    saver.join();
    hdf5_user.join();
    h5ser::wait_for_saves();
    CHECK(loads == 40);
    CHECK(saves > 0);
    CHECK(raw_calls > 0);
    MESSAGE(loads << " isolated loads during " << saves.load() << " background saves and " << raw_calls.load() << " raw HDF5 opens");
}

TEST_CASE("isolation: a child forked while another thread allocates does not wait for the allocator") {
    // A fork copies the allocator's locks as they are: one held by a thread in malloc at that
    // moment stays held in the child, whose first allocation of that size then waits for good.
    // glibc's malloc takes its locks around fork; h5ser takes AddressSanitizer's for runtimes that
    // do not (before LLVM 18). Without that, Clang 14's ASan hangs a child here within a few loads.
    test::scratch_dir dir;
    const std::string sealed = dir.file("sealed.h5");
    h5ser::save(sample_model(), sealed);
    std::atomic<long> allocations{0};
    // Two threads (one more than this machine may have cores, so that they are often preempted
    // with a lock held) allocate and free blocks of 8 bytes to 64 KiB in turn; a thread caches
    // few blocks of the larger sizes, so it often takes their shared lock.
    const auto allocate = [&](const std::stop_token& stop) {
        std::vector<std::unique_ptr<char[]>> held(16);
        std::size_t size = 8;
        for (std::size_t i = 0; !stop.stop_requested(); ++i) {
            held[i % held.size()].reset(new char[size]);  // frees the old block; the new one is not written
            size = size < 65536 ? size * 2 : 8;
            ++allocations;
        }
    };
    std::jthread first(allocate), second(allocate);
    int loads = 0;
    for (; loads < 40; ++loads) REQUIRE(same_bytes(h5ser::load<tagged_model, h5ser::untrusted>(sealed), sample_model()));
    first.request_stop();
    second.request_stop();
    first.join();
    second.join();
    CHECK(allocations > loads);
    MESSAGE(loads << " isolated loads during " << allocations.load() << " allocations on another thread");
}

namespace fork_handlers {
std::atomic<int> prepared{0};
/// Fork handlers of another library that allocate and free (libblosc's child handler frees): each
/// child allocates from a call stack its parent never had (so AddressSanitizer's stack depot must
/// take a new entry), in sizes a thread may have no block of in its cache.
void allocate_in_prepare() {
    const std::vector<char> block(4096);
    prepared += block.empty() ? 0 : 1;
}
void allocate_in_child() {
    std::vector<std::unique_ptr<char[]>> blocks;
    for (std::size_t size = 8; size <= 65536; size *= 2) blocks.emplace_back(new char[size]);
}
}  // namespace fork_handlers

TEST_CASE("isolation: other libraries' fork handlers may allocate, before the fork and in the child") {
    // h5ser's own handlers (under Clang's ASan: sanitizer_fork.hpp) hold the allocator's locks only
    // between every other handler's prepare and child parts; a handler run inside them would wait
    // for good. Registered once per process (there is no unregistering).
    static const bool registered = ::pthread_atfork(&fork_handlers::allocate_in_prepare, nullptr, &fork_handlers::allocate_in_child) == 0;
    REQUIRE(registered);
    test::scratch_dir dir;
    const std::string sealed = dir.file("sealed.h5");
    h5ser::save(sample_model(), sealed);
    const int before = fork_handlers::prepared;
    for (int i = 0; i < 5; ++i) REQUIRE(same_bytes(h5ser::load<tagged_model, h5ser::untrusted>(sealed), sample_model()));
    CHECK(fork_handlers::prepared >= before + 5);  // the handlers ran at each fork
}

TEST_CASE("isolation: the time limit counts from the fork, not from the wait for a background save") {
    // An isolated load forks only while no h5ser thread is inside libhdf5, so it waits for a
    // background save's write to end. That wait is the program's time, not the file's: a load that
    // waited longer than its limit still gives its child the whole limit.
    test::scratch_dir dir;
    const std::string sealed = dir.file("sealed.h5");
    h5ser::save(sample_model(), sealed);
    std::atomic<bool> writing{false};
    auto pending = h5ser::save_async(sample_model(), dir.file("background.h5"), [&](std::uint64_t, std::uint64_t) {
        if (!writing.exchange(true)) std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // inside the write
    });
    while (!writing) std::this_thread::yield();
    const time_limit limit("1");
    const auto start = std::chrono::steady_clock::now();
    CHECK(same_bytes(h5ser::load<tagged_model, h5ser::untrusted>(sealed), sample_model()));
    const auto waited = std::chrono::steady_clock::now() - start;
    pending.wait();
    CHECK(waited > std::chrono::seconds(1));  // the fork came after the limit had passed since the call
}

TEST_CASE("isolation: the child's reply is checked, never trusted") {
    using h5ser::detail::from_wire;
    using h5ser::detail::to_wire;
    const h5ser::file_node node{"x", "/x", h5ser::file_node::kind_type::dataset, "float32", {2, 3}, "contiguous", 4, 24, {}, {}, {}};
    const std::string bytes = to_wire(node);
    CHECK(to_wire(from_wire<h5ser::file_node>(bytes)) == bytes);
    // Cut short, or with a count beyond the bytes, or with bytes left over: a wire_error.
    for (std::size_t n = 0; n < bytes.size(); n += 7)
        CHECK_THROWS_AS(from_wire<h5ser::file_node>(bytes.substr(0, n)), h5ser::detail::wire_error);
    std::string lying = bytes;
    lying[0] = '\x7f';  // the name's length
    CHECK_THROWS_AS(from_wire<h5ser::file_node>(lying), h5ser::detail::wire_error);
    CHECK_THROWS_AS(from_wire<h5ser::file_node>(bytes + "x"), h5ser::detail::wire_error);
}
