// expect: T must be bool, a signed or unsigned integer type
#include <h5ser/h5ser.hpp>
struct Model {
    h5ser::tensor<long double, 1> w;
};
int main() { h5ser::save(Model{}, "m.h5"); }
