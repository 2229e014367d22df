// expect: C array members (T x[N]) cannot be reflected. Use std::array<T, N>
#include <h5ser/h5ser.hpp>
struct Model {
    float bias;
    int weights[3];
};
int main() { h5ser::save(Model{}, "m.h5"); }
