// h5ser/h5ser.hpp: the whole public API of h5ser in one include.
//
//     #include <h5ser/h5ser.hpp>
//     h5ser::save(model, "m.h5");
//     auto m = h5ser::load<Model>("m.h5");
#pragma once

#include "h5ser/error.hpp"            // h5ser::error, h5ser::errc, h5ser::problem
#include "h5ser/float16.hpp"          // h5ser::float16, h5ser::bfloat16
#include "h5ser/element_type.hpp"     // h5ser::element_type, h5ser::dtype_name
#include "h5ser/tensor.hpp"           // h5ser::tensor<T, Rank>
#include "h5ser/tensor_adapter.hpp"   // h5ser::tensor_adapter: store your own array types
#include "h5ser/reflect.hpp"          // h5ser::field_names_v, h5ser::type_name, h5ser::for_each_field
#include "h5ser/policy.hpp"           // h5ser::full_model, weights_only, strict, lenient, verify, no_verify, trusted, untrusted
#include "h5ser/storage_policy.hpp"   // h5ser::contiguous, auto_chunk, chunked, deflate, ..., presets, stored
#include "h5ser/optimizer_state.hpp"  // h5ser::optimizer_state, h5ser::is_optimizer_state
#include "h5ser/mapping.hpp"          // how C++ types map onto HDF5
#include "h5ser/version.hpp"          // h5ser::version, h5ser::format_version
#include "h5ser/progress.hpp"         // h5ser::progress_callback for long saves, loads and checks
#include "h5ser/save.hpp"             // h5ser::save
#include "h5ser/save_async.hpp"       // h5ser::save_async, h5ser::pending_save: saves in the background
#include "h5ser/load.hpp"             // h5ser::load, h5ser::load_into
#include "h5ser/inspect.hpp"          // h5ser::inspect: the tree of any HDF5 file
#include "h5ser/fingerprint.hpp"      // h5ser::fingerprint, h5ser::file_fingerprint
#include "h5ser/verify.hpp"           // h5ser::verify_file: checksums and fingerprint without the struct
#include "h5ser/checkpoint.hpp"       // h5ser::checkpoint_manager
#include "h5ser/data.hpp"             // h5ser::data_file, h5ser::row_dataset: appendable arrays of rows
