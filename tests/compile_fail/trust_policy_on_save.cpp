// expect: h5ser::untrusted, h5ser::convert_dtypes and h5ser::foreign are load
#include <h5ser/h5ser.hpp>
struct Model {
    h5ser::tensor<float, 1> w;
};
int main() { h5ser::save<h5ser::trusted>(Model{}, "m.h5"); }
