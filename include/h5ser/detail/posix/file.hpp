// h5ser/detail/posix/file.hpp: opening files for loading, and atomic saves (temporary file, fsync,
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
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "h5ser/config.hpp"
#include "h5ser/detail/format/hash.hpp"
#include "h5ser/detail/format/manifest.hpp"
#include "h5ser/detail/hdf5/hdf5.hpp"
#include "h5ser/detail/load/opened_file.hpp"
#include "h5ser/detail/posix/io.hpp"

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

/// The file access h5ser starts from: closing the file closes every object still open in it.
H5SER_CORE_INLINE handle file_access(const where& at);

/// File access for files h5ser writes: readable by HDF5 1.8 and later; all objects closed with the file.
H5SER_CORE_INLINE handle writer_file_access(const where& at);

/// The checks open_for_reading makes of `file` (opened: it exists and is a regular file) before
/// HDF5 opens it: its seal and manifest (if `check_seal`) hold and it is HDF5. Returns the
/// manifest of a format-2 file.
H5SER_CORE_INLINE std::optional<manifest> check_opened(const opened_file& file, bool check_seal);

/// check_opened of `path`, opened for the check.
H5SER_CORE_INLINE std::optional<manifest> check_readable(const std::string& path, bool check_seal);

/// Opens a file to load or inspect. With `check_seal`, a file h5ser wrote is checked against its
/// seal (see seal.hpp) before the HDF5 library reads any of it, and its manifest, if it has one,
/// is handed to `contents`.
H5SER_CORE_INLINE handle open_for_reading(const std::string& path, bool check_seal = true, std::optional<manifest>* contents = nullptr);

/// The root group of an open file (`path` for messages).
H5SER_CORE_INLINE handle open_root(hid_t file, const std::string& path);

H5SER_CORE_INLINE void fsync_path(const std::string& path, bool directory, const std::string& file);

/// The `<name>` part of the temporaries of a file named `name`: `name` itself, or, when the
/// temporary's name would exceed NAME_MAX (255 bytes), its start and a hash of the whole.
H5SER_CORE_INLINE std::string temporary_stem(std::string_view name);

/// Is the temporary file `path` being written? Its writer holds an open-file-description lock on
/// it (atomic_file), which the kernel (or the NFS lock manager) drops when the writer dies,
/// whatever its PID namespace or host. Where locks are not available, whether process `pid` of
/// the temporary's name lives here decides.
H5SER_CORE_INLINE bool temporary_in_use(const std::string& path, long pid);

/// Takes the lock of a temporary being written on `fd` (see temporary_in_use); false if the file
/// system has no locks.
H5SER_CORE_INLINE bool lock_temporary(int fd) noexcept;

/// Removes the temporaries `<stem>.tmp-<pid>-<random>` in `directory` nobody is writing
/// (temporary_in_use), of every stem that `is_target` accepts: what a save killed before its
/// commit left behind. A temporary of a live save, in this process or another, is kept.
H5SER_CORE_INLINE void remove_stale_temporaries_in(const std::string& directory,
                                                   const std::function<bool(std::string_view name)>& is_target);
/// Removes the stale temporaries of `target` (remove_stale_temporaries_in).
H5SER_CORE_INLINE void remove_stale_temporaries(const std::string& target);

/// Asks the kernel to drop the cached pages of file `path` (if it exists). Its data stays on disk.
H5SER_CORE_INLINE void drop_cached_pages(const std::string& path) noexcept;

/// Writes go to `<stem>.tmp-<pid>-<random>` beside the target (temporary_stem), created empty and
/// locked (temporary_in_use) by the constructor; commit() makes it durable and renames it over the
/// target in one step. Until then (and if anything throws) the target is untouched, and the
/// destructor removes the temporary file. Loads never look at temporaries. A target that is a
/// symbolic link is followed: the file it names is replaced and the link stays.
class atomic_file {
public:
    explicit atomic_file(std::string target);
    atomic_file(const atomic_file&) = delete;
    atomic_file& operator=(const atomic_file&) = delete;
    ~atomic_file() {
        if (writeback_fd_ >= 0) ::close(writeback_fd_);
        if (!committed_) ::unlink(temp_.c_str());
        if (lock_fd_ >= 0) ::close(lock_fd_);  // drops the lock, after the unlink
    }

    [[nodiscard]] const std::string& temp_path() const noexcept { return temp_; }
    [[nodiscard]] const std::string& target() const noexcept { return target_; }

    /// Asks the kernel to start writing the temporary's dirty pages to disk now: the disk works
    /// while the save goes on, and commit's fsync waits only for what is left (on this VM, 0.25 s
    /// of a 498 MB save's fsync became 0.05 s). A hint: it changes no guarantee. Only the whole
    /// pages written since the last call are submitted, up to the file's end rounded down to a
    /// page: the page being filled is left alone, since writing into a page under writeback waits
    /// for it (3-7 ms a time on this VM), and earlier pages are not submitted again.
    void start_writeback() noexcept;

    /// Call after the HDF5 file is closed.
    void commit();

private:
    std::string target_;
    std::string destination_;  ///< target_ with symbolic links followed: what commit() replaces
    std::string temp_;
    std::string directory_;
    int lock_fd_ = -1;  ///< holds the temporary's lock until the commit or the destructor
    int writeback_fd_ = -1;
    std::uint64_t writeback_submitted_ = 0;  ///< start_writeback has submitted the pages before this offset
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
/// `temp` exists (atomic_file created it) and is emptied; HDF5's own file locking is off for it: the
/// temporary carries h5ser's lock (temporary_in_use), and nobody else opens it.
H5SER_CORE_INLINE handle create_hdf5_file(const std::string& temp, const std::string& target, std::uint64_t userblock, file_style style,
                                          hid_t fapl);

/// Creates the temporary file of `out`, laid out as `style` says (see create_hdf5_file).
H5SER_CORE_INLINE handle create_for_writing(const atomic_file& out, std::uint64_t userblock = 0, file_style style = file_style::h5ser);

}  // namespace h5ser::detail

#if H5SER_CORE_DEFINITIONS
#include "h5ser/detail/posix/file-inl.hpp"
#endif
