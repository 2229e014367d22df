// expect: a field's name starts with h5ser_, which h5ser keeps for the attributes it writes into every group
// expect-context: Layer
#include <h5ser/h5ser.hpp>
struct Layer {
    int h5ser_struct_version = 0;
};
struct Model {
    Layer layer;
};
int main() { h5ser::save(Model{}, "m.h5"); }
