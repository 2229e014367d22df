// h5ser/detail/hdf5.hpp: RAII over HDF5 ids, and HDF5's error stack turned into h5ser::error.
#pragma once

#include <hdf5.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "h5ser/error.hpp"
#include "h5ser/config.hpp"

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

/// Where an operation happens, for messages: the file, the C++ field path and the HDF5 path.
struct where {
    std::string_view file;
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

/// Checks an id-returning HDF5 call and takes ownership of the id.
inline handle checked(hid_t id, const where& at, std::string_view what) {
    if (id < 0) throw_hdf5(at, std::string(what));
    return handle(id);
}
/// Checks a status-returning HDF5 call.
inline void check(herr_t status, const where& at, std::string_view what) {
    if (status < 0) throw_hdf5(at, std::string(what));
}

/// Silences HDF5's automatic error printing for the lifetime of this object and restores the
/// caller's handler afterwards, so programs that use HDF5 themselves keep their own setting.
class quiet_hdf5_errors {
public:
    quiet_hdf5_errors() noexcept {
        H5Eget_auto2(H5E_DEFAULT, &func_, &data_);
        H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    }
    quiet_hdf5_errors(const quiet_hdf5_errors&) = delete;
    quiet_hdf5_errors& operator=(const quiet_hdf5_errors&) = delete;
    ~quiet_hdf5_errors() { H5Eset_auto2(H5E_DEFAULT, func_, data_); }

private:
    H5E_auto2_t func_ = nullptr;
    void* data_ = nullptr;
};

#if H5SER_CORE_DEFINITIONS
// ---- core definitions (compiled once with H5SER_COMPILED_CORE; see h5ser/config.hpp) ----

// Built with append(): GCC 12 warns falsely (-Wrestrict, GCC bug 105329) on "[" + std::string.
H5SER_CORE_INLINE where where::child(std::string_view name, bool index) const {
    where w{file, field, h5};
    if (index) {
        w.field.append("[").append(name).append("]");
    } else {
        if (!w.field.empty()) w.field.push_back('.');
        w.field.append(name);
    }
    if (w.h5.empty() || w.h5.back() != '/') w.h5.push_back('/');
    w.h5.append(name);
    return w;
}

H5SER_CORE_INLINE where where::key(std::string_view name) const {
    where w = child(name, true);
    w.field = field;
    w.field.append("[\"").append(name).append("\"]");
    return w;
}

H5SER_CORE_INLINE std::string where::h5_or_root() const { return h5.empty() ? std::string("/") : h5; }

H5SER_CORE_INLINE std::vector<std::string> hdf5_error_stack() {
    std::vector<std::string> lines;
    auto walk = [](unsigned, const H5E_error2_t* e, void* out) -> herr_t {
        auto& sink = *static_cast<std::vector<std::string>*>(out);
        std::string line = e->func_name ? e->func_name : "?";
        line += ": ";
        line += e->desc ? e->desc : "";
        char major[128] = {0};
        char minor[128] = {0};
        H5Eget_msg(e->maj_num, nullptr, major, sizeof major);
        H5Eget_msg(e->min_num, nullptr, minor, sizeof minor);
        line += std::string(" (") + major + ": " + minor + ")";
        sink.push_back(std::move(line));
        return 0;
    };
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, walk, &lines);
    H5Eclear2(H5E_DEFAULT);
    return lines;
}

H5SER_CORE_INLINE void throw_hdf5(const where& at, std::string what, errc code) {
    auto stack = hdf5_error_stack();
    throw error(std::string(at.file),
                problem{code, at.field, at.h5_or_root(), {}, {}, std::move(what)}, std::move(stack));
}

#endif  // H5SER_CORE_DEFINITIONS

}  // namespace h5ser::detail
