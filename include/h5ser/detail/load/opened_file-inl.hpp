// h5ser/detail/load/opened_file-inl.hpp: definitions of h5ser/detail/load/opened_file.hpp (compiled once
// with the compiled core; see h5ser/config.hpp).
#pragma once

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>

#include "h5ser/detail/load/opened_file.hpp"
#include "h5ser/error.hpp"

namespace h5ser::detail {

H5SER_CORE_INLINE opened_file opened_file::open(const std::string& path) {
    // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below. Reads of a
    // regular file ignore the flag.
    opened_file f;
    f.path_ = path;
    f.fd_ = file_descriptor(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
    if (f.fd() < 0) {
        const int err = errno;
        if (err == ENOENT || err == ENOTDIR) throw error(path, problem{errc::file_not_found, {}, {}, {}, {}, "no such file"});
        throw_io(path, "cannot open the file", err);
    }
    struct stat st {};
    if (::fstat(f.fd(), &st) != 0) throw_io(path, "cannot stat the file", errno);
    if (S_ISDIR(st.st_mode)) throw error(path, problem{errc::io, {}, {}, "a regular file", "a directory", "is a directory, not a file"});
    if (!S_ISREG(st.st_mode)) {
        const char* kind = S_ISFIFO(st.st_mode)                         ? "a FIFO"
                           : S_ISSOCK(st.st_mode)                       ? "a socket"
                           : S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "a device"
                                                                        : "not a regular file";
        throw error(path, problem{errc::io, {}, {}, "a regular file", kind, "h5ser reads models from regular files only"});
    }
    f.size_ = static_cast<std::uint64_t>(st.st_size);
    f.identity_ = {st.st_dev, st.st_ino};
    return f;
}

H5SER_CORE_INLINE void opened_file::check_same(hid_t hdf5_file, const where& at) const {
    void* vfd = nullptr;
    if (H5Fget_vfd_handle(hdf5_file, H5P_DEFAULT, &vfd) < 0 || !vfd) {
        H5Eclear2(H5E_DEFAULT);
        throw_hdf5(at, "cannot read which file HDF5 opened");
    }
    struct stat st {};
    if (::fstat(*static_cast<const int*>(vfd), &st) != 0) throw_io(path_, "cannot stat the file HDF5 opened", errno);
    if (file_identity{st.st_dev, st.st_ino} != identity_)
        throw file_changed_error(path_, "another file was renamed over its name after the load opened it");
}

H5SER_CORE_INLINE handle opened_file::open_hdf5(hid_t fapl, const where& at) const {
    handle file = checked(H5Fopen(path_.c_str(), H5F_ACC_RDONLY, fapl), at, "cannot open file");
    check_same(file.get(), at);
    return file;
}

H5SER_CORE_INLINE error file_changed_error(const std::string& path, const std::string& what) {
    return error(path, problem{errc::file_changed,
                               {},
                               "/",
                               {},
                               {},
                               "the file was replaced or changed while it was being loaded (" + what +
                                   "); nothing was loaded. A save of the same path by another program is the usual cause: load again"});
}

}  // namespace h5ser::detail
