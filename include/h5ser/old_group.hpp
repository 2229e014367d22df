// h5ser/old_group.hpp: what an upgrade hook (h5ser::evolution<T>::upgrade) sees of the group an
// older version of T was saved as: its objects by name, with kind, dtype and shape, each readable
// into any type a field could have, checked and verified as a field would be.
//
//     template <> struct h5ser::evolution<Attention> {
//         static constexpr int version = 2;
//         static void upgrade(const h5ser::old_group& old, Attention& now, int file_version) {
//             const auto qkv = old.read<h5ser::tensor<float, 2>>("qkv");  // version 1 fused q, k, v
//             ... split qkv into now.q, now.k, now.v ...
//         }
//     };
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "h5ser/config.hpp"
#include "h5ser/detail/load/load_walk.hpp"
#include "h5ser/error.hpp"
#include "h5ser/evolution.hpp"

namespace h5ser {

/// What an old group holds under one name.
struct old_object {
    enum class type { dataset, group, attribute };
    type kind = type::dataset;
    std::string dtype;               ///< "float32", "string", ...; empty for a group
    std::vector<std::size_t> shape;  ///< a dataset's or list attribute's; empty for scalars and groups
};

/// A read-only view of the group an older version of a struct was saved as, given to its upgrade
/// hook while the load runs (h5ser makes it; it is valid during the hook only). What the hook reads
/// is used: it is not reported as unexpected.
class old_group {
public:
    explicit old_group(detail::old_group_state& state) noexcept : state_(&state) {}
    old_group(const old_group&) = delete;
    old_group& operator=(const old_group&) = delete;

    /// The version of the struct the group was saved as (the hook's `file_version`).
    [[nodiscard]] int version() const noexcept { return state_->version; }
    /// The group's field path, as errors write it ("layers[2]"; empty for the model itself).
    [[nodiscard]] const std::string& path() const noexcept { return state_->at.field; }
    /// The names of the datasets, groups and attributes it holds (not h5ser's own h5ser_*), sorted.
    [[nodiscard]] H5SER_CORE_INLINE std::vector<std::string> names() const;
    [[nodiscard]] H5SER_CORE_INLINE bool contains(std::string_view name) const;
    /// What `name` is, or nothing when the group holds no such object.
    [[nodiscard]] H5SER_CORE_INLINE std::optional<old_object> find(std::string_view name) const;

    /// Reads object `name` as a field of type X would be read (a tensor of any supported type, a
    /// scalar, string, struct, sequence or map), verified; throws an h5ser::error naming its field
    /// path (`path().name`) when the group lacks it or it does not fit X.
    template <class X>
    [[nodiscard]] X read(std::string_view name) const {
        X value{};
        read_into(name, value);
        return value;
    }
    /// Reads object `name` into `target`, which keeps its shape (a sized tensor must match) as a
    /// field would; `target` is unchanged when the read fails.
    template <class X>
    void read_into(std::string_view name, X& target) const {
        static_assert(detail::assert_field_storable<old_group, detail::field_named<>, X>());
        if (state_->reads.verify) read_with<true>(name, target);
        else read_with<false>(name, target);
    }

private:
    template <bool Verify, class X>
    void read_with(std::string_view name, X& target) const {
        const detail::where at = state_->at.child(name);
        if (!contains(name)) {
            throw error(state_->reads.file,
                        problem{errc::missing_field, at.field, at.h5, detail::expected_text<X>(), "nothing",
                                "the group saved at version " + std::to_string(version()) + " holds no '" + std::string(name) + "'"});
        }
        const detail::load_source& reads = state_->reads;
        detail::load_context<false, Verify> ctx;
        ctx.file = reads.file;
        ctx.mode = reads.mode;
        ctx.tree = reads.tree;
        ctx.contents = reads.contents;
        ctx.mapping = reads.mapping;
        ctx.source = reads.source;
        detail::load_node(ctx, state_->group, name, target, at);
        detail::finish_walk(ctx);
        if (!ctx.problems.empty()) ctx.undo.restore();
        ctx.problems.throw_if_any(reads.file);
        ctx.commits.apply_all();
        note_read(name, std::move(ctx.fingerprint));
    }
    H5SER_CORE_INLINE void note_read(std::string_view name, detail::digest_list digests) const;

    detail::old_group_state* state_;
};

}  // namespace h5ser

#if H5SER_CORE_DEFINITIONS
#include "h5ser/detail/load/old_group-inl.hpp"
#endif
