#include <h5ser/keras.hpp>

struct Dense {
    h5ser::tensor<float, 2> kernel;
    h5ser::tensor<float, 1> bias;
};
struct Model {
    Dense dense;
};

int main(int, char** argv) {
    Model m{{h5ser::tensor<float, 2>({1, 2}, {1, 2}), h5ser::tensor<float, 1>({2}, {3, 4})}};
    h5ser::keras::save_weights(m, argv[1]);
    Model back;
    h5ser::keras::load_weights(back, argv[1]);
    return back.dense.kernel(0, 1) == 2.0f && back.dense.bias(1) == 4.0f ? 0 : 1;
}
