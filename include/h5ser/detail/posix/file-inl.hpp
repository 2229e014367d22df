// h5ser/detail/posix/file-inl.hpp: definitions of h5ser/detail/posix/file.hpp (compiled once with the compiled core; see
// h5ser/config.hpp).
#pragma once

#include <filesystem>
#include <random>

#include "h5ser/detail/format/seal.hpp"  // check_seal
#include "h5ser/detail/posix/file.hpp"

namespace h5ser::detail {

H5SER_CORE_INLINE handle file_access(const where& at) {
    handle fapl = checked(H5Pcreate(H5P_FILE_ACCESS), at, "H5Pcreate(file access)");
    check(H5Pset_fclose_degree(fapl.get(), H5F_CLOSE_STRONG), at, "H5Pset_fclose_degree");
    return fapl;
}

H5SER_CORE_INLINE handle writer_file_access(const where& at) {
    handle fapl = file_access(at);
    check(H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_V18, H5F_LIBVER_V18), at, "H5Pset_libver_bounds");
    // Objects of 64 KiB and more start on a 4 KiB boundary: page-aligned reads and writes of big
    // tensors, which a mapped load can hand out as views (h5ser::tensor promises 64-byte alignment),
    // without padding the many small objects (smaller tensors are copied: at most 4 KiB of padding
    // per aligned tensor, 6% of the smallest).
    check(H5Pset_alignment(fapl.get(), 64 << 10, 4096), at, "H5Pset_alignment");
    return fapl;
}

H5SER_CORE_INLINE std::optional<manifest> check_opened(const opened_file& file, bool check_seal) {
    std::optional<manifest> contents;
    if (check_seal) {
        seal_check seal = detail::check_seal(file, true);
        if (seal.damage) throw *seal.damage;
        contents = std::move(seal.contents);
    }
    if (!has_hdf5_signature(file)) throw error(file.path(), problem{errc::not_hdf5, {}, {}, {}, {}, "the file has no HDF5 signature"});
    return contents;
}

H5SER_CORE_INLINE std::optional<manifest> check_readable(const std::string& path, bool check_seal) {
    return check_opened(opened_file::open(path), check_seal);
}

H5SER_CORE_INLINE handle open_for_reading(const std::string& path, bool check_seal, std::optional<manifest>* contents) {
    const where at{path, {}, "/"};
    const opened_file file = opened_file::open(path);
    std::optional<manifest> checked_contents = check_opened(file, check_seal);
    if (contents) *contents = std::move(checked_contents);
    return file.open_hdf5(file_access(at).get(), at);
}

H5SER_CORE_INLINE handle open_root(hid_t file, const std::string& path) {
    return checked(H5Gopen2(file, "/", H5P_DEFAULT), where{path, {}, "/"}, "cannot open root group");
}

H5SER_CORE_INLINE void fsync_path(const std::string& path, bool directory, const std::string& file) {
    const int fd = ::open(path.c_str(), O_RDONLY | (directory ? O_DIRECTORY : 0) | O_CLOEXEC);
    if (fd < 0) throw_io(file, "cannot open '" + path + "' to flush it", errno);
    const int rc = durability().fsync(fd);
    const int err = errno;
    ::close(fd);
    if (rc != 0) throw_io(file, "fsync of '" + path + "' failed", err);
}

H5SER_CORE_INLINE std::string temporary_stem(std::string_view name) {
    // ".tmp-" + a PID (at most 10 digits) + "-" + 16 hex digits: 32 bytes at most.
    constexpr std::size_t suffix = 32, name_max = 255, hash_text = 17;  // "~" + 16 hex digits
    if (name.size() + suffix <= name_max) return std::string(name);
    return std::string(name.substr(0, name_max - suffix - hash_text)) + "~" + to_hex(hash_bytes(name.data(), name.size()));
}

H5SER_CORE_INLINE bool lock_temporary(int fd) noexcept {
    struct flock lock {};
    lock.l_type = F_WRLCK;
    lock.l_whence = SEEK_SET;  // the whole file: l_start = l_len = 0
    return ::fcntl(fd, F_OFD_SETLK, &lock) == 0;
}

H5SER_CORE_INLINE bool temporary_in_use(const std::string& path, long pid) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) return errno != ENOENT;  // gone already, or not ours to judge
    struct flock lock {};
    lock.l_type = F_WRLCK;
    lock.l_whence = SEEK_SET;
    const bool asked = ::fcntl(fd, F_OFD_GETLK, &lock) == 0;
    ::close(fd);
    if (asked) return lock.l_type != F_UNLCK;  // its writer holds the lock while it lives
    // Without locks, the PID is all there is: alive here, or a writer elsewhere.
    return pid <= 0 || ::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH;
}

H5SER_CORE_INLINE void remove_stale_temporaries_in(const std::string& directory,
                                                   const std::function<bool(std::string_view name)>& is_target) {
    constexpr std::string_view marker = ".tmp-";
    std::error_code ec;
    for (std::filesystem::directory_iterator it(directory, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        const auto at = name.rfind(marker);
        if (at == std::string::npos || at == 0 || !is_target(std::string_view(name).substr(0, at))) continue;
        const std::string rest = name.substr(at + marker.size());
        const auto dash = rest.find('-');
        if (dash == std::string::npos || dash == 0 || rest.find_first_not_of("0123456789") != dash) continue;
        const long pid = std::strtol(rest.substr(0, dash).c_str(), nullptr, 10);
        std::error_code ignored;
        if (!temporary_in_use(it->path().string(), pid)) std::filesystem::remove(it->path(), ignored);
    }
}

H5SER_CORE_INLINE void remove_stale_temporaries(const std::string& target) {
    const std::filesystem::path path(target);
    const std::string stem = temporary_stem(path.filename().string());
    remove_stale_temporaries_in(path.parent_path().empty() ? std::string(".") : path.parent_path().string(),
                                [&](std::string_view candidate) { return candidate == stem; });
}

namespace file_detail {

/// `path` with symbolic links followed (up to 40, as the kernel does): the file a save replaces.
inline std::string follow_links(const std::string& path) {
    std::filesystem::path at(path);
    for (int i = 0; i < 40; ++i) {
        std::error_code ec;
        if (!std::filesystem::is_symlink(at, ec)) return at.string();
        const std::filesystem::path link = std::filesystem::read_symlink(at, ec);
        if (ec) return at.string();
        at = link.is_absolute() ? link : at.parent_path() / link;
    }
    throw error(path, problem{errc::io, {}, {}, {}, {}, "too many levels of symbolic links"});
}

}  // namespace file_detail

H5SER_CORE_INLINE atomic_file::atomic_file(std::string target) : target_(std::move(target)) {
    destination_ = file_detail::follow_links(target_);
    check_target_path(destination_);
    std::random_device entropy;
    const std::uint64_t salt = (std::uint64_t{entropy()} << 32) ^ entropy();
    const std::filesystem::path destination(destination_);
    const std::filesystem::path dir = destination.parent_path();
    directory_ = dir.empty() ? std::string(".") : dir.string();
    temp_ = (dir / (temporary_stem(destination.filename().string()) + ".tmp-" + std::to_string(::getpid()) + "-" + to_hex(salt))).string();
    remove_stale_temporaries(destination_);
    // The temporary exists and is locked from here on, so that no other save's sweep takes it for
    // the leftover of a dead one.
    lock_fd_ = ::open(temp_.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (lock_fd_ < 0) throw_io(target_, "cannot create a file in '" + directory_ + "'", errno);
    // Without locks, temporary_in_use falls back to the PID. Another save's sweep may have taken
    // the file in the instant before the lock: then the name leads elsewhere, and it is made again.
    for (int attempt = 0; lock_temporary(lock_fd_) && attempt < 3; ++attempt) {
        struct stat held {
        }, named{};
        if (::fstat(lock_fd_, &held) == 0 && ::stat(temp_.c_str(), &named) == 0 && held.st_ino == named.st_ino &&
            held.st_dev == named.st_dev)
            break;
        ::close(lock_fd_);
        lock_fd_ = ::open(temp_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
        if (lock_fd_ < 0) throw_io(target_, "cannot create a file in '" + directory_ + "'", errno);
    }
    // The new copy is written while the old one still exists, so its pages need memory beyond the
    // old file's cached pages, which a program that truncates and rewrites its file reuses. Fresh
    // memory is slow to come by on VMs: replacing a 1 GiB file took 1.5-3.0 s against 0.55 s for a
    // truncating rewrite (bench_one_big, ext4 in RAM without discard), and as long as the rewrite
    // once the old copy's pages are dropped first. The old file stays on disk, intact.
    drop_cached_pages(destination_);
}

H5SER_CORE_INLINE void drop_cached_pages(const std::string& path) noexcept {
    // O_NONBLOCK: opening a FIFO someone named as the target must not wait for a writer.
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return;  // no previous file: nothing cached
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::close(fd);
}

H5SER_CORE_INLINE void atomic_file::start_writeback() noexcept {
#if defined(__linux__)
    if (writeback_fd_ < 0) writeback_fd_ = ::open(temp_.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat st {};
    if (writeback_fd_ < 0 || ::fstat(writeback_fd_, &st) != 0) return;
    constexpr std::uint64_t page = 4096;
    const std::uint64_t end = static_cast<std::uint64_t>(st.st_size) / page * page;
    if (end <= writeback_submitted_) return;
    ::sync_file_range(writeback_fd_, static_cast<off_t>(writeback_submitted_), static_cast<off_t>(end - writeback_submitted_),
                      SYNC_FILE_RANGE_WRITE);
    writeback_submitted_ = end;
#endif
}

H5SER_CORE_INLINE void atomic_file::commit() {
    fsync_path(temp_, false, target_);
    if (durability().rename(temp_.c_str(), destination_.c_str()) != 0)
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
    handle fcpl = checked(H5Pcreate(H5P_FILE_CREATE), at, "H5Pcreate(file create)");
    // The root group lists its members in creation (field) order too, like every other group.
    if (style == file_style::h5ser)
        check(H5Pset_link_creation_order(fcpl.get(), H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED), at, "H5Pset_link_creation_order");
    check(H5Pset_obj_track_times(fcpl.get(), false), at, "H5Pset_obj_track_times");  // the root group's: as creation_plists
    if (userblock != 0) check(H5Pset_userblock(fcpl.get(), userblock), at, "H5Pset_userblock");
    // HDF5's flock() would conflict with the temporary's own lock where the file system emulates
    // flock() with byte-range locks (NFS).
    const handle access = checked(H5Pcopy(fapl), at, "H5Pcopy(file access)");
    check(H5Pset_file_locking(access.get(), false, true), at, "H5Pset_file_locking");
    const hid_t id = H5Fcreate(temp.c_str(), H5F_ACC_TRUNC, fcpl.get(), access.get());
    if (id < 0) throw_hdf5(at, "cannot create file '" + temp + "'", errc::io);
    return handle(id);
}

H5SER_CORE_INLINE handle create_for_writing(const atomic_file& out, std::uint64_t userblock, file_style style) {
    const where at{out.target(), {}, "/"};
    check_target_path(out.target());
    const handle fapl = style == file_style::h5ser ? writer_file_access(at) : file_access(at);
    return create_hdf5_file(out.temp_path(), out.target(), userblock, style, fapl.get());
}

}  // namespace h5ser::detail
