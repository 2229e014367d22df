// libFuzzer target: any bytes, as a file, through the .keras archive handling that runs before
// libhdf5 sees the weights (libzip, and h5ser's checks of member sizes: zip bombs), and the JSON
// members through h5ser's reader. Only h5ser::error (or the JSON reader's std::runtime_error) may
// come out, and a member is never larger than the bound the size checks promise.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <map>
#include <stdexcept>
#include <string>

#include <h5ser/keras.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    namespace k = h5ser::keras::detail;
    static const std::string path = "/tmp/h5ser-fuzz-zip-" + std::to_string(::getpid()) + ".keras";
    if (std::FILE* f = std::fopen(path.c_str(), "wb")) {
        std::fwrite(data, 1, size, f);
        std::fclose(f);
    }
    if (!k::has_zip_signature(path)) return 0;
    try {
        const k::zip_archive zip(path);
        for (const char* member : {"model.weights.h5", "config.json", "metadata.json"}) {
            const auto bytes = zip.read(member);
            if (!bytes) continue;
            if (bytes->size() > size * k::max_compression_ratio + (std::size_t{1} << 20)) __builtin_trap();
            if (member[0] != 'm' || member[1] != 'o') {
                try {
                    const k::json_value v = k::parse_json(std::string(bytes->begin(), bytes->end()));
                    std::map<std::string, std::string> classes;
                    k::class_names(v, classes);
                } catch (const std::runtime_error&) {}
            }
        }
    } catch (const h5ser::error&) {}
    return 0;
}
