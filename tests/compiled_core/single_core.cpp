// The core of the single header compiled once (see h5ser/config.hpp): what a project without
// CMake does with single_include/h5ser/h5ser.hpp. Every translation unit of the program is built
// with H5SER_COMPILED_CORE; this one also defines H5SER_CORE_IMPLEMENTATION.
#define H5SER_CORE_IMPLEMENTATION
#include <h5ser/h5ser.hpp>
