// expect: a template argument of save/load is not an h5ser policy
#include <h5ser/h5ser.hpp>
struct Model {
    int units = 0;
};
int main() { h5ser::save<int>(Model{}, "m.h5"); }
