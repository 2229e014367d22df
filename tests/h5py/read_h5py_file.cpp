// Loads files written by h5py (check_h5py_files.py) into C++ structs.
//
//     read_h5py_file FILE                 a file with h5ser's root attributes: checks every value
//     read_h5py_file --foreign FILE       a file without them, loaded with h5ser::foreign (strict,
//                                         in the isolated child): prints every value, which the
//                                         script compares with what it wrote, bytes as hex
//     read_h5py_file --h5ser FILE         the same struct from an h5ser file (`h5ser convert
//                                         --from hdf5`'s), loaded as h5ser files are: verified, mapped
//     read_h5py_file --mismatch FILE      a struct the foreign file does not fit: prints the error
#include <cstdio>
#include <cstring>
#include <string>

#include <h5ser/h5ser.hpp>

namespace {
struct Layer {
    h5ser::tensor<float, 2> kernel;
    h5ser::tensor<double, 1> bias;
    std::int64_t units = 0;
    std::string activation;
    std::string legacy_name;  // a fixed-length ASCII string, as h5py writes numpy bytes
};
struct FromH5py {
    Layer dense;
    h5ser::tensor<bool, 1> mask;
    h5ser::tensor<std::int32_t, 3> cube;
    std::vector<std::uint8_t> raw;
    bool flag = false;
    std::vector<std::string> names;
    double rate = 0;
};

int failures = 0;
void check(bool ok, const char* what) {
    if (!ok) {
        std::printf("FAIL: %s\n", what);
        ++failures;
    }
}

int check_h5ser_attributes_file(const std::string& path) {
    const auto m = h5ser::load<FromH5py>(path);
    check(m.dense.kernel.shape() == std::array<std::size_t, 2>{2, 3}, "kernel shape");
    for (std::size_t i = 0; i < 6; ++i) check(m.dense.kernel.data()[i] == static_cast<float>(i) * 0.5f, "kernel values");
    check(m.dense.bias.shape()[0] == 3 && m.dense.bias(2) == -1e300, "bias");
    check(m.dense.units == 3, "units (numpy int64)");
    check(m.dense.activation == "softmax ✓", "activation (str)");
    check(m.dense.legacy_name == "dense_1", "legacy_name (fixed-length bytes)");
    check(m.mask.size() == 4 && m.mask(0) && !m.mask(1) && !m.mask(2) && m.mask(3), "mask (numpy bool)");
    check(m.cube.shape() == std::array<std::size_t, 3>{2, 2, 2} && m.cube(1, 1, 1) == -7, "cube");
    check(m.raw.size() == 3 && m.raw[2] == 255, "raw uint8");
    check(m.flag, "flag (python bool)");
    check(m.names.size() == 2 && m.names[1] == "zwei", "names (list of str)");
    check(m.rate == 0.125, "rate (python float)");
    std::printf("h5ser read the h5py file: %s\n", failures ? "FAILED" : "all values match");
    return failures ? 1 : 0;
}

// The tree check_h5py_files.py writes without h5ser's root attributes.
struct Block {
    h5ser::tensor<float, 2> kernel;  // chunked, gzip
    h5ser::tensor<double, 1> bias;   // compact
    std::int64_t units = 0;          // an attribute of shape (1,)
    double scale = 0;                // an attribute of shape (1, 1), as MATLAB writes scalars
    std::string activation;          // variable-length UTF-8
    std::string legacy_name;         // fixed-length ASCII
};
struct Foreign {
    Block block;
    h5ser::tensor<std::int8_t, 1> i8;
    h5ser::tensor<std::int16_t, 2> i16;
    h5ser::tensor<std::int32_t, 1> i32;
    h5ser::tensor<std::int64_t, 1> i64;
    h5ser::tensor<std::uint8_t, 1> u8;
    h5ser::tensor<std::uint16_t, 1> u16;
    h5ser::tensor<std::uint32_t, 1> u32;
    h5ser::tensor<std::uint64_t, 1> u64;
    h5ser::tensor<h5ser::float16, 1> f16;
    h5ser::tensor<float, 3> f32;
    h5ser::tensor<double, 0> f64;  // a scalar dataset
    h5ser::tensor<bool, 1> mask;   // numpy bool: h5py's enum
    h5ser::tensor<float, 1> big;   // contiguous, 1 MiB
    h5ser::any_tensor any;         // takes the dataset's dtype and shape
    std::int64_t epoch = 0;
    bool flag = false;
    std::vector<std::string> tags;
};

template <class T, std::size_t R>
void print_tensor(const char* name, const h5ser::tensor<T, R>& t) {
    std::printf("%s %s [", name, std::string(h5ser::dtype_name<T>()).c_str());
    for (std::size_t i = 0; i < R; ++i) std::printf("%s%zu", i ? "," : "", t.shape()[i]);
    std::printf("] ");
    const auto* bytes = reinterpret_cast<const unsigned char*>(t.data());
    for (std::size_t i = 0; i < t.size_bytes(); ++i) std::printf("%02x", bytes[i]);
    std::printf("\n");
}

void print_foreign(const Foreign& m) {
    print_tensor("block/kernel", m.block.kernel);
    print_tensor("block/bias", m.block.bias);
    std::printf("block@units %lld\n", static_cast<long long>(m.block.units));
    std::printf("block@scale %.17g\n", m.block.scale);
    std::printf("block@activation %s\n", m.block.activation.c_str());
    std::printf("block@legacy_name %s\n", m.block.legacy_name.c_str());
    print_tensor("i8", m.i8);
    print_tensor("i16", m.i16);
    print_tensor("i32", m.i32);
    print_tensor("i64", m.i64);
    print_tensor("u8", m.u8);
    print_tensor("u16", m.u16);
    print_tensor("u32", m.u32);
    print_tensor("u64", m.u64);
    print_tensor("f16", m.f16);
    print_tensor("f32", m.f32);
    print_tensor("f64", m.f64);
    print_tensor("mask", m.mask);
    print_tensor("big", m.big);
    std::printf("any %s ", m.any.describe().c_str());
    for (const std::byte b : m.any.bytes()) std::printf("%02x", static_cast<unsigned>(b));
    std::printf("\n@epoch %lld\n@flag %d\n@tags", static_cast<long long>(m.epoch), m.flag ? 1 : 0);
    for (const auto& t : m.tags) std::printf(" %s", t.c_str());
    std::printf("\n");
}

// A MATLAB v7.3 file (check_h5py_files.py writes its layout): a 512-byte userblock holding MATLAB's
// header, matrices stored transposed (a 2 x 3 MATLAB matrix is a [3, 2] dataset), a MATLAB struct
// as a group, and a MATLAB_class attribute on each.
struct MatlabLayer {
    h5ser::tensor<float, 2> kernel;
    std::string MATLAB_class;
};
struct Matlab {
    h5ser::tensor<double, 2> W;
    h5ser::tensor<double, 2> b;
    MatlabLayer layer;
};

// The foreign file does not fit this struct: a field it lacks, a dtype and a shape it holds otherwise.
struct NotTheFile {
    struct {
        h5ser::tensor<double, 2> kernel;
        h5ser::tensor<double, 2> bias;
        std::int64_t units = 0;
        double scale = 0;
        std::string activation;
        std::string legacy_name;
        int missing = 0;
    } block;
};
}  // namespace

int main(int argc, char** argv) {
    try {
        if (argc == 2) return check_h5ser_attributes_file(argv[1]);
        if (argc != 3) return 2;
        const std::string mode = argv[1], path = argv[2];
        if (mode == "--foreign") {
            print_foreign(h5ser::load<Foreign, h5ser::foreign>(path));
            // The same load in this process (h5ser::trusted) reads the same.
            const auto trusted = h5ser::load<Foreign, h5ser::foreign, h5ser::trusted>(path);
            std::printf("trusted load: %s\n", h5ser::fingerprint(trusted) == h5ser::fingerprint(h5ser::load<Foreign, h5ser::foreign>(path))
                                                  ? "same"
                                                  : "DIFFERENT");
            // One tensor by its path: the chunked, compressed one, and one typed by the file.
            print_tensor("read_tensor block/kernel", h5ser::read_tensor<float, 2>(path, "/block/kernel"));
            const h5ser::any_tensor i16 = h5ser::read_tensor(path, "i16");
            print_tensor("read_tensor i16", i16.as<std::int16_t, 2>());
        } else if (mode == "--matlab") {
            const auto m = h5ser::load<Matlab, h5ser::foreign>(path);
            print_tensor("W", m.W);
            print_tensor("b", m.b);
            print_tensor("layer/kernel", m.layer.kernel);
            std::printf("layer@MATLAB_class %s\n", m.layer.MATLAB_class.c_str());
            // Read flat, every dataset by its path, typed by the file.
            for (const auto& [key, t] : h5ser::load<std::map<std::string, h5ser::any_tensor>, h5ser::foreign>(path)) {
                std::printf("flat %s %s ", key.c_str(), t.describe().c_str());
                for (const std::byte b : t.bytes()) std::printf("%02x", static_cast<unsigned>(b));
                std::printf("\n");
            }
        } else if (mode == "--h5ser") {
            print_foreign(h5ser::load<Foreign>(path));
        } else if (mode == "--mismatch") {
            (void)h5ser::load<NotTheFile, h5ser::foreign>(path);
            std::printf("FAIL: loaded\n");
            return 1;
        } else if (mode == "--without-policy") {
            (void)h5ser::load<Foreign>(path);
            std::printf("FAIL: loaded\n");
            return 1;
        } else {
            return 2;
        }
    } catch (const h5ser::error& e) {
        std::printf("ERROR %d: %s\n", static_cast<int>(e.code()), e.what());
        return 1;
    } catch (const std::exception& e) {
        std::printf("FAIL: %s\n", e.what());
        return 1;
    }
    return 0;
}
