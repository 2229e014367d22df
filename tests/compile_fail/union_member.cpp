// expect: unions cannot be stored
#include <h5ser/h5ser.hpp>
union Bits {
    float f;
    int i;
};
struct Model {
    Bits bits;
};
int main() { h5ser::save(Model{}, "m.h5"); }
