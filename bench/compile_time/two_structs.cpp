// Compile-time benchmark (bench/compile_time.sh): a translation unit with a 2-struct model that
// saves (-DSAVE=1), loads (-DLOAD=1) or both, as most user code that touches h5ser does; with
// -DLEAN=1 through <h5ser/core.hpp> instead of <h5ser/h5ser.hpp>.
#if LEAN
#include <h5ser/core.hpp>
#else
#include <h5ser/h5ser.hpp>
#endif

#include <string>

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

int main() {
    int result = 0;
#if SAVE
    const Model model;
    h5ser::save(model, "m.h5");
#endif
#if LOAD
    const auto loaded = h5ser::load<Model>("m.h5");
    result += loaded.encoder.units;
#endif
    return result;
}
