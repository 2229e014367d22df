// libFuzzer target: any bytes as a whole .safetensors file through h5ser's header parser (the
// length prefix, UTF-8 and JSON, every tensor's dtype, shape and offsets). It must throw
// h5ser::error or succeed, and what it accepts must lie in the file, tensor after tensor.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <h5ser/h5ser.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    namespace st = h5ser::detail::safetensors;
    try {
        (void)st::looks_like_safetensors(data, size, size);
        const std::uint64_t n = st::header_length(data, size, "fuzz.safetensors");
        const st::header h = st::parse_header(std::string_view(reinterpret_cast<const char*>(data) + 8, n), size, "fuzz.safetensors");
        std::uint64_t at = h.data_start;
        for (const st::tensor_entry& t : h.tensors) {
            if (t.offset != at || t.length > size - t.offset) std::abort();  // accepted, yet not tiling the file
            at += t.length;
        }
        if (at != size) std::abort();
    } catch (const h5ser::error&) {}
    return 0;
}
