// h5ser/detail/load/tensor_target-inl.hpp: definitions of h5ser/detail/load/tensor_target.hpp (compiled once with
// the compiled core; see h5ser/config.hpp).
#pragma once

#include <vector>

#include "h5ser/detail/hdf5/dataset.hpp"
#include "h5ser/detail/load/tensor_target.hpp"

namespace h5ser::detail {

H5SER_CORE_INLINE bool stage_dataset(commit_list& commits, problem_list& problems, const tensor_target& target, hid_t dataset,
                                     hid_t file_type, std::span<const std::size_t> dims, const where& at,
                                     bool (*verify)(const void* context, std::uint64_t hash), const void* context) {
    std::size_t count = 1;
    for (const std::size_t d : dims) count *= d;
    const std::size_t bytes = count * target.element_size;
    const handle mem = read_memory_type(target.kind, file_type, at);
    // Reads into `buffer`, hashed while read when verified, and checks what was read.
    const auto read = [&](void* buffer) {
        if (verify) {
            if (!verify(context, read_and_hash(dataset, mem.get(), buffer, bytes, at))) return false;
        } else if (count != 0) {
            check(H5Dread(dataset, mem.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer), at, "cannot read dataset");
        }
        return !target.bools || check_bool_elements<bool>(problems, buffer, count, at);
    };
    if (target.resizable) {
        commit_list::staged_bytes staged = target.stage(target.target, dims, nullptr, nullptr);
        if (!read(staged.data)) return false;
        commits.finish(std::move(staged));
        return true;
    }
    std::vector<unsigned char> copy(bytes);
    if (!read(copy.data())) return false;
    commits.copy_into(target.data, std::move(copy));
    return true;
}

}  // namespace h5ser::detail
