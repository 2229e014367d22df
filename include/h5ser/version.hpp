// h5ser/version.hpp: library and file-format versions.
#pragma once

#define H5SER_VERSION_MAJOR 0
#define H5SER_VERSION_MINOR 1
#define H5SER_VERSION_PATCH 0

namespace h5ser {

/// The library version written to full-model files (attribute `h5ser_version`).
inline constexpr const char* version = "0.1.0";

/// The layout version written to every file (attribute `h5ser_format_version`). Loaders refuse
/// files of a newer format version; it changes only when older loaders would misread new files.
inline constexpr int format_version = 2;

}  // namespace h5ser
