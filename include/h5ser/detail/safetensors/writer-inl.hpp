// h5ser/detail/safetensors/writer-inl.hpp: definitions of h5ser/detail/safetensors/writer.hpp
// (compiled once with the compiled core; see h5ser/config.hpp).
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <vector>

#include "h5ser/detail/format/seal.hpp"  // write_all
#include "h5ser/detail/json/writer.hpp"
#include "h5ser/detail/load/opened_file.hpp"  // file_descriptor
#include "h5ser/detail/posix/file.hpp"        // atomic_file
#include "h5ser/detail/safetensors/header.hpp"
#include "h5ser/detail/safetensors/tree.hpp"  // fingerprint_key
#include "h5ser/detail/safetensors/writer.hpp"
#include "h5ser/error.hpp"

namespace h5ser::detail::safetensors {

H5SER_CORE_INLINE std::string tensor_name(const where& at, bool whole_names) {
    const std::string_view path = std::string_view(at.h5).substr(1);  // "/h/0/w" without its '/'
    if (whole_names) return std::string(path);
    if (path.find('.') != std::string_view::npos)
        throw error(std::string(at.file.view()),
                    problem{errc::invalid_value, at.field, at.h5, "field and key names without '.'", "a '.' in the path",
                            "a .safetensors name joins the path with '.': this one could not be told apart from a path "
                            "when the file is read"});
    std::string name(path);
    std::replace(name.begin(), name.end(), '/', '.');
    return name;
}

H5SER_CORE_INLINE bool copy_file_bytes(int out, int in, std::uint64_t offset, std::uint64_t size) {
    auto from = static_cast<off64_t>(offset);
    while (size > 0) {
        const ssize_t n = ::copy_file_range(in, &from, out, nullptr, static_cast<std::size_t>(std::min<std::uint64_t>(size, 1U << 30)), 0);
        if (n > 0) {
            size -= static_cast<std::uint64_t>(n);
        } else if (n == 0) {
            errno = EIO;  // `in` ended
            return false;
        } else if (errno != EINTR) {
            if (errno != EXDEV && errno != ENOSYS && errno != EOPNOTSUPP && errno != EINVAL) return false;
            break;  // not here: copy through a buffer
        }
    }
    std::vector<unsigned char> buffer(static_cast<std::size_t>(std::min<std::uint64_t>(size, 1U << 20)));
    while (size > 0) {
        const auto chunk = static_cast<std::size_t>(std::min<std::uint64_t>(size, buffer.size()));
        if (!read_exact(in, buffer.data(), chunk, static_cast<std::uint64_t>(from)) || !write_all(out, buffer.data(), chunk)) return false;
        from += static_cast<off64_t>(chunk);
        size -= chunk;
    }
    return true;
}

H5SER_CORE_INLINE void write_file(const std::string& path, const std::vector<tensor_to_write>& tensors,
                                  const std::vector<std::pair<std::string, std::string>>& metadata, const progress_callback& progress,
                                  const std::function<std::string()>& late_fingerprint) {
    // The header: "__metadata__" and the tensors by name, sorted (as the reference writer's keys
    // are); offsets in the order of the data, which is the order given.
    std::vector<std::uint64_t> offsets(tensors.size() + 1, 0);
    for (std::size_t i = 0; i < tensors.size(); ++i) offsets[i + 1] = offsets[i] + tensors[i].bytes;
    std::vector<std::size_t> by_name(tensors.size());
    for (std::size_t i = 0; i < by_name.size(); ++i) by_name[i] = i;
    std::sort(by_name.begin(), by_name.end(), [&](std::size_t a, std::size_t b) { return tensors[a].name < tensors[b].name; });
    auto sorted_metadata = metadata;
    // A fingerprint known only once the data is written holds its place with as many digits.
    if (late_fingerprint) sorted_metadata.emplace_back(std::string(fingerprint_key), std::string(16, '0'));
    std::sort(sorted_metadata.begin(), sorted_metadata.end());
    const auto header_of = [&] {
        json_writer json;
        json.begin_object();
        if (!sorted_metadata.empty()) {
            json.begin_object("__metadata__");
            for (const auto& [key, value] : sorted_metadata) json.string(key, value);
            json.end_object();
        }
        for (const std::size_t i : by_name) {
            const tensor_to_write& t = tensors[i];
            json.begin_object(t.name).string("dtype", file_dtype_of(t.dtype)).begin_array("shape");
            for (const std::uint64_t d : t.shape) json.number({}, d);
            json.end_array().begin_array("data_offsets").number({}, offsets[i]).number({}, offsets[i + 1]).end_array().end_object();
        }
        json.end_object();
        std::string header = json.str();
        header.append((64 - (8 + header.size()) % 64) % 64, ' ');  // the data section starts 64-byte aligned
        return header;
    };
    std::string header = header_of();
    unsigned char length[8];
    for (int i = 0; i < 8; ++i) length[i] = static_cast<unsigned char>((static_cast<std::uint64_t>(header.size()) >> (8 * i)) & 0xFF);

    check_target_path(path);
    atomic_file out(path);
    {
        const file_descriptor fd(::open(out.temp_path().c_str(), O_WRONLY | O_CLOEXEC));
        if (fd.get() < 0) throw_io(path, "cannot open the temporary file " + out.temp_path(), errno);
        const auto write = [&](const void* bytes, std::uint64_t size) {
            if (!write_all(fd.get(), bytes, static_cast<std::size_t>(size))) throw_io(path, "cannot write the file", errno);
        };
        write(length, sizeof length);
        write(header.data(), header.size());
        std::uint64_t unflushed = 0;
        for (std::size_t i = 0; i < tensors.size(); ++i) {
            const tensor_to_write& t = tensors[i];
            if (t.source_fd < 0) write(t.data, t.bytes);
            else if (!copy_file_bytes(fd.get(), t.source_fd, t.source_offset, t.bytes))
                throw_io(path, "cannot copy the data of '" + t.name + "' into the file", errno);
            // Every 32 MiB, the disk starts on what was written, as h5ser's own saves do: the
            // commit's fsync then waits only for the rest.
            if ((unflushed += t.bytes) >= (std::uint64_t{32} << 20)) {
                out.start_writeback();
                unflushed = 0;
            }
            if (progress) progress(offsets[i + 1], offsets.back());
        }
        if (late_fingerprint) {
            for (auto& [key, value] : sorted_metadata)
                if (key == fingerprint_key) value = late_fingerprint();
            const std::string final_header = header_of();
            if (final_header.size() != header.size())  // not 16 digits: the data would move
                throw error(path, problem{errc::invalid_value, {}, "/", "a fingerprint of 16 hex digits", "another length", {}});
            if (::lseek(fd.get(), sizeof length, SEEK_SET) < 0) throw_io(path, "cannot write the header", errno);
            write(final_header.data(), final_header.size());
        }
    }
    out.commit();  // durable, then renamed over `path`
}

}  // namespace h5ser::detail::safetensors
