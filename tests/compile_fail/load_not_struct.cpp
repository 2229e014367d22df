// expect: save and load take a struct (the model)
#include <h5ser/h5ser.hpp>
int main() {
    auto t = h5ser::load<h5ser::tensor<float, 2>>("m.h5");
    (void)t;
}
