// src/h5ser.cpp: h5ser's non-template core, compiled once (see h5ser/config.hpp).
//
// Built by the CMake target h5ser::compiled, which defines H5SER_COMPILED_CORE for this file and
// for everything that links it. Every header that declares core functions defines them here.
#ifndef H5SER_COMPILED_CORE
#error "compile src/h5ser.cpp with H5SER_COMPILED_CORE defined, as for every translation unit that uses it"
#endif
#define H5SER_CORE_IMPLEMENTATION
#include "h5ser/h5ser.hpp"
