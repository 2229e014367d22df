// Crash test: a child process saves a 128 MiB model in a loop, alternating two known versions, and
// is killed with SIGKILL at random moments. After every kill the file at the target path must load
// without error and equal one of the two versions bit for bit.
//
// With --async, the child writes checkpoints with checkpoint_manager::save_async (keeping the last
// two) and overwrites its model with garbage right after each call, while the checkpoint is
// written in the background. After every kill, restore_latest must load the newest checkpoint,
// equal to the version of its step bit for bit.
//
//     crash_test DIR [KILLS] [--async]
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <thread>

#include <h5ser/h5ser.hpp>

namespace {

struct Model {
    // 2 x 64 MiB: each tensor large enough to be written in pieces (written_in_pieces_from), so that
    // kills land between pieces, between tensors and in the metadata; more tensors only cost time.
    h5ser::tensor<float, 2> a, b;
    std::int64_t version = 0;
};

constexpr std::size_t rows = 4096, cols = 4096;

Model make_version(std::int64_t v) {
    Model m{{{rows, cols}, h5ser::uninitialized}, {{rows, cols}, h5ser::uninitialized}, v};
    h5ser::tensor<float, 2>* parts[] = {&m.a, &m.b};
    for (std::size_t p = 0; p < 2; ++p)
        for (std::size_t i = 0; i < parts[p]->size(); ++i)
            parts[p]->data()[i] = static_cast<float>(v * 1000003 + static_cast<std::int64_t>(p * 7 + i % 9973));
    return m;
}

void copy_into(Model& to, const Model& from) {
    h5ser::tensor<float, 2>* tos[] = {&to.a, &to.b};
    const h5ser::tensor<float, 2>* froms[] = {&from.a, &from.b};
    for (int i = 0; i < 2; ++i) std::memcpy(tos[i]->data(), froms[i]->data(), froms[i]->size_bytes());
    to.version = from.version;
}

bool same(const Model& x, const Model& y) {
    const h5ser::tensor<float, 2>* xs[] = {&x.a, &x.b};
    const h5ser::tensor<float, 2>* ys[] = {&y.a, &y.b};
    for (int i = 0; i < 2; ++i)
        if (xs[i]->shape() != ys[i]->shape() || std::memcmp(xs[i]->data(), ys[i]->data(), xs[i]->size_bytes()) != 0) return false;
    return x.version == y.version;
}

/// The child of --async: checkpoints forever, steps from `first_step`, version step % 2 + 1.
[[noreturn]] void checkpoint_forever(const std::string& directory, const Model (&versions)[2], std::uint64_t first_step) {
    h5ser::checkpoint_manager<Model> checkpoints(directory, {.keep_last = 2});
    Model model = versions[0];
    for (std::uint64_t step = first_step;; ++step) {
        copy_into(model, versions[step % 2]);
        (void)checkpoints.save_async(model, step);  // the next call waits for this one
        model.a.data()[0] = -1.0f;                  // training goes on: the snapshot must not see it
        model.version = -1;
    }
}

std::uint64_t newest_step = 0;  // of the checkpoints seen after kills
int commits_seen = 0;           // kills after which a newer checkpoint than before was found

/// After a kill during --async checkpoints: the newest checkpoint loads and is its step's version.
bool check_checkpoints(const std::string& directory, const Model (&versions)[2], int k) {
    try {
        h5ser::checkpoint_manager<Model> checkpoints(directory, {.keep_last = 2});
        Model loaded;
        const auto step = checkpoints.restore_latest(loaded);
        if (!step) {
            std::printf("kill %d: no checkpoint, though one was saved before the first kill\n", k);
            return false;
        }
        if (*step > newest_step) {
            newest_step = *step;
            ++commits_seen;
        }
        if (same(loaded, versions[*step % 2])) return true;
        std::printf("kill %d: checkpoint %llu loads but is not its version\n", k, static_cast<unsigned long long>(*step));
    } catch (const std::exception& e) {
        std::printf("kill %d: %s\n", k, e.what());
    }
    return false;
}

bool check_file(const std::string& target, const Model (&versions)[2], int k) {
    try {
        const Model loaded = h5ser::load<Model>(target);
        if ((loaded.version == 1 && same(loaded, versions[0])) || (loaded.version == 2 && same(loaded, versions[1]))) return true;
        std::printf("kill %d: the file loads but matches neither version\n", k);
    } catch (const std::exception& e) {
        std::printf("kill %d: %s\n", k, e.what());
    }
    return false;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s DIR [KILLS] [--async]\n", argv[0]);
        return 2;
    }
    const std::filesystem::path dir = argv[1];
    const int kills = argc > 2 ? std::atoi(argv[2]) : 100;
    const bool async = argc > 3 && std::string(argv[3]) == "--async";
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    const std::string target = (dir / "model.h5").string();
    const std::string checkpoints = (dir / "checkpoints").string();
    const Model versions[2] = {make_version(1), make_version(2)};

    const auto t0 = std::chrono::steady_clock::now();
    h5ser::save(versions[0], target);
    const double save_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (async) h5ser::checkpoint_manager<Model>(checkpoints, {.keep_last = 2}).save(versions[0], 0);
    std::printf("one save of 128 MiB takes %.3f s; killing %s at random moments in [0, %.3f] s\n", save_seconds,
                async ? "checkpoint_manager::save_async" : "h5ser::save", (async ? 4.0 : 1.2) * save_seconds);

    std::mt19937 rng(12345);
    std::uniform_real_distribution<double> delay(0.0, (async ? 4.0 : 1.2) * save_seconds);
    int passed = 0, failed = 0;
    for (int k = 0; k < kills; ++k) {
        const pid_t child = ::fork();
        if (child < 0) return 2;
        if (child == 0) {
            if (async) checkpoint_forever(checkpoints, versions, static_cast<std::uint64_t>(k) * 1000000 + 1);
            for (std::size_t i = 0;; ++i) h5ser::save(versions[i % 2 == 0 ? 1 : 0], target);
        }
        std::this_thread::sleep_for(std::chrono::duration<double>(delay(rng)));
        ::kill(child, SIGKILL);
        int status = 0;
        ::waitpid(child, &status, 0);
        if (async ? check_checkpoints(checkpoints, versions, k) : check_file(target, versions, k)) ++passed;
        else ++failed;
    }
    std::size_t temporaries = 0;
    for (const std::filesystem::path& d : {dir, std::filesystem::path(checkpoints)}) {
        if (!std::filesystem::exists(d)) continue;
        for (const auto& entry : std::filesystem::directory_iterator(d))
            if (entry.path().filename().string().find(".tmp-") != std::string::npos) ++temporaries;
    }
    const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("%d kills in %.1f s; temporaries left by the last kill: %zu (the next save removes them)\n", kills, total, temporaries);
    if (temporaries > 2) {
        std::printf("more than two temporaries left: stale temporaries are not being cleaned\n");
        ++failed;
    }
    if (async) {
        std::printf("kills after which a newer checkpoint had been committed: %d\n", commits_seen);
        if (kills >= 10 && commits_seen == 0) {
            std::printf("no kill came after a commit: the test did not test checkpoints being replaced\n");
            ++failed;
        }
    }
    std::printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
