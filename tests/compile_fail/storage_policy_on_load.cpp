// expect: loads (load, load_into, restore_latest) take h5ser::full_model or h5ser::weights_only, h5ser::strict or h5ser::lenient
#include <h5ser/h5ser.hpp>
struct Model {
    h5ser::tensor<float, 1> w;
};
int main() { return static_cast<int>(h5ser::load<Model, h5ser::compressed>("m.h5").w.size()); }
