// Compile-time baseline: a translation unit that only includes <hdf5.h> and makes one call.
#include <hdf5.h>

int main() { return H5open() < 0 ? 1 : 0; }
