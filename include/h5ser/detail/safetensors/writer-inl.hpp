// h5ser/detail/safetensors/writer-inl.hpp: definitions of h5ser/detail/safetensors/writer.hpp
// (compiled once with the compiled core; see h5ser/config.hpp).
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <vector>

#include "h5ser/detail/json/writer.hpp"
#include "h5ser/detail/load/opened_file.hpp"  // file_descriptor
#include "h5ser/detail/posix/file.hpp"        // atomic_file
#include "h5ser/detail/posix/io.hpp"          // write_all_at, copy_and_hash
#include "h5ser/detail/safetensors/header.hpp"
#include "h5ser/detail/safetensors/tree.hpp"  // fingerprint_key
#include "h5ser/detail/safetensors/writer.hpp"
#include "h5ser/error.hpp"

namespace h5ser::detail::safetensors {

H5SER_CORE_INLINE std::string tensor_name(const where& at, bool whole_names) {
    const std::string_view path = std::string_view(at.h5).substr(1);  // "/h/0/w" without its '/'
    if (whole_names) {
        // A key that is a path ("encoder/0/w") was saved as groups; .safetensors has none, and its
        // readers (h5ser's among them) take '/' for no part of a name.
        if (path.find('/') != std::string_view::npos)
            throw error(std::string(at.file.view()),
                        problem{errc::invalid_value, at.field, at.h5, "map keys without '/'", "a key that is a path",
                                "a .safetensors file has no groups: join the parts with '.' (\"encoder.0.w\"), or save to .h5"});
        return std::string(path);
    }
    if (path.find('.') != std::string_view::npos)
        throw error(std::string(at.file.view()),
                    problem{errc::invalid_value, at.field, at.h5, "field and key names without '.'", "a '.' in the path",
                            "a .safetensors name joins the path with '.': this one could not be told apart from a path "
                            "when the file is read"});
    std::string name(path);
    std::replace(name.begin(), name.end(), '/', '.');
    return name;
}

H5SER_CORE_INLINE void write_file(const std::string& path, const std::vector<tensor_to_write>& tensors,
                                  const std::vector<std::pair<std::string, std::string>>& metadata, const progress_callback& progress,
                                  const std::function<std::string(const std::vector<std::uint64_t>& hashes)>& late_fingerprint) {
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
        const auto write_at = [&](const void* bytes, std::uint64_t size, std::uint64_t offset) {
            if (!write_all_at(fd.get(), bytes, static_cast<std::size_t>(size), offset)) throw_io(path, "cannot write the file", errno);
        };
        write_at(length, sizeof length, 0);
        write_at(header.data(), header.size(), sizeof length);
        const std::uint64_t data_start = sizeof length + header.size();
        std::vector<std::uint64_t> hashes(late_fingerprint ? tensors.size() : 0);
        std::uint64_t unflushed = 0;
        for (std::size_t i = 0; i < tensors.size(); ++i) {
            const tensor_to_write& t = tensors[i];
            if (t.source_fd >= 0) {
                std::uint64_t hash = 0;
                if (!copy_and_hash(fd.get(), data_start + offsets[i], t.source_fd, t.source_offset, t.bytes, hash))
                    throw_io(path, "cannot copy the data of '" + t.name + "' into the file", errno ? errno : EIO);
                if (late_fingerprint) hashes[i] = hash;
            } else {
                write_at(t.data, t.bytes, data_start + offsets[i]);
                if (late_fingerprint) hashes[i] = hash_bytes(t.bytes ? t.data : "", static_cast<std::size_t>(t.bytes));
            }
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
                if (key == fingerprint_key) value = late_fingerprint(hashes);
            const std::string final_header = header_of();
            if (final_header.size() != header.size())  // not 16 digits: the data would move
                throw error(path, problem{errc::invalid_value, {}, "/", "a fingerprint of 16 hex digits", "another length", {}});
            write_at(final_header.data(), final_header.size(), sizeof length);
        }
    }
    out.commit();  // durable, then renamed over `path`
}

H5SER_CORE_INLINE void tensor_collector::dataset(std::string_view, const tensor_view& tensor, const where& at, bool) {
    const written_tensor t = tensor.digest();
    fingerprint_.add_tensor(at.h5, tensor.dtype(), t.dims.data(), t.rank, t.data_hash);
    tensor_to_write w{tensor_name(at, whole_names_),
                      tensor.dtype(),
                      {t.dims.begin(), t.dims.begin() + static_cast<std::ptrdiff_t>(t.rank)},
                      tensor.element_bytes(),
                      tensor.bytes()};
    tensors_.push_back(std::move(w));
}

}  // namespace h5ser::detail::safetensors
