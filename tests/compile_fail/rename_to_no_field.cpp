// expect: h5ser::evolution<T>::renames: a rename's second name is neither a field of T nor the old name of a later rename
#include <h5ser/h5ser.hpp>
struct Dense {
    h5ser::tensor<float, 2> kernel;
};
template <>
struct h5ser::evolution<Dense> {
    static constexpr h5ser::rename renames[] = {{"kernel", "w"}};  // the wrong way round
};
int main() { (void)h5ser::load<Dense>("m.h5"); }
