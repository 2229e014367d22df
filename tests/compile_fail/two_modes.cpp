// expect: give at most one of h5ser::full_model and h5ser::weights_only
#include <h5ser/h5ser.hpp>
struct Model {
    int units = 0;
};
int main() { h5ser::save<h5ser::full_model, h5ser::weights_only>(Model{}, "m.h5"); }
