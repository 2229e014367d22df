// expect: pointers cannot be stored
#include <h5ser/h5ser.hpp>
struct Model {
    float* weights = nullptr;
};
int main() { h5ser::save(Model{}, "m.h5"); }
