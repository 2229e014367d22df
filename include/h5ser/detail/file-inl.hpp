// h5ser/detail/file-inl.hpp: definitions of h5ser/detail/file.hpp (compiled once with the compiled core; see
// h5ser/config.hpp).
#pragma once

#include <filesystem>
#include <random>

#include "h5ser/detail/file.hpp"
#include "h5ser/detail/seal.hpp"  // verify_seal

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

H5SER_CORE_INLINE std::optional<manifest> check_readable(const std::string& path, bool check_seal) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
        throw error(path, problem{errc::file_not_found, {}, {}, {}, {}, "no such file"});
    }
    if (std::filesystem::is_directory(path, ec)) {
        throw error(path, problem{errc::io, {}, {}, {}, {}, "is a directory, not a file"});
    }
    std::optional<manifest> contents;
    if (check_seal) contents = verify_seal(path);
    if (H5Fis_hdf5(path.c_str()) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        throw error(path, problem{errc::not_hdf5, {}, {}, {}, {}, "the file has no HDF5 signature"});
    }
    return contents;
}

H5SER_CORE_INLINE handle open_for_reading(const std::string& path, bool check_seal, std::optional<manifest>* contents) {
    const where at{path, {}, "/"};
    std::optional<manifest> checked_contents = check_readable(path, check_seal);
    if (contents) *contents = std::move(checked_contents);
    return checked(H5Fopen(path.c_str(), H5F_ACC_RDONLY, file_access(at).get()), at, "cannot open file");
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

H5SER_CORE_INLINE void remove_stale_temporaries_in(const std::filesystem::path& directory,
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
        if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) std::filesystem::remove(it->path(), ignored);
    }
}

H5SER_CORE_INLINE void remove_stale_temporaries(const std::string& target) {
    const std::filesystem::path path(target);
    const std::string name = path.filename().string();
    remove_stale_temporaries_in(path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path(),
                                [&](std::string_view candidate) { return candidate == name; });
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

H5SER_CORE_INLINE void atomic_file::start_writeback() noexcept {
#if defined(__linux__)
    if (writeback_fd_ < 0) writeback_fd_ = ::open(temp_.c_str(), O_RDONLY | O_CLOEXEC);
    if (writeback_fd_ >= 0) ::sync_file_range(writeback_fd_, 0, 0, SYNC_FILE_RANGE_WRITE);
#endif
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
                                          hid_t fapl, bool truncate) {
    const where at{target, {}, "/"};
    const std::filesystem::path dir = std::filesystem::path(target).parent_path();
    handle fcpl = checked(H5Pcreate(H5P_FILE_CREATE), at, "H5Pcreate(file create)");
    // The root group lists its members in creation (field) order too, like every other group.
    if (style == file_style::h5ser)
        check(H5Pset_link_creation_order(fcpl.get(), H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED), at,
              "H5Pset_link_creation_order");
    check(H5Pset_obj_track_times(fcpl.get(), false), at, "H5Pset_obj_track_times");  // the root group's: as creation_plists
    if (userblock != 0) check(H5Pset_userblock(fcpl.get(), userblock), at, "H5Pset_userblock");
    const hid_t id = H5Fcreate(temp.c_str(), truncate ? H5F_ACC_TRUNC : H5F_ACC_EXCL, fcpl.get(), fapl);
    if (id < 0 && truncate) throw_hdf5(at, "cannot create file '" + temp + "'", errc::io);
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

}  // namespace h5ser::detail
