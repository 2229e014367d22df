// Crash test: a child process saves a 256 MiB model in a loop, alternating two known versions, and
// is killed with SIGKILL at random moments. After every kill the file at the target path must load
// without error and equal one of the two versions bit for bit.
//
//     crash_test DIR [KILLS]
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
    h5ser::tensor<float, 2> a, b, c, d;  // 4 x 64 MiB
    std::int64_t version = 0;
};

constexpr std::size_t rows = 4096, cols = 4096;

Model make_version(std::int64_t v) {
    Model m{{{rows, cols}, h5ser::uninitialized}, {{rows, cols}, h5ser::uninitialized},
            {{rows, cols}, h5ser::uninitialized}, {{rows, cols}, h5ser::uninitialized}, v};
    h5ser::tensor<float, 2>* parts[] = {&m.a, &m.b, &m.c, &m.d};
    for (std::size_t p = 0; p < 4; ++p)
        for (std::size_t i = 0; i < parts[p]->size(); ++i)
            parts[p]->data()[i] = static_cast<float>(v * 1000003 + static_cast<std::int64_t>(p * 7 + i % 9973));
    return m;
}

bool same(const Model& x, const Model& y) {
    const h5ser::tensor<float, 2>* xs[] = {&x.a, &x.b, &x.c, &x.d};
    const h5ser::tensor<float, 2>* ys[] = {&y.a, &y.b, &y.c, &y.d};
    for (int i = 0; i < 4; ++i)
        if (xs[i]->shape() != ys[i]->shape() || std::memcmp(xs[i]->data(), ys[i]->data(), xs[i]->size_bytes()) != 0) return false;
    return x.version == y.version;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s DIR [KILLS]\n", argv[0]);
        return 2;
    }
    const std::filesystem::path dir = argv[1];
    const int kills = argc > 2 ? std::atoi(argv[2]) : 100;
    std::filesystem::create_directories(dir);
    const std::string target = (dir / "model.h5").string();
    const Model versions[2] = {make_version(1), make_version(2)};

    const auto t0 = std::chrono::steady_clock::now();
    h5ser::save(versions[0], target);
    const double save_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("one save of 256 MiB takes %.3f s; killing at random moments in [0, %.3f] s\n", save_seconds, 1.2 * save_seconds);

    std::mt19937 rng(12345);
    std::uniform_real_distribution<double> delay(0.0, 1.2 * save_seconds);
    int passed = 0, failed = 0;
    for (int k = 0; k < kills; ++k) {
        const pid_t child = ::fork();
        if (child < 0) return 2;
        if (child == 0) {
            for (std::size_t i = 0;; ++i) h5ser::save(versions[i % 2 == 0 ? 1 : 0], target);
        }
        std::this_thread::sleep_for(std::chrono::duration<double>(delay(rng)));
        ::kill(child, SIGKILL);
        int status = 0;
        ::waitpid(child, &status, 0);
        try {
            const Model loaded = h5ser::load<Model>(target);
            const bool ok = (loaded.version == 1 && same(loaded, versions[0])) || (loaded.version == 2 && same(loaded, versions[1]));
            if (ok) {
                ++passed;
            } else {
                ++failed;
                std::printf("kill %d: the file loads but matches neither version\n", k);
            }
        } catch (const std::exception& e) {
            ++failed;
            std::printf("kill %d: %s\n", k, e.what());
        }
    }
    std::size_t temporaries = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir))
        if (entry.path().filename().string().rfind("model.h5.tmp-", 0) == 0) ++temporaries;
    const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("%d kills in %.1f s; temporaries left by the last kill: %zu (the next save removes them)\n", kills, total, temporaries);
    if (temporaries > 1) {
        std::printf("more than one temporary left: stale temporaries are not being cleaned\n");
        ++failed;
    }
    std::printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
