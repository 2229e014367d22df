// h5ser/detail/hdf5/hdf5-inl.hpp: definitions of h5ser/detail/hdf5/hdf5.hpp (compiled once with the compiled core; see
// h5ser/config.hpp).
#pragma once

#include <cstring>

#include "h5ser/detail/hdf5/fork_gate.hpp"
#include "h5ser/detail/hdf5/hdf5.hpp"

namespace h5ser::detail {

// Built with append(): GCC 12 warns falsely (-Wrestrict, GCC bug 105329) on "[" + std::string.
H5SER_CORE_INLINE where where::child(std::string_view name, bool index) const {
    where w{file, field, h5};
    if (index) {
        w.field.append("[").append(name).append("]");
    } else {
        if (!w.field.empty()) w.field.push_back('.');
        w.field.append(name);
    }
    if (w.h5.empty() || w.h5.back() != '/') w.h5.push_back('/');
    w.h5.append(name);
    return w;
}

H5SER_CORE_INLINE where where::key(std::string_view name) const {
    where w = child(name, true);
    w.field = field;
    w.field.append("[\"").append(name).append("\"]");
    return w;
}

H5SER_CORE_INLINE std::string where::h5_or_root() const { return h5.empty() ? std::string("/") : h5; }

H5SER_CORE_INLINE std::vector<std::string> hdf5_error_stack() {
    std::vector<std::string> lines;
    auto walk = [](unsigned, const H5E_error2_t* e, void* out) -> herr_t {
        auto& sink = *static_cast<std::vector<std::string>*>(out);
        std::string line = e->func_name ? e->func_name : "?";
        line += ": ";
        line += e->desc ? e->desc : "";
        char major[128] = {0};
        char minor[128] = {0};
        H5Eget_msg(e->maj_num, nullptr, major, sizeof major);
        H5Eget_msg(e->min_num, nullptr, minor, sizeof minor);
        line += std::string(" (") + major + ": " + minor + ")";
        sink.push_back(std::move(line));
        return 0;
    };
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, walk, &lines);
    H5Eclear2(H5E_DEFAULT);
    return lines;
}

H5SER_CORE_INLINE void throw_hdf5(const where& at, std::string what, errc code) {
    auto stack = hdf5_error_stack();
    throw error(std::string(at.file), problem{code, at.field, at.h5_or_root(), {}, {}, std::move(what)}, std::move(stack));
}

H5SER_CORE_INLINE void throw_io(const std::string& file, const std::string& what, int err) {
    throw error(file, problem{errc::io, {}, {}, {}, {}, what + ": " + std::strerror(err)});
}

H5SER_CORE_INLINE std::shared_mutex& fork_gate() noexcept {
    static std::shared_mutex gate;
    return gate;
}

H5SER_CORE_INLINE int& hdf5_scope_depth() noexcept {
    thread_local int depth = 0;
    return depth;
}

H5SER_CORE_INLINE bool& in_isolated_child() noexcept {
    static bool child = false;
    return child;
}

H5SER_CORE_INLINE hdf5_scope::hdf5_scope() noexcept {
    if (hdf5_scope_depth()++ == 0 && !in_isolated_child()) {
        fork_gate().lock_shared();
        gated_ = true;
    }
    H5Eget_auto2(H5E_DEFAULT, &func_, &data_);
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
}

H5SER_CORE_INLINE hdf5_scope::~hdf5_scope() {
    H5Eset_auto2(H5E_DEFAULT, func_, data_);
    --hdf5_scope_depth();
    if (gated_) fork_gate().unlock_shared();
}

}  // namespace h5ser::detail
