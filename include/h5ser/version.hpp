// h5ser/version.hpp: library and file-format versions.
#pragma once

#define H5SER_VERSION_MAJOR 0
#define H5SER_VERSION_MINOR 1
#define H5SER_VERSION_PATCH 0

namespace h5ser {

#define H5SER_VERSION_TEXT_(major, minor, patch) #major "." #minor "." #patch
#define H5SER_VERSION_TEXT(major, minor, patch) H5SER_VERSION_TEXT_(major, minor, patch)

/// The library version written to full-model files (attribute `h5ser_version`), from the macros
/// above, which CMake's project version reads too: the one source of the version.
inline constexpr const char* version = H5SER_VERSION_TEXT(H5SER_VERSION_MAJOR, H5SER_VERSION_MINOR, H5SER_VERSION_PATCH);

/// The layout version written to every file (attribute `h5ser_format_version`). Loaders refuse
/// files of a newer format version; it changes only when older loaders would misread new files.
inline constexpr int format_version = 2;

}  // namespace h5ser
