// libFuzzer target: any bytes as the records of a format-2 manifest (detail::manifest). The
// manifest's magic and own checksum are put in front, so mutations reach the parser behind them.
// Only h5ser::error may come out, every record handed out must lie inside the manifest's bytes,
// every data range inside the (pretended) file, every object in the tree the root leads to, and
// attribute values must decode within their bytes.
#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
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
        // The manifest is a tree: every group and dataset is reached from the root, exactly once.
        std::size_t objects = 0, reached = 0;
        for (const auto& r : m.records()) objects += r.kind != d::record_kind::attribute;
        std::vector<std::string_view> pending{"/"};
        while (!pending.empty()) {
            const d::manifest_group* g = m.group(pending.back());
            pending.pop_back();
            if (g == nullptr) __builtin_trap();
            for (const std::size_t i : g->links) {
                const auto& r = m.records().at(i);
                ++reached;
                if (r.kind == d::record_kind::group) pending.push_back(r.path);
                else if (r.kind != d::record_kind::dataset) __builtin_trap();
            }
            for (const std::size_t i : g->attributes) {  // values decode within their bytes
                const auto& r = m.records().at(i);
                const d::where at{"fuzz.h5", {}, std::string(r.path)};
                d::problem_list problems;
                if (r.dtype == "string" && r.rank == 1)
                    sum += d::decode_attribute<std::vector<std::string>>(r, at, problems).value_or(std::vector<std::string>{}).size();
                else if (r.dtype == "string") sum += d::decode_attribute<std::string>(r, at, problems).value_or("").size();
                else if (r.dtype == "bool" && r.rank == 0) sum += d::decode_attribute<bool>(r, at, problems).value_or(false);
                else if (r.dtype == "float64" && r.rank == 1 && r.dim(0) == 3)
                    sum += static_cast<std::uint64_t>(
                        d::decode_attribute<std::array<double, 3>>(r, at, problems).value_or(std::array<double, 3>{})[2]);
                else if (r.dtype == "int32" && r.rank == 0)
                    sum += static_cast<std::uint64_t>(d::decode_attribute<std::int32_t>(r, at, problems).value_or(0));
            }
        }
        if (reached != objects) __builtin_trap();
        if (sum == 42) std::memset(&sum, 0, sizeof sum);  // keep the reads
    } catch (const h5ser::error&) {}
    return 0;
}
