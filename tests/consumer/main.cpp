#include <h5ser/h5ser.hpp>

struct Model {
    h5ser::tensor<float, 1> w;
    int units = 0;
};

int main(int, char** argv) {
    h5ser::save(Model{h5ser::tensor<float, 1>({2}, {1, 2}), 2}, argv[1]);
    const auto m = h5ser::load<Model>(argv[1]);
    return m.units == 2 && m.w(1) == 2.0f ? 0 : 1;
}
