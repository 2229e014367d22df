// libFuzzer target: any bytes, as a file, through the seal check that runs in the caller's process
// before libhdf5 parses an h5ser file (has_seal, verify_seal, read_seal without the metadata hash).
// Only h5ser::error may come out; a returned manifest must describe data inside the file.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include <h5ser/h5ser.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    namespace d = h5ser::detail;
    static const std::string path = "/tmp/h5ser-fuzz-seal-" + std::to_string(::getpid()) + ".h5";
    if (std::FILE* f = std::fopen(path.c_str(), "wb")) {
        std::fwrite(data, 1, size, f);
        std::fclose(f);
    }
    (void)d::has_seal(path);
    for (const bool hash_metadata : {true, false}) {
        try {
            const auto contents = d::read_seal(path, hash_metadata);
            if (contents) {
                for (const auto& r : contents->records())
                    if (r.kind == d::record_kind::dataset && r.layout == d::record_layout::contiguous && r.length != 0 &&
                        r.offset + r.length > size)
                        __builtin_trap();  // a data range outside the file got through
            }
        } catch (const h5ser::error&) {}
    }
    return 0;
}
