// h5ser/detail/file.hpp: opening files for loading, and atomic saves (temporary file, fsync,
// rename, fsync of the directory), so an interrupted save never destroys the previous file.
#pragma once

#include <hdf5.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <system_error>

#include "h5ser/detail/hash.hpp"
#include "h5ser/detail/hdf5.hpp"
#include "h5ser/config.hpp"

#if H5SER_CORE_DEFINITIONS
#include <filesystem>
#include <random>
#endif

namespace h5ser::detail {

/// The system calls that make a save durable. Tests replace them to inject failures; programs
/// never need to.
struct durability_calls {
    int (*fsync)(int) = ::fsync;
    int (*rename)(const char*, const char*) = ::rename;
};
inline durability_calls& durability() noexcept {
    static durability_calls calls;
    return calls;
}

[[noreturn]] H5SER_CORE_INLINE void throw_io(const std::string& file, const std::string& what, int err);

/// The file access h5ser starts from: closing the file closes every object still open in it.
H5SER_CORE_INLINE handle file_access(const where& at);

/// File access for files h5ser writes: readable by HDF5 1.8 and later; all objects closed with the file.
H5SER_CORE_INLINE handle writer_file_access(const where& at);

void verify_seal(const std::string& path);  // seal.hpp

/// The checks open_for_reading makes before HDF5 opens `path`: it exists, is a file, its seal (if
/// `check_seal`) holds and it is HDF5.
H5SER_CORE_INLINE void check_readable(const std::string& path, bool check_seal);

/// Opens a file to load or inspect. With `check_seal`, a file h5ser wrote is checked against its
/// seal (see seal.hpp) before the HDF5 library reads any of it.
H5SER_CORE_INLINE handle open_for_reading(const std::string& path, bool check_seal = true);

H5SER_CORE_INLINE void fsync_path(const std::string& path, bool directory, const std::string& file);

/// Removes `<target>.tmp-<pid>-<random>` files whose writing process no longer exists: what a
/// save killed midway left behind. A temporary of a live process (a concurrent save) is kept.
H5SER_CORE_INLINE void remove_stale_temporaries(const std::string& target);

/// Asks the kernel to drop the cached pages of file `path` (if it exists). Its data stays on disk.
H5SER_CORE_INLINE void drop_cached_pages(const std::string& path) noexcept;

/// Writes go to `<target>.tmp-<pid>-<random>` beside the target; commit() makes it durable and
/// renames it over the target in one step. Until then (and if anything throws) the target is
/// untouched, and the destructor removes the temporary file. Loads never look at temporaries.
class atomic_file {
public:
    explicit atomic_file(std::string target);
    atomic_file(const atomic_file&) = delete;
    atomic_file& operator=(const atomic_file&) = delete;
    ~atomic_file() {
        if (!committed_) ::unlink(temp_.c_str());
    }

    [[nodiscard]] const std::string& temp_path() const noexcept { return temp_; }
    [[nodiscard]] const std::string& target() const noexcept { return target_; }

    /// Call after the HDF5 file is closed.
    void commit();

private:
    std::string target_;
    std::string temp_;
    std::string directory_;
    bool committed_ = false;
};

/// How a new file is laid out: h5ser's (HDF5 1.8 format, creation-order tracking, alignment), or
/// HDF5's earliest format with default settings, which is what Keras writes and what every
/// reader of Keras files expects.
enum class file_style { h5ser, earliest };

/// Refuses a save whose target is a directory or lies in a directory that does not exist.
H5SER_CORE_INLINE void check_target_path(const std::string& target);

/// Creates the temporary HDF5 file `temp` (for `target`) with file access `fapl` and a userblock
/// of `userblock` bytes (0: none) for the seal, turning the usual failures into plain messages.
H5SER_CORE_INLINE handle create_hdf5_file(const std::string& temp, const std::string& target, std::uint64_t userblock, file_style style,
                                          hid_t fapl);

/// Creates the temporary file of `out`, laid out as `style` says (see create_hdf5_file).
H5SER_CORE_INLINE handle create_for_writing(const atomic_file& out, std::uint64_t userblock = 0, file_style style = file_style::h5ser);

#if H5SER_CORE_DEFINITIONS
// ---- core definitions (compiled once with H5SER_COMPILED_CORE; see h5ser/config.hpp) ----

H5SER_CORE_INLINE void throw_io(const std::string& file, const std::string& what, int err) {
    throw error(file, problem{errc::io, {}, {}, {}, {}, what + ": " + std::strerror(err)});
}

H5SER_CORE_INLINE handle file_access(const where& at) {
    handle fapl = checked(H5Pcreate(H5P_FILE_ACCESS), at, "H5Pcreate(file access)");
    check(H5Pset_fclose_degree(fapl.get(), H5F_CLOSE_STRONG), at, "H5Pset_fclose_degree");
    return fapl;
}

H5SER_CORE_INLINE handle writer_file_access(const where& at) {
    handle fapl = file_access(at);
    check(H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_V18, H5F_LIBVER_V18), at, "H5Pset_libver_bounds");
    // Objects of 1 MiB and more start on a 4 KiB boundary: page-aligned reads and writes of big
    // tensors, without padding the many small objects.
    check(H5Pset_alignment(fapl.get(), 1 << 20, 4096), at, "H5Pset_alignment");
    return fapl;
}

H5SER_CORE_INLINE void check_readable(const std::string& path, bool check_seal) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
        throw error(path, problem{errc::file_not_found, {}, {}, {}, {}, "no such file"});
    }
    if (std::filesystem::is_directory(path, ec)) {
        throw error(path, problem{errc::io, {}, {}, {}, {}, "is a directory, not a file"});
    }
    if (check_seal) verify_seal(path);
    if (H5Fis_hdf5(path.c_str()) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        throw error(path, problem{errc::not_hdf5, {}, {}, {}, {}, "the file has no HDF5 signature"});
    }
}

H5SER_CORE_INLINE handle open_for_reading(const std::string& path, bool check_seal) {
    const where at{path, {}, "/"};
    check_readable(path, check_seal);
    return checked(H5Fopen(path.c_str(), H5F_ACC_RDONLY, file_access(at).get()), at, "cannot open file");
}

H5SER_CORE_INLINE void fsync_path(const std::string& path, bool directory, const std::string& file) {
    const int fd = ::open(path.c_str(), O_RDONLY | (directory ? O_DIRECTORY : 0) | O_CLOEXEC);
    if (fd < 0) throw_io(file, "cannot open '" + path + "' to flush it", errno);
    const int rc = durability().fsync(fd);
    const int err = errno;
    ::close(fd);
    if (rc != 0) throw_io(file, "fsync of '" + path + "' failed", err);
}

H5SER_CORE_INLINE void remove_stale_temporaries(const std::string& target) {
    const std::filesystem::path path(target);
    const std::string prefix = path.filename().string() + ".tmp-";
    std::error_code ec;
    const std::filesystem::path dir = path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
    for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
        const std::string rest = name.substr(prefix.size());
        const auto dash = rest.find('-');
        if (dash == std::string::npos || dash == 0 || rest.find_first_not_of("0123456789") != dash) continue;
        const long pid = std::strtol(rest.substr(0, dash).c_str(), nullptr, 10);
        if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) std::filesystem::remove(it->path(), ec);
    }
}

H5SER_CORE_INLINE atomic_file::atomic_file(std::string target) : target_(std::move(target)) {
    std::random_device entropy;
    const std::uint64_t salt = (std::uint64_t{entropy()} << 32) ^ entropy();
    temp_ = target_ + ".tmp-" + std::to_string(::getpid()) + "-" + to_hex(salt);
    const std::filesystem::path dir = std::filesystem::path(target_).parent_path();
    directory_ = dir.empty() ? std::string(".") : dir.string();
    remove_stale_temporaries(target_);
    // The new copy is written while the old one still exists, so its pages need memory beyond the
    // old file's cached pages, which a program that truncates and rewrites its file reuses. Fresh
    // memory is slow to come by on VMs: replacing a 1 GiB file took 1.5-3.0 s against 0.55 s for a
    // truncating rewrite (bench_one_big, ext4 in RAM without discard), and as long as the rewrite
    // once the old copy's pages are dropped first. The old file stays on disk, intact.
    drop_cached_pages(target_);
}

H5SER_CORE_INLINE void drop_cached_pages(const std::string& path) noexcept {
    // O_NONBLOCK: opening a FIFO someone named as the target must not wait for a writer.
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return;  // no previous file: nothing cached
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::close(fd);
}

H5SER_CORE_INLINE void atomic_file::commit() {
    fsync_path(temp_, false, target_);
    if (durability().rename(temp_.c_str(), target_.c_str()) != 0)
        throw_io(target_, "cannot rename '" + temp_ + "' over the target", errno);
    committed_ = true;
    fsync_path(directory_, true, target_);
}

H5SER_CORE_INLINE void check_target_path(const std::string& target) {
    const std::filesystem::path dir = std::filesystem::path(target).parent_path();
    std::error_code ec;
    if (!dir.empty() && !std::filesystem::is_directory(dir, ec)) {
        throw error(target, problem{errc::io, {}, {}, {}, {}, "directory '" + dir.string() + "' does not exist"});
    }
    if (std::filesystem::is_directory(target, ec)) {
        throw error(target, problem{errc::io, {}, {}, {}, {}, "is a directory, not a file"});
    }
}

H5SER_CORE_INLINE handle create_hdf5_file(const std::string& temp, const std::string& target, std::uint64_t userblock, file_style style,
                                          hid_t fapl) {
    const where at{target, {}, "/"};
    const std::filesystem::path dir = std::filesystem::path(target).parent_path();
    handle fcpl = checked(H5Pcreate(H5P_FILE_CREATE), at, "H5Pcreate(file create)");
    // The root group lists its members in creation (field) order too, like every other group.
    if (style == file_style::h5ser)
        check(H5Pset_link_creation_order(fcpl.get(), H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED), at,
              "H5Pset_link_creation_order");
    if (userblock != 0) check(H5Pset_userblock(fcpl.get(), userblock), at, "H5Pset_userblock");
    const hid_t id = H5Fcreate(temp.c_str(), H5F_ACC_EXCL, fcpl.get(), fapl);
    if (id < 0) {
        // HDF5's own message names the errno only deep in its stack; check it ourselves first.
        const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        const int err = errno;
        if (fd >= 0) {
            ::close(fd);
            ::unlink(temp.c_str());
        } else {
            H5Eclear2(H5E_DEFAULT);
            throw_io(target, "cannot create a file in '" + (dir.empty() ? std::string(".") : dir.string()) + "'", err);
        }
        throw_hdf5(at, "cannot create file '" + temp + "'", errc::io);
    }
    return handle(id);
}

H5SER_CORE_INLINE handle create_for_writing(const atomic_file& out, std::uint64_t userblock, file_style style) {
    const where at{out.target(), {}, "/"};
    check_target_path(out.target());
    const handle fapl = style == file_style::h5ser ? writer_file_access(at) : file_access(at);
    return create_hdf5_file(out.temp_path(), out.target(), userblock, style, fapl.get());
}

#endif  // H5SER_CORE_DEFINITIONS

}  // namespace h5ser::detail
