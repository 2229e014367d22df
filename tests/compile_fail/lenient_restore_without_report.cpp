// expect: h5ser::lenient loads say what they skipped: pass an h5ser::load_report& as the last argument
#include <h5ser/h5ser.hpp>
struct Model {
    h5ser::tensor<float, 1> w;
};
int main() {
    Model m;
    (void)h5ser::checkpoint_manager<Model, h5ser::lenient>("run").restore_latest(m);
}
