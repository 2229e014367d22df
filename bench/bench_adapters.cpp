// What an adapter costs: save and load of one float matrix held as h5ser::tensor, as a row-major
// Eigen matrix (written from and read into its own memory) and as a column-major one (Eigen's
// default: transposed through a C-order buffer each way), in interleaved rounds. Prints medians,
// ranges and ratios against h5ser::tensor.
//
//     bench_adapters ROUNDS WORK_DIR [SIDE]     (SIDE x SIDE floats; default 4096, 64 MiB)
#include <h5ser/eigen.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "bench_common.hpp"

namespace {

struct with_tensor {
    h5ser::tensor<float, 2> w;
};
struct with_row_major {
    Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> w;
};
struct with_col_major {
    Eigen::MatrixXf w;
};

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: bench_adapters ROUNDS WORK_DIR [SIDE]\n");
        return 2;
    }
    const int rounds = std::atoi(argv[1]);
    const std::string work = argv[2];
    const auto side = static_cast<std::size_t>(argc > 3 ? std::atol(argv[3]) : 4096);
    std::filesystem::create_directories(work);
    const auto n = static_cast<Eigen::Index>(side);

    with_tensor t{h5ser::tensor<float, 2>({side, side})};
    for (std::size_t i = 0; i < t.w.size(); ++i) t.w.data()[i] = static_cast<float>(i % 9973) * 0.5f;
    with_row_major r{Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(t.w.data(), n, n)};
    with_col_major c{r.w};
    const std::string tf = work + "/tensor.h5", rf = work + "/row.h5", cf = work + "/col.h5";
    const double bytes = static_cast<double>(t.w.size_bytes());

    const auto saves = bench::interleaved_medians(rounds, {{"save h5ser::tensor", [&] { h5ser::save(t, tf); }},
                                                           {"save Eigen row-major", [&] { h5ser::save(r, rf); }},
                                                           {"save Eigen column-major (transposed)", [&] { h5ser::save(c, cf); }}});
    bench::print("saves", saves, bytes, saves[0]);
    const auto loads = bench::interleaved_medians(
        rounds, {{"load h5ser::tensor (mapped view)", [&] { (void)h5ser::load<with_tensor>(tf); }},
                 {"load h5ser::tensor, owned_memory (one copy)", [&] { (void)h5ser::load<with_tensor, h5ser::owned_memory>(tf); }},
                 {"load Eigen row-major (one copy)", [&] { (void)h5ser::load<with_row_major>(rf); }},
                 {"load Eigen column-major (copy + transposition)", [&] { (void)h5ser::load<with_col_major>(cf); }}});
    bench::print("loads (verified)", loads, bytes, loads[1]);
    for (const auto& f : {tf, rf, cf}) std::filesystem::remove(f);
    return 0;
}
