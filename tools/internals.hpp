// The library internals the h5ser tool uses, on purpose and nowhere else. Everything else comes
// from the public API (h5ser::inspect, h5ser::verify_file, h5ser::keras::read_model_config, ...).
// The tool works on files without a C++ struct, so it needs what the API keeps for structs:
// tensors copied as the bytes and types a file holds, and h5ser files written object by object.
#pragma once

#include <h5ser/h5ser.hpp>
#include <h5ser/keras.hpp>

namespace h5ser_cli::internal {

// HDF5 ids, locations for messages, and HDF5's error stack as h5ser::error.
using h5ser::detail::check;
using h5ser::detail::checked;
using h5ser::detail::handle;
using h5ser::detail::hdf5_scope;
using h5ser::detail::throw_hdf5;
using h5ser::detail::where;

// Parsing files h5ser did not seal in a child process (the library's isolation).
using h5ser::detail::isolation;
using h5ser::detail::needs_isolation;
using h5ser::detail::run_isolated;

// Reading any HDF5 file (after the seal check, where there is one) as stored.
using h5ser::detail::dataset_view;
using h5ser::detail::element_text;
using h5ser::detail::extent;
using h5ser::detail::has_seal;
using h5ser::detail::inspect_dataset;
using h5ser::detail::inspect_opened;
using h5ser::detail::is_url;
using h5ser::detail::list_members;
using h5ser::detail::open_for_reading;
using h5ser::detail::open_root;
using h5ser::detail::open_sealed_url;
using h5ser::detail::part_of;
using h5ser::detail::read_elements;
using h5ser::detail::read_extent;
using h5ser::detail::read_string_attribute;
using h5ser::detail::read_strings;

// Writing an h5ser file tensor by tensor (`h5ser convert`): the one sealed-file writer of the
// library, with its checksummed datasets, groups and attributes.
namespace format = h5ser::detail::format;
using h5ser::detail::copy_h5ser_file;
using h5ser::detail::file_header;
using h5ser::detail::manifest;
using h5ser::detail::manifest_size_of;
using h5ser::detail::planned_tensor;
using h5ser::detail::raw_tensor;
using h5ser::detail::read_header;
using h5ser::detail::read_raw_tensor;
using h5ser::detail::save_mode;
using h5ser::detail::storage_plan;
using h5ser::detail::tree_copy_options;
using h5ser::detail::tree_copy_result;
using h5ser::detail::tree_writer;

// Shapes as text, as the library writes them in messages.
using h5ser::detail::dims_text;

// JSON: the library's writer (for --json), and the reader of the schema and of Keras configurations.
using h5ser::detail::json_value;
using h5ser::detail::json_writer;
using h5ser::detail::parse_json;

// .safetensors files: recognised by content, their checked header, names to paths (the manifest
// a load walks), and the writer.
namespace safetensors = h5ser::detail::safetensors;
using h5ser::detail::safetensors::header_if_safetensors;
using h5ser::detail::safetensors::tree_of;

// What converting to and from .safetensors reads and writes without a struct: the file opened
// once, manifest records, element types and raw bytes, hashes and checksums.
using h5ser::detail::check_opened;
using h5ser::detail::checksum_text;
using h5ser::detail::file_access;
using h5ser::detail::file_type;
using h5ser::detail::fingerprint_builder;
using h5ser::detail::hash_bytes;
using h5ser::detail::manifest_element_size;
using h5ser::detail::manifest_record;
using h5ser::detail::opened_file;
using h5ser::detail::read_exact;
using h5ser::detail::record_kind;
using h5ser::detail::record_layout;
using h5ser::detail::throw_io;
using h5ser::detail::to_hex;
using h5ser::detail::write_attribute;

// Keras files without a struct: the layer list of any Keras layout, and the save_weights writer
// fed with tensors read from an h5ser file.
using h5ser::keras::detail::flavour_name;
using h5ser::keras::detail::has_zip_signature;
using h5ser::keras::detail::open_store;
using keras_store = h5ser::keras::detail::store;
using h5ser::keras::detail::save_layers;
using h5ser::keras::detail::struct_layer;
using h5ser::keras::detail::tensor_slot;
using h5ser::keras::detail::weight_name_in_layer;
using h5ser::keras::detail::write_weight;

}  // namespace h5ser_cli::internal
