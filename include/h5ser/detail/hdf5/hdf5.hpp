// h5ser/detail/hdf5/hdf5.hpp: RAII over HDF5 ids, and HDF5's error stack turned into h5ser::error.
#pragma once

#include <hdf5.h>

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "h5ser/config.hpp"
#include "h5ser/error.hpp"

namespace h5ser::detail {

/// Owns one reference to an HDF5 id of any type (file, group, dataset, attribute, dataspace,
/// datatype, property list) and drops it on destruction. Never wraps library-owned predefined ids.
class handle {
public:
    handle() noexcept = default;
    explicit handle(hid_t id) noexcept : id_(id) {}
    handle(const handle&) = delete;
    handle& operator=(const handle&) = delete;
    handle(handle&& other) noexcept : id_(std::exchange(other.id_, H5I_INVALID_HID)) {}
    handle& operator=(handle&& other) noexcept {
        if (this != &other) {
            reset();
            id_ = std::exchange(other.id_, H5I_INVALID_HID);
        }
        return *this;
    }
    ~handle() { reset(); }

    [[nodiscard]] hid_t get() const noexcept { return id_; }
    [[nodiscard]] bool valid() const noexcept { return id_ >= 0; }
    explicit operator bool() const noexcept { return valid(); }

    /// Gives up ownership without closing.
    hid_t release() noexcept { return std::exchange(id_, H5I_INVALID_HID); }

    /// Closes now and reports failure (negative) instead of swallowing it like the destructor.
    /// Closing flushes buffered writes, so a failing write can surface only here. The id is given
    /// up either way: closing a file id again after a failed close crashes HDF5 1.10.
    [[nodiscard]] int close() noexcept {
        const hid_t id = release();
        return id >= 0 ? H5Idec_ref(id) : 0;
    }

    void reset() noexcept {
        if (id_ >= 0) H5Idec_ref(id_);
        id_ = H5I_INVALID_HID;
    }

private:
    hid_t id_ = H5I_INVALID_HID;
};

/// The file a `where` names. Owned, so that a `where` kept by an object (a row_dataset, a writer)
/// stays valid whatever happens to the string it was made from; shared, so that copying a `where`,
/// which the walks do at every node, allocates nothing for it.
class file_name {
public:
    file_name() = default;
    file_name(std::string_view name) : name_(std::make_shared<const std::string>(name)) {}  // NOLINT: implicit by design
    file_name(const std::string& name) : file_name(std::string_view(name)) {}               // NOLINT
    file_name(const char* name) : file_name(std::string_view(name)) {}                      // NOLINT

    operator std::string_view() const noexcept { return view(); }  // NOLINT
    [[nodiscard]] std::string_view view() const noexcept { return name_ ? std::string_view(*name_) : std::string_view(); }
    [[nodiscard]] bool empty() const noexcept { return view().empty(); }

private:
    std::shared_ptr<const std::string> name_;
};

/// Where an operation happens, for messages: the file, the C++ field path and the HDF5 path.
struct where {
    file_name file;
    std::string field;
    std::string h5;

    /// A field or sequence element (`index`: C++ path `field[name]`).
    [[nodiscard]] where child(std::string_view name, bool index = false) const;
    /// A map entry: C++ path `field["key"]`.
    [[nodiscard]] where key(std::string_view name) const;
    [[nodiscard]] std::string h5_or_root() const;
};

/// Reads HDF5's current error stack, innermost first, as "H5Dread: can't read data (Dataset: Read failed)".
H5SER_CORE_INLINE std::vector<std::string> hdf5_error_stack();

[[noreturn]] H5SER_CORE_INLINE void throw_hdf5(const where& at, std::string what, errc code = errc::hdf5);

/// Throws an h5ser::error of code io: `what` failed with errno `err`.
[[noreturn]] H5SER_CORE_INLINE void throw_io(const std::string& file, const std::string& what, int err);

/// Checks an id-returning HDF5 call and takes ownership of the id.
inline handle checked(hid_t id, const where& at, std::string_view what) {
    if (id < 0) throw_hdf5(at, std::string(what));
    return handle(id);
}
/// Checks a status-returning HDF5 call.
inline void check(herr_t status, const where& at, std::string_view what) {
    if (status < 0) throw_hdf5(at, std::string(what));
}

/// How many hdf5_scope objects this thread has open (only the outermost takes the gate).
H5SER_CORE_INLINE int& hdf5_scope_depth() noexcept;
/// True in an isolated child: there, nothing takes the gate (the forking thread held it).
H5SER_CORE_INLINE bool& in_isolated_child() noexcept;

/// Held around h5ser's use of libhdf5 (every call that opens, reads or writes a file). Silences
/// HDF5's automatic error printing and restores the caller's handler afterwards (h5ser reports
/// errors itself, with the field path; programs that use HDF5 themselves keep their own setting),
/// and holds the fork gate shared.
class hdf5_scope {
public:
    hdf5_scope() noexcept;
    hdf5_scope(const hdf5_scope&) = delete;
    hdf5_scope& operator=(const hdf5_scope&) = delete;
    ~hdf5_scope();

private:
    H5E_auto2_t func_ = nullptr;
    void* data_ = nullptr;
    bool gated_ = false;
};

}  // namespace h5ser::detail

#if H5SER_CORE_DEFINITIONS
#include "h5ser/detail/hdf5/hdf5-inl.hpp"
#endif
