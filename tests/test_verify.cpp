// h5ser::verify_file: checks a file without its struct, and reports progress as it goes.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <vector>

#include "support.hpp"

namespace {

struct Layer {
    h5ser::tensor<float, 2> kernel;  // 32 x 64: 8 KiB, stored contiguous
    h5ser::tensor<float, 1> bias;
};
struct Model {
    std::vector<Layer> layers;
    int epochs = 2;
};

Model make_model(std::size_t layers) {
    Model m;
    for (std::size_t l = 0; l < layers; ++l) {
        Layer layer{h5ser::tensor<float, 2>({32, 64}), h5ser::tensor<float, 1>({64})};
        for (std::size_t i = 0; i < layer.kernel.size(); ++i) layer.kernel.data()[i] = static_cast<float>(l * 1000 + i);
        for (std::size_t i = 0; i < 64; ++i) layer.bias(i) = static_cast<float>(i);
        m.layers.push_back(std::move(layer));
    }
    return m;
}

}  // namespace

TEST_CASE("verify_file: an intact file passes, its fingerprint is the one save computed") {
    test::scratch_dir dir;
    const Model m = make_model(3);
    h5ser::save(m, dir.file("m.h5"));
    const auto report = h5ser::verify_file(dir.file("m.h5"));
    CHECK(report.ok());
    CHECK(report.seal == "intact");
    CHECK(report.datasets.size() == 6);
    CHECK(report.datasets[0].path == "/layers/0/kernel");  // field order
    CHECK(report.stored_fingerprint == h5ser::fingerprint(m));
    CHECK(report.computed_fingerprint == h5ser::fingerprint(m));
}

TEST_CASE("verify_file: a flipped bit in one tensor names that tensor and breaks the fingerprint") {
    test::scratch_dir dir;
    h5ser::save(make_model(3), dir.file("m.h5"));
    test::flip_element_bit(dir.file("m.h5"), "/layers/1/kernel");
    const auto report = h5ser::verify_file(dir.file("m.h5"));
    CHECK_FALSE(report.ok());
    CHECK(report.seal_ok);  // element bytes are covered by checksums, not by the seal
    std::vector<std::string> bad;
    for (const auto& d : report.datasets)
        if (d.result != h5ser::dataset_check::status::ok) bad.push_back(d.path);
    CHECK(bad == std::vector<std::string>{"/layers/1/kernel"});
    CHECK_FALSE(report.fingerprint_ok());
}

TEST_CASE("the progress callback counts bytes upward and ends at the total") {
    test::scratch_dir dir;
    h5ser::save(make_model(20), dir.file("m.h5"));
    std::vector<std::pair<std::uint64_t, std::uint64_t>> calls;
    const auto report =
        h5ser::verify_file(dir.file("m.h5"), [&](std::uint64_t done, std::uint64_t total) { calls.emplace_back(done, total); });
    CHECK(report.ok());
    REQUIRE(calls.size() >= 20);
    const std::uint64_t total = calls.front().second;
    CHECK(total >= 20 * (32 * 64 * 4 + 64 * 4));
    for (std::size_t i = 0; i < calls.size(); ++i) {
        CHECK(calls[i].second == total);
        if (i) CHECK(calls[i].first >= calls[i - 1].first);
    }
    CHECK(calls.back().first == total);
}

TEST_CASE("save and load report progress: increasing byte counts that end at the total") {
    test::scratch_dir dir;
    const Model m = make_model(10);
    const auto check_calls = [](const std::vector<std::pair<std::uint64_t, std::uint64_t>>& calls, std::uint64_t expected_total) {
        REQUIRE(calls.size() >= 10);
        for (std::size_t i = 0; i < calls.size(); ++i) {
            CHECK(calls[i].second == expected_total);
            CHECK(calls[i].first <= calls[i].second);
            if (i) CHECK(calls[i].first >= calls[i - 1].first);
        }
        CHECK(calls.back().first == expected_total);
    };
    std::vector<std::pair<std::uint64_t, std::uint64_t>> saved, loaded;
    h5ser::save(m, dir.file("m.h5"), [&](std::uint64_t done, std::uint64_t total) { saved.emplace_back(done, total); });
    check_calls(saved, 10 * (32 * 64 + 64) * sizeof(float));  // the tensors' bytes
    const auto back =
        h5ser::load<Model>(dir.file("m.h5"), [&](std::uint64_t done, std::uint64_t total) { loaded.emplace_back(done, total); });
    check_calls(loaded, std::filesystem::file_size(dir.file("m.h5")));  // the file's bytes
    CHECK(test::same_bytes(back.layers[9].kernel, m.layers[9].kernel));
}

TEST_CASE("verify_file: a file another program wrote is reported as such, not as damaged") {
    test::scratch_dir dir;
    {
        test::raw_file f(dir.file("foreign.h5"), true);
        f.write_float_dataset("/layer/kernel", {4, 3}, 0.5f);
        f.write_float_dataset("/layer/bias", {3});
    }
    const h5ser::verify_report foreign = h5ser::verify_file(dir.file("foreign.h5"));
    CHECK_FALSE(foreign.written_by_h5ser);
    CHECK(foreign.readable());
    CHECK_FALSE(foreign.ok());  // nothing to check it against
    REQUIRE(foreign.datasets.size() == 2);
    CHECK(foreign.datasets[0].result == h5ser::dataset_check::status::no_checksum);
    CHECK(foreign.computed_fingerprint.size() == 16);

    h5ser::save(make_model(2), dir.file("mine.h5"));
    const h5ser::verify_report mine = h5ser::verify_file(dir.file("mine.h5"));
    CHECK(mine.written_by_h5ser);
    CHECK(mine.ok());
}
