// h5ser/detail/load/opened_file.hpp: a file opened once for reading, so that everything a load looks at
// (the seal, the manifest, the mapping, what HDF5 opens) is the same file.
//
// A save replaces its target by renaming a new file over it (file.hpp). A load that opened the path
// several times (once to check the seal, once to map it, once more for HDF5) could see two
// versions, each intact, and mix them, or report a checksum mismatch where nothing was damaged. So
// a load opens the path once, checks and maps that descriptor, and compares what HDF5 opens by name
// against it (device and inode): a file replaced in between is errc::file_changed, which the load
// entry retries a few times (load_file.hpp).
#pragma once

#include <hdf5.h>

#include <sys/types.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include "h5ser/config.hpp"
#include "h5ser/detail/hdf5/hdf5.hpp"

namespace h5ser::detail {

/// An owned POSIX file descriptor (-1: none).
class file_descriptor {
public:
    explicit file_descriptor(int fd = -1) noexcept : fd_(fd) {}
    file_descriptor(file_descriptor&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
    file_descriptor& operator=(file_descriptor&& other) noexcept {
        if (this != &other) {
            if (fd_ >= 0) ::close(fd_);
            fd_ = other.fd_;
            other.fd_ = -1;
        }
        return *this;
    }
    file_descriptor(const file_descriptor&) = delete;
    file_descriptor& operator=(const file_descriptor&) = delete;
    ~file_descriptor() {
        if (fd_ >= 0) ::close(fd_);
    }
    [[nodiscard]] int get() const noexcept { return fd_; }

private:
    int fd_;
};

/// Which file a descriptor or a name leads to.
struct file_identity {
    dev_t device = 0;
    ino_t inode = 0;
    friend bool operator==(const file_identity&, const file_identity&) = default;
};

/// A regular file opened read-only, with its identity and its size at the open.
class opened_file {
public:
    /// Opens `path`. Throws errc::file_not_found when it does not exist, errc::io when it is a
    /// directory, a FIFO, a device or a socket (none can be a model file, and opening or reading a
    /// FIFO would wait for a writer forever) or cannot be opened.
    H5SER_CORE_INLINE static opened_file open(const std::string& path);

    [[nodiscard]] int fd() const noexcept { return fd_.get(); }
    [[nodiscard]] const std::string& path() const noexcept { return path_; }
    [[nodiscard]] std::uint64_t size() const noexcept { return size_; }
    [[nodiscard]] const file_identity& identity() const noexcept { return identity_; }

    /// Throws errc::file_changed unless `hdf5_file`, an HDF5 file opened by this file's name with
    /// the default (sec2) driver, is this file.
    H5SER_CORE_INLINE void check_same(hid_t hdf5_file, const where& at) const;

    /// Opens this file's name in HDF5, read-only with `fapl`, and checks that HDF5 opened this file.
    H5SER_CORE_INLINE handle open_hdf5(hid_t fapl, const where& at) const;

private:
    opened_file() = default;
    file_descriptor fd_;
    std::string path_;
    std::uint64_t size_ = 0;
    file_identity identity_;
};

/// The error of a load that found `path` replaced or rewritten while it read it: `what` says how.
H5SER_CORE_INLINE error file_changed_error(const std::string& path, const std::string& what);

}  // namespace h5ser::detail

#if H5SER_CORE_DEFINITIONS
#include "h5ser/detail/load/opened_file-inl.hpp"
#endif
