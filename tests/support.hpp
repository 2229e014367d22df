// Helpers shared by the test suites: scratch directories, byte comparisons, and raw HDF5 calls to
// build files h5ser would never write (so the loader's checks can be exercised).
#pragma once

#include <doctest/doctest.h>
#include <hdf5.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>
#include <type_traits>
#include <utility>

#include <h5ser/h5ser.hpp>

namespace test {

// Which sanitizers this test binary runs under (GCC defines __SANITIZE_*, Clang has __has_feature).
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool address_sanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool address_sanitized = true;
#else
inline constexpr bool address_sanitized = false;
#endif
#else
inline constexpr bool address_sanitized = false;
#endif
#if defined(__SANITIZE_THREAD__)
inline constexpr bool thread_sanitized = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
inline constexpr bool thread_sanitized = true;
#else
inline constexpr bool thread_sanitized = false;
#endif
#else
inline constexpr bool thread_sanitized = false;
#endif

/// A fresh directory under the build tree's temp area, removed when the test ends.
class scratch_dir {
public:
    scratch_dir() {
        static std::atomic<int> counter{0};
        path_ = std::filesystem::temp_directory_path() / ("h5ser-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
        std::filesystem::remove_all(path_);
        std::filesystem::create_directories(path_);
    }
    scratch_dir(const scratch_dir&) = delete;
    scratch_dir& operator=(const scratch_dir&) = delete;
    ~scratch_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    [[nodiscard]] std::string file(const std::string& name) const { return (path_ / name).string(); }
    [[nodiscard]] const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

/// How many entries a directory holds (a save must leave exactly the target, no temporaries).
inline std::size_t count_files(const std::filesystem::path& dir) {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir)) ++n;
    return n;
}

/// Bitwise equality of two tensors (NaN payloads, -0.0 and all).
template <class T, std::size_t R>
bool same_bytes(const h5ser::tensor<T, R>& a, const h5ser::tensor<T, R>& b) {
    return a.shape() == b.shape() && (a.size() == 0 || std::memcmp(a.data(), b.data(), a.size_bytes()) == 0);
}
template <class T>
requires std::is_trivially_copyable_v<T>
bool same_bytes(const T& a, const T& b) { return std::memcmp(&a, &b, sizeof(T)) == 0; }

/// Runs `f` and returns the h5ser::error it throws; fails the test if it throws nothing.
template <class F>
h5ser::error expect_error(F&& f) {
    try {
        f();
    } catch (const h5ser::error& e) {
        return e;
    }
    FAIL("expected h5ser::error, nothing was thrown");
    throw std::logic_error("unreachable");
}

/// Does Debian's /usr/bin/python3 have h5py? Tests that need it print "SKIPPED:" otherwise.
inline bool have_h5py() { return std::system("/usr/bin/python3 -c 'import h5py' 2>/dev/null") == 0; }

/// Runs the Python `script` with /usr/bin/python3 on `file` (sys.argv[1]), from a file in `dir`;
/// returns its exit status (0 when every assert in it held).
inline int run_h5py_script(const scratch_dir& dir, const std::string& script, const std::string& file) {
    const std::string path = dir.file("check.py");
    std::ofstream(path) << script;
    return std::system(("/usr/bin/python3 " + path + " " + file).c_str());
}

/// Every byte of a file (REQUIREs that it can be read).
inline std::string file_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    REQUIRE(in.good());
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

inline bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

/// Flips one bit of byte `byte` of a contiguous dataset's elements in the file (its offset from
/// HDF5): damage the seal's metadata hash does not cover, which only the tensor's checksum finds.
inline void flip_element_bit(const std::string& path, const char* dataset, std::size_t byte = 17) {
    const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    REQUIRE(f >= 0);
    const hid_t d = H5Dopen2(f, dataset, H5P_DEFAULT);
    const haddr_t offset = d >= 0 ? H5Dget_offset(d) : HADDR_UNDEF;
    if (d >= 0) H5Dclose(d);
    H5Fclose(f);
    REQUIRE(offset != HADDR_UNDEF);
    std::fstream io(path, std::ios::in | std::ios::out | std::ios::binary);
    io.seekg(static_cast<std::streamoff>(offset + byte));
    char c = 0;
    io.get(c);
    io.seekp(static_cast<std::streamoff>(offset + byte));
    io.put(static_cast<char>(c ^ 0x04));
}

/// Bytes this process has read through read()/pread() so far (Linux /proc/self/io, "rchar").
inline std::size_t bytes_read_so_far() {
    std::ifstream io("/proc/self/io");
    std::string key;
    std::size_t value = 0;
    while (io >> key >> value)
        if (key == "rchar:") return value;
    return 0;
}

/// A memory figure of this process from /proc/self/status ("VmRSS", "VmHWM", "RssAnon"), in
/// bytes; 0 when it is not there.
inline std::uint64_t status_bytes(const std::string& field) {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line))
        if (line.rfind(field + ":", 0) == 0) return std::stoull(line.substr(field.size() + 1)) * 1024;
    return 0;
}

/// Removes h5ser's seal (see include/h5ser/detail/format/seal.hpp), so the file looks written by another
/// program: loads then skip the seal check and reach the checks behind it.
inline void unseal(const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "r+b");
    REQUIRE(f != nullptr);
    const char zeros[16] = {};
    std::fwrite(zeros, 1, sizeof zeros, f);
    std::fclose(f);
}

/// A raw HDF5 file for tests that need to plant things h5ser never writes. Editing a file h5ser
/// wrote breaks its seal, so the file is unsealed once the edit is done: the tests then check what
/// the loader does with such content in a file from another program.
class raw_file {
public:
    explicit raw_file(const std::string& path, bool create = false) : path_(path), created_(create) {
        id_ = create ? H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT) : H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
        REQUIRE(id_ >= 0);
    }
    raw_file(const raw_file&) = delete;
    raw_file& operator=(const raw_file&) = delete;
    ~raw_file() {
        H5Fclose(id_);
        if (!created_) unseal(path_);
    }
    [[nodiscard]] hid_t id() const { return id_; }

    void write_int_attribute(const char* object, const char* name, long long value) {
        const hid_t space = H5Screate(H5S_SCALAR);
        const hid_t obj = H5Oopen(id_, object, H5P_DEFAULT);
        if (H5Aexists(obj, name) > 0) H5Adelete(obj, name);
        const hid_t attr = H5Acreate2(obj, name, H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT);
        REQUIRE(H5Awrite(attr, H5T_NATIVE_LLONG, &value) >= 0);
        H5Aclose(attr);
        H5Oclose(obj);
        H5Sclose(space);
    }
    void write_string_attribute(const char* object, const char* name, const std::string& value) {
        const hid_t space = H5Screate(H5S_SCALAR);
        const hid_t type = H5Tcopy(H5T_C_S1);
        H5Tset_size(type, value.size());
        const hid_t obj = H5Oopen(id_, object, H5P_DEFAULT);
        if (H5Aexists(obj, name) > 0) H5Adelete(obj, name);
        const hid_t attr = H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
        REQUIRE(H5Awrite(attr, type, value.data()) >= 0);
        H5Aclose(attr);
        H5Oclose(obj);
        H5Tclose(type);
        H5Sclose(space);
    }
    void write_float_dataset(const char* path, std::initializer_list<hsize_t> dims, float fill = 1.0f) {
        hsize_t d[8];
        std::size_t n = 0, count = 1;
        for (hsize_t x : dims) {
            d[n++] = x;
            count *= x;
        }
        std::vector<float> data(count, fill);
        const hid_t space = H5Screate_simple(static_cast<int>(n), d, nullptr);
        const hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
        H5Pset_create_intermediate_group(lcpl, 1);
        const hid_t ds = H5Dcreate2(id_, path, H5T_IEEE_F32LE, space, lcpl, H5P_DEFAULT, H5P_DEFAULT);
        REQUIRE(ds >= 0);
        REQUIRE(H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()) >= 0);
        H5Dclose(ds);
        H5Pclose(lcpl);
        H5Sclose(space);
    }
    void remove(const char* path) { REQUIRE(H5Ldelete(id_, path, H5P_DEFAULT) >= 0); }

private:
    std::string path_;
    bool created_ = false;
    hid_t id_ = H5I_INVALID_HID;
};

#ifdef H5SER_SOURCE_DIR
/// What `document` (a path in the source tree, such as "docs/evolution.md") shows a program
/// printing: the code block after its line `<!-- output: NAME -->`, one '\n' after each line. A
/// test compares a program's real output with it, so the documentation cannot drift from the code.
inline std::string documented_output(const std::string& document, const std::string& name) {
    std::ifstream in(std::string(H5SER_SOURCE_DIR) + "/" + document);
    REQUIRE_MESSAGE(in.good(), "cannot read " << document);
    const std::string marker = "<!-- output: " + name + " -->";
    std::string line;
    while (std::getline(in, line) && line != marker) {}
    REQUIRE_MESSAGE(in.good(), document << " has no line " << marker);
    REQUIRE_MESSAGE((std::getline(in, line) && line.rfind("```", 0) == 0), document << ": no code block after " << marker);
    std::string block;
    while (std::getline(in, line) && line.rfind("```", 0) != 0) block += line + "\n";
    return block;
}
#endif

/// `text` with every occurrence of each `from` replaced by its `to`: a test's scratch paths and
/// type names made the ones its documentation shows.
inline std::string replaced(std::string text, std::initializer_list<std::pair<std::string, std::string>> replacements) {
    for (const auto& [from, to] : replacements)
        for (std::size_t at = text.find(from); !from.empty() && at != std::string::npos; at = text.find(from, at + to.size()))
            text.replace(at, from.size(), to);
    return text;
}

}  // namespace test

#include <dlfcn.h>
#include <execinfo.h>
#include <signal.h>
#include <sys/wait.h>

// Present when the test runs under AddressSanitizer: lets the crash classification run when ASan
// (rather than a signal) reports a memory error.
extern "C" void __sanitizer_set_death_callback(void (*callback)()) __attribute__((weak));

namespace test {

/// How a piece of code run in a child process ended: its exit code (0 to 9), or a crash, attributed
/// to libhdf5 or to anything else (h5ser, the test).
enum class child_outcome { exit_0, exit_1, exit_2, crashed_in_libhdf5, crashed_elsewhere };

namespace detail {
// On SIGSEGV/SIGBUS/SIGFPE/SIGABRT: find the innermost stack frame outside libc and this handler and
// exit 77 when it lies in libhdf5, 78 otherwise. Runs only in a forked child about to die anyway.
inline void classify_crash(int) {
    void* frames[64];
    const int n = ::backtrace(frames, 64);
    for (int i = 0; i < n; ++i) {
        Dl_info info{};
        if (::dladdr(frames[i], &info) == 0 || info.dli_fname == nullptr) continue;
        const std::string object = info.dli_fname;
        const std::string symbol = info.dli_sname ? info.dli_sname : "";
        if (object.find("libc.so") != std::string::npos || symbol.find("classify_crash") != std::string::npos) continue;
        if (symbol.find("on_sanitizer_death") != std::string::npos) continue;
        if (object.find("libasan") != std::string::npos || object.find("libubsan") != std::string::npos) continue;
        if (symbol.find("asan") != std::string::npos || symbol.find("sanitizer") != std::string::npos) continue;
        ::_exit(object.find("libhdf5") != std::string::npos ? 77 : 78);
    }
    ::_exit(78);
}
inline void on_sanitizer_death() { classify_crash(0); }
}  // namespace detail

/// Runs `f` (returning 0, 1 or 2) in a forked child and reports how it ended.
template <class F>
child_outcome run_in_child(F&& f) {
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGABRT}) ::signal(sig, detail::classify_crash);
        if (__sanitizer_set_death_callback != nullptr) __sanitizer_set_death_callback(detail::on_sanitizer_death);
        ::_exit(f());
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    if (WIFEXITED(status)) {
        switch (WEXITSTATUS(status)) {
            case 0:
                return child_outcome::exit_0;
            case 1:
                return child_outcome::exit_1;
            case 2:
                return child_outcome::exit_2;
            case 77:
                return child_outcome::crashed_in_libhdf5;
            default:
                break;
        }
    }
    return child_outcome::crashed_elsewhere;
}

}  // namespace test
