// Compile-time benchmark: a translation unit that saves and loads a 50-field model with h5ser.
// bench/compile_time.sh compares its compile time with baseline.cpp (only <hdf5.h>).
#include <h5ser/h5ser.hpp>

#include <string>

struct Model50 {
    h5ser::tensor<float, 2> w0;
    h5ser::tensor<float, 1> b1;
    int units2 = 2;
    std::string act3 = "relu";
    double rate4 = 0.4;
    h5ser::tensor<float, 2> w5;
    h5ser::tensor<float, 1> b6;
    int units7 = 7;
    std::string act8 = "relu";
    double rate9 = 0.9;
    h5ser::tensor<float, 2> w10;
    h5ser::tensor<float, 1> b11;
    int units12 = 12;
    std::string act13 = "relu";
    double rate14 = 0.14;
    h5ser::tensor<float, 2> w15;
    h5ser::tensor<float, 1> b16;
    int units17 = 17;
    std::string act18 = "relu";
    double rate19 = 0.19;
    h5ser::tensor<float, 2> w20;
    h5ser::tensor<float, 1> b21;
    int units22 = 22;
    std::string act23 = "relu";
    double rate24 = 0.24;
    h5ser::tensor<float, 2> w25;
    h5ser::tensor<float, 1> b26;
    int units27 = 27;
    std::string act28 = "relu";
    double rate29 = 0.29;
    h5ser::tensor<float, 2> w30;
    h5ser::tensor<float, 1> b31;
    int units32 = 32;
    std::string act33 = "relu";
    double rate34 = 0.34;
    h5ser::tensor<float, 2> w35;
    h5ser::tensor<float, 1> b36;
    int units37 = 37;
    std::string act38 = "relu";
    double rate39 = 0.39;
    h5ser::tensor<float, 2> w40;
    h5ser::tensor<float, 1> b41;
    int units42 = 42;
    std::string act43 = "relu";
    double rate44 = 0.44;
    h5ser::tensor<float, 2> w45;
    h5ser::tensor<float, 1> b46;
    int units47 = 47;
    std::string act48 = "relu";
    double rate49 = 0.49;
};

int main(int argc, char** argv) {
    const char* path = argc > 1 ? argv[1] : "model50.h5";
    Model50 m;
    h5ser::save(m, path);
    const auto back = h5ser::load<Model50>(path);
    return back.units2 == 2 ? 0 : 1;
}
