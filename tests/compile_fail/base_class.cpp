// expect: structs with base classes cannot be reflected
#include <h5ser/h5ser.hpp>
struct Base {
    h5ser::tensor<float, 1> w;
};
struct Model : Base {
    int units = 0;
};
int main() { h5ser::save(Model{}, "m.h5"); }
