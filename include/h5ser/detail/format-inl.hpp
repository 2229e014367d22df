// h5ser/detail/format-inl.hpp: definitions of h5ser/detail/format.hpp (compiled once with the
// compiled core; see h5ser/config.hpp).
#pragma once

#include "h5ser/detail/format.hpp"

namespace h5ser::detail {

H5SER_CORE_INLINE file_header read_header(hid_t root, const std::string& path) {
    const where at{path, {}, "/"};
    if (H5Aexists(root, format::version_attribute) <= 0) {
        throw error(path, problem{errc::not_h5ser_file, {}, "/", std::string("root attribute ") + format::version_attribute, {},
                                  "this HDF5 file was not written by h5ser (Keras files load with h5ser::keras::load_weights)"});
    }
    problem_list problems;
    const auto version = read_attribute<int>(root, format::version_attribute, at, problems);
    const auto mode = read_string_attribute(root, format::mode_attribute, at);
    problems.throw_if_any(path);
    file_header header;
    header.format_version = *version;
    if (*version > format_version || *version < 1) {
        throw error(path, problem{errc::unsupported_format, {}, "/", "h5ser format version " + std::to_string(format_version) + " or older",
                                  "format version " + std::to_string(*version),
                                  "the file was written by a newer h5ser; upgrade h5ser to load it"});
    }
    if (mode && *mode == format::mode_name(save_mode::weights_only)) header.mode = save_mode::weights_only;
    else if (mode && *mode == format::mode_name(save_mode::full_model)) header.mode = save_mode::full_model;
    else
        throw error(path, problem{errc::not_h5ser_file, {}, "/", "h5ser_mode \"full_model\" or \"weights_only\"",
                                  mode ? "\"" + *mode + "\"" : std::string("no h5ser_mode attribute"), {}});
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
