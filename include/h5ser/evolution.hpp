// h5ser/evolution.hpp: how a struct changed since older files were saved, declared next to the
// struct, without macros: its version, the names its fields had, and how to upgrade an old group.
//
//     template <> struct h5ser::evolution<Dense> {
//         static constexpr int version = 3;
//         static constexpr h5ser::rename renames[] = {{"w", "kernel"}, {"b", "bias"}};  // {old name, field name}
//         static void upgrade(const h5ser::old_group& old, Dense& now, int file_version);  // optional
//     };
//
// Saves write each struct's version (attribute h5ser_struct_version of its group). A load that does
// not find a field under its name reads it under an old one; a group saved at an older version than
// the struct's is upgraded by the hook after its fields are read; a newer version is an error. Each
// is in the h5ser::load_report (`renamed`, `upgraded`). See docs/evolution.md.
#pragma once

#include <string_view>

namespace h5ser {

/// One rename of a field of a struct: `old_name`, the name files saved before hold it under, and
/// `field`, its name in the struct now. A field may have several old names, and an old name may
/// itself be the `field` of an older rename (a chain across versions: {"a", "b"}, {"b", "c"}).
struct rename {
    std::string_view old_name;
    std::string_view field;
};

/// A read-only view of the group an older version of a struct was saved as, for an upgrade hook:
/// h5ser/old_group.hpp, which a file defining a hook includes.
class old_group;

/// How struct T changed. Specialize it for T with any of
///
///     static constexpr int version = 3;            // 1 when not declared; saved with every T
///     static constexpr h5ser::rename renames[] = {...};
///     static void upgrade(const h5ser::old_group& old, T& now, int file_version);
///
/// Every rename's `field` must name a field of T, and no old name may be a field of T. `upgrade`
/// runs when a file holds a T of an older version: `now` holds what the load read into the fields
/// the group has (the rest keep their values), `old` the group as saved. h5ser checks all of this
/// when it compiles a load. The primary template declares nothing: T never changed.
template <class T>
struct evolution {};

}  // namespace h5ser
