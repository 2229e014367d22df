// Reads the header of each .safetensors file named on the command line with h5ser's parser and
// prints, per tensor, one JSON line: its name, h5ser's dtype, the format's, its shape, and the
// xxh3-64 of the bytes at the offsets the parser found (read with pread, as a load reads them);
// then the file's __metadata__. tests/safetensors/check_reader.py compares this with what an
// independent writer says it wrote. A file h5ser refuses prints its error and exits 1.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <string>
#include <vector>

#include <h5ser/h5ser.hpp>

int main(int argc, char** argv) {
    namespace st = h5ser::detail::safetensors;
    for (int i = 1; i < argc; ++i) {
        const std::string path = argv[i];
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        struct stat info {};
        if (fd < 0 || ::fstat(fd, &info) != 0) return std::perror(argv[i]), 2;
        try {
            const st::header h = st::read_header(fd, static_cast<std::uint64_t>(info.st_size), path);
            for (const st::tensor_entry& t : h.tensors) {
                std::vector<unsigned char> bytes(t.length);
                if (t.length != 0 && !h5ser::detail::read_exact(fd, bytes.data(), bytes.size(), t.offset)) return std::perror("pread"), 2;
                std::string shape;
                for (std::size_t d = 0; d < t.shape.size(); ++d) shape += (d ? "," : "") + std::to_string(t.shape[d]);
                std::printf("{\"file\":\"%s\",\"name\":\"%s\",\"dtype\":\"%s\",\"file_dtype\":\"%s\",\"shape\":[%s],\"xxh3\":\"%016" PRIx64
                            "\",\"bytes\":%" PRIu64 "}\n",
                            path.substr(path.rfind('/') + 1).c_str(), t.name.c_str(), t.dtype.c_str(), std::string(t.file_dtype).c_str(),
                            shape.c_str(), h5ser::detail::hash_bytes(bytes.data(), bytes.size()), t.length);
            }
            for (const auto& [key, value] : h.metadata)
                std::printf("{\"file\":\"%s\",\"metadata\":\"%s\",\"value\":\"%s\"}\n", path.substr(path.rfind('/') + 1).c_str(),
                            key.c_str(), value.c_str());
        } catch (const h5ser::error& e) {
            std::printf("error: %s\n", e.what());
            return 1;
        }
        ::close(fd);
    }
    return 0;
}
