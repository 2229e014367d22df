// Writes the fuzz seed corpus: valid full-model and weights-only files, sealed as h5ser writes them
// (mutations then exercise the seal check) and unsealed (mutations reach the loader behind it).
#include <algorithm>
#include <cstdio>
#include <string>

#include "fuzz_model.hpp"

int main(int argc, char** argv) {
    if (argc != 2) return 2;
    const std::string dir = argv[1];
    const auto unsealed_copy = [](const std::string& from, const std::string& to) {
        std::FILE* in = std::fopen(from.c_str(), "rb");
        std::FILE* out = std::fopen(to.c_str(), "wb");
        if (!in || !out) return;
        char buffer[4096];
        bool first = true;
        for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, in)) > 0; first = false) {
            if (first) std::fill(buffer, buffer + 16, '\0');  // no seal magic: "written by another program"
            std::fwrite(buffer, 1, n, out);
        }
        std::fclose(in);
        std::fclose(out);
    };
    for (int variant = 0; variant < 3; ++variant) {
        const std::string full = dir + "/full-" + std::to_string(variant) + ".h5";
        const std::string weights = dir + "/weights-" + std::to_string(variant) + ".h5";
        h5ser::save(fuzzing::sample(variant), full);
        h5ser::save<h5ser::weights_only>(fuzzing::sample(variant), weights);
        unsealed_copy(full, full + ".unsealed");
        unsealed_copy(weights, weights + ".unsealed");
    }
    return 0;
}
