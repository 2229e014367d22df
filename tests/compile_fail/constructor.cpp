// expect: For a struct of your own: remove its user-declared constructors
#include <h5ser/h5ser.hpp>
struct Model {
    explicit Model(int u) : units(u) {}
    int units;
};
int main() { h5ser::save(Model{3}, "m.h5"); }
