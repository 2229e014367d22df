// h5ser/detail/load/load_file-inl.hpp: definitions of h5ser/detail/load/load_file.hpp (compiled once with the
// compiled core; see h5ser/config.hpp).
#pragma once

#include "h5ser/detail/load/load_file.hpp"

namespace h5ser::detail {

H5SER_CORE_INLINE bool copy_for_reply(const opened_file& file, const seal_check& seal, bool verify, bool accept_foreign,
                                      const std::string& only, const std::string& reply, const progress_callback& progress) {
    hdf5_scope hdf5;
    const where at{file.path(), {}, "/"};
    const manifest* contents = seal.contents ? &*seal.contents : nullptr;
    const handle hdf5_file = file.open_hdf5(file_access(at).get(), at);
    const handle root = open_root(hdf5_file.get(), file.path());
    const file_header header = read_header(root.get(), file.path(), contents, verify, accept_foreign);
    tree_copy_options options;
    options.plan.compact_below = 0;  // every tensor contiguous: the copy maps as a sealed original would
    options.carry_checksums = true;
    options.skip_foreign_objects = true;  // what the child's load did not refuse, it did not read
    options.in_place = true;
    options.only = only;
    // Progress counts the file's bytes, as a load in place does: the tensor bytes copied, scaled.
    const std::uint64_t size = file.size();
    if (progress)
        options.progress = [&progress, size](std::uint64_t done, std::uint64_t total) {
            progress(total == 0 ? size : static_cast<std::uint64_t>(static_cast<long double>(done) / total * size), size);
        };
    const bool kept = copy_h5ser_file(hdf5_file.get(), file.path(), contents, header, reply, options).carried_fingerprint;
    if (progress) progress(size, size);
    return kept;
}

}  // namespace h5ser::detail
