// expect: this type is neither a tensor, an attribute value, a supported container nor an aggregate struct
// expect-context: field_named<'i', 'd', 's'>
// expect-context: std::set<int
// expect-context: Dense
#include <h5ser/h5ser.hpp>
#include <set>
struct Dense {
    h5ser::tensor<float, 2> kernel;
    std::set<int> ids;
};
struct Model {
    Dense layer1;
};
int main() { h5ser::save(Model{}, "m.h5"); }
