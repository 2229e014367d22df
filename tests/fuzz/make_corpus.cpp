// Writes the fuzz seed corpus: valid full-model and weights-only files, sealed as h5ser writes them
// (mutations then exercise the seal check) and unsealed (mutations reach the loader behind it).
// With "manifest" after the directory, the manifests of such files instead, from their 24th byte
// (what fuzz_manifest takes).
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "fuzz_model.hpp"

int main(int argc, char** argv) {
    if (argc != 2 && argc != 3) return 2;
    const std::string dir = argv[1];
    if (argc == 3) {
        for (int variant = 0; variant < 3; ++variant) {
            const std::string file = dir + "/model.h5";
            if (variant == 2) h5ser::save<h5ser::weights_only>(fuzzing::sample(variant), file);
            else h5ser::save(fuzzing::sample(variant), file);
            const auto contents = h5ser::detail::verify_seal(file);
            std::FILE* in = std::fopen(file.c_str(), "rb");
            std::vector<unsigned char> bytes(contents ? contents->size_bytes() : 0);
            unsigned char header[64];
            if (!in || std::fread(header, 1, 64, in) != 64) return 1;
            const long at = static_cast<long>(64 + 16 * h5ser::detail::load_u64(&header[32]));
            if (std::fseek(in, at, SEEK_SET) != 0 || std::fread(bytes.data(), 1, bytes.size(), in) != bytes.size()) return 1;
            std::fclose(in);
            std::remove(file.c_str());
            std::FILE* out = std::fopen((dir + "/manifest-" + std::to_string(variant)).c_str(), "wb");
            if (!out || bytes.size() < 24) return 1;
            std::fwrite(bytes.data() + 24, 1, bytes.size() - 24, out);
            std::fclose(out);
        }
        return 0;
    }
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
