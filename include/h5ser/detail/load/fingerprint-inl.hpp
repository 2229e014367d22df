// h5ser/detail/load/fingerprint-inl.hpp: definitions of h5ser/fingerprint.hpp (compiled once with the compiled core; see
// h5ser/config.hpp).
#pragma once

#include "h5ser/detail/format/format.hpp"
#include "h5ser/detail/format/seal.hpp"
#include "h5ser/detail/hdf5/attribute.hpp"
#include "h5ser/detail/hdf5/hdf5.hpp"
#include "h5ser/detail/isolation/isolation.hpp"
#include "h5ser/detail/posix/file.hpp"

#include "h5ser/fingerprint.hpp"

namespace h5ser {

H5SER_CORE_INLINE std::string file_fingerprint(const std::string& path) {
    // An intact format-2 file says it in its manifest, which needs no libhdf5; any other file is
    // parsed in a child process (see detail/isolation/isolation.hpp).
    if (!detail::in_isolated_child()) {
        const detail::opened_file file = detail::opened_file::open(path);
        const detail::seal_check seal = detail::check_seal(file, true);
        if (seal.contents) return detail::to_hex(seal.contents->fingerprint());
    }
    if (detail::needs_isolation(detail::isolation::hdf5_parses, path))
        return detail::run_isolated<std::string>(path, [&](const progress_callback&) { return file_fingerprint(path); });
    detail::hdf5_scope hdf5;
    detail::handle file = detail::open_for_reading(path);
    const detail::where at{path, {}, "/"};
    detail::handle root = detail::open_root(file.get(), path);
    auto stored = detail::read_string_attribute(root.get(), detail::format::fingerprint_attribute, at);
    if (!stored) throw error(path, problem{errc::not_h5ser_file, {}, "/", "root attribute fingerprint", {}, {}});
    return *stored;
}

}  // namespace h5ser
