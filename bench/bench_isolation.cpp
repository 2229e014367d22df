// What parsing a file in a child process costs (h5ser/detail/isolation/isolation.hpp): the Keras loaders on
// the shared Keras fixtures, and h5ser::load of an unsealed h5ser file of growing size, each with
// isolation (the default for files h5ser did not seal) against h5ser::trusted (this process), in
// interleaved rounds. Prints medians, ranges and the ratio isolated / in-process.
//
//     bench_isolation ROUNDS FIXTURES_DIR WORK_DIR [--tiny]
#include <h5ser/h5ser.hpp>
#include <h5ser/keras.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "../tests/keras/fixture_models.hpp"
#include "bench_common.hpp"

namespace {

namespace keras = h5ser::keras;

struct unsealed_model {
    std::string name = "unsealed";
    h5ser::tensor<float, 2> w;
};

void unseal(const std::string& path) {
    std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
    const char zeros[16] = {};
    f.write(zeros, sizeof zeros);
}

void compare(const std::string& what, int rounds, const std::function<void()>& isolated, const std::function<void()>& in_process) {
    const auto rows = bench::interleaved_medians(rounds, {{"isolated", isolated}, {"h5ser::trusted", in_process}});
    std::printf("%-58s %8.2f ms (%.2f-%.2f) %8.2f ms (%.2f-%.2f) %7.2fx %+8.2f ms\n", what.c_str(), rows[0].seconds * 1e3,
                rows[0].fastest * 1e3, rows[0].slowest * 1e3, rows[1].seconds * 1e3, rows[1].fastest * 1e3, rows[1].slowest * 1e3,
                rows[0].seconds / rows[1].seconds, (rows[0].seconds - rows[1].seconds) * 1e3);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 4) {
        std::fprintf(stderr, "usage: bench_isolation ROUNDS FIXTURES_DIR WORK_DIR [--tiny]\n");
        return 2;
    }
    const int rounds = std::atoi(argv[1]);
    const std::string fixtures = std::string(argv[2]) + "/keras", work = argv[3];
    const bool tiny = argc > 4 && std::string(argv[4]) == "--tiny";
    std::filesystem::create_directories(work);
    std::printf("%-58s %26s %26s %8s %9s\n", "call (medians of interleaved rounds, ranges)", "isolated", "h5ser::trusted", "ratio",
                "added");

    const std::vector<std::string> mlp_files{"k3.14_legacy_mlp_adam.h5", "k3_mlp_adam.weights.h5", "k2.15_windows_backslash.keras"};
    for (const auto& name : mlp_files) {
        const std::string path = fixtures + "/" + name;
        if (!std::filesystem::exists(path)) {
            std::printf("SKIPPED: %s not found\n", path.c_str());
            return 0;
        }
        compare(
            "read_model_config " + name, rounds, [&] { (void)keras::read_model_config(path); },
            [&] { (void)keras::read_model_config<h5ser::trusted>(path); });
        compare(
            "load_weights " + name, rounds,
            [&] {
                fixtures::Mlp3 m;
                keras::load_weights(m, path);
            },
            [&] {
                fixtures::Mlp3 m;
                keras::load_weights<h5ser::trusted>(m, path);
            });
    }
    const std::string lstm = fixtures + "/k2.1.3_bidirectional_lstm.h5";
    compare(
        "load_weights k2.1.3_bidirectional_lstm.h5", rounds,
        [&] {
            fixtures::BidirectionalModel m;
            keras::load_weights(m, lstm);
        },
        [&] {
            fixtures::BidirectionalModel m;
            keras::load_weights<h5ser::trusted>(m, lstm);
        });

    for (const std::size_t mib : tiny ? std::vector<std::size_t>{1} : std::vector<std::size_t>{1, 16, 256}) {
        unsealed_model m;
        m.w = h5ser::tensor<float, 2>({mib * 1024, 256});
        for (std::size_t i = 0; i < m.w.size(); ++i) m.w.data()[i] = static_cast<float>(i % 1000);
        const std::string path = work + "/unsealed-" + std::to_string(mib) + ".h5";
        h5ser::save(m, path);
        unseal(path);
        compare(
            "h5ser::load, unsealed h5ser file of " + std::to_string(mib) + " MiB", rounds, [&] { (void)h5ser::load<unsealed_model>(path); },
            [&] { (void)h5ser::load<unsealed_model, h5ser::trusted>(path); });
        std::filesystem::remove(path);
    }
    return 0;
}
