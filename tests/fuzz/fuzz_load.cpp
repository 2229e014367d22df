// libFuzzer target: any bytes, as a file, through h5ser::load, load_into, inspect and
// file_fingerprint. Only h5ser::error may come out; anything else is a finding.
//
// h5ser::trusted: the loader runs in this process, as it does in the child process that parses
// unsealed files by default, so that the fuzzer sees its crashes (tests/isolation checks the
// isolation itself).
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "fuzz_model.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const std::string path = "/tmp/h5ser-fuzz-" + std::to_string(::getpid()) + ".h5";
    if (std::FILE* f = std::fopen(path.c_str(), "wb")) {
        std::fwrite(data, 1, size, f);
        std::fclose(f);
    }
    try {
        (void)h5ser::load<fuzzing::Model, h5ser::trusted>(path);
    } catch (const h5ser::error&) {}
    try {
        fuzzing::Model m = fuzzing::sample(1);
        h5ser::load_report report;
        h5ser::load_into<h5ser::weights_only, h5ser::lenient, h5ser::trusted>(m, path, report);
    } catch (const h5ser::error&) {}
    try {
        (void)h5ser::to_string(h5ser::inspect<h5ser::trusted>(path));
        (void)h5ser::file_fingerprint(path);
    } catch (const h5ser::error&) {}
    return 0;
}
