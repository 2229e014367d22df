// expect: saves such a field but cannot load into it
// expect-context: span<const float
// expect-context: Frozen
#include <h5ser/h5ser.hpp>
#include <span>
// A span of const elements views memory it must not change (weights in a read-only mapping): it is
// saved, and a load, which writes the file's elements into the field, is refused at compile time.
struct Frozen {
    std::span<const float> weights;
    int step = 0;
};
int main() {
    Frozen f;
    h5ser::load_into(f, "m.h5");
}
