// expect: h5ser::evolution<T>::upgrade runs for files of an older version of T: declare static constexpr int version = 2; (or later)
#include <h5ser/h5ser.hpp>
struct Dense {
    h5ser::tensor<float, 2> kernel;
};
template <>
struct h5ser::evolution<Dense> {
    static void upgrade(const h5ser::old_group&, Dense&, int) {}  // no version: it would never run
};
int main() { (void)h5ser::load<Dense>("m.h5"); }
