// expect: cannot hold Keras weights yet
// expect-context: xarray
#include <h5ser/keras.hpp>
#include <h5ser/xtensor.hpp>
// Keras weights go into tensors of a static rank; an xarray's rank is known only at run time.
struct Dense {
    xt::xarray<float> kernel;
    xt::xtensor<float, 1> bias;
};
struct Mlp {
    Dense dense;
};
int main() {
    Mlp m;
    h5ser::keras::load_weights(m, "model.weights.h5");
}
