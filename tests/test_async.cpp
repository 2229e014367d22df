// Asynchronous saves (h5ser::save_async, checkpoint_manager::save_async): the file is the snapshot
// taken at the call, byte for byte, whatever the caller does next; failures surface; memory and
// the number of saves in flight stay bounded. Also built alone under ThreadSanitizer in CI.
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <thread>

#include "support.hpp"

namespace {

// Sanitizers' shadow memory and quarantine make resident memory meaningless, and ThreadSanitizer
// does not support threads in a child forked from a threaded process.
constexpr bool sanitized = test::address_sanitized || test::thread_sanitized;

enum class Activation : std::uint8_t { relu = 1, gelu = 200 };

struct Block {
    h5ser::tensor<float, 2> kernel;
    h5ser::tensor<float, 1> bias;
    Activation activation = Activation::relu;
};

struct Slots {
    h5ser::tensor<float, 2> m;
    std::int64_t step = 0;
};

// One of every kind of node the save walk has: datasets (compressed, chunked at run time,
// contiguous, empty, bool), attributes (scalars, strings, lists, enums), sequences, maps,
// optionals present and absent, and optimizer state.
struct Everything {
    std::vector<Block> blocks;
    std::map<std::string, Block> heads;
    std::optional<Block> present;
    std::optional<Block> absent;
    h5ser::stored<h5ser::tensor<float, 2>, h5ser::shuffle, h5ser::deflate<4>> embedding;
    h5ser::stored<h5ser::tensor<std::int16_t, 2>, h5ser::chunked<>> runtime_chunks;
    h5ser::tensor<double, 0> scalar_tensor;
    h5ser::tensor<float, 2> empty_rows;
    h5ser::tensor<bool, 1> mask;
    std::string name;
    std::vector<std::string> tags;
    std::array<double, 3> betas{};
    std::vector<std::int32_t> counts;
    h5ser::optimizer_state<std::vector<Slots>> adam;
};

float value_at(std::uint64_t seed, std::size_t i) { return static_cast<float>(seed) * 1000.0f + static_cast<float>(i % 4099) * 0.25f; }

template <class T, std::size_t R>
void fill(h5ser::tensor<T, R>& t, std::uint64_t seed) {
    for (std::size_t i = 0; i < t.size(); ++i) {
        // An integer takes the value's integer part modulo its range: converting a float beyond
        // the range is undefined (Clang's UBSan says so).
        if constexpr (std::is_integral_v<T>) t.data()[i] = static_cast<T>(static_cast<std::uint64_t>(value_at(seed, i)));
        else t.data()[i] = static_cast<T>(value_at(seed, i));
    }
}

Block make_block(std::size_t in, std::size_t out, std::uint64_t seed) {
    Block b{h5ser::tensor<float, 2>({in, out}), h5ser::tensor<float, 1>({out}), seed % 2 ? Activation::gelu : Activation::relu};
    fill(b.kernel, seed);
    fill(b.bias, seed + 1);
    return b;
}

Everything make_everything(std::uint64_t seed) {
    Everything e;
    for (std::uint64_t i = 0; i < 3; ++i) e.blocks.push_back(make_block(32, 16, seed + i));
    e.heads = {{"classifier", make_block(16, 10, seed + 10)}, {"régression.0", make_block(16, 1, seed + 11)}};
    e.present = make_block(4, 4, seed + 12);
    h5ser::tensor<float, 2> embedding({100, 24});
    fill(embedding, seed + 13);
    e.embedding = {embedding};
    h5ser::tensor<std::int16_t, 2> ints({40, 30});
    fill(ints, seed + 14);
    e.runtime_chunks = {ints, {8, 10}};
    e.scalar_tensor = h5ser::tensor<double, 0>(std::array<std::size_t, 0>{});
    e.scalar_tensor.data()[0] = static_cast<double>(seed) + 0.5;
    e.empty_rows = h5ser::tensor<float, 2>({0, 7});
    e.mask = h5ser::tensor<bool, 1>({5});
    for (std::size_t i = 0; i < 5; ++i) e.mask.data()[i] = (i + seed) % 2 == 0;
    e.name = "model-" + std::to_string(seed);
    e.tags = {"a", "", "ü"};
    e.betas = {0.9, 0.999, static_cast<double>(seed)};
    e.counts = {1, -2, static_cast<std::int32_t>(seed)};
    for (const Block& b : e.blocks) {
        Slots s{h5ser::tensor<float, 2>(b.kernel.shape()), static_cast<std::int64_t>(seed)};
        fill(s.m, seed + 20);
        e.adam->push_back(s);
    }
    return e;
}

/// Changes every value of `e` in place (the tensors keep their memory).
void scribble(Everything& e) {
    for (Block& b : e.blocks) {
        fill(b.kernel, 999);
        fill(b.bias, 999);
    }
    for (auto& [key, b] : e.heads) fill(b.kernel, 998);
    fill(e.embedding.value, 997);
    fill(e.runtime_chunks.value, 996);
    e.scalar_tensor.data()[0] = -1;
    e.mask.data()[0] = !e.mask.data()[0];
    e.name = "changed";
    e.tags.push_back("new");
    e.counts[0] = 12345;
    for (Slots& s : *e.adam) fill(s.m, 995);
}

}  // namespace

TEST_CASE("save_async writes the file save would have written at the call, byte for byte, though the model changes at once") {
    test::scratch_dir dir;
    Everything model = make_everything(1);
    h5ser::save(model, dir.file("sync.h5"));
    h5ser::save(model, dir.file("sync-again.h5"));
    REQUIRE(test::file_bytes(dir.file("sync.h5")) == test::file_bytes(dir.file("sync-again.h5")));  // saves are deterministic

    h5ser::pending_save pending = h5ser::save_async(model, dir.file("async.h5"));
    scribble(model);  // the snapshot is taken: the caller owns the model again
    model.blocks.clear();
    pending.wait();
    CHECK(pending.ready());
    CHECK(pending.path() == dir.file("async.h5"));
    CHECK(test::file_bytes(dir.file("async.h5")) == test::file_bytes(dir.file("sync.h5")));
    CHECK(h5ser::fingerprint(make_everything(1)) == h5ser::file_fingerprint(dir.file("async.h5")));

    // Weights only, with the call's storage policies.
    const Everything again = make_everything(2);
    h5ser::save<h5ser::weights_only, h5ser::compressed>(again, dir.file("w-sync.h5"));
    Everything changing = make_everything(2);
    auto weights = h5ser::save_async<h5ser::weights_only, h5ser::compressed>(changing, dir.file("w-async.h5"));
    scribble(changing);
    weights.wait();
    CHECK(test::file_bytes(dir.file("w-async.h5")) == test::file_bytes(dir.file("w-sync.h5")));
}

TEST_CASE("a model destroyed right after save_async is saved whole") {
    test::scratch_dir dir;
    auto model = std::make_unique<Everything>(make_everything(3));
    auto pending = h5ser::save_async(*model, dir.file("m.h5"));
    model.reset();
    pending.wait();
    const auto loaded = h5ser::load<Everything>(dir.file("m.h5"));
    const Everything expected = make_everything(3);
    CHECK(test::same_bytes(loaded.blocks[2].kernel, expected.blocks[2].kernel));
    CHECK(test::same_bytes(loaded.embedding.value, expected.embedding.value));
    CHECK(loaded.name == expected.name);
    CHECK(loaded.tags == expected.tags);
    CHECK(test::same_bytes((*loaded.adam)[1].m, (*expected.adam)[1].m));
}

TEST_CASE("a failed save_async throws from wait(), every time, and the next save_async starts") {
    test::scratch_dir dir;
    const Everything model = make_everything(4);
    auto pending = h5ser::save_async(model, dir.file("no-such-directory/m.h5"));
    auto e = test::expect_error([&] { pending.wait(); });
    CHECK(e.code() == h5ser::errc::io);
    CHECK(e.file() == dir.file("no-such-directory/m.h5"));
    CHECK(pending.ready());
    e = test::expect_error([&] { pending.wait(); });
    CHECK(e.code() == h5ser::errc::io);

    // Seen, so it is not thrown again by the next save.
    auto next = h5ser::save_async(model, dir.file("m.h5"));
    next.wait();
    CHECK(h5ser::load<Everything>(dir.file("m.h5")).name == model.name);
}

TEST_CASE("a failed save_async nobody waited for is thrown by the next save_async, which saves nothing") {
    test::scratch_dir dir;
    const Everything model = make_everything(5);
    { auto forgotten = h5ser::save_async(model, dir.file("missing/first.h5")); }  // destroyed without wait()
    auto e = test::expect_error([&] { (void)h5ser::save_async(model, dir.file("second.h5")); });
    CHECK(e.file() == dir.file("missing/first.h5"));  // the error names the save that failed
    CHECK_FALSE(std::filesystem::exists(dir.file("second.h5")));
    // Reported once: the next call saves.
    h5ser::save_async(model, dir.file("second.h5")).wait();
    CHECK(std::filesystem::exists(dir.file("second.h5")));

    // h5ser::wait_for_saves reports it too.
    { auto forgotten = h5ser::save_async(model, dir.file("missing/third.h5")); }
    e = test::expect_error([] { h5ser::wait_for_saves(); });
    CHECK(e.file() == dir.file("missing/third.h5"));
}

namespace {
int failing_fsync(int) {
    errno = EIO;
    return -1;
}
}  // namespace

TEST_CASE("a failing fsync surfaces from wait() and leaves the previous file intact") {
    test::scratch_dir dir;
    const Everything old_model = make_everything(6);
    h5ser::save(old_model, dir.file("m.h5"));
    const std::string old_bytes = test::file_bytes(dir.file("m.h5"));
    auto& calls = h5ser::detail::durability();
    calls.fsync = failing_fsync;
    auto pending = h5ser::save_async(make_everything(7), dir.file("m.h5"));
    const auto e = test::expect_error([&] { pending.wait(); });
    calls.fsync = ::fsync;
    CHECK(e.code() == h5ser::errc::io);
    CHECK(test::contains(e.what(), "Input/output error"));
    CHECK(test::file_bytes(dir.file("m.h5")) == old_bytes);
    CHECK(test::count_files(dir.path()) == 1);
}

namespace {
/// For a forked child (test::run_in_child) whose disk cannot hold a model with a block of
/// `rows` x `cols` floats: save_async over the file at `path` must fail from wait() with an error
/// saying `expected`, and leave the file and its directory as they were. Returns 0 when so, else 1
/// with the reason on stderr.
int save_async_onto_full_disk(const std::string& path, std::size_t rows, std::size_t cols, const char* expected) {
    const auto fail = [](const std::string& why) {
        std::fprintf(stderr, "%s\n", why.c_str());
        return 1;
    };
    const std::string old_bytes = test::file_bytes(path);
    Everything big = make_everything(9);
    big.blocks[0] = make_block(rows, cols, 9);
    try {
        auto pending = h5ser::save_async(big, path);
        big.blocks.clear();
        pending.wait();
    } catch (const h5ser::error& err) {
        if (!test::contains(err.what(), expected)) return fail(err.what());
        if (test::file_bytes(path) != old_bytes) return fail("the previous file changed");
        if (test::count_files(std::filesystem::path(path).parent_path()) != 1) return fail("a temporary was left behind");
        return 0;
    } catch (...) {
        return fail("not an h5ser::error");
    }
    return fail("the save succeeded");
}
}  // namespace

TEST_CASE("a full disk (a file size limit) surfaces from wait() and leaves the previous file intact") {
    test::scratch_dir dir;
    const Everything old_model = make_everything(8);
    h5ser::save(old_model, dir.file("m.h5"));
    const std::string old_bytes = test::file_bytes(dir.file("m.h5"));
    if (sanitized) {
        MESSAGE("SKIPPED under sanitizers: a forked child of a threaded process");
        return;
    }
    const auto outcome = test::run_in_child([&] {
        // The kernel refuses writes past 64 KiB with EFBIG, as a full disk refuses them with ENOSPC.
        ::signal(SIGXFSZ, SIG_IGN);
        rlimit limit{65536, 65536};
        ::setrlimit(RLIMIT_FSIZE, &limit);
        return save_async_onto_full_disk(dir.file("m.h5"), 256, 256, "File too large");  // 256 KiB
    });
    CHECK(outcome == test::child_outcome::exit_0);
    CHECK(test::file_bytes(dir.file("m.h5")) == old_bytes);
}

TEST_CASE("a full disk (ENOSPC on a 1 MiB tmpfs) surfaces from wait() and leaves the previous file intact") {
    test::scratch_dir dir;
    const std::string disk = dir.file("disk");
    std::filesystem::create_directories(disk);
    if (sanitized || ::geteuid() != 0) {
        MESSAGE("SKIPPED: mounting a tmpfs needs root (and no sanitizer: a forked child of a threaded process)");
        return;
    }
    const auto outcome = test::run_in_child([&] {
        // A mount namespace of the child's own: the tmpfs is gone with it.
        if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
            ::mount("tmpfs", disk.c_str(), "tmpfs", 0, "size=1m") != 0)
            return 2;
        const std::string path = disk + "/m.h5";
        try {
            h5ser::save(make_everything(12), path);
        } catch (...) {
            return 1;
        }
        // 2 MiB: more than the disk holds beside the old file.
        return save_async_onto_full_disk(path, 1024, 512, "No space left on device");
    });
    if (outcome == test::child_outcome::exit_2) {
        MESSAGE("SKIPPED: this machine does not let a process mount a tmpfs in a namespace of its own");
        return;
    }
    CHECK(outcome == test::child_outcome::exit_0);
}

TEST_CASE("progress is reported from the background thread, which runs at a lower priority, up to done == total") {
    test::scratch_dir dir;
    const Everything model = make_everything(10);
    std::mutex mutex;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> calls;
    bool other_thread = true;
    int writer_nice = -100;
    const auto caller = std::this_thread::get_id();
    const int caller_nice = ::getpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)));
    auto pending = h5ser::save_async(model, dir.file("m.h5"), [&](std::uint64_t done, std::uint64_t total) {
        const std::lock_guard lock(mutex);
        calls.emplace_back(done, total);
        other_thread = other_thread && std::this_thread::get_id() != caller;
        writer_nice = ::getpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)));
    });
    pending.wait();
    const std::lock_guard lock(mutex);
    REQUIRE(calls.size() >= 2);
    CHECK(other_thread);
    CHECK(writer_nice == std::min(caller_nice + 10, 19));  // the writer yields the CPU to the caller's threads
    CHECK(calls.back().first == calls.back().second);
    for (std::size_t i = 1; i < calls.size(); ++i) CHECK(calls[i].first >= calls[i - 1].first);
}

namespace {
bool reset_peak_memory() {
    std::ofstream clear("/proc/self/clear_refs");
    clear << "5";
    clear.flush();
    return clear.good();
}
struct Big {
    h5ser::tensor<float, 2> a, b;  // 2 x 16 MiB
};
}  // namespace

TEST_CASE("20 rapid save_async calls: at most one save in flight, and one staging copy of the model") {
    test::scratch_dir dir;
    Big model{h5ser::tensor<float, 2>({2048, 2048}), h5ser::tensor<float, 2>({2048, 2048})};
    fill(model.a, 1);
    fill(model.b, 2);
    const std::uint64_t model_bytes = model.a.size_bytes() + model.b.size_bytes();
    h5ser::release_staging_memory();
    const bool measured = reset_peak_memory();
    const std::uint64_t before = test::status_bytes("VmRSS");
    std::vector<h5ser::pending_save> pending;
    for (int i = 0; i < 20; ++i) {
        model.a.data()[0] = static_cast<float>(i);
        pending.push_back(h5ser::save_async(model, dir.file("m" + std::to_string(i) + ".h5")));
        // Backpressure: a save_async returns only once the save before it is done.
        if (i > 0) CHECK(pending[static_cast<std::size_t>(i) - 1].ready());
    }
    for (const auto& p : pending) p.wait();
    const std::uint64_t peak = test::status_bytes("VmHWM");  // since reset_peak_memory()
    for (int i = 0; i < 20; i += 19)
        CHECK(h5ser::load<Big>(dir.file("m" + std::to_string(i) + ".h5")).a.data()[0] == static_cast<float>(i));
    if (sanitized) {
        MESSAGE("SKIPPED (memory part) under sanitizers: their shadow memory counts as resident");
    } else if (measured && before != 0 && peak >= before) {
        MESSAGE("peak memory above the start: " << (peak - before) / 1048576.0 << " MiB for a model of " << model_bytes / 1048576.0
                                                << " MiB");
        CHECK(peak - before < model_bytes * 3 / 2);  // one staging copy (1x) and HDF5's buffers, not 20 copies
    } else {
        MESSAGE("SKIPPED (memory part): /proc/self/clear_refs cannot reset the peak here");
    }
    h5ser::release_staging_memory();
}

TEST_CASE("the caller saves and loads other files while a background save runs") {
    test::scratch_dir dir;
    Big big{h5ser::tensor<float, 2>({1024, 2048}), h5ser::tensor<float, 2>({1024, 2048})};
    fill(big.a, 3);
    fill(big.b, 4);
    const Everything small = make_everything(11);
    h5ser::save(small, dir.file("small.h5"));
    for (int round = 0; round < 3; ++round) {
        auto pending = h5ser::save_async(big, dir.file("big.h5"));
        int loads = 0;
        do {  // meanwhile: loads, saves and fingerprints of other files on this thread
            const auto loaded = h5ser::load<Everything>(dir.file("small.h5"));
            CHECK(test::same_bytes(loaded.embedding.value, small.embedding.value));
            h5ser::save(loaded, dir.file("small-copy.h5"));
            CHECK(h5ser::file_fingerprint(dir.file("small-copy.h5")) == h5ser::fingerprint(small));
            ++loads;
        } while (!pending.ready() && loads < 50);
        pending.wait();
        const auto loaded = h5ser::load<Big>(dir.file("big.h5"));
        CHECK(test::same_bytes(loaded.a, big.a));
        CHECK(test::same_bytes(loaded.b, big.b));
    }
}

TEST_CASE("save_async from several threads: each file is its caller's snapshot") {
    test::scratch_dir dir;
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    for (int t = 0; t < 3; ++t) {
        threads.emplace_back([&, t] {
            try {
                for (int i = 0; i < 3; ++i) {
                    Everything m = make_everything(static_cast<std::uint64_t>(100 + t * 10 + i));
                    auto pending = h5ser::save_async(m, dir.file("t" + std::to_string(t) + "-" + std::to_string(i) + ".h5"));
                    scribble(m);
                    pending.wait();
                }
            } catch (...) {
                ++failures;
            }
        });
    }
    for (auto& th : threads) th.join();
    CHECK(failures == 0);
    for (int t = 0; t < 3; ++t)
        for (int i = 0; i < 3; ++i)
            CHECK(h5ser::file_fingerprint(dir.file("t" + std::to_string(t) + "-" + std::to_string(i) + ".h5")) ==
                  h5ser::fingerprint(make_everything(static_cast<std::uint64_t>(100 + t * 10 + i))));
}

namespace {
/// Checkpoint `step`'s model.
Block at_step(std::uint64_t step) { return make_block(64, 64, step); }
std::string read_text(const std::string& path) {
    std::ifstream in(path);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

/// Makes the durability fsync wait until released: a save in flight can be observed before its commit.
struct fsync_gate {
    static inline std::mutex mutex;
    static inline std::condition_variable changed;
    static inline bool open = false;
    static inline int waiting = 0;
    static int gated_fsync(int fd) {
        std::unique_lock lock(mutex);
        ++waiting;
        changed.notify_all();
        changed.wait(lock, [] { return open; });
        return ::fsync(fd);
    }
    fsync_gate() {
        open = false;
        waiting = 0;
        h5ser::detail::durability().fsync = gated_fsync;
    }
    void wait_for_fsync() {
        std::unique_lock lock(mutex);
        changed.wait(lock, [] { return waiting > 0; });
    }
    void release() {
        {
            const std::lock_guard lock(mutex);
            open = true;
        }
        changed.notify_all();
    }
    ~fsync_gate() {
        release();
        h5ser::detail::durability().fsync = ::fsync;
    }
};
}  // namespace

TEST_CASE("checkpoint_manager::save_async: latest and rotation change only after the commit") {
    test::scratch_dir dir;
    h5ser::checkpoint_manager<Block> checkpoints(dir.file("run"), {.keep_last = 2});
    checkpoints.save(at_step(1), 1);
    {
        fsync_gate gate;
        Block model = at_step(2);
        auto pending = checkpoints.save_async(model, 2);
        model = at_step(99);  // training goes on
        gate.wait_for_fsync();
        // The checkpoint is written but not committed: nothing a reader sees has changed.
        CHECK_FALSE(pending.ready());
        CHECK(read_text(dir.file("run/latest")) == "ckpt-000001.h5\n");
        CHECK_FALSE(std::filesystem::exists(dir.file("run/ckpt-000002.h5")));
        gate.release();
        pending.wait();
    }
    CHECK(read_text(dir.file("run/latest")) == "ckpt-000002.h5\n");

    for (std::uint64_t step = 3; step <= 6; ++step) {
        Block model = at_step(step);
        (void)checkpoints.save_async(model, step, 1.0 / static_cast<double>(step));
        model = at_step(1000);
    }
    checkpoints.wait();
    std::vector<std::uint64_t> kept;
    for (const auto& c : checkpoints.list()) kept.push_back(c.step);
    CHECK(kept == std::vector<std::uint64_t>{5, 6});
    CHECK(read_text(dir.file("run/latest")) == "ckpt-000006.h5\n");
    Block restored;
    CHECK(checkpoints.restore_latest(restored) == 6u);
    CHECK(test::same_bytes(restored.kernel, at_step(6).kernel));
    CHECK(checkpoints.latest()->metric == 1.0 / 6.0);
}

TEST_CASE("checkpoint_manager: restore_latest and list wait for a save_async in flight") {
    test::scratch_dir dir;
    h5ser::checkpoint_manager<Block> checkpoints(dir.file("run"), {.keep_last = 1});
    checkpoints.save(at_step(1), 1);
    auto pending = checkpoints.save_async(at_step(2), 2);
    Block restored;
    CHECK(checkpoints.restore_latest(restored) == 2u);  // not the one being replaced
    CHECK(pending.ready());
    CHECK(checkpoints.list().size() == 1);
}

TEST_CASE("checkpoint_manager: a failed save_async throws from wait() and from the next save") {
    test::scratch_dir dir;
    h5ser::checkpoint_manager<Block> checkpoints(dir.file("run"), {.keep_last = 3});
    checkpoints.save(at_step(1), 1);
    auto& calls = h5ser::detail::durability();
    calls.fsync = failing_fsync;
    auto pending = checkpoints.save_async(at_step(2), 2);
    (void)pending.ready();  // polling does not report
    const auto e = test::expect_error([&] { checkpoints.wait(); });
    calls.fsync = ::fsync;
    CHECK(e.code() == h5ser::errc::io);
    CHECK(read_text(dir.file("run/latest")) == "ckpt-000001.h5\n");

    calls.fsync = failing_fsync;
    { auto forgotten = checkpoints.save_async(at_step(3), 3); }
    (void)checkpoints.list();  // waits for the save in flight, quietly
    calls.fsync = ::fsync;
    const auto next = test::expect_error([&] { checkpoints.save(at_step(4), 4); });
    CHECK(next.file() == checkpoints.path_for(3));
    checkpoints.save(at_step(4), 4);
    CHECK(read_text(dir.file("run/latest")) == "ckpt-000004.h5\n");
}
