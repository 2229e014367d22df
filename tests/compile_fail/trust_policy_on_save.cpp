// expect: h5ser::trusted, h5ser::untrusted and h5ser::convert_dtypes are load policies
#include <h5ser/h5ser.hpp>
struct Model {
    h5ser::tensor<float, 1> w;
};
int main() { h5ser::save<h5ser::trusted>(Model{}, "m.h5"); }
