// h5ser/detail/load/mapped_file-inl.hpp: definitions of h5ser/detail/load/mapped_file.hpp (compiled once
// with the compiled core; see h5ser/config.hpp).
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "h5ser/detail/hdf5/hdf5.hpp"
#include "h5ser/detail/load/mapped_file.hpp"
#include "h5ser/error.hpp"

namespace h5ser::detail {

H5SER_CORE_INLINE std::shared_ptr<const mapped_file> mapped_file::map(const opened_file& file, std::uint64_t expected_size) {
    struct stat st {};
    if (::fstat(file.fd(), &st) != 0) throw_io(file.path(), "cannot stat the file to map it", errno);
    if (static_cast<std::uint64_t>(st.st_size) != expected_size)
        throw file_changed_error(file.path(), "it had " + std::to_string(expected_size) + " bytes, then " + std::to_string(st.st_size));
    // The mapping keeps the file (its inode) alive once the descriptor is closed.
    void* base = ::mmap(nullptr, static_cast<std::size_t>(expected_size), PROT_READ | PROT_WRITE, MAP_PRIVATE, file.fd(), 0);
    if (base == MAP_FAILED) throw_io(file.path(), "cannot map the file", errno);
    return std::shared_ptr<const mapped_file>(new mapped_file(base, expected_size));
}

H5SER_CORE_INLINE mapped_file::~mapped_file() { ::munmap(base_, static_cast<std::size_t>(size_)); }

}  // namespace h5ser::detail
