// h5ser/detail/format/format-inl.hpp: definitions of h5ser/detail/format/format.hpp (compiled once with the
// compiled core; see h5ser/config.hpp).
#pragma once

#include "h5ser/detail/format/format.hpp"

namespace h5ser::detail {

H5SER_CORE_INLINE file_header read_header(hid_t root, const std::string& path, const manifest* contents, bool sealed_read,
                                          bool accept_foreign) {
    const where at{path, {}, "/"};
    if (H5Aexists(root, format::version_attribute) <= 0) {
        if (accept_foreign && !contents) {
            file_header header;
            header.foreign = true;
            return header;
        }
        throw error(path, problem{errc::not_h5ser_file,
                                  {},
                                  "/",
                                  std::string("root attribute ") + format::version_attribute,
                                  {},
                                  "this HDF5 file was not written by h5ser: load it with h5ser::load<Model, h5ser::foreign>(path), "
                                  "or convert it with `h5ser convert IN OUT --from hdf5` (Keras files: h5ser::keras::load_weights)"});
    }
    problem_list problems;
    const auto version = read_attribute<int>(root, format::version_attribute, at, problems);
    const auto mode = read_string_attribute(root, format::mode_attribute, at);
    problems.throw_if_any(path);
    file_header header;
    header.format_version = *version;
    if (*version > format_version || *version < 1) {
        throw error(path, problem{errc::unsupported_format,
                                  {},
                                  "/",
                                  "h5ser format version " + std::to_string(format_version) + " or older",
                                  "format version " + std::to_string(*version),
                                  "the file was written by a newer h5ser; upgrade h5ser to load it"});
    }
    if (mode && *mode == format::mode_name(save_mode::weights_only)) header.mode = save_mode::weights_only;
    else if (mode && *mode == format::mode_name(save_mode::full_model)) header.mode = save_mode::full_model;
    else
        throw error(path, problem{errc::not_h5ser_file,
                                  {},
                                  "/",
                                  "h5ser_mode \"full_model\" or \"weights_only\"",
                                  mode ? "\"" + *mode + "\"" : std::string("no h5ser_mode attribute"),
                                  {}});
    // A format-2 file read past its seal must have come with its manifest, which agrees with the
    // root attributes; checksums are only there.
    // (A file whose seal was stripped reads like a file from another program: no manifest, so no
    // checksums per dataset, but a strict load still checks the fingerprint.)
    if (sealed_read && header.format_version >= 2 && !contents && has_seal(path)) {
        throw error(path, problem{errc::checksum_mismatch,
                                  {},
                                  "/",
                                  "a format-2 file with its seal and manifest",
                                  "neither",
                                  "the file's seal was removed or damaged since h5ser wrote it"});
    }
    if (contents && (contents->format_version() != static_cast<std::uint32_t>(header.format_version) || contents->mode() != header.mode)) {
        throw error(path,
                    problem{errc::checksum_mismatch,
                            {},
                            "/",
                            "format version " + std::to_string(header.format_version) + ", " + std::string(format::mode_name(header.mode)),
                            "a manifest of format version " + std::to_string(contents->format_version()) + ", " +
                                std::string(format::mode_name(contents->mode())),
                            "the root attributes and the manifest disagree: the file was changed since h5ser wrote it"});
    }
    return header;
}

H5SER_CORE_INLINE void write_root_attributes(hid_t root, const root_attributes& a, const where& at, const attribute_ids& ids) {
    write_attribute(root, format::version_attribute, format_version, at, ids);
    write_attribute(root, format::mode_attribute, std::string(format::mode_name(a.mode)), at, ids);
    if (a.mode != save_mode::weights_only) {
        write_attribute(root, format::library_version_attribute, std::string(h5ser::version), at, ids);
        write_attribute(root, format::model_type_attribute, std::string(a.model_type), at, ids);
        write_attribute(root, format::schema_attribute, std::string(a.schema), at, ids);
    }
    write_attribute(root, format::fingerprint_attribute, std::string(a.fingerprint), at, ids);
}

}  // namespace h5ser::detail
