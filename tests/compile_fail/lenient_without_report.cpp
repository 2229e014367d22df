// expect: h5ser::lenient loads say what they skipped: pass an h5ser::load_report& as the last argument
#include <h5ser/h5ser.hpp>
struct Model {
    h5ser::tensor<float, 1> w;
};
int main() { (void)h5ser::load<Model, h5ser::lenient>("m.h5"); }
