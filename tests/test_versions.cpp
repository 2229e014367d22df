// Models that change over versions: h5ser::evolution<T>::version saved with every struct,
// upgrade hooks that turn an old group into the new struct (h5ser::old_group), newer versions
// refused, and a hook that throws leaving the model as it was. One model through three versions:
//   version 1: Attn {qkv (fused), w, heads, dropout}
//   version 2: w renamed proj, scale added (computed from heads by the hook), dropout removed
//   version 3: qkv split into q, k, v
#include <h5ser/h5ser.hpp>

#include <doctest/doctest.h>

#include <hdf5.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "support.hpp"

namespace {

using strings = std::vector<std::string>;

std::string lines(const strings& entries) {
    std::string text;
    for (const auto& e : entries) text += e + "\n";
    return text;
}

constexpr std::size_t width = 4;

struct AttnV1 {
    h5ser::tensor<float, 2> qkv;  // [3 * width, width]: q, k, v stacked
    h5ser::tensor<float, 2> w;
    int heads = 0;
    float dropout = 0;
};
struct NetV1 {
    std::string name;
    std::vector<AttnV1> layers;
};

struct AttnV2 {
    h5ser::tensor<float, 2> qkv;
    h5ser::tensor<float, 2> proj;
    int heads = 0;
    float scale = 0;
};
struct NetV2 {
    std::string name;
    std::vector<AttnV2> layers;
};

struct Attn {
    h5ser::tensor<float, 2> q, k, v;
    h5ser::tensor<float, 2> proj;
    int heads = 0;
    float scale = 0;
};
struct Net {
    std::string name;
    std::vector<Attn> layers;
};

/// What every hook did, to check it ran as often as the report says.
int hook_runs = 0;
/// Set by a test: the hook throws this.
std::optional<std::string> hook_failure;

h5ser::tensor<float, 2> rows_of(const h5ser::tensor<float, 2>& fused, std::size_t part) {
    h5ser::tensor<float, 2> out({width, width});
    std::memcpy(out.data(), fused.data() + part * width * width, width * width * sizeof(float));
    return out;
}

}  // namespace

template <>
struct h5ser::evolution<AttnV2> {
    static constexpr int version = 2;
    static constexpr h5ser::rename renames[] = {{"w", "proj"}};
    static void upgrade(const h5ser::old_group&, AttnV2& now, int) { now.scale = 1.0f / std::sqrt(static_cast<float>(now.heads)); }
};

namespace {
// Version 3 again, with proj in bfloat16: files of versions 1 to 3 load into it under h5ser::convert_dtypes.
struct AttnHalf {
    h5ser::tensor<float, 2> q, k, v;
    h5ser::tensor<h5ser::bfloat16, 2> proj;
    int heads = 0;
    float scale = 0;
};
struct NetHalf {
    std::string name;
    std::vector<AttnHalf> layers;
};
}  // namespace

template <>
struct h5ser::evolution<AttnHalf> {
    static constexpr int version = 3;
    static constexpr h5ser::rename renames[] = {{"w", "proj"}};
    static void upgrade(const h5ser::old_group& old, AttnHalf& now, int) {
        const auto qkv = old.read<h5ser::tensor<float, 2>>("qkv");
        now.q = rows_of(qkv, 0);
        now.k = rows_of(qkv, 1);
        now.v = rows_of(qkv, 2);
    }
};

template <>
struct h5ser::evolution<Attn> {
    static constexpr int version = 3;
    static constexpr h5ser::rename renames[] = {{"w", "proj"}};
    static void upgrade(const h5ser::old_group& old, Attn& now, int file_version) {
        ++hook_runs;
        if (hook_failure) throw std::runtime_error(*hook_failure);
        REQUIRE(old.version() == file_version);
        // Versions 1 and 2 fused q, k, v into one tensor: split it.
        const auto found = old.find("qkv");
        REQUIRE(found);
        CHECK(found->kind == h5ser::old_object::type::dataset);
        CHECK(found->dtype == "float32");
        CHECK(found->shape == std::vector<std::size_t>{3 * width, width});
        const auto qkv = old.read<h5ser::tensor<float, 2>>("qkv");
        now.q = rows_of(qkv, 0);
        now.k = rows_of(qkv, 1);
        now.v = rows_of(qkv, 2);
        // Version 1 had no scale: computed from the heads, as version 2 did.
        if (file_version < 2) now.scale = 1.0f / std::sqrt(static_cast<float>(now.heads));
    }
};

namespace {

AttnV1 attn_v1(float at) {
    AttnV1 a;
    a.qkv = h5ser::tensor<float, 2>({3 * width, width});
    for (std::size_t i = 0; i < a.qkv.size(); ++i) a.qkv.data()[i] = at + static_cast<float>(i) * 0.25f;
    a.w = h5ser::tensor<float, 2>({width, width});
    for (std::size_t i = 0; i < a.w.size(); ++i) a.w.data()[i] = -at - static_cast<float>(i);
    a.heads = 4;
    a.dropout = 0.1f;
    return a;
}
NetV1 net_v1() { return {"gpt-tiny", {attn_v1(1), attn_v1(100)}}; }
NetV2 net_v2() {
    NetV2 n{"gpt-tiny", {}};
    for (const AttnV1& a : net_v1().layers) n.layers.push_back({a.qkv, a.w, a.heads, 0.5f});
    return n;
}

/// Every layer of `loaded` holds what `saved` held: q, k, v its qkv's rows, bit for bit.
template <class Saved>
void check_upgraded(const Net& loaded, const Saved& saved) {
    CHECK(loaded.name == saved.name);
    REQUIRE(loaded.layers.size() == saved.layers.size());
    for (std::size_t i = 0; i < saved.layers.size(); ++i) {
        CAPTURE(i);
        const auto& s = saved.layers[i];
        const Attn& l = loaded.layers[i];
        CHECK(test::same_bytes(l.q, rows_of(s.qkv, 0)));
        CHECK(test::same_bytes(l.k, rows_of(s.qkv, 1)));
        CHECK(test::same_bytes(l.v, rows_of(s.qkv, 2)));
        if constexpr (requires { s.w; }) CHECK(test::same_bytes(l.proj, s.w));
        else CHECK(test::same_bytes(l.proj, s.proj));
        CHECK(l.heads == s.heads);
    }
}

/// The int attribute `name` of `object` in `path`, read with the HDF5 C library (as h5py would).
std::optional<long long> int_attribute(const std::string& path, const char* object, const char* name) {
    const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    REQUIRE(file >= 0);
    std::optional<long long> value;
    if (H5Aexists_by_name(file, object, name, H5P_DEFAULT) > 0) {
        const hid_t attribute = H5Aopen_by_name(file, object, name, H5P_DEFAULT, H5P_DEFAULT);
        long long v = 0;
        REQUIRE(H5Aread(attribute, H5T_NATIVE_LLONG, &v) >= 0);
        H5Aclose(attribute);
        value = v;
    }
    H5Fclose(file);
    return value;
}

/// The variable-length string attribute `name` of the root of `path`, read with the HDF5 C library.
std::string string_attribute(const std::string& path, const char* name) {
    const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    const hid_t attribute = H5Aopen(file, name, H5P_DEFAULT);
    const hid_t type = H5Aget_type(attribute);
    char* text = nullptr;
    REQUIRE(H5Aread(attribute, type, &text) >= 0);
    std::string value = text;
    H5free_memory(text);
    H5Tclose(type);
    H5Aclose(attribute);
    H5Fclose(file);
    return value;
}

}  // namespace

TEST_CASE("versions: saves write each struct's version into its group and the schema, weights-only files too") {
    test::scratch_dir dir;
    h5ser::save(net_v2(), dir.file("v2.h5"));
    h5ser::save<h5ser::weights_only>(net_v2(), dir.file("v2-weights.h5"));
    h5ser::save(net_v1(), dir.file("v1.h5"));
    h5ser::save_async(net_v2(), dir.file("v2-async.h5")).wait();  // a snapshot replays the walk
    for (const char* file : {"v2.h5", "v2-weights.h5", "v2-async.h5"}) {
        CAPTURE(file);
        CHECK(int_attribute(dir.file(file), "/layers/0", "h5ser_struct_version") == 2);
        CHECK(int_attribute(dir.file(file), "/layers/1", "h5ser_struct_version") == 2);
        CHECK_FALSE(int_attribute(dir.file(file), "/", "h5ser_struct_version"));  // NetV2 declares no version
    }
    // A struct that declares no version writes nothing: files of unchanged structs stay as they were.
    CHECK_FALSE(int_attribute(dir.file("v1.h5"), "/layers/0", "h5ser_struct_version"));
    const std::string schema = string_attribute(dir.file("v2.h5"), "schema");
    CHECK(schema.find("\"versions\":{\"" + std::string(h5ser::type_name<AttnV2>()) + "\":2}") != std::string::npos);
    // The version attribute is h5ser's: a strict load of the same struct expects it, and so does
    // h5ser::verify_file.
    h5ser::load_report report;
    const NetV2 again = h5ser::load<NetV2>(dir.file("v2.h5"), report);
    CHECK(report.complete());
    CHECK(report.upgraded.empty());
    CHECK(again.layers[1].scale == 0.5f);
    NetV2 weights;
    h5ser::load_into<h5ser::weights_only>(weights, dir.file("v2-weights.h5"), report);
    CHECK(report.complete());
    CHECK(h5ser::verify_file(dir.file("v2-weights.h5")).ok());
}

TEST_CASE("versions: files of versions 1 and 2 load into version 3 through the upgrade hook, bit-exact, with the exact report") {
    test::scratch_dir dir;
    h5ser::save(net_v1(), dir.file("v1.h5"));
    h5ser::save(net_v2(), dir.file("v2.h5"));
    h5ser::save(net_v2(), dir.file("v2-unsealed.h5"));
    test::unseal(dir.file("v2-unsealed.h5"));
    Net v3_model;
    v3_model.name = "gpt-tiny";
    v3_model.layers.resize(2);
    for (std::size_t i = 0; i < 2; ++i) {
        const AttnV1 a = attn_v1(i == 0 ? 1.0f : 100.0f);
        v3_model.layers[i] = {rows_of(a.qkv, 0), rows_of(a.qkv, 1), rows_of(a.qkv, 2), a.w, a.heads, 0.5f};
    }
    h5ser::save(v3_model, dir.file("v3.h5"));
    CHECK(int_attribute(dir.file("v3.h5"), "/layers/0", "h5ser_struct_version") == 3);

    // Version 1: w is read as proj (a rename), the hook splits qkv and computes scale; dropout, which
    // version 2 removed, is unexpected, so the load is lenient.
    hook_runs = 0;
    h5ser::load_report report;
    const Net from_v1 = h5ser::load<Net, h5ser::lenient>(dir.file("v1.h5"), report);
    check_upgraded(from_v1, net_v1());
    CHECK(from_v1.layers[0].scale == 0.5f);  // 1 / sqrt(4 heads)
    CHECK(hook_runs == 2);
    CHECK(h5ser::to_string(report) ==
          "unexpected: layers[0].dropout (attribute)\nunexpected: layers[1].dropout (attribute)\n"
          "renamed: layers[0].w -> layers[0].proj\nrenamed: layers[1].w -> layers[1].proj\n"
          "upgraded: layers[0] (" +
              std::string(h5ser::type_name<Attn>()) +
              " version 1 -> 3)\n"
              "upgraded: layers[1] (" +
              std::string(h5ser::type_name<Attn>()) + " version 1 -> 3)\n");
    // docs/evolution.md shows this report, the struct named Attention there.
    CHECK(test::replaced(h5ser::to_string(report), {{std::string(h5ser::type_name<Attn>()), "Attention"}}) ==
          test::documented_output("docs/evolution.md", "report of a version 1 file"));
    // Strictly, dropout is an error; the hook did not consume it.
    const auto e = test::expect_error([&] { (void)h5ser::load<Net>(dir.file("v1.h5")); });
    CHECK(e.code() == h5ser::errc::unexpected_field);
    CHECK(e.problems().size() == 2);
    CHECK(e.field_path() == "layers[0].dropout");

    // Version 2: strictly, and complete: q, k, v are the hook's, qkv is what it read, the version-2
    // scale is kept.
    for (const char* file : {"v2.h5", "v2-unsealed.h5"}) {
        CAPTURE(file);
        hook_runs = 0;
        const Net from_v2 = h5ser::load<Net>(dir.file(file), report);
        check_upgraded(from_v2, net_v2());
        CHECK(from_v2.layers[1].scale == 0.5f);
        CHECK(hook_runs == 2);
        CHECK(report.complete());
        CHECK(lines(report.upgraded) == lines({"layers[0] (" + std::string(h5ser::type_name<Attn>()) + " version 2 -> 3)",
                                               "layers[1] (" + std::string(h5ser::type_name<Attn>()) + " version 2 -> 3)"}));
        CHECK(report.renamed.empty());
        CHECK(test::replaced(h5ser::to_string(report), {{std::string(h5ser::type_name<Attn>()), "Attention"}}) ==
              test::documented_output("docs/evolution.md", "report of a version 2 file"));
    }
    // Owned memory and mapped loads give the same.
    hook_runs = 0;
    Net owned;
    h5ser::load_into<h5ser::owned_memory>(owned, dir.file("v2.h5"), report);
    check_upgraded(owned, net_v2());
    CHECK(hook_runs == 2);

    // Version 3: no hook, nothing to say.
    hook_runs = 0;
    const Net from_v3 = h5ser::load<Net>(dir.file("v3.h5"), report);
    check_upgraded(from_v3, net_v1());
    CHECK(hook_runs == 0);
    CHECK(h5ser::to_string(report) == "complete\n");

    // float32 -> bfloat16 under h5ser::convert_dtypes, through the rename and the upgrade.
    const NetHalf half = h5ser::load<NetHalf, h5ser::convert_dtypes>(dir.file("v2.h5"), report);
    for (std::size_t i = 0; i < net_v2().layers[1].proj.size(); ++i)
        CHECK(half.layers[1].proj.data()[i].bits == h5ser::bfloat16(net_v2().layers[1].proj.data()[i]).bits);
    CHECK(test::same_bytes(half.layers[1].q, rows_of(net_v2().layers[1].qkv, 0)));
    CHECK(lines(report.converted) == lines({"layers[0].proj (float32 -> bfloat16)", "layers[1].proj (float32 -> bfloat16)"}));
    CHECK(report.upgraded.size() == 2);
    // The same into memory of its own: tensors are read by range at the end of the walk, but a
    // converted one is read before it is converted.
    const NetHalf half_owned = h5ser::load<NetHalf, h5ser::convert_dtypes, h5ser::owned_memory>(dir.file("v2.h5"), report);
    for (std::size_t i = 0; i < net_v2().layers[1].proj.size(); ++i)
        CHECK(half_owned.layers[1].proj.data()[i].bits == h5ser::bfloat16(net_v2().layers[1].proj.data()[i]).bits);
    CHECK(test::same_bytes(half_owned.layers[1].q, rows_of(net_v2().layers[1].qkv, 0)));
    const NetHalf half_v1 = h5ser::load<NetHalf, h5ser::lenient, h5ser::convert_dtypes>(dir.file("v1.h5"), report);
    CHECK(lines(report.converted) == lines({"layers[0].proj (float32 -> bfloat16)", "layers[1].proj (float32 -> bfloat16)"}));
    CHECK(report.renamed.size() == 2);
    CHECK(half_v1.layers[0].proj.size() == width * width);

    // A plan lists the upgrades without running a hook.
    const h5ser::load_report plan = h5ser::plan_load<Net>(dir.file("v2.h5"));
    CHECK(hook_runs == 0);
    CHECK(lines(plan.upgraded) == lines({"layers[0] (" + std::string(h5ser::type_name<Attn>()) + " version 2 -> 3)",
                                         "layers[1] (" + std::string(h5ser::type_name<Attn>()) + " version 2 -> 3)"}));
    CHECK(plan.complete());
}

TEST_CASE("versions: a file of a newer version than the code knows is an error naming the struct and both versions") {
    test::scratch_dir dir;
    Net v3_model;
    v3_model.layers.resize(1);
    v3_model.layers[0] = {h5ser::tensor<float, 2>({width, width}),
                          h5ser::tensor<float, 2>({width, width}),
                          h5ser::tensor<float, 2>({width, width}),
                          h5ser::tensor<float, 2>({width, width}),
                          4,
                          0.5f};
    h5ser::save(v3_model, dir.file("v3.h5"));
    struct Old {
        std::string name;
        std::vector<AttnV2> layers;
    };
    Old old;
    old.name = "unchanged";
    const auto e = test::expect_error([&] { h5ser::load_into(old, dir.file("v3.h5")); });
    CHECK(e.code() == h5ser::errc::newer_version);
    CHECK(e.field_path() == "layers[0]");
    const std::string type = std::string(h5ser::type_name<AttnV2>());
    CHECK(e.problems().front().expected == type + " version 2 or older");
    CHECK(e.problems().front().found == type + " version 3");
    CHECK(std::string(e.what()).find("h5ser::evolution<" + type + ">::version is 3") != std::string::npos);
    CHECK(old.name == "unchanged");
    // A lenient load refuses it too: the layout of a newer version is unknown.
    h5ser::load_report report;
    CHECK(test::expect_error([&] { h5ser::load_into<h5ser::lenient>(old, dir.file("v3.h5"), report); }).code() ==
          h5ser::errc::newer_version);
}

TEST_CASE("versions: a hook that throws fails the load with its message and field path, the model unchanged") {
    test::scratch_dir dir;
    h5ser::save(net_v2(), dir.file("v2.h5"));
    Net model;
    model.name = "before";
    model.layers.resize(2);
    for (Attn& a : model.layers) {
        a.proj = h5ser::tensor<float, 2>({width, width});
        a.heads = 9;
    }
    const Net before = model;
    hook_failure = "cannot split qkv: heads do not divide the width";
    const auto e = test::expect_error([&] { h5ser::load_into(model, dir.file("v2.h5")); });
    hook_failure.reset();
    CHECK(e.code() == h5ser::errc::upgrade_failed);
    CHECK(e.field_path() == "layers[0]");
    CHECK(std::string(e.what()).find("h5ser::evolution<" + std::string(h5ser::type_name<Attn>()) +
                                     ">::upgrade from version 2 threw: cannot split qkv: heads do not divide the width") !=
          std::string::npos);
    CHECK(model.name == "before");
    CHECK(model.layers[1].heads == 9);
    CHECK(test::same_bytes(model.layers[0].proj, before.layers[0].proj));
    CHECK(model.layers[0].q.size() == 0);
}

namespace {

// A hook that reads what the old group lacks, and a struct holding memory the model does not own.
struct Viewing {
    std::span<float> window;  // the caller's memory: written only when the load succeeds
    h5ser::tensor<float, 1> extra;
};
struct ViewingV1 {
    std::vector<float> window;
};
struct ViewNet {
    Viewing part;
};
struct ViewNetV1 {
    ViewingV1 part;
};

}  // namespace

template <>
struct h5ser::evolution<Viewing> {
    static constexpr int version = 2;
    static void upgrade(const h5ser::old_group& old, Viewing& now, int) {
        CHECK(old.names() == std::vector<std::string>{"window"});
        CHECK_FALSE(old.contains("h5ser_struct_version"));
        now.extra = old.read<h5ser::tensor<float, 1>>("extra");  // version 1 had none: throws
    }
};

TEST_CASE("versions: a failed upgrade puts back what the load wrote into memory the model does not own") {
    test::scratch_dir dir;
    h5ser::save(ViewNetV1{{{1, 2, 3}}}, dir.file("v1.h5"));
    std::vector<float> memory{7, 8, 9};
    ViewNet model;
    model.part.window = memory;
    const auto e = test::expect_error([&] { h5ser::load_into(model, dir.file("v1.h5")); });
    CHECK(e.code() == h5ser::errc::missing_field);
    CHECK(e.field_path() == "part.extra");
    CHECK(std::string(e.what()).find("the group saved at version 1 holds no 'extra'") != std::string::npos);
    CHECK(e.problems().back().code == h5ser::errc::upgrade_failed);
    CHECK(memory == std::vector<float>{7, 8, 9});
}

TEST_CASE("versions: a strict load checks the fingerprint in the order the file was saved, whatever the struct's field order") {
    struct Saved {
        h5ser::tensor<float, 1> a, b;
        std::vector<float> c;
    };
    struct Reordered {
        std::vector<float> c;
        h5ser::tensor<float, 1> b, a;
    };
    test::scratch_dir dir;
    const Saved saved{h5ser::tensor<float, 1>({2}, {1, 2}), h5ser::tensor<float, 1>({1}, {3}), {4, 5, 6}};
    h5ser::save(saved, dir.file("m.h5"));
    h5ser::save(saved, dir.file("unsealed.h5"));
    test::unseal(dir.file("unsealed.h5"));
    const Reordered mapped = h5ser::load<Reordered>(dir.file("m.h5"));
    CHECK(test::same_bytes(mapped.a, saved.a));
    const Reordered through_hdf5 = h5ser::load<Reordered, h5ser::trusted>(dir.file("unsealed.h5"));
    CHECK(through_hdf5.c == saved.c);
    const Reordered isolated = h5ser::load<Reordered>(dir.file("unsealed.h5"));
    CHECK(test::same_bytes(isolated.b, saved.b));
    // Damaged data still fails: the order only puts the same tensors in line.
    {
        test::raw_file edit(dir.file("unsealed.h5"));
        const hid_t dataset = H5Dopen2(edit.id(), "/b", H5P_DEFAULT);
        const float changed = 9;
        REQUIRE(H5Dwrite(dataset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, &changed) >= 0);
        H5Dclose(dataset);
    }
    CHECK(test::expect_error([&] { (void)h5ser::load<Reordered, h5ser::trusted>(dir.file("unsealed.h5")); }).code() ==
          h5ser::errc::checksum_mismatch);
}

namespace {

struct Stored32 {
    h5ser::tensor<float, 2> w;
    h5ser::tensor<float, 1> kept;  // loaded as stored: a view of the mapped file
    std::vector<double> b;
    h5ser::tensor<std::int32_t, 1> ids;
    int count = 0;
    float lr = 0;
};
struct Loaded16 {
    h5ser::tensor<h5ser::bfloat16, 2> w;
    h5ser::tensor<float, 1> kept;
    std::vector<float> b;
    h5ser::tensor<std::int64_t, 1> ids;
    std::int64_t count = 0;
    double lr = 0;
};

Stored32 stored32() {
    Stored32 s;
    s.w = h5ser::tensor<float, 2>({2, 3}, {1.0f, -2.5f, 3.140625f, 1e-3f, 65504.0f, -0.0f});
    s.kept = h5ser::tensor<float, 1>({4096});  // large enough to be stored contiguous, not compact
    for (std::size_t i = 0; i < s.kept.size(); ++i) s.kept.data()[i] = static_cast<float>(i) / 3.0f;
    s.b = {0.1, 1e300, -7.25};
    s.ids = h5ser::tensor<std::int32_t, 1>({3}, {-2147483647 - 1, 0, 2147483647});
    s.count = 12;
    s.lr = 0.001f;
    return s;
}

}  // namespace

TEST_CASE("convert_dtypes: tensors and attributes of other element types are converted and each listed, and without it errors say so") {
    test::scratch_dir dir;
    const Stored32 saved = stored32();
    h5ser::save(saved, dir.file("m.h5"));
    h5ser::save(saved, dir.file("unsealed.h5"));
    test::unseal(dir.file("unsealed.h5"));

    const auto check = [&](const Loaded16& l) {
        for (std::size_t i = 0; i < saved.w.size(); ++i) CHECK(l.w.data()[i].bits == h5ser::bfloat16(saved.w.data()[i]).bits);
        CHECK(test::same_bytes(l.kept, saved.kept));
        REQUIRE(l.b.size() == 3);
        for (std::size_t i = 0; i < 3; ++i) {
            const float expected = static_cast<float>(saved.b[i]);  // 1e300 becomes inf, as a cast makes it
            CHECK(std::memcmp(&l.b[i], &expected, sizeof expected) == 0);
        }
        for (std::size_t i = 0; i < 3; ++i) CHECK(l.ids.data()[i] == saved.ids.data()[i]);
        CHECK(l.count == 12);
        CHECK(l.lr == static_cast<double>(0.001f));
    };
    const strings expected{"w (float32 -> bfloat16)", "b (float64 -> float32)", "ids (int32 -> int64)", "count (int32 -> int64)",
                           "lr (float32 -> float64)"};
    h5ser::load_report report;
    const Loaded16 mapped = h5ser::load<Loaded16, h5ser::convert_dtypes>(dir.file("m.h5"), report);
    check(mapped);
    CHECK(mapped.kept.maps_file());  // no conversion: still a view of the mapped file
    CHECK(lines(report.converted) == lines(expected));
    CHECK(report.complete());
    for (const char* file : {"unsealed.h5"}) {
        CAPTURE(file);
        check(h5ser::load<Loaded16, h5ser::convert_dtypes>(dir.file(file), report));
        CHECK(lines(report.converted) == lines(expected));
        check(h5ser::load<Loaded16, h5ser::convert_dtypes, h5ser::trusted>(dir.file(file), report));
        check(h5ser::load<Loaded16, h5ser::convert_dtypes, h5ser::owned_memory>(dir.file("m.h5"), report));
    }
    // A sized field is converted into its own memory.
    Loaded16 sized;
    sized.w = h5ser::tensor<h5ser::bfloat16, 2>({2, 3});
    h5ser::bfloat16* own = sized.w.data();
    h5ser::load_into<h5ser::convert_dtypes>(sized, dir.file("m.h5"), report);
    CHECK(sized.w.data() == own);
    check(sized);
    // The plan lists the same conversions.
    CHECK(lines(h5ser::plan_load<Loaded16, h5ser::convert_dtypes>(dir.file("m.h5")).converted) == lines(expected));

    // Without the policy, every one of them is an error that names the policy.
    const auto e = test::expect_error([&] { (void)h5ser::load<Loaded16>(dir.file("m.h5")); });
    CHECK(e.code() == h5ser::errc::dtype_mismatch);
    CHECK(e.problems().size() == 5);
    CHECK(e.field_path() == "w");
    CHECK(e.problems().front().detail == "h5ser::convert_dtypes converts float32 to bfloat16");
}

TEST_CASE("convert_dtypes: an integer that does not fit its field is an error naming the field, and floats and ints never mix") {
    struct Wide {
        h5ser::tensor<std::int64_t, 1> ids;
        std::uint16_t port = 0;
    };
    struct Narrow {
        h5ser::tensor<std::int32_t, 1> ids;
        std::uint8_t port = 0;
    };
    struct AsFloat {
        h5ser::tensor<float, 1> ids;
        std::uint16_t port = 0;
    };
    test::scratch_dir dir;
    h5ser::save(Wide{h5ser::tensor<std::int64_t, 1>({3}, {1, -5, 7}), 200}, dir.file("fits.h5"));
    h5ser::save(Wide{h5ser::tensor<std::int64_t, 1>({3}, {1, std::int64_t{1} << 40, 7}), 300}, dir.file("too-big.h5"));
    h5ser::load_report report;
    const Narrow fits = h5ser::load<Narrow, h5ser::convert_dtypes>(dir.file("fits.h5"), report);
    CHECK(fits.ids.data()[1] == -5);
    CHECK(fits.port == 200);
    CHECK(lines(report.converted) == lines({"ids (int64 -> int32)", "port (uint16 -> uint8)"}));

    Narrow before;
    before.port = 9;
    const auto e = test::expect_error([&] { h5ser::load_into<h5ser::convert_dtypes>(before, dir.file("too-big.h5"), report); });
    CHECK(e.code() == h5ser::errc::invalid_value);
    REQUIRE(e.problems().size() == 2);
    CHECK(e.problems()[0].field_path == "ids");
    CHECK(e.problems()[0].found == "int64 value 1099511627776 at element 1");
    CHECK(e.problems()[1].field_path == "port");
    CHECK(e.problems()[1].found == "uint16 value 300");
    CHECK(before.port == 9);
    CHECK(before.ids.size() == 0);

    // Integers never become floats: still a dtype mismatch, with no hint.
    const auto mixed = test::expect_error([&] { (void)h5ser::load<AsFloat, h5ser::convert_dtypes>(dir.file("fits.h5"), report); });
    CHECK(mixed.code() == h5ser::errc::dtype_mismatch);
    CHECK(mixed.problems().front().detail.empty());
}
