// libFuzzer target: any bytes as the records of a format-2 manifest (detail::manifest). The
// manifest's magic and own checksum are put in front, so mutations reach the parser behind them.
// Only h5ser::error may come out, and every record handed out must lie inside the manifest's
// bytes and every data range inside the (pretended) file.
#include <cstdint>
#include <cstring>
#include <vector>

#include <h5ser/h5ser.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    namespace d = h5ser::detail;
    std::vector<unsigned char> bytes(24 + size);
    std::memcpy(bytes.data(), d::manifest_magic.data(), d::manifest_magic.size());
    if (size != 0) std::memcpy(bytes.data() + 24, data, size);
    d::store_u64(&bytes[16], d::hash_bytes(bytes.data() + 24, size));
    constexpr std::uint64_t file_size = std::uint64_t{1} << 20;
    try {
        const d::manifest m(std::move(bytes), file_size, 4096, "fuzz.h5");
        std::uint64_t sum = 0;
        for (const auto& r : m.records()) {
            for (std::size_t i = 0; i < r.rank; ++i) sum += r.dim(i);
            for (std::size_t i = 0; i < r.filter_count; ++i) sum += r.filter(i);
            sum += r.path.size() + r.name.size() + r.dtype.size() + r.value.size();
            if (r.kind == d::record_kind::dataset && r.layout == d::record_layout::contiguous && r.length != 0 &&
                (r.offset < 4096 || r.offset + r.length > file_size))
                __builtin_trap();  // a data range outside the file got through
            if (r.kind == d::record_kind::dataset && m.dataset(r.path) == nullptr) __builtin_trap();
        }
        if (sum == 42) std::memset(&sum, 0, sizeof sum);  // keep the reads
    } catch (const h5ser::error&) {
    }
    return 0;
}
