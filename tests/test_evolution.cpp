// Models that change: the load report of a lenient load (what it skipped, never silent), the same
// from every kind of load (mapped, owned memory, an isolated child, a checkpoint restore); renamed
// fields read under their old names (h5ser::evolution).
#include <h5ser/h5ser.hpp>

#include <doctest/doctest.h>

#include <fstream>
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

const strings expected_missing{"first.gamma (dataset float32)", "head (group)", "scales[\"c\"] (attribute float32)",
                               "seed (attribute int32)"};
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
    CHECK(h5ser::to_string(report) == test::documented_output("docs/storage.md", "lenient load report"));

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
    check_load("owned memory",
               [&](Net2& m, h5ser::load_report& r) { h5ser::load_into<h5ser::lenient, h5ser::owned_memory>(m, dir.file("sealed.h5"), r); });
    check_load("isolated child", [&](Net2& m, h5ser::load_report& r) {
        std::uint64_t last = 0;
        h5ser::load_into<h5ser::lenient>(
            m, dir.file("unsealed.h5"), [&](std::uint64_t done, std::uint64_t) { last = done; }, r);
        CHECK(last > 0);
    });
    check_load("trusted",
               [&](Net2& m, h5ser::load_report& r) { h5ser::load_into<h5ser::lenient, h5ser::trusted>(m, dir.file("unsealed.h5"), r); });
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

// ---- renames --------------------------------------------------------------------------------

namespace {

struct OldDense {  // what files saved before the rename hold
    h5ser::tensor<float, 2> w;
    h5ser::tensor<float, 1> b;
    int units = 0;
};
struct OldNet {
    std::vector<OldDense> layers;
    float rate = 0;
};
struct Dense {
    h5ser::tensor<float, 2> kernel;
    h5ser::tensor<float, 1> bias;
    int width = 0;
};
struct Net {
    std::vector<Dense> layers;
    float learning_rate = 0;
};

// Chains across versions: a -> b (version 2), b -> c (version 3).
struct ChainV1 {
    h5ser::tensor<double, 1> a;
};
struct ChainV3 {
    h5ser::tensor<double, 1> c;
};

}  // namespace

template <>
struct h5ser::evolution<Dense> {
    static constexpr h5ser::rename renames[] = {{"w", "kernel"}, {"b", "bias"}, {"units", "width"}};
};
template <>
struct h5ser::evolution<Net> {
    static constexpr h5ser::rename renames[] = {{"rate", "learning_rate"}};
};
template <>
struct h5ser::evolution<ChainV3> {
    static constexpr h5ser::rename renames[] = {{"a", "b"}, {"b", "c"}};
};

namespace {

OldNet old_net() {
    OldNet n;
    for (int i = 0; i < 2; ++i) {
        OldDense d;
        d.w = h5ser::tensor<float, 2>({3, 2});
        for (std::size_t k = 0; k < d.w.size(); ++k) d.w.data()[k] = 0.1f * static_cast<float>(k + 10 * i);
        d.b = h5ser::tensor<float, 1>({2}, {1.0f + static_cast<float>(i), -2.0f});
        d.units = 2 + i;
        n.layers.push_back(d);
    }
    n.rate = 0.125f;
    return n;
}

const strings expected_renamed{"layers[0].w -> layers[0].kernel",
                               "layers[0].b -> layers[0].bias",
                               "layers[0].units -> layers[0].width",
                               "layers[1].w -> layers[1].kernel",
                               "layers[1].b -> layers[1].bias",
                               "layers[1].units -> layers[1].width",
                               "rate -> learning_rate"};

void check_renamed_load(const Net& n, const OldNet& saved) {
    REQUIRE(n.layers.size() == 2);
    for (std::size_t i = 0; i < 2; ++i) {
        CHECK(test::same_bytes(n.layers[i].kernel, saved.layers[i].w));
        CHECK(test::same_bytes(n.layers[i].bias, saved.layers[i].b));
        CHECK(n.layers[i].width == saved.layers[i].units);
    }
    CHECK(n.learning_rate == saved.rate);
}

}  // namespace

TEST_CASE("renames: a strict load reads fields under the old names h5ser::evolution declares, and reports each") {
    test::scratch_dir dir;
    const OldNet saved = old_net();
    h5ser::save(saved, dir.file("old.h5"));
    h5ser::save(saved, dir.file("old-unsealed.h5"));
    test::unseal(dir.file("old-unsealed.h5"));
    h5ser::save<h5ser::weights_only>(saved, dir.file("old-weights.h5"));

    for (const char* file : {"old.h5", "old-unsealed.h5"}) {
        CAPTURE(file);
        h5ser::load_report report;
        check_renamed_load(h5ser::load<Net>(dir.file(file), report), saved);
        CHECK(lines(report.renamed) == lines(expected_renamed));
        CHECK(report.complete());
        check_renamed_load(h5ser::load<Net, h5ser::owned_memory>(dir.file(file)), saved);  // without a report too
        check_renamed_load(h5ser::load<Net, h5ser::trusted>(dir.file(file)), saved);
    }
    // Weights-only: the tensors only.
    Net target;
    target.learning_rate = 3;
    h5ser::load_report report;
    h5ser::load_into<h5ser::weights_only>(target, dir.file("old-weights.h5"), report);
    CHECK(test::same_bytes(target.layers[1].kernel, saved.layers[1].w));
    CHECK(target.learning_rate == 3);
    CHECK(lines(report.renamed) == lines({"layers[0].w -> layers[0].kernel", "layers[0].b -> layers[0].bias",
                                          "layers[1].w -> layers[1].kernel", "layers[1].b -> layers[1].bias"}));
    // docs/evolution.md shows these lines, printed one per line.
    std::string printed;
    for (const std::string& r : report.renamed) printed += r + "\n";
    CHECK(printed == test::documented_output("docs/evolution.md", "renames reported"));
    // A file saved under the new names reads them, and reports nothing.
    Net fresh = h5ser::load<Net>(dir.file("old.h5"));
    h5ser::save(fresh, dir.file("new.h5"));
    CHECK(test::same_bytes(h5ser::load<Net>(dir.file("new.h5"), report).layers[0].kernel, saved.layers[0].w));
    CHECK(report.renamed.empty());
    CHECK(h5ser::fingerprint(fresh) != h5ser::fingerprint(saved));  // the tensors' paths changed
}

TEST_CASE("renames: chains across versions, and a file holding both names is an error naming both") {
    test::scratch_dir dir;
    ChainV1 v1;
    v1.a = h5ser::tensor<double, 1>({3}, {1, 2, 3});
    h5ser::save(v1, dir.file("v1.h5"));
    h5ser::load_report report;
    const ChainV3 v3 = h5ser::load<ChainV3>(dir.file("v1.h5"), report);
    CHECK(test::same_bytes(v3.c, v1.a));
    CHECK(lines(report.renamed) == lines({"a -> c"}));

    // A file with the field under both its names: which one is meant is not for h5ser to guess.
    struct Both {
        h5ser::tensor<float, 2> w;
        h5ser::tensor<float, 2> kernel;
        h5ser::tensor<float, 1> bias;
        int width = 0;
    };
    Both both;
    both.w = h5ser::tensor<float, 2>({1, 1}, {1});
    both.kernel = h5ser::tensor<float, 2>({1, 1}, {2});
    both.bias = h5ser::tensor<float, 1>({1}, {0});
    h5ser::save(both, dir.file("both.h5"));
    Dense target;
    for (const bool lenient : {false, true}) {
        const auto e = test::expect_error([&] {
            if (lenient) h5ser::load_into<h5ser::lenient>(target, dir.file("both.h5"), report);
            else h5ser::load_into(target, dir.file("both.h5"));
        });
        CHECK(e.code() == h5ser::errc::unexpected_field);
        CHECK(e.problems().size() == 1);
        CHECK(test::contains(e.what(), "expected 'kernel' only, found 'kernel' and 'w'"));
        CHECK(test::contains(e.what(), "renames reads both as field 'kernel'"));
        CHECK(target.kernel.size() == 0);  // nothing loaded
    }
}

namespace {
struct Unrenamed {  // OldDense's fields under new names, without h5ser::evolution
    h5ser::tensor<float, 2> kernel;
    int units = 0;
};
struct UnrenamedNet {
    Unrenamed single;
};
struct OldSingle {
    h5ser::tensor<float, 2> w;
    int units = 0;
};
struct OldSingleNet {
    OldSingle single;
};
}  // namespace

TEST_CASE("renames: a strict error that finds a field missing and an object of its kind unexpected asks \"renamed?\"") {
    test::scratch_dir dir;
    OldSingleNet saved;
    saved.single.w = h5ser::tensor<float, 2>({1, 2}, {1, 2});
    h5ser::save(saved, dir.file("single.h5"));
    const auto e = test::expect_error([&] { (void)h5ser::load<UnrenamedNet>(dir.file("single.h5")); });
    CHECK(e.problems().size() == 2);
    // docs/evolution.md shows this error, for a file named old.h5 and a struct named Unrenamed.
    CHECK(test::replaced(std::string(e.what()) + "\n",
                         {{dir.file("single.h5"), "old.h5"}, {std::string(h5ser::type_name<Unrenamed>()), "Unrenamed"}}) ==
          test::documented_output("docs/evolution.md", "renamed? in a strict error"));
    CHECK(test::contains(e.what(),
                         "missing field at single.kernel (/single/kernel): expected dataset float32, found nothing; renamed? the "
                         "file holds dataset 'w' that no field reads; if it is this field, declare template <> struct "
                         "h5ser::evolution<" +
                             std::string(h5ser::type_name<Unrenamed>()) +
                             "> { static constexpr h5ser::rename renames[] = {{\"w\", \"kernel\"}}; };"));
    CHECK(test::contains(e.what(),
                         "unexpected object at single.w (/single/w): expected nothing, found dataset 'w'; the struct has no field "
                         "of this name (h5ser::lenient with an h5ser::load_report leaves it)"));

    // Several of the kind: each is named, the line to add left to the reader; a field with no
    // candidate of its kind says what a lenient load would do.
    const auto several = test::expect_error([&] { (void)h5ser::load<Net>(dir.file("single.h5")); });
    CHECK(test::contains(several.what(),
                         "missing field at layers (/layers): expected group, found nothing; renamed? the file holds group "
                         "'single' that no field reads; if it is this field, declare template <> struct "
                         "h5ser::evolution<" +
                             std::string(h5ser::type_name<Net>()) + ">"));
    CHECK(test::contains(several.what(),
                         "missing field at learning_rate (/learning_rate): expected attribute float32, found nothing; h5ser::lenient "
                         "with an h5ser::load_report keeps its value"));
    OldNet two = old_net();
    h5ser::save(two, dir.file("two.h5"));
    struct TwoNew {
        h5ser::tensor<float, 2> kernel;
        h5ser::tensor<float, 1> bias;
        int units = 0;
    };
    struct TwoNet {
        std::vector<TwoNew> layers;
        float rate = 0;
    };
    const auto pair = test::expect_error([&] { (void)h5ser::load<TwoNet>(dir.file("two.h5")); });
    CHECK(test::contains(pair.what(),
                         "renamed? the file holds datasets 'b', 'w' that no field reads; if one is this field, add "
                         "{\"<its name>\", \"bias\"} to h5ser::evolution<"));
}

// ---- plan_load --------------------------------------------------------------------------------

namespace {

template <class Model, class... Policies>
std::string load_outcome(const std::string& path) {
    try {
        h5ser::load_report report;
        (void)h5ser::load<Model, Policies...>(path, report);
        return "loads; " + h5ser::to_string(report);
    } catch (const h5ser::error& e) {
        return std::string("throws ") + e.what();
    }
}

template <class Model, class... Policies>
std::string plan_outcome(const std::string& path) {
    try {
        return "loads; " + h5ser::to_string(h5ser::plan_load<Model, Policies...>(path));
    } catch (const h5ser::error& e) {
        return std::string("throws ") + e.what();
    }
}

struct WeightsOf1 {
    Dense1 first;
    std::vector<Dense1> blocks;
};

}  // namespace

TEST_CASE("plan_load: the report (or error) of the load, for every pair of file and struct, strict and lenient") {
    test::scratch_dir dir;
    std::vector<std::string> files;
    const auto add = [&](const std::string& name, const auto& model, bool unseal, bool weights_only) {
        const std::string path = dir.file(name);
        if (weights_only) h5ser::save<h5ser::weights_only>(model, path);
        else h5ser::save(model, path);
        if (unseal) test::unseal(path);
        files.push_back(path);
    };
    ChainV1 chain;
    chain.a = h5ser::tensor<double, 1>({2}, {1, 2});
    add("net1.h5", net1(), false, false);
    add("net1-unsealed.h5", net1(), true, false);
    add("net1-weights.h5", net1(), false, true);
    add("old.h5", old_net(), false, false);
    add("old-unsealed.h5", old_net(), true, false);
    add("old-weights-unsealed.h5", old_net(), true, true);
    add("chain.h5", chain, false, false);

    int loads = 0, refusals = 0;
    const auto compare = [&](const std::string& load, const std::string& plan, const std::string& what) {
        CHECK_MESSAGE(plan == load, what);
        (load.rfind("loads", 0) == 0 ? loads : refusals)++;
    };
    for (const auto& f : files) {
        compare(load_outcome<Net1>(f), plan_outcome<Net1>(f), f + " as Net1");
        compare(load_outcome<Net2, h5ser::lenient>(f), plan_outcome<Net2, h5ser::lenient>(f), f + " as Net2, lenient");
        compare(load_outcome<Net2>(f), plan_outcome<Net2>(f), f + " as Net2");
        compare(load_outcome<Net>(f), plan_outcome<Net>(f), f + " as Net");
        compare(load_outcome<Net, h5ser::lenient>(f), plan_outcome<Net, h5ser::lenient>(f), f + " as Net, lenient");
        compare(load_outcome<WeightsOf1, h5ser::weights_only, h5ser::lenient>(f),
                plan_outcome<WeightsOf1, h5ser::weights_only, h5ser::lenient>(f), f + " as WeightsOf1, weights only, lenient");
        compare(load_outcome<ChainV3, h5ser::lenient, h5ser::trusted>(f), plan_outcome<ChainV3, h5ser::lenient, h5ser::trusted>(f),
                f + " as ChainV3, lenient, trusted");
    }
    MESSAGE(loads << " pairs load, " << refusals << " are refused, plan_load agreeing on each");
    CHECK(loads >= 15);
    CHECK(refusals >= 15);
}

TEST_CASE("plan_load reads no tensor data: damaged data the load refuses plans as complete") {
    struct Big {
        h5ser::tensor<float, 2> w;  // 16 KiB: contiguous in the file, past the manifest's compact copies
    };
    test::scratch_dir dir;
    Big saved;
    saved.w = h5ser::tensor<float, 2>({64, 64});
    for (std::size_t i = 0; i < saved.w.size(); ++i) saved.w.data()[i] = static_cast<float>(i);
    const std::string path = dir.file("m.h5");
    h5ser::save(saved, path);
    // Flip a byte of the tensor's data: the seal covers the metadata, the checksum the data.
    const auto contents = h5ser::detail::verify_seal(path);
    REQUIRE(contents.has_value());
    const auto* record = contents->dataset("/w");
    REQUIRE(record != nullptr);
    REQUIRE(record->layout == h5ser::detail::record_layout::contiguous);
    {
        std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
        f.seekg(static_cast<std::streamoff>(record->offset + 100));
        char c = 0;
        f.read(&c, 1);
        c = static_cast<char>(c ^ 0x10);
        f.seekp(static_cast<std::streamoff>(record->offset + 100));
        f.write(&c, 1);
    }
    CHECK(test::expect_error([&] { (void)h5ser::load<Big>(path); }).code() == h5ser::errc::checksum_mismatch);
    CHECK(h5ser::plan_load<Big>(path).complete());
    test::unseal(path);  // through the isolated child too
    CHECK(test::expect_error([&] { (void)h5ser::load<Big>(path); }).code() == h5ser::errc::checksum_mismatch);
    CHECK(h5ser::plan_load<Big>(path).complete());
}
