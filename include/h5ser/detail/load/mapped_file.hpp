// h5ser/detail/load/mapped_file.hpp: a loaded file mapped into memory, private and copy-on-write, kept
// alive by the tensors that view it (as safetensors and GGUF load theirs, but verified first).
//
// A private mapping is the file's page cache until a page is written: writing to a loaded tensor
// copies that page and never reaches the file. The mapping holds the file's inode, so a later
// atomic save (rename over the path) or a deletion leaves the views intact. What mapping adds is
// documented in docs/performance.md: another program that truncates or rewrites the file in place
// changes pages not yet read, and an I/O error on a page becomes SIGBUS.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "h5ser/config.hpp"
#include "h5ser/detail/load/opened_file.hpp"

namespace h5ser::detail {

class mapped_file {
public:
    /// Maps all of `file`, through the descriptor its seal was checked on, which must still have
    /// `expected_size` bytes (the size the seal was checked with); throws an h5ser::error
    /// (errc::io, or errc::file_changed when another program truncated or extended it since).
    static std::shared_ptr<const mapped_file> map(const opened_file& file, std::uint64_t expected_size);

    mapped_file(const mapped_file&) = delete;
    mapped_file& operator=(const mapped_file&) = delete;
    ~mapped_file();

    /// The first byte. Writable: the mapping is private, so writes stay in this process.
    [[nodiscard]] unsigned char* data() const noexcept { return static_cast<unsigned char*>(base_); }
    [[nodiscard]] std::uint64_t size() const noexcept { return size_; }

private:
    mapped_file(void* base, std::uint64_t size) noexcept : base_(base), size_(size) {}
    void* base_;
    std::uint64_t size_;
};

}  // namespace h5ser::detail

#if H5SER_CORE_DEFINITIONS
#include "h5ser/detail/load/mapped_file-inl.hpp"
#endif
