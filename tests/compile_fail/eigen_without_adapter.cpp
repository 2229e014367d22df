// expect: For Eigen matrices and arrays, #include <h5ser/eigen.hpp>
// expect-context: field_named<'k', 'e', 'r', 'n', 'e', 'l'>
// expect-context: Eigen::Matrix<float, -1, -1
#include <Eigen/Core>
#include <h5ser/h5ser.hpp>
struct Dense {
    h5ser::tensor<float, 1> bias;
    Eigen::MatrixXf kernel;
};
int main() { h5ser::save(Dense{}, "m.h5"); }
