// h5ser/remote.hpp: loads of URLs (opt-in; link the CMake target h5ser::remote, which adds libcurl).
//
//     #include <h5ser/h5ser.hpp>
//     #include <h5ser/remote.hpp>
//
//     auto model = h5ser::load<Gpt2>("https://models.example.com/gpt2.h5");
//     h5ser::load_into(model, "http://127.0.0.1:8080/checkpoints/step-1000.h5");
//
// A program that includes this header loads http:// and https:// URLs through the same
// h5ser::load and h5ser::load_into calls as paths. The file must be sealed, of format 2, without
// chunked tensors (what h5ser::save writes by default): one request reads its seal and manifest,
// its tensors come by parallel ranged GETs straight into their memory, each checked against its
// checksum as it arrives, and the load is all-or-nothing as from disk. h5ser::remote_options
// (h5ser/remote/options.hpp) sets connections, timeouts, retries, certificates and credentials.
// docs/remote.md says what is verified and how each failure is reported.
#pragma once

#include "h5ser/detail/load/ranged_source.hpp"
#include "h5ser/remote/detail/http.hpp"
#include "h5ser/remote/options.hpp"

namespace h5ser::detail::http {
/// Makes h5ser::load and load_into take URLs in this program: set once, before main, by every
/// translation unit that includes this header.
inline const bool url_loads_registered = [] {
    set_remote_opener(&open);
    return true;
}();
}  // namespace h5ser::detail::http
