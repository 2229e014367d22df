// expect: std::vector<bool> is not contiguous; use h5ser::tensor<bool, 1>
#include <h5ser/h5ser.hpp>
struct Model {
    std::vector<bool> mask;
};
int main() { h5ser::save(Model{}, "m.h5"); }
