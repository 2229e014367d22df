// expect: finds no fields in this struct although it holds data
// expect-context: Pinned
#include <h5ser/h5ser.hpp>
#include <span>
// A fixed-extent span has no default state: the struct cannot be initialized member by member, so
// reflection finds no fields. Before, it was saved as an empty group.
struct Pinned {
    int step = 0;
    std::span<float, 4> weights;
};
int main() {
    float buffer[4] = {};
    h5ser::save(Pinned{1, std::span<float, 4>(buffer)}, "m.h5");
}
