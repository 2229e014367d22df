// h5ser/error.hpp: the one exception type h5ser throws, and the problems it lists.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "h5ser/config.hpp"

namespace h5ser {

/// Stable error codes. Their numeric values are part of the API: append only.
enum class errc : int {
    io = 1,                      ///< the operating system or HDF5 failed to read or write
    file_not_found = 2,          ///< the file to load does not exist
    not_hdf5 = 3,                ///< the file exists but is not an HDF5 file
    not_h5ser_file = 4,          ///< an HDF5 file without h5ser's root attributes
    unsupported_format = 5,      ///< written by a newer, incompatible h5ser format version
    missing_field = 6,           ///< a field of the struct has no counterpart in the file
    unexpected_field = 7,        ///< the file holds an object the struct has no field for
    shape_mismatch = 8,          ///< dataset or attribute shape differs from the field's
    dtype_mismatch = 9,          ///< element type differs from the field's
    kind_mismatch = 10,          ///< e.g. the field is a tensor, the file holds a group
    invalid_value = 11,          ///< a value h5ser refuses to store or load (NUL in a string, bad bool)
    mode_mismatch = 12,          ///< e.g. load<T>() of a weights-only file
    hdf5 = 13,                   ///< an HDF5 call failed unexpectedly; see hdf5_stack()
    unsafe_file = 14,            ///< soft/external links, external or virtual datasets, shape bombs
    checksum_mismatch = 15,      ///< data differs from what was saved (dataset checksum or file fingerprint)
    missing_filter = 16,         ///< a compression filter (HDF5 plugin) is not available
    layer_count_mismatch = 17,   ///< Keras: the struct and the file have different numbers of layers with weights
    weight_count_mismatch = 18,  ///< Keras: a layer of the struct and of the file hold different numbers of weights
    not_keras_file = 19,         ///< Keras: an HDF5 file that is none of the Keras weight layouts
    rank_failed = 20,            ///< MPI: another rank failed with an exception that is not an h5ser::error
    isolation_failed = 21,       ///< a file h5ser did not seal crashed or hung the child process that parsed it
    file_changed = 22,           ///< the file was replaced or rewritten while it was being loaded (every retry)
    newer_version = 23,          ///< a struct saved at a newer h5ser::evolution version than the code loading it knows
    upgrade_failed = 24,         ///< an h5ser::evolution upgrade hook threw
    malformed_file = 25,         ///< a file of another format (safetensors) whose own structure is invalid
    needs_local_copy = 26,       ///< a URL of a file h5ser loads only from disk (not sealed, format 1, chunked tensors)
};

/// A short, stable name for an error code ("shape mismatch").
constexpr std::string_view to_string(errc code) noexcept {
    switch (code) {
        case errc::io:
            return "I/O error";
        case errc::file_not_found:
            return "file not found";
        case errc::not_hdf5:
            return "not an HDF5 file";
        case errc::not_h5ser_file:
            return "not an h5ser file";
        case errc::unsupported_format:
            return "unsupported format version";
        case errc::missing_field:
            return "missing field";
        case errc::unexpected_field:
            return "unexpected object";
        case errc::shape_mismatch:
            return "shape mismatch";
        case errc::dtype_mismatch:
            return "dtype mismatch";
        case errc::kind_mismatch:
            return "kind mismatch";
        case errc::invalid_value:
            return "invalid value";
        case errc::mode_mismatch:
            return "mode mismatch";
        case errc::hdf5:
            return "HDF5 error";
        case errc::unsafe_file:
            return "unsafe file";
        case errc::checksum_mismatch:
            return "checksum mismatch";
        case errc::missing_filter:
            return "missing filter";
        case errc::layer_count_mismatch:
            return "layer count mismatch";
        case errc::weight_count_mismatch:
            return "weight count mismatch";
        case errc::not_keras_file:
            return "not a Keras file";
        case errc::rank_failed:
            return "another MPI rank failed";
        case errc::isolation_failed:
            return "isolated parse failed";
        case errc::file_changed:
            return "file changed while loading";
        case errc::newer_version:
            return "newer version";
        case errc::upgrade_failed:
            return "upgrade failed";
        case errc::malformed_file:
            return "malformed file";
        case errc::needs_local_copy:
            return "needs a local copy";
    }
    return "error";
}

/// One thing that is wrong, located both in the C++ struct and in the file.
struct problem {
    errc code = errc::io;
    std::string field_path;  ///< C++ path, e.g. "layer_2.kernel"; empty for the file itself
    std::string hdf5_path;   ///< object path in the file, e.g. "/layer_2/kernel"
    std::string expected;    ///< e.g. "dataset float32[4, 8]"
    std::string found;       ///< e.g. "dataset float32[4, 9]"
    std::string detail;      ///< free text when expected/found do not say it all

    /// "shape mismatch at layer_2.kernel (/layer_2/kernel): expected float32[4, 8], found float32[4, 9]"
    [[nodiscard]] std::string describe() const;
};

/// The exception h5ser throws. `what()` is a complete, human-readable message; the accessors give
/// the same facts to programs. A failed load lists every problem found, not just the first.
class error : public std::runtime_error {
public:
    error(std::string file, std::vector<problem> problems, std::vector<std::string> hdf5_stack = {});
    error(std::string file, problem single, std::vector<std::string> hdf5_stack = {});
    error(const error&) = default;
    error(error&&) = default;
    error& operator=(const error&) = default;
    error& operator=(error&&) = default;
    ~error() override;  // out of line: with the compiled core, the vtable lives there

    /// The code of the first problem.
    [[nodiscard]] errc code() const noexcept { return problems_.empty() ? errc::io : problems_.front().code; }
    /// C++ field path of the first problem ("layer_2.kernel").
    [[nodiscard]] const std::string& field_path() const noexcept { return first().field_path; }
    /// HDF5 object path of the first problem ("/layer_2/kernel").
    [[nodiscard]] const std::string& hdf5_path() const noexcept { return first().hdf5_path; }
    /// The file being saved or loaded.
    [[nodiscard]] const std::string& file() const noexcept { return file_; }
    /// Every problem found (a strict load reports all of them at once).
    [[nodiscard]] const std::vector<problem>& problems() const noexcept { return problems_; }
    /// HDF5's error stack, innermost call first, when an HDF5 call failed.
    [[nodiscard]] const std::vector<std::string>& hdf5_stack() const noexcept { return hdf5_stack_; }

private:
    [[nodiscard]] const problem& first() const noexcept {
        static const problem none{};
        return problems_.empty() ? none : problems_.front();
    }

    static std::string compose(const std::string& file, const std::vector<problem>& problems, const std::vector<std::string>& stack);

    std::string file_;
    std::vector<problem> problems_;
    std::vector<std::string> hdf5_stack_;
};

}  // namespace h5ser

#if H5SER_CORE_DEFINITIONS
#include "h5ser/detail/error-inl.hpp"
#endif
