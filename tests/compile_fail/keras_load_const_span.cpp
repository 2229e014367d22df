// expect: saves such a field but cannot load into it
// expect-context: span<const float
// expect-context: Dense
#include <h5ser/keras.hpp>
#include <span>
// Keras's mapping refuses a load into read-only elements as h5ser's own load does.
struct Dense {
    h5ser::tensor<float, 2> kernel;
    std::span<const float> bias;
};
struct Mlp {
    Dense dense;
};
int main() {
    Mlp m;
    h5ser::keras::load_weights(m, "model.weights.h5");
}
