// Writes the fuzz seed corpus: valid full-model and weights-only files.
#include <string>

#include "fuzz_model.hpp"

int main(int argc, char** argv) {
    if (argc != 2) return 2;
    const std::string dir = argv[1];
    for (int variant = 0; variant < 3; ++variant) {
        h5ser::save(fuzzing::sample(variant), dir + "/full-" + std::to_string(variant) + ".h5");
        h5ser::save<h5ser::weights_only>(fuzzing::sample(variant), dir + "/weights-" + std::to_string(variant) + ".h5");
    }
    return 0;
}
