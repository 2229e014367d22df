// h5ser/config.hpp: header-only (the default) or with a separately compiled core.
//
// h5ser is header-only: include it and link HDF5. Every translation unit that saves or loads then
// also compiles h5ser's non-template core (files, the seal, atomic saves, checks, error messages,
// hashing) -- about half of its compile time. A project with many such translation units can
// compile that core once instead, as fmt and spdlog allow:
//
//   - CMake: link `h5ser::compiled` instead of `h5ser::h5ser`. It builds `src/h5ser.cpp` into a
//     static library and defines H5SER_COMPILED_CORE for everything that links it.
//   - Anything else: define H5SER_COMPILED_CORE for every translation unit of the program, and
//     compile `src/h5ser.cpp` once (or, with the single header, one .cpp file that defines
//     H5SER_CORE_IMPLEMENTATION before including it).
//
// Both ways give the same behaviour and the same files. A program must use one of them
// throughout: mixing the two defines the core functions twice.
#pragma once

#if defined(H5SER_COMPILED_CORE) && !defined(H5SER_CORE_IMPLEMENTATION)
// A user translation unit with the compiled core: the headers declare the core functions only.
#define H5SER_CORE_DEFINITIONS 0
#else
// Header-only, or the core's own translation unit: the headers define them.
#define H5SER_CORE_DEFINITIONS 1
#endif

#if defined(H5SER_COMPILED_CORE)
#define H5SER_CORE_INLINE
#else
#define H5SER_CORE_INLINE inline
#endif
