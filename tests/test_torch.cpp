// h5ser/torch.hpp: torch::Tensor fields and state dicts (std::map<std::string, torch::Tensor>, also
// as the root) round trip bit for bit in every element type libtorch and h5ser share; loads take
// the dtype and shape from the file and view the mapped file; what cannot be stored is refused.
#include <h5ser/safetensors.hpp>
#include <h5ser/torch.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <utility>

#include "support.hpp"

namespace {

using state_dict = std::map<std::string, at::Tensor>;

/// Same dtype, same shape, same bytes (NaN payloads and -0.0 included).
bool same_tensor(const at::Tensor& a, const at::Tensor& b) {
    if (!a.defined() || !b.defined()) return a.defined() == b.defined();
    if (a.scalar_type() != b.scalar_type() || a.sizes() != b.sizes()) return false;
    const at::Tensor ca = a.contiguous();
    const at::Tensor cb = b.contiguous();
    return ca.numel() == 0 || std::memcmp(ca.data_ptr(), cb.data_ptr(), ca.nbytes()) == 0;
}

/// A tensor of `type` and `sizes` whose bytes are all distinct-ish (bool: 0 and 1 only).
at::Tensor patterned(at::ScalarType type, at::IntArrayRef sizes) {
    at::Tensor t = at::empty(sizes, at::TensorOptions().dtype(type));
    auto* bytes = static_cast<unsigned char*>(t.data_ptr());
    for (std::size_t i = 0; i < t.nbytes(); ++i)
        bytes[i] = type == at::kBool ? static_cast<unsigned char>(i % 2) : static_cast<unsigned char>(i * 37 + 11);
    return t;
}

struct Layer {
    at::Tensor weight;
    at::Tensor bias;
};
struct Net {
    Layer fc1;
    Layer fc2;
    at::Tensor step;  // a 0-d int64 tensor
    std::string activation = "relu";
};

Net sample_net() {
    Net n;
    n.fc1 = {at::randn({8, 4}), at::randn({8})};
    n.fc2 = {at::randn({3, 8}), at::zeros({3})};
    n.step = at::scalar_tensor(1234, at::kLong);
    n.activation = "gelu";
    return n;
}

bool same_net(const Net& a, const Net& b) {
    return same_tensor(a.fc1.weight, b.fc1.weight) && same_tensor(a.fc1.bias, b.fc1.bias) && same_tensor(a.fc2.weight, b.fc2.weight) &&
           same_tensor(a.fc2.bias, b.fc2.bias) && same_tensor(a.step, b.step) && a.activation == b.activation;
}

/// Every element type libtorch and h5ser share, by h5ser's name.
const std::pair<const char*, at::ScalarType> shared_types[] = {
    {"bool", at::kBool},  {"int8", at::kChar},    {"uint8", at::kByte},        {"int16", at::kShort},   {"int32", at::kInt},
    {"int64", at::kLong}, {"float16", at::kHalf}, {"bfloat16", at::kBFloat16}, {"float32", at::kFloat}, {"float64", at::kDouble}};

/// Does `p` lie in a mapping of the file `path` (/proc/self/maps)?
bool in_mapping_of(const void* p, const std::string& path) {
    std::ifstream maps("/proc/self/maps");
    std::string line;
    const auto address = reinterpret_cast<std::uintptr_t>(p);
    while (std::getline(maps, line)) {
        if (line.find(path) == std::string::npos) continue;
        std::uintptr_t begin = 0, end = 0;
        char dash = 0;
        std::istringstream range(line);
        range >> std::hex >> begin >> dash >> end;
        if (address >= begin && address < end) return true;
    }
    return false;
}

}  // namespace

TEST_CASE("torch: tensor fields round trip bit for bit, the dtype and shape taken from the file") {
    test::scratch_dir dir;
    const Net saved = sample_net();
    h5ser::save(saved, dir.file("net.h5"));
    const Net loaded = h5ser::load<Net>(dir.file("net.h5"));
    CHECK(same_net(loaded, saved));
    CHECK(loaded.step.dim() == 0);
    CHECK(loaded.step.item<std::int64_t>() == 1234);
    CHECK(!loaded.fc1.weight.requires_grad());

    // load_into replaces whatever the fields held, whatever their dtype and shape.
    Net other;
    other.fc1.weight = at::ones({2, 2}, at::kDouble);
    h5ser::load_into(other, dir.file("net.h5"));
    CHECK(same_net(other, saved));
}

TEST_CASE("torch: every element type libtorch and h5ser share round trips, as a state dict at the root") {
    test::scratch_dir dir;
    state_dict saved;
    for (const auto& [name, type] : shared_types) saved[std::string("layer1.0.") + name] = patterned(type, {3, 5, 2});
    saved["empty"] = at::empty({0, 7}, at::kFloat);
    saved["scalar"] = at::scalar_tensor(2.5, at::kDouble);
    saved["nan"] = at::full({4}, std::numeric_limits<float>::quiet_NaN());
    h5ser::save(saved, dir.file("state.h5"));

    const auto loaded = h5ser::load<state_dict>(dir.file("state.h5"));
    REQUIRE(loaded.size() == saved.size());
    for (const auto& [key, tensor] : saved) {
        CAPTURE(key);
        REQUIRE(loaded.count(key) == 1);
        CHECK(same_tensor(loaded.at(key), tensor));
    }
    // The keys stay one link name each, as PyTorch users see them.
    const hid_t f = H5Fopen(dir.file("state.h5").c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    REQUIRE(f >= 0);
    CHECK(H5Lexists(f, "layer1.0.float32", H5P_DEFAULT) > 0);
    H5Fclose(f);

    // Weights only, and through the owned-memory path.
    h5ser::save<h5ser::weights_only>(saved, dir.file("weights.h5"));
    const auto owned = h5ser::load<state_dict, h5ser::owned_memory>(dir.file("weights.h5"));
    REQUIRE(owned.size() == saved.size());
    for (const auto& [key, tensor] : saved) CHECK(same_tensor(owned.at(key), tensor));
}

TEST_CASE("torch: a state dict saved as .safetensors keeps its keys and loads back bit for bit, every dtype the format shares") {
    test::scratch_dir dir;
    state_dict saved;
    for (const auto& [name, type] : shared_types) saved[std::string("layer1.0.") + name] = patterned(type, {3, 5, 2});
    saved["fc.weight"] = patterned(at::kFloat, {64, 32});
    saved["fc.transposed"] = patterned(at::kFloat, {16, 8}).t();  // saved from a C-order copy made for the call
    saved["empty"] = at::empty({0, 7}, at::kFloat);
    saved["scalar"] = at::scalar_tensor(2.5, at::kDouble);
    const std::string path = dir.file("model.safetensors");
    h5ser::safetensors::save(saved, path);
    // The keys are the tensors' names, and the dtypes the format's, as PyTorch's loaders read them.
    const auto header = h5ser::detail::safetensors::header_if_safetensors(path);
    REQUIRE(header.has_value());
    std::map<std::string, std::string> dtypes;
    for (const auto& t : header->tensors) dtypes[t.name] = std::string(t.file_dtype);
    CHECK(dtypes.size() == saved.size());
    CHECK(dtypes["layer1.0.bfloat16"] == "BF16");
    CHECK(dtypes["layer1.0.bool"] == "BOOL");
    CHECK(dtypes["fc.weight"] == "F32");
    for (const bool mapped : {true, false}) {
        CAPTURE(mapped);
        const auto loaded = mapped ? h5ser::load<state_dict>(path) : h5ser::load<state_dict, h5ser::owned_memory>(path);
        REQUIRE(loaded.size() == saved.size());
        for (const auto& [key, tensor] : saved) {
            CAPTURE(key);
            REQUIRE(loaded.count(key) == 1);
            CHECK(same_tensor(loaded.at(key), tensor));
        }
        // A tensor 64-byte aligned in the file is a view of the mapping.
        CHECK(in_mapping_of(loaded.at("fc.weight").data_ptr(), path) == mapped);
    }
}

TEST_CASE("torch: asynchronous saves snapshot the tensors, and files h5ser did not seal load through a child") {
    test::scratch_dir dir;
    state_dict model{{"w", at::randn({32, 16})}, {"t", at::arange(12, at::kInt).reshape({3, 4}).t()}};
    const state_dict saved{{"w", model.at("w").clone()}, {"t", model.at("t").clone()}};
    auto pending = h5ser::save_async(model, dir.file("async.h5"));
    model.at("w").fill_(0.0f);  // the snapshot was taken: the file holds the values at the call
    model.at("t").fill_(-1);
    pending.wait();
    auto loaded = h5ser::load<state_dict>(dir.file("async.h5"));
    CHECK(same_tensor(loaded.at("w"), saved.at("w")));
    CHECK(same_tensor(loaded.at("t"), saved.at("t").contiguous()));

    // Without its seal, the file is parsed in a child process, which sends the tensors back.
    test::unseal(dir.file("async.h5"));
    loaded = h5ser::load<state_dict>(dir.file("async.h5"));
    CHECK(same_tensor(loaded.at("w"), saved.at("w")));
    CHECK(same_tensor(loaded.at("t"), saved.at("t").contiguous()));
}

TEST_CASE("torch: non-contiguous tensors are saved in C order") {
    test::scratch_dir dir;
    const at::Tensor base = at::arange(24, at::kFloat).reshape({4, 6});
    state_dict saved{{"transposed", base.t()}, {"sliced", base.slice(1, 1, 5, 2)}, {"expanded", at::arange(3, at::kInt).expand({2, 3})}};
    REQUIRE(!saved["transposed"].is_contiguous());
    h5ser::save(saved, dir.file("views.h5"));
    const auto loaded = h5ser::load<state_dict>(dir.file("views.h5"));
    for (const auto& [key, tensor] : saved) {
        CAPTURE(key);
        CHECK(same_tensor(loaded.at(key), tensor.contiguous()));
        CHECK(loaded.at(key).equal(tensor));
    }
    CHECK(loaded.at("transposed")[5][3].item<float>() == 3 * 6 + 5);
}

TEST_CASE("torch: large tensors load as views of the mapped file, which they keep alive") {
    test::scratch_dir dir;
    state_dict saved{{"big", at::randn({256, 1024})}, {"small", at::randn({3})}};
    const std::string path = dir.file("big.h5");
    h5ser::save(saved, path);
    auto loaded = h5ser::load<state_dict>(path);
    CHECK(in_mapping_of(loaded.at("big").data_ptr(), path));
    CHECK(reinterpret_cast<std::uintptr_t>(loaded.at("big").data_ptr()) % 64 == 0);
    // The mapping outlives the file's name, and views share it with the tensors made from them.
    const at::Tensor row = loaded.at("big")[7];
    std::filesystem::remove(path);
    loaded.clear();
    CHECK(row.equal(saved.at("big")[7]));

    h5ser::save(saved, path);
    const auto owned = h5ser::load<state_dict, h5ser::owned_memory>(path);
    CHECK(!in_mapping_of(owned.at("big").data_ptr(), path));
    CHECK(same_tensor(owned.at("big"), saved.at("big")));
}

TEST_CASE("torch: what cannot be stored is refused with an error naming the field, and the old file stays") {
    test::scratch_dir dir;
    const std::string path = dir.file("m.h5");
    h5ser::save(sample_net(), path);
    const std::string before = test::file_bytes(path);

    const auto refused = [&](Net n, const std::string& field, const std::string& found) {
        CAPTURE(field);
        const auto e = test::expect_error([&] { h5ser::save(n, path); });
        CHECK(e.code() == h5ser::errc::invalid_value);
        CHECK(e.field_path() == field);
        CHECK(test::contains(e.what(), found));
        CHECK(test::file_bytes(path) == before);
    };
    Net meta = sample_net();
    meta.fc2.bias = at::empty({3}, at::TensorOptions().device(at::kMeta));  // not on the CPU, as a CUDA tensor would not be
    refused(meta, "fc2.bias", "a tensor on meta: move it to the CPU first");
    Net undefined = sample_net();
    undefined.fc1.weight = at::Tensor();
    refused(undefined, "fc1.weight", "an undefined tensor");
    Net complex = sample_net();
    complex.step = at::zeros({2}, at::kComplexFloat);
    refused(complex, "step", "ComplexFloat");
    Net sparse = sample_net();
    sparse.fc1.bias = at::zeros({8}).to_sparse();
    refused(sparse, "fc1.bias", "a sparse tensor");
}

TEST_CASE("torch: state dict keys HDF5 cannot hold, or h5ser reserves, are refused, and keys that are paths are groups") {
    test::scratch_dir dir;
    const std::string path = dir.file("keys.h5");
    for (const std::string key : {"", ".", "a//b", "/a", "a/", "h5ser_format", "schema", "fingerprint", "model_type"}) {
        CAPTURE(key);
        const state_dict bad{{"fine", at::ones({2})}, {key, at::ones({2})}};
        const auto e = test::expect_error([&] { h5ser::save(bad, path); });
        CHECK(e.code() == h5ser::errc::invalid_value);
        CHECK(test::contains(e.what(), "map key '" + key + "'"));
        CHECK(!std::filesystem::exists(path));
    }
    // A key that is a path is a dataset in groups, and reads back under the same key.
    const state_dict nested{{"fine", at::ones({2})}, {"encoder/0/weight", at::arange(3, at::kFloat)}};
    h5ser::save(nested, path);
    const auto loaded = h5ser::load<state_dict>(path);
    REQUIRE(loaded.size() == 2);
    CHECK(at::equal(loaded.at("encoder/0/weight"), nested.at("encoder/0/weight")));
}

TEST_CASE("torch: a load that fails leaves the tensors as they were, naming the field") {
    test::scratch_dir dir;
    // A dtype libtorch has no type for.
    struct Unsigned {
        h5ser::tensor<std::uint32_t, 1> fc1;
    };
    h5ser::save(Unsigned{h5ser::tensor<std::uint32_t, 1>({2}, {1, 2})}, dir.file("u32.h5"));
    struct Torch {
        at::Tensor fc1;
    };
    Torch t{at::ones({5})};
    auto e = test::expect_error([&] { h5ser::load_into(t, dir.file("u32.h5")); });
    CHECK(e.code() == h5ser::errc::dtype_mismatch);
    CHECK(e.field_path() == "fc1");
    CHECK(test::contains(e.what(), "uint32"));
    CHECK(t.fc1.equal(at::ones({5})));

    // A group where a tensor should be.
    h5ser::save(sample_net(), dir.file("net.h5"));
    struct Flat {
        at::Tensor fc1;
        at::Tensor fc2;
        at::Tensor step;
        std::string activation;
    };
    Flat f{at::ones({1}), at::ones({1}), at::ones({1}), "x"};
    e = test::expect_error([&] { h5ser::load_into(f, dir.file("net.h5")); });
    CHECK(e.code() == h5ser::errc::kind_mismatch);
    CHECK(f.step.equal(at::ones({1})));  // untouched although its own dataset was fine

    // A flipped bit in a mapped tensor: found by its checksum after the walk, and nothing changes.
    state_dict saved{{"big", at::randn({64, 1024})}};
    h5ser::save(saved, dir.file("flip.h5"));
    test::flip_element_bit(dir.file("flip.h5"), "/big", 4096);
    state_dict target{{"big", at::zeros({1})}};
    e = test::expect_error([&] { h5ser::load_into(target, dir.file("flip.h5")); });
    CHECK(e.code() == h5ser::errc::checksum_mismatch);
    CHECK(e.field_path() == "[\"big\"]");
    CHECK(target.at("big").equal(at::zeros({1})));
}

TEST_CASE("torch: a state dict saved by h5ser loads in h5py as arrays of the right dtypes") {
    if (!test::have_h5py()) {
        std::printf("SKIPPED: /usr/bin/python3 has no h5py\n");
        return;
    }
    test::scratch_dir dir;
    const at::Tensor base = at::arange(6, at::kDouble).reshape({2, 3});
    const state_dict saved{{"conv.weight", at::arange(24, at::kFloat).reshape({2, 3, 4})},
                           {"conv.bias", at::tensor({1.5, -2.0}).to(at::kHalf)},
                           {"emb.weight", at::arange(4, at::kFloat).to(at::kBFloat16)},
                           {"steps", at::tensor({7, 8, 9}).to(at::kLong)},
                           {"mask", at::tensor({1, 0, 1}).to(at::kBool)},
                           {"codes", at::tensor({1, 255}).to(at::kByte)},
                           {"transposed", base.t()}};
    h5ser::save(saved, dir.file("state.h5"));
    const std::string script =
        "import h5py, numpy as np, sys\n"
        "f = h5py.File(sys.argv[1], 'r')\n"
        "w = f['conv.weight'][()]\n"
        "assert w.dtype == np.float32 and w.shape == (2, 3, 4), (w.dtype, w.shape)\n"
        "assert (w.ravel() == np.arange(24)).all()\n"
        "b = f['conv.bias'][()]\n"
        "assert b.dtype == np.float16 and list(b) == [1.5, -2.0], b\n"
        "e = f['emb.weight']\n"
        "assert e.attrs['dtype'] in (b'bfloat16', 'bfloat16') and e.shape == (4,), dict(e.attrs)\n"
        "bits = e[()].view(np.uint16).astype(np.uint32) << 16\n"
        "assert list(bits.view(np.float32)) == [0, 1, 2, 3], bits\n"
        "s = f['steps'][()]\n"
        "assert s.dtype == np.int64 and list(s) == [7, 8, 9]\n"
        "m = f['mask'][()]\n"
        "assert m.dtype == np.bool_ and list(m) == [True, False, True], m.dtype\n"
        "c = f['codes'][()]\n"
        "assert c.dtype == np.uint8 and list(c) == [1, 255]\n"
        "t = f['transposed'][()]\n"
        "assert t.shape == (3, 2) and (t == np.arange(6.0).reshape(2, 3).T).all(), t\n";
    CHECK(test::run_h5py_script(dir, script, dir.file("state.h5")) == 0);
}
