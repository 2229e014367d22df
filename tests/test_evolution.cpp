// Models that change: the load report of a lenient load (what it skipped, never silent), the same
// from every kind of load (mapped, owned memory, an isolated child, a checkpoint restore).
#include <h5ser/h5ser.hpp>

#include <doctest/doctest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "support.hpp"

namespace {

using strings = std::vector<std::string>;

/// The entries one per line: what a failed check prints.
std::string lines(const strings& entries) {
    std::string text;
    for (const auto& e : entries) text += e + "\n";
    return text;
}

// Version 1 of a model, and version 2: a layer gained a field, a hyperparameter went away, a
// layer was added, an optional field became engaged.
struct Dense1 {
    h5ser::tensor<float, 2> kernel;
    h5ser::tensor<float, 1> bias;
};
struct Net1 {
    std::string name;
    int units = 0;
    Dense1 first;
    std::vector<Dense1> blocks;
    std::map<std::string, float> scales;
};

struct Dense2 {
    h5ser::tensor<float, 2> kernel;
    h5ser::tensor<float, 1> bias;
    h5ser::tensor<float, 1> gamma;  // new
};
struct Net2 {
    std::string name;
    Dense2 first;
    std::vector<Dense1> blocks;
    Dense1 head;  // new layer
    std::map<std::string, float> scales;
    std::optional<int> seed;  // new; engaged in memory
};

Dense1 dense1(float at) {
    Dense1 d;
    d.kernel = h5ser::tensor<float, 2>({2, 3});
    for (std::size_t i = 0; i < d.kernel.size(); ++i) d.kernel.data()[i] = at + static_cast<float>(i);
    d.bias = h5ser::tensor<float, 1>({3}, {at, -at, 0.5f});
    return d;
}

Net1 net1() {
    Net1 n;
    n.name = "v1";
    n.units = 3;
    n.first = dense1(1);
    n.blocks = {dense1(10), dense1(20)};
    n.scales = {{"a", 1.5f}, {"b", 2.5f}};
    return n;
}

Net2 net2_before_load() {
    Net2 n;
    n.first.gamma = h5ser::tensor<float, 1>({3}, {7, 7, 7});
    n.head = dense1(99);
    n.scales = {{"a", 0}, {"c", 4}};  // a filled map: loaded key by key
    n.seed = 42;
    return n;
}

const strings expected_missing{"first.gamma (dataset float32)", "head (group)", "scales[\"c\"] (attribute float32)", "seed (attribute int32)"};
// In the order the load meets them: a group's fields, then what else it holds.
const strings expected_unexpected{"scales[\"b\"] (entry)", "units (attribute)"};

void check_loaded(const Net2& n, const Net1& saved) {
    CHECK(n.name == saved.name);
    CHECK(test::same_bytes(n.first.kernel, saved.first.kernel));
    CHECK(test::same_bytes(n.first.bias, saved.first.bias));
    REQUIRE(n.blocks.size() == 2);
    CHECK(test::same_bytes(n.blocks[1].kernel, saved.blocks[1].kernel));
    // What the file lacks kept its value.
    CHECK(n.first.gamma(0) == 7.0f);
    CHECK(n.head.kernel(0, 0) == 99.0f);
    CHECK(n.scales.at("a") == 1.5f);
    CHECK(n.scales.at("c") == 4.0f);
    CHECK(n.scales.count("b") == 0);
    CHECK(n.seed == 42);
}

}  // namespace

TEST_CASE("load report: a lenient load lists every field the file lacks and every object the struct lacks") {
    test::scratch_dir dir;
    const Net1 saved = net1();
    h5ser::save(saved, dir.file("v1.h5"));

    Net2 model = net2_before_load();
    h5ser::load_report report;
    report.missing = {"left over from an earlier load"};  // replaced, not appended to
    h5ser::load_into<h5ser::lenient>(model, dir.file("v1.h5"), report);
    check_loaded(model, saved);
    CHECK(lines(report.missing) == lines(expected_missing));
    CHECK(lines(report.unexpected) == lines(expected_unexpected));
    CHECK_FALSE(report.complete());
    CHECK(h5ser::to_string(report) ==
          "missing: first.gamma (dataset float32)\nmissing: head (group)\nmissing: scales[\"c\"] (attribute float32)\n"
          "missing: seed (attribute int32)\nunexpected: scales[\"b\"] (entry)\nunexpected: units (attribute)\n");

    // The same struct strictly: one error with every one of these problems, and the report and the
    // model as they were.
    Net2 strict = net2_before_load();
    const h5ser::load_report before = report;
    const auto e = test::expect_error([&] { h5ser::load_into(strict, dir.file("v1.h5"), report); });
    CHECK(e.problems().size() == expected_missing.size() + expected_unexpected.size() - 1);  // an absent optional is empty, strictly
    CHECK(lines(report.missing) == lines(before.missing));
    CHECK(strict.name.empty());

    // A load that matches: complete, and said so.
    h5ser::load_report exact;
    exact.unexpected = {"stale"};
    const Net1 again = h5ser::load<Net1>(dir.file("v1.h5"), exact);
    CHECK(exact.complete());
    CHECK(exact.unexpected.empty());
    CHECK(h5ser::to_string(exact) == "complete\n");
    CHECK(again.units == 3);
}

TEST_CASE("load report: the same from a mapped load, owned memory, an isolated child, trusted, and a checkpoint restore") {
    test::scratch_dir dir;
    const Net1 saved = net1();
    h5ser::save(saved, dir.file("sealed.h5"));
    h5ser::save(saved, dir.file("unsealed.h5"));
    test::unseal(dir.file("unsealed.h5"));  // loads in a child process

    const auto check_load = [&](const char* what, auto load) {
        CAPTURE(what);
        Net2 model = net2_before_load();
        h5ser::load_report report;
        load(model, report);
        check_loaded(model, saved);
        CHECK(lines(report.missing) == lines(expected_missing));
        CHECK(lines(report.unexpected) == lines(expected_unexpected));
    };
    check_load("mapped", [&](Net2& m, h5ser::load_report& r) { h5ser::load_into<h5ser::lenient>(m, dir.file("sealed.h5"), r); });
    check_load("owned memory", [&](Net2& m, h5ser::load_report& r) {
        h5ser::load_into<h5ser::lenient, h5ser::owned_memory>(m, dir.file("sealed.h5"), r);
    });
    check_load("isolated child", [&](Net2& m, h5ser::load_report& r) {
        std::uint64_t last = 0;
        h5ser::load_into<h5ser::lenient>(m, dir.file("unsealed.h5"), [&](std::uint64_t done, std::uint64_t) { last = done; }, r);
        CHECK(last > 0);
    });
    check_load("trusted", [&](Net2& m, h5ser::load_report& r) {
        h5ser::load_into<h5ser::lenient, h5ser::trusted>(m, dir.file("unsealed.h5"), r);
    });
    check_load("checkpoint", [&](Net2& m, h5ser::load_report& r) {
        h5ser::checkpoint_manager<Net1>(dir.file("run")).save(saved, 5);
        h5ser::checkpoint_manager<Net2, h5ser::lenient> checkpoints(dir.file("run"));
        CHECK(checkpoints.restore_latest(m, r) == std::optional<std::uint64_t>(5));
    });

    // h5ser::load<Model, lenient>(path, report) starts from a default-constructed model.
    h5ser::load_report report;
    const Net2 fresh = h5ser::load<Net2, h5ser::lenient>(dir.file("unsealed.h5"), report);
    CHECK(fresh.name == "v1");
    CHECK(lines(report.missing) == lines(strings{"first.gamma (dataset float32)", "head (group)"}));
    CHECK(lines(report.unexpected) == lines(strings{"units (attribute)"}));
}

TEST_CASE("load report: a weights-only load of a full-model file lists what the struct lacks among the weights only") {
    test::scratch_dir dir;
    h5ser::save(net1(), dir.file("full.h5"));
    h5ser::save<h5ser::weights_only>(net1(), dir.file("weights.h5"));
    struct Weights {
        Dense1 first;
        std::vector<Dense1> blocks;
    };
    // The hyperparameters (name, units, scales) are left by any weights-only load: not unexpected.
    Weights w;
    h5ser::load_report report;
    h5ser::load_into<h5ser::weights_only, h5ser::lenient>(w, dir.file("full.h5"), report);
    CHECK(report.complete());
    // A weights-only file holds exactly what such a load reads: a layer the struct lacks is listed.
    struct FirstOnly {
        Dense1 first;
    };
    FirstOnly f;
    h5ser::load_into<h5ser::lenient>(f, dir.file("weights.h5"), report);
    CHECK(report.missing.empty());
    CHECK(lines(report.unexpected) == lines(strings{"blocks (group)"}));
    CHECK(test::same_bytes(f.first.kernel, net1().first.kernel));
}
