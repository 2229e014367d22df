// expect: this type is neither a tensor, an attribute value, a supported container nor an aggregate struct
#include <h5ser/h5ser.hpp>
#include <set>
struct Model {
    std::set<int> ids;
};
int main() { h5ser::save(Model{}, "m.h5"); }
