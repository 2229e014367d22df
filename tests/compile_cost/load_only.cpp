// A translation unit that only loads (tests/compile_cost/check_symbols.py): it must compile no save
// of its model, neither for loads in place nor for loads an isolated child parses.
#include <h5ser/h5ser.hpp>

#include <string>

namespace {

struct Dense {
    h5ser::tensor<float, 2> kernel;
    h5ser::tensor<float, 1> bias;
    int units = 4;
    std::string activation = "relu";
};

struct Model {
    Dense encoder;
    Dense head;
    double learning_rate = 1e-3;
};

}  // namespace

int load_only(const std::string& path) {
    const auto model = h5ser::load<Model>(path);
    Model other;
    h5ser::load_into<h5ser::weights_only, h5ser::untrusted>(other, path);
    return model.encoder.units + other.head.units;
}
