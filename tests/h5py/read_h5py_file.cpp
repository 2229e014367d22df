// Loads a file written by h5py (make_h5py_file.py) into a C++ struct and checks every value.
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
}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) return 2;
    try {
        const auto m = h5ser::load<FromH5py>(argv[1]);
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
    } catch (const std::exception& e) {
        std::printf("FAIL: %s\n", e.what());
        return 1;
    }
    std::printf("h5ser read the h5py file: %s\n", failures ? "FAILED" : "all values match");
    return failures ? 1 : 0;
}
