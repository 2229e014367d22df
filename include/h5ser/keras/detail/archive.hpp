// h5ser/keras/detail/archive.hpp: `.keras` zip archives (libzip), and HDF5 files opened from memory.
//
// A `.keras` file is a zip holding config.json, metadata.json and model.weights.h5. The weights
// member is read into memory and opened with HDF5's core driver: nothing is extracted to disk.
// Only programs that include h5ser/keras.hpp (and link the h5ser::keras target) need libzip.
#pragma once

#include <hdf5.h>
#include <zip.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "h5ser/detail/hdf5/dataset.hpp"
#include "h5ser/detail/hdf5/hdf5.hpp"
#include "h5ser/detail/posix/file.hpp"
#include "h5ser/error.hpp"

namespace h5ser::keras::detail {

using namespace h5ser::detail;  // the core's internals: handle, where, checked, problem_list, ...

/// True when the file starts with a zip local-file header ("PK\3\4"): Keras sniffs the same way.
inline bool has_zip_signature(const std::string& path) {
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
    if (!f) return false;
    unsigned char magic[4] = {0, 0, 0, 0};
    return std::fread(magic, 1, 4, f.get()) == 4 && magic[0] == 'P' && magic[1] == 'K' && magic[2] == 3 && magic[3] == 4;
}

class zip_archive {
public:
    explicit zip_archive(std::string path) : path_(std::move(path)) {
        int code = 0;
        archive_ = zip_open(path_.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &code);
        if (!archive_) {
            zip_error_t err;
            zip_error_init_with_code(&err, code);
            const std::string what = zip_error_strerror(&err);
            zip_error_fini(&err);
            throw error(path_, problem{errc::not_hdf5, {}, {}, "a .keras zip archive", "a file libzip cannot open", what});
        }
    }
    zip_archive(const zip_archive&) = delete;
    zip_archive& operator=(const zip_archive&) = delete;
    ~zip_archive() {
        if (archive_) zip_discard(archive_);
    }

    [[nodiscard]] bool has(const char* member) const { return zip_name_locate(archive_, member, 0) >= 0; }

    /// The bytes of `member`, or nullopt when the archive has no such member. Sizes are checked
    /// before anything is allocated: a member claiming more than deflate could ever produce from
    /// its compressed bytes is a zip bomb and is refused.
    [[nodiscard]] std::optional<std::vector<unsigned char>> read(const char* member) const {
        zip_stat_t st;
        zip_stat_init(&st);
        if (zip_stat(archive_, member, 0, &st) != 0) return std::nullopt;
        const where at{path_, {}, std::string("/") + member};
        if (!(st.valid & ZIP_STAT_SIZE) || !(st.valid & ZIP_STAT_COMP_SIZE))
            throw error(path_, problem{errc::unsafe_file, {}, at.h5, "a zip member with known sizes", "unknown sizes", {}});
        if (st.size > st.comp_size * max_compression_ratio + (std::uint64_t{1} << 20))
            throw error(path_, problem{errc::unsafe_file,
                                       {},
                                       at.h5,
                                       "a zip member stored in this archive",
                                       "a member declaring " + std::to_string(st.size) + " bytes from " + std::to_string(st.comp_size) +
                                           " compressed bytes (a zip bomb)",
                                       {}});
        zip_file_t* file = zip_fopen(archive_, member, 0);
        if (!file) throw error(path_, problem{errc::io, {}, at.h5, {}, {}, std::string("cannot open member: ") + zip_strerror(archive_)});
        std::vector<unsigned char> bytes(static_cast<std::size_t>(st.size));
        const zip_int64_t got = bytes.empty() ? 0 : zip_fread(file, bytes.data(), bytes.size());
        // libzip checks the CRC once the whole member has been read: a short or failed read is corruption.
        const bool ok = got == static_cast<zip_int64_t>(bytes.size());
        const std::string why = ok ? std::string() : zip_file_strerror(file);
        zip_fclose(file);
        if (!ok) throw error(path_, problem{errc::io, {}, at.h5, {}, {}, "cannot read member: " + why});
        return bytes;
    }

private:
    std::string path_;
    zip_t* archive_ = nullptr;
};

/// Opens an HDF5 file image held in memory, read-only, through the core driver (HDF5 copies it).
inline handle open_hdf5_image(const std::vector<unsigned char>& image, const std::string& display_path) {
    const where at{display_path, {}, "/"};
    if (image.size() < 8 || image[0] != 0x89 || image[1] != 'H' || image[2] != 'D' || image[3] != 'F')
        throw error(display_path, problem{errc::not_hdf5, {}, {}, {}, {}, "the member has no HDF5 signature"});
    handle fapl = file_access(at);
    check(H5Pset_fapl_core(fapl.get(), 1 << 20, 0), at, "H5Pset_fapl_core");
    check(H5Pset_file_image(fapl.get(), const_cast<unsigned char*>(image.data()), image.size()), at, "H5Pset_file_image");
    return checked(H5Fopen(display_path.c_str(), H5F_ACC_RDONLY, fapl.get()), at, "cannot open the HDF5 image");
}

}  // namespace h5ser::keras::detail
