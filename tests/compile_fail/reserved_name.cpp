// expect: a field of the model struct is named like one of h5ser's root attributes
#include <h5ser/h5ser.hpp>
struct Model {
    std::string schema;
};
int main() { h5ser::save(Model{}, "m.h5"); }
