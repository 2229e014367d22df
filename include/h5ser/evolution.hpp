// h5ser/evolution.hpp: how a struct changed since older files were saved, declared next to the
// struct, without macros: the names its fields had.
//
//     template <> struct h5ser::evolution<Dense> {
//         static constexpr h5ser::rename renames[] = {{"w", "kernel"}, {"b", "bias"}};  // {old name, field name}
//     };
//
// A load that does not find a field under its name reads it under an old one, and says so in its
// h5ser::load_report (`renamed`: "layers[2].w -> layers[2].kernel"). See docs/evolution.md.
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

/// How struct T changed. Specialize it for T with
///
///     static constexpr h5ser::rename renames[] = {...};
///
/// Every `field` must name a field of T, and no old name may be a field of T (h5ser checks both
/// when it compiles a load). The primary template declares nothing: T never changed.
template <class T>
struct evolution {};

}  // namespace h5ser
