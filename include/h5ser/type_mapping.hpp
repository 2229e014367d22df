// h5ser/type_mapping.hpp: how each C++ type maps onto HDF5 (docs/format.md has the file side).
//
//   aggregate struct                         -> group named after the field
//   h5ser::tensor, std::vector<element>,
//   any type with an h5ser::tensor_adapter   -> dataset
//   element scalar, enum, std::string,
//   std::vector<std::string>, std::array<element or std::string, N>  -> attribute
//   std::vector<X>, std::array<X, N> (other X)  -> group with children "0", "1", ...
//   std::map<std::string, X>                 -> group with one child per key (X a tensor: a key
//                                               "a/b/w" is dataset w of group a/b)
//   std::optional<X>                         -> X, absent when empty
//   h5ser::optimizer_state<X>                -> X; skipped in weights-only files
//   h5ser::stored<X, Policies...>            -> X, stored with its own storage policies
#pragma once

// The rules live in one place, the dispatch every walk over a model goes through.
#include "h5ser/detail/model/field_kind.hpp"
