// h5ser/core.hpp: the lean entry of h5ser: tensors, policies, h5ser::save and h5ser::load, for
// translation units that only save and load (as fmt's base.h beside format.h). The rest of the API
// (save_async, checkpoint_manager, inspect, fingerprint, verify_file, data files) is in
// <h5ser/h5ser.hpp>, which includes this.
//
//     #include <h5ser/core.hpp>
//     h5ser::save(model, "m.h5");
//     auto m = h5ser::load<Model>("m.h5");
#pragma once

#include "h5ser/any_tensor.hpp"       // h5ser::any_tensor: element type and shape taken from the file
#include "h5ser/element_type.hpp"     // h5ser::element_type, h5ser::dtype_name
#include "h5ser/error.hpp"            // h5ser::error, h5ser::errc, h5ser::problem
#include "h5ser/evolution.hpp"        // h5ser::evolution<T>: a struct's version, old field names, upgrade hook
#include "h5ser/float16.hpp"          // h5ser::float16, h5ser::bfloat16
#include "h5ser/load.hpp"             // h5ser::load, h5ser::load_into
#include "h5ser/load_report.hpp"      // h5ser::load_report: what a (lenient) load skipped
#include "h5ser/old_group.hpp"        // h5ser::old_group: what an upgrade hook reads of an old group
#include "h5ser/optimizer_state.hpp"  // h5ser::optimizer_state, h5ser::is_optimizer_state
#include "h5ser/policy.hpp"           // h5ser::full_model, weights_only, strict, lenient, verify, no_verify, trusted, untrusted
#include "h5ser/progress.hpp"         // h5ser::progress_callback for long saves, loads and checks
#include "h5ser/reflect.hpp"          // h5ser::field_names_v, h5ser::type_name, h5ser::for_each_field
#include "h5ser/save.hpp"             // h5ser::save
#include "h5ser/storage_policy.hpp"   // h5ser::contiguous, auto_chunk, chunked, deflate, ..., presets, stored
#include "h5ser/tensor.hpp"           // h5ser::tensor<T, Rank>
#include "h5ser/tensor_adapter.hpp"   // h5ser::tensor_adapter: store your own array types
#include "h5ser/type_mapping.hpp"     // how C++ types map onto HDF5
#include "h5ser/version.hpp"          // h5ser::version, h5ser::format_version
