// The checkpoint manager: rotation, best-keeping, the latest pointer, restore after a kill.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "support.hpp"

namespace {
struct Weights {
    h5ser::tensor<float, 2> w;
    std::int64_t trained_steps = 0;
};
Weights at_step(std::uint64_t step) {
    Weights m{h5ser::tensor<float, 2>({64, 64}), static_cast<std::int64_t>(step)};
    for (std::size_t i = 0; i < m.w.size(); ++i) m.w.data()[i] = static_cast<float>(step) + static_cast<float>(i) * 1e-3f;
    return m;
}
std::vector<std::uint64_t> steps(const std::vector<h5ser::checkpoint_info>& list) {
    std::vector<std::uint64_t> out;
    for (const auto& c : list) out.push_back(c.step);
    return out;
}
std::string read_text(const std::string& path) {
    std::ifstream in(path);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}
}  // namespace

TEST_CASE("checkpoints rotate: the newest keep_last remain, with an atomically updated latest pointer") {
    test::scratch_dir dir;
    h5ser::checkpoint_manager<Weights> checkpoints(dir.file("run"), {.keep_last = 3});
    for (std::uint64_t step = 1; step <= 6; ++step) checkpoints.save(at_step(step), step * 100);
    CHECK(steps(checkpoints.list()) == std::vector<std::uint64_t>{400, 500, 600});
    CHECK(std::filesystem::exists(dir.file("run/ckpt-000600.h5")));
    CHECK(read_text(dir.file("run/latest")) == "ckpt-000600.h5\n");

    Weights model;
    CHECK(checkpoints.restore_latest(model) == 600u);
    CHECK(test::same_bytes(model.w, at_step(6).w));
    CHECK(model.trained_steps == 6);
}

TEST_CASE("keep_best keeps the best checkpoints by the metric stored in each file") {
    test::scratch_dir dir;
    h5ser::checkpoint_manager<Weights> checkpoints(dir.file("run"), {.keep_last = 2, .keep_best = 1});
    const double losses[] = {0.9, 0.3, 0.5, 0.7, 0.6};
    for (std::uint64_t step = 0; step < 5; ++step) checkpoints.save(at_step(step), step, losses[step]);
    CHECK(steps(checkpoints.list()) == std::vector<std::uint64_t>{1, 3, 4});  // best (0.3) + newest two
    REQUIRE(checkpoints.best().has_value());
    CHECK(checkpoints.best()->step == 1);
    CHECK(checkpoints.best()->metric == 0.3);

    h5ser::checkpoint_manager<Weights> accuracy(dir.file("acc"), {.keep_last = 1, .keep_best = 1, .higher_is_better = true});
    accuracy.save(at_step(1), 1, 0.80);
    accuracy.save(at_step(2), 2, 0.95);
    accuracy.save(at_step(3), 3, 0.90);
    CHECK(steps(accuracy.list()) == std::vector<std::uint64_t>{2, 3});
}

TEST_CASE("a checkpoint whose seal does not hold lists without a metric: HDF5 never parses it") {
    test::scratch_dir dir;
    h5ser::checkpoint_manager<Weights> checkpoints(dir.file("run"), {.keep_last = 3});
    checkpoints.save(at_step(1), 1, 0.5);
    checkpoints.save(at_step(2), 2, 0.25);
    {
        std::fstream f(dir.file("run/ckpt-000001.h5"), std::ios::binary | std::ios::in | std::ios::out);
        f.seekp(40);  // the seal's hash of the HDF5 metadata (include/h5ser/detail/format/seal.hpp)
        f.put('\x5a');
    }
    const auto all = checkpoints.list();
    REQUIRE(all.size() == 2);
    CHECK_FALSE(all[0].metric.has_value());
    CHECK(all[1].metric == 0.25);
}

TEST_CASE("an empty directory restores nothing, a broken newest checkpoint is an error, not skipped") {
    test::scratch_dir dir;
    h5ser::checkpoint_manager<Weights> checkpoints(dir.file("run"));
    Weights model;
    CHECK_FALSE(checkpoints.restore_latest(model).has_value());
    checkpoints.save(at_step(1), 1);
    checkpoints.save(at_step(2), 2);
    std::filesystem::resize_file(dir.file("run/ckpt-000002.h5"), 100);
    model.trained_steps = -1;
    const auto e = test::expect_error([&] { (void)checkpoints.restore_latest(model); });
    CHECK(test::contains(e.what(), "ckpt-000002.h5"));
    CHECK(model.trained_steps == -1);
}

TEST_CASE("a run killed at any moment restarts from the newest complete checkpoint") {
    test::scratch_dir dir;
    const std::string run = dir.file("run");
    for (int trial = 0; trial < 8; ++trial) {
        std::filesystem::remove_all(run);
        const pid_t child = ::fork();
        REQUIRE(child >= 0);
        if (child == 0) {
            h5ser::checkpoint_manager<Weights> checkpoints(run, {.keep_last = 2});
            for (std::uint64_t step = 1;; ++step) checkpoints.save(at_step(step), step);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20 + 17 * trial));
        ::kill(child, SIGKILL);
        ::waitpid(child, nullptr, 0);

        h5ser::checkpoint_manager<Weights> checkpoints(run, {.keep_last = 2});
        Weights model;
        const auto step = checkpoints.restore_latest(model);
        if (!step) continue;  // killed before the first checkpoint was complete
        CHECK(test::same_bytes(model.w, at_step(*step).w));
        CHECK(model.trained_steps == static_cast<std::int64_t>(*step));
        checkpoints.save(at_step(*step + 1), *step + 1);  // training resumes and checkpoints again
        CHECK(checkpoints.latest()->step == *step + 1);
    }
}

namespace {
bool filtered(const std::string& path, const char* dataset) {
    const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    const hid_t ds = H5Dopen2(file, dataset, H5P_DEFAULT);
    const hid_t dcpl = H5Dget_create_plist(ds);
    const int filters = H5Pget_nfilters(dcpl);
    H5Pclose(dcpl);
    H5Dclose(ds);
    H5Fclose(file);
    return filters > 0;
}
}  // namespace

TEST_CASE("a checkpoint_manager gives the storage policies of its pack to saves and the load policies to restores") {
    test::scratch_dir dir;
    h5ser::checkpoint_manager<Weights, h5ser::weights_only, h5ser::compressed, h5ser::no_verify> compressed(dir.file("compressed"));
    compressed.save(at_step(1), 1);
    CHECK(filtered(compressed.path_for(1), "/w"));  // the save used h5ser::compressed
    Weights restored;
    CHECK(compressed.restore_latest(restored) == 1u);
    CHECK(test::same_bytes(restored.w, at_step(1).w));

    h5ser::checkpoint_manager<Weights, h5ser::contiguous, h5ser::no_verify> unverified(dir.file("plain"));
    unverified.save(at_step(2), 2);
    CHECK_FALSE(filtered(unverified.path_for(2), "/w"));
    test::flip_element_bit(unverified.path_for(2), "/w", 0);
    // The restore used h5ser::no_verify: the tensor is loaded as stored, checksum unchecked.
    CHECK(unverified.restore_latest(restored) == 2u);
    CHECK_FALSE(test::same_bytes(restored.w, at_step(2).w));
    // A manager of the same directory without no_verify refuses it.
    h5ser::checkpoint_manager<Weights> verified(dir.file("plain"));
    const auto e = test::expect_error([&] { (void)verified.restore_latest(restored); });
    CHECK(test::contains(e.what(), "checksum"));
}
