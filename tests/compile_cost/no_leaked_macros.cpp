// What h5ser's headers leave defined in a user's translation unit: not XXH_INLINE_ALL, which would
// change how the user's own #include <xxhash.h> compiles; with the compiled core, nothing of
// xxhash.h at all (only src/h5ser.cpp includes it). A failure here is a build error.
#include <h5ser/h5ser.hpp>

#ifdef XXH_INLINE_ALL
#error "h5ser leaks XXH_INLINE_ALL into the user's code (detail/format/hash-inl.hpp must undefine it)"
#endif
#if defined(H5SER_COMPILED_CORE) && defined(XXH_VERSION_MAJOR)
#error "with the compiled core, a user's translation unit includes xxhash.h through h5ser's declarations"
#endif

int h5ser_no_leaked_macros() { return 0; }
