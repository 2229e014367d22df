// expect: is not an h5ser policy
#include <h5ser/h5ser.hpp>
struct Model {
    h5ser::tensor<float, 1> w;
};
int main() {
    h5ser::checkpoint_manager<Model, h5ser::compressed, int> checkpoints("run");
    checkpoints.save(Model{}, 1);
}
