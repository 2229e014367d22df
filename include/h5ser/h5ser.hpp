// h5ser/h5ser.hpp: the whole public API of h5ser in one include (<h5ser/core.hpp> is the lean
// part: tensors, policies, save and load).
//
//     #include <h5ser/h5ser.hpp>
//     h5ser::save(model, "m.h5");
//     auto m = h5ser::load<Model>("m.h5");
#pragma once

#include "h5ser/checkpoint.hpp"   // h5ser::checkpoint_manager
#include "h5ser/core.hpp"         // tensors, policies, h5ser::save, h5ser::load, h5ser::load_into
#include "h5ser/data.hpp"         // h5ser::data_file, h5ser::row_dataset: appendable arrays of rows
#include "h5ser/fingerprint.hpp"  // h5ser::fingerprint, h5ser::file_fingerprint
#include "h5ser/inspect.hpp"      // h5ser::inspect: the tree of any HDF5 file
#include "h5ser/read_tensor.hpp"  // h5ser::read_tensor: one tensor of a file by its path
#include "h5ser/safetensors.hpp"  // h5ser::safetensors::save (loads: h5ser::load reads .safetensors files)
#include "h5ser/save_async.hpp"   // h5ser::save_async, h5ser::pending_save: saves in the background
#include "h5ser/verify.hpp"       // h5ser::verify_file: checksums and fingerprint without the struct
