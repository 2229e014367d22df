// The .safetensors header parser (h5ser/detail/safetensors/header.hpp) on hostile headers: every
// malformed one is an h5ser::error naming the tensor and what was found, never a crash, an
// over-read or a huge allocation. (Files of an independent writer: tests/safetensors/.)
#include <cstdint>
#include <string>

#include "support.hpp"

namespace st = h5ser::detail::safetensors;

namespace {

/// A file: the 8-byte little-endian length of `json`, `json`, then `data_bytes` bytes of data.
std::string file_of(const std::string& json, std::size_t data_bytes) {
    std::string file(8, '\0');
    for (int i = 0; i < 8; ++i) file[static_cast<std::size_t>(i)] = static_cast<char>((json.size() >> (8 * i)) & 0xFF);
    return file + json + std::string(data_bytes, '\x5a');
}

/// Parses `file` as h5ser reads a header: its length from the first 8 bytes, then the JSON.
st::header parse(const std::string& file) {
    const auto* bytes = reinterpret_cast<const unsigned char*>(file.data());
    const std::uint64_t n = st::header_length(bytes, file.size(), "m.safetensors");
    return st::parse_header(std::string_view(file).substr(8, static_cast<std::size_t>(n)), file.size(), "m.safetensors");
}

/// The error parsing `json` followed by `data_bytes` bytes gives; fails the test if it parses.
h5ser::error refusal(const std::string& json, std::size_t data_bytes) {
    const std::string file = file_of(json, data_bytes);
    return test::expect_error([&] { (void)parse(file); });
}

}  // namespace

TEST_CASE("safetensors: a valid header gives every tensor, in data order, its offset in the file, and the metadata") {
    const std::string json =
        R"({"b":{"dtype":"F32","shape":[2,2],"data_offsets":[8,24]},"__metadata__":{"format":"pt"},)"
        R"("a":{"dtype":"BF16","shape":[4],"data_offsets":[0,8]},"s":{"dtype":"I64","shape":[],"data_offsets":[24,32]}})";
    const std::string file = file_of(json, 32);
    const st::header h = parse(file);
    REQUIRE(h.tensors.size() == 3);
    CHECK(h.data_start == 8 + json.size());
    CHECK(h.tensors[0].name == "a");
    CHECK(h.tensors[0].dtype == "bfloat16");
    CHECK(h.tensors[0].file_dtype == "BF16");
    CHECK(h.tensors[0].offset == h.data_start);
    CHECK(h.tensors[1].name == "b");
    CHECK(h.tensors[1].shape == std::vector<std::uint64_t>{2, 2});
    CHECK(h.tensors[1].offset == h.data_start + 8);
    CHECK(h.tensors[1].length == 16);
    CHECK(h.tensors[2].shape.empty());  // a scalar
    CHECK(h.tensors[2].length == 8);
    REQUIRE(h.metadata.size() == 1);
    CHECK(h.metadata[0] == std::pair<std::string, std::string>{"format", "pt"});
    CHECK(st::looks_like_safetensors(reinterpret_cast<const unsigned char*>(file.data()), file.size(), file.size()));
    const std::string hdf5_signature = "\x89HDF\r\n\x1a\n and more bytes";
    CHECK_FALSE(st::looks_like_safetensors(reinterpret_cast<const unsigned char*>(hdf5_signature.data()), hdf5_signature.size(), 1 << 20));
    CHECK(st::file_dtype_of("bool") == "BOOL");
    CHECK(st::file_dtype_of("complex64").empty());
}

TEST_CASE("safetensors: a header length past the end of the file or over 100 MiB is refused before it is read") {
    std::string file = file_of("{}", 0);
    file[0] = 100;  // 100 bytes of header in a file of 10
    auto e = test::expect_error([&] { (void)parse(file); });
    CHECK(e.code() == h5ser::errc::malformed_file);
    CHECK(test::contains(e.what(), "runs past the end of the file"));
    file[0] = 0;
    file[4] = 1;  // 4 GiB
    e = test::expect_error([&] { (void)parse(file); });
    CHECK(test::contains(e.what(), "at most 100 MiB"));
    const std::string short_file = "\x02\0\0";
    e = test::expect_error([&] { (void)st::header_length(reinterpret_cast<const unsigned char*>(short_file.data()), 3, "m.safetensors"); });
    CHECK(test::contains(e.what(), "too short"));
}

TEST_CASE("safetensors: headers that are not JSON, not UTF-8 or not an object of tensors are refused") {
    CHECK(test::contains(refusal(R"({"a":{"dtype":"F32")", 0).what(), "is not JSON"));
    CHECK(test::contains(refusal("{\"a\xC0\x80\":1}", 0).what(), "not UTF-8"));     // an overlong NUL
    CHECK(test::contains(refusal("{\"\xED\xA0\x80\":1}", 0).what(), "not UTF-8"));  // a surrogate
    CHECK(test::contains(refusal("[1,2]", 0).what(), "not an object of tensors"));
    CHECK(test::contains(refusal(R"({"a":[1]})", 0).what(), "describes tensor 'a' wrongly"));
    CHECK(test::contains(refusal(R"({"a":{"dtype":"F32","shape":[1]}})", 4).what(), "describes tensor 'a' wrongly"));
    CHECK(test::contains(refusal(R"({"__metadata__":{"k":1}})", 0).what(), "__metadata__ that is not text"));
    const auto e =
        refusal(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8);
    CHECK(e.code() == h5ser::errc::malformed_file);
    CHECK(test::contains(e.what(), "names a tensor twice"));
    CHECK(e.field_path() == "a");
}

TEST_CASE("safetensors: offsets out of order, overlapping, past the data, with holes or bytes left over are refused") {
    const std::string one = R"("dtype":"F32","shape":[1])";
    CHECK(test::contains(refusal(R"({"a":{)" + one + R"(,"data_offsets":[4,0]}})", 4).what(), "offsets out of order"));
    CHECK(test::contains(refusal(R"({"a":{)" + one + R"(,"data_offsets":[0,4]},"b":{)" + one + R"(,"data_offsets":[2,6]}})", 6).what(),
                         "overlaps tensor 'b'"));
    CHECK(test::contains(refusal(R"({"a":{)" + one + R"(,"data_offsets":[0,4]},"b":{)" + one + R"(,"data_offsets":[0,4]}})", 4).what(),
                         "overlaps tensor"));
    CHECK(test::contains(refusal(R"({"a":{)" + one + R"(,"data_offsets":[4,8]}})", 4).what(), "past the end of the file"));
    CHECK(test::contains(refusal(R"({"a":{)" + one + R"(,"data_offsets":[0,4]},"b":{)" + one + R"(,"data_offsets":[8,12]}})", 12).what(),
                         "leaves a hole before tensor 'b'"));
    CHECK(test::contains(refusal(R"({"a":{)" + one + R"(,"data_offsets":[0,4]}})", 6).what(), "leaves bytes after its last tensor"));
}

TEST_CASE("safetensors: a shape that does not match its bytes, overflows or is not whole numbers is refused") {
    auto e = refusal(R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}})", 20);
    CHECK(test::contains(e.what(), "gives tensor 'w' a shape that does not match its bytes"));
    CHECK(test::contains(e.what(), "6 elements of 4 bytes"));
    e = refusal(R"({"w":{"dtype":"F64","shape":[4294967296,4294967296,16],"data_offsets":[0,0]}})", 0);
    CHECK(test::contains(e.what(), "a shape whose size fits 64 bits"));
    e = refusal(R"({"w":{"dtype":"F32","shape":[1099511627776,1099511627776],"data_offsets":[0,0]}})", 0);  // 2^80 elements
    CHECK(test::contains(e.what(), "a shape whose size fits 64 bits"));
    for (const char* dim : {"1.5", "-1", "1e300", "\"4\"", "NaN"}) {
        CAPTURE(dim);
        e = refusal(std::string(R"({"w":{"dtype":"U8","shape":[)") + dim + R"(],"data_offsets":[0,4]}})", 4);
        CHECK(test::contains(e.what(), "gives tensor 'w' an invalid dimension"));
    }
}

TEST_CASE("safetensors: element types no C++ type holds bit for bit are refused, naming the tensor and the dtype") {
    for (const char* dtype : {"F8_E4M3", "F8_E5M2", "C64", "F4", "XYZ"}) {
        CAPTURE(dtype);
        const auto e = refusal(std::string(R"({"layer.w":{"dtype":")") + dtype + R"(","shape":[4],"data_offsets":[0,4]}})", 4);
        CHECK(e.code() == h5ser::errc::dtype_mismatch);
        CHECK(e.field_path() == "layer.w");
        CHECK(test::contains(e.what(), "tensor 'layer.w'"));
        CHECK(test::contains(e.what(), std::string("dtype ") + dtype));
    }
}

TEST_CASE("safetensors: the tree of a file nests dotted names as groups, or lists them whole when they are not paths") {
    const std::string f32 = R"("dtype":"F32","shape":[1])";
    const st::header nested =
        parse(file_of(R"({"h.0.w":{)" + f32 + R"(,"data_offsets":[0,4]},"h.1.w":{)" + f32 + R"(,"data_offsets":[4,8]},"wte":{)" + f32 +
                          R"(,"data_offsets":[8,12]},)" + R"("__metadata__":{"format":"pt"}})",
                      12));
    const h5ser::file_node tree = st::tree_of(nested);
    REQUIRE(tree.children.size() == 2);
    CHECK(tree.children[0].name == "h");
    REQUIRE(tree.children[0].children.size() == 2);
    CHECK(tree.children[0].children[1].path == "/h/1");
    REQUIRE(tree.children[0].children[1].children.size() == 1);
    CHECK(tree.children[0].children[1].children[0].path == "/h/1/w");
    CHECK(tree.children[0].children[1].children[0].stored_bytes == 4);
    CHECK(tree.children[1].path == "/wte");
    REQUIRE(tree.attributes.size() == 1);
    CHECK(tree.attributes[0].name == "__metadata__.format");
    CHECK(tree.attributes[0].value == "\"pt\"");
    // "a" is a tensor and the group of "a.b"; "x..y" has an empty part: neither is a path.
    for (const char* second : {"a.b", "x..y"}) {
        CAPTURE(second);
        const st::header flat =
            parse(file_of(R"({"a":{)" + f32 + R"(,"data_offsets":[0,4]},")" + second + R"(":{)" + f32 + R"(,"data_offsets":[4,8]}})", 8));
        const h5ser::file_node whole = st::tree_of(flat);
        REQUIRE(whole.children.size() == 2);
        CHECK(whole.children[0].path == "/a");
        CHECK(whole.children[1].name == second);
        CHECK(whole.children[1].kind == h5ser::file_node::kind_type::dataset);
    }
}
