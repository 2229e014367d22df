// h5ser/mapping.hpp: the former name of h5ser/type_mapping.hpp (how C++ types map onto HDF5; the
// name said nothing about which mapping, and h5ser also maps files into memory). Kept for one
// release; include <h5ser/type_mapping.hpp>.
#pragma once

#include "h5ser/type_mapping.hpp"
