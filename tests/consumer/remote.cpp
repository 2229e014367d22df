#include <h5ser/h5ser.hpp>
#include <h5ser/remote.hpp>

#include <string>

struct Model {
    h5ser::tensor<float, 1> w;
};

// Links libcurl through h5ser::remote; nothing listens on port 1, so the load of a URL must fail
// with h5ser's error for it (not "a file path, found a URL": the program does load URLs).
int main() {
    try {
        (void)h5ser::load<Model>("http://127.0.0.1:1/m.h5");
    } catch (const h5ser::error& e) {
        return e.code() == h5ser::errc::io && std::string(e.what()).find("no server answers") != std::string::npos ? 0 : 1;
    }
    return 1;
}
