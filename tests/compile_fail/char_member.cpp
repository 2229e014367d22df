// expect: char is not a portable element type
#include <h5ser/h5ser.hpp>
struct Model {
    char code = 0;
};
int main() { h5ser::save(Model{}, "m.h5"); }
