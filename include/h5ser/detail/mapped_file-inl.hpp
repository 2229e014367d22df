// h5ser/detail/mapped_file-inl.hpp: definitions of h5ser/detail/mapped_file.hpp (compiled once
// with the compiled core; see h5ser/config.hpp).
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "h5ser/detail/hdf5.hpp"
#include "h5ser/detail/mapped_file.hpp"
#include "h5ser/error.hpp"

namespace h5ser::detail {

H5SER_CORE_INLINE std::shared_ptr<const mapped_file> mapped_file::map(const std::string& path, std::uint64_t expected_size) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw_io(path, "cannot open the file to map it", errno);
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        const int err = errno;
        ::close(fd);
        throw_io(path, "cannot stat the file to map it", err);
    }
    if (static_cast<std::uint64_t>(st.st_size) != expected_size) {
        ::close(fd);
        throw error(path, problem{errc::checksum_mismatch, {}, "/", std::to_string(expected_size) + " bytes",
                                  std::to_string(st.st_size) + " bytes", "the file changed while it was being loaded"});
    }
    void* base = ::mmap(nullptr, static_cast<std::size_t>(expected_size), PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    const int err = errno;
    ::close(fd);  // the mapping keeps the file (its inode) alive
    if (base == MAP_FAILED) throw_io(path, "cannot map the file", err);
    return std::shared_ptr<const mapped_file>(new mapped_file(base, expected_size));
}

H5SER_CORE_INLINE mapped_file::~mapped_file() { ::munmap(base_, static_cast<std::size_t>(size_)); }

}  // namespace h5ser::detail
