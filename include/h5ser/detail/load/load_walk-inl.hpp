// h5ser/detail/load/load_walk-inl.hpp: definitions of h5ser/detail/load/load_walk.hpp (compiled once with
// the compiled core; see h5ser/config.hpp).
#pragma once

#include <charconv>

#include "h5ser/detail/load/load_walk.hpp"
#include "h5ser/old_group.hpp"  // run_upgrades makes an h5ser::old_group

namespace h5ser::detail {

H5SER_CORE_INLINE std::string describe_link(const file_tree& tree, const tree_group& group, const member_listing::link& link) {
    if (link.type != H5L_TYPE_HARD) return link_type_name(link.type) + std::string(" '") + link.name + "'";
    return h5_object_name(tree.object_type(group, link)) + std::string(" '") + link.name + "'";
}

H5SER_CORE_INLINE void report_refused_link(problem_list& problems, H5L_type_t type, const std::string& expected, const where& at) {
    problems.add({errc::unsafe_file, at.field, at.h5_or_root(), "hard link to " + expected, link_type_name(type),
                  "h5ser does not follow links that may leave the file"});
}

H5SER_CORE_INLINE bool tensor_matches(problem_list& problems, std::string_view found_dtype, const extent& shape, std::string_view dtype,
                                      const std::size_t* current, std::size_t rank, bool unsized, const where& at) {
    // rank == dynamic_rank: a tensor whose rank is known only at run time takes any (and is unsized).
    const bool rank_ok = !shape.null && (rank == dynamic_rank || (rank == 0 ? shape.scalar : (!shape.scalar && shape.dims.size() == rank)));
    // No tensor type indexes past PTRDIFF_MAX (Eigen asserts): a file may still say so, for a
    // tensor of zero elements.
    const bool indexable = std::all_of(shape.dims.begin(), shape.dims.end(),
                                       [](auto d) { return static_cast<std::uint64_t>(d) <= static_cast<std::uint64_t>(PTRDIFF_MAX); });
    bool shape_ok = rank_ok && indexable;
    for (std::size_t i = 0; rank_ok && !unsized && i < rank; ++i) shape_ok = shape_ok && shape.dims[i] == current[i];
    const bool dtype_ok = found_dtype == dtype;
    if (dtype_ok && shape_ok) return true;
    const std::string expected = rank == dynamic_rank ? std::string(dtype) + " of any rank"
                                 : unsized            ? std::string(dtype) + " of rank " + std::to_string(rank)
                                                      : shape_text(dtype, current, rank);
    // A type h5ser::convert_dtypes would convert: say so (with it, only the shape can be wrong here).
    std::string hint;
    if (!dtype_ok && convertible(found_dtype, dtype))
        hint = "h5ser::convert_dtypes converts " + std::string(found_dtype) + " to " + std::string(dtype);
    problems.add({dtype_ok ? errc::shape_mismatch : errc::dtype_mismatch, at.field, at.h5_or_root(), "dataset " + expected,
                  "dataset " + std::string(found_dtype) + shape.text(), std::move(hint)});
    return false;
}

H5SER_CORE_INLINE std::optional<std::string> stored_dtype(problem_list& problems, file_tree& tree, const tree_group& parent,
                                                          const manifest* contents, std::string_view name, const where& at) {
    if (contents) {
        if (const manifest_record* r = contents->dataset(at.h5)) return std::string(r->dtype);
    }
    const handle dataset = open_child(problems, tree.hdf5_group(parent, at), name, H5I_DATASET, "dataset of any element type", at);
    if (!dataset) return std::nullopt;
    return inspect_dataset(dataset.get(), at).dtype;
}

H5SER_CORE_INLINE std::string stored_attribute_dtype(hid_t object, std::string_view name, const where& at) {
    const std::string key(name);
    const handle attribute = checked(H5Aopen(object, key.c_str(), H5P_DEFAULT), at, "cannot open the attribute");
    const handle type = checked(H5Aget_type(attribute.get()), at, "cannot read the attribute's type");
    return describe_type(type.get());
}

H5SER_CORE_INLINE std::optional<opened_tensor> open_tensor(problem_list& problems, hid_t parent, std::string_view name,
                                                           std::string_view dtype, std::size_t element_size, const std::size_t* current,
                                                           std::size_t rank, bool unsized, bool reading, const where& at) {
    opened_tensor t;
    t.dataset = open_child(problems, parent, name, H5I_DATASET, "dataset " + std::string(dtype), at);
    if (!t.dataset) return std::nullopt;
    t.view = inspect_dataset(t.dataset.get(), at);
    if (!tensor_matches(problems, t.view.dtype, t.view.shape, dtype, current, rank, unsized, at)) return std::nullopt;
    if (!reading || !dataset_is_readable(problems, t.view, element_size, at)) return std::nullopt;
    return t;
}

H5SER_CORE_INLINE load_state::load_state(bool lenient, bool verify) : lenient_walk(lenient), verified(verify) {}
H5SER_CORE_INLINE load_state::~load_state() = default;

H5SER_CORE_INLINE void load_state::read_listed() {
    if (range_reads.empty()) return;
    if (!reading_data()) {  // the load fails: nothing more to read
        range_reads.clear();
        range_checks.clear();
        return;
    }
    struct advance final : read_progress {
        load_state& state;
        explicit advance(load_state& s) : state(s) {}
        void add(std::uint64_t bytes) override { state.advance(bytes); }
    } progress{*this};
    read_ranges(*source, range_reads, range_checks, problems, fingerprint, progress);
}

namespace load_walk_detail {
/// The dimensions of `shape` as a tensor_target's operations take them (only the first `rank` are
/// set: this is made for every tensor a load reads).
struct dims_of {
    std::array<std::size_t, dynamic_shape::max_rank> size;
    std::array<std::uint64_t, dynamic_shape::max_rank> u64;
    std::size_t rank = 0;
    void assign(const extent& shape) noexcept {
        rank = std::min(shape.dims.size(), size.size());
        for (std::size_t i = 0; i < rank; ++i) {
            size[i] = static_cast<std::size_t>(shape.dims[i]);
            u64[i] = static_cast<std::uint64_t>(shape.dims[i]);
        }
    }
    [[nodiscard]] std::span<const std::size_t> span() const noexcept { return {size.data(), rank}; }
};

/// The dimensions of tensor record `r` when it fits `slot` (else a problem recorded) and the load
/// reads data; nothing otherwise.
inline bool record_to_read(load_state& state, const manifest_record& r, const tensor_target& slot, const where& at, dims_of& dims) {
    extent shape;
    shape.scalar = r.rank == 0;
    for (std::size_t i = 0; i < r.rank; ++i) shape.dims.push_back(r.dim(i));
    if (!tensor_matches(state.problems, r.dtype, shape, slot.dtype, slot.current.data(), slot.rank, slot.unsized, at) ||
        !state.reading_data() || !state.read_data)
        return false;
    dims.assign(shape);
    return true;
}
}  // namespace load_walk_detail

H5SER_CORE_INLINE void load_dataset(load_state& state, hid_t parent, std::string_view name, const tensor_target& slot, const where& at) {
    const auto opened = open_tensor(state.problems, parent, name, slot.dtype, slot.element_size, slot.current.data(), slot.rank,
                                    slot.unsized, state.reading_data(), at);
    if (!opened) return;
    // A check without data still reads a tensor whose stored checksum no data can match: its
    // refusal is then the one a load with data gives.
    if (!state.read_data && !(state.verified && keeps_unmatchable_checksum(state.contents, opened->dataset.get(), at.h5, at))) return;
    load_walk_detail::dims_of dims;
    dims.assign(opened->view.shape);
    // What checks a verified read's hash: the file's checksum, and the load's fingerprint.
    struct verification {
        load_state& state;
        hid_t dataset;
        const tensor_target& slot;
        const load_walk_detail::dims_of& dims;
        const where& at;
    };
    const verification v{state, opened->dataset.get(), slot, dims, at};
    bool (*verify)(const void*, std::uint64_t) = nullptr;
    if (state.verified) {
        verify = [](const void* context, std::uint64_t hash) {
            const auto& c = *static_cast<const verification*>(context);
            return verify_read_tensor(c.state.problems, c.state.fingerprint, c.state.contents, c.dataset, hash, c.slot.dtype,
                                      c.dims.u64.data(), c.dims.rank, c.at);
        };
    }
    stage_dataset(state.commits, state.problems, slot, opened->dataset.get(), opened->view.type.get(), dims.span(), at, verify, &v);
    state.advance(opened->view.stored_bytes);
}

H5SER_CORE_INLINE void load_mapped(load_state& state, const manifest_record& r, const unsigned char* bytes, bool in_mapping,
                                   const tensor_target& slot, const where& at) {
    load_walk_detail::dims_of dims;
    if (!load_walk_detail::record_to_read(state, r, slot, at, dims)) return;
    const auto length = static_cast<std::size_t>(r.length);
    const std::size_t count = slot.element_size ? length / slot.element_size : 0;
    // Views of the mapping are writable (copy-on-write); compact bytes are only ever copied.
    void* elements = r.length ? static_cast<void*>(const_cast<unsigned char*>(bytes)) : nullptr;
    const bool viewable = in_mapping && reinterpret_cast<std::uintptr_t>(bytes) % tensor_alignment == 0;
    if (slot.bools && !check_bool_elements<bool>(state.problems, elements, count, at)) return;
    if (state.verified && state.hashes(r))
        state.mapped_checks.push_back(
            {{elements, length, 0},
             {r.checksum, r.has_checksum, state.fingerprint.add_pending(at.h5, slot.dtype, dims.u64.data(), dims.rank), at.field, at.h5}});
    state.advance(r.length);
    if (slot.unsized && viewable && slot.viewable) {
        const std::shared_ptr<const void> keep = state.mapping;
        return state.commits.finish(slot.stage(slot.target, dims.span(), elements, &keep));
    }
    if (slot.unsized && slot.resizable) {
        commit_list::staged_bytes staged = slot.stage(slot.target, dims.span(), nullptr, nullptr);
        if (count != 0) std::memcpy(staged.data, elements, length);
        return state.commits.finish(std::move(staged));
    }
    state.commits.copy_from(slot.data, elements, length, state.mapping);
}

H5SER_CORE_INLINE void load_read(load_state& state, const manifest_record& r, const tensor_target& slot, const where& at) {
    load_walk_detail::dims_of dims;
    if (!load_walk_detail::record_to_read(state, r, slot, at, dims)) return;
    const auto bytes = static_cast<std::size_t>(r.length);
    range_check check{{r.checksum, r.has_checksum, 0, at.field, at.h5}, slot.bools ? bytes : 0};
    bool hash = false;
    if (state.verified && state.hashes(r)) {
        hash = true;
        check.check.digest = state.fingerprint.add_pending(at.h5, slot.dtype, dims.u64.data(), dims.rank);
    }
    const auto list = [&](void* into) {
        state.range_reads.push_back({into, r.offset, r.length, hash, 0, at.h5_or_root(), at.field});
        state.range_checks.push_back(std::move(check));
    };
    if (slot.unsized && slot.resizable) {
        // Staged where it stays: the read fills the value the load moves into the model.
        commit_list::staged_bytes staged = slot.stage(slot.target, dims.span(), nullptr, nullptr);
        list(staged.data);
        state.commits.finish(std::move(staged));
        return;
    }
    std::shared_ptr<unsigned char[]> staging(new unsigned char[bytes ? bytes : 1]);
    unsigned char* const into = staging.get();  // not read in the call below: its arguments are not ordered
    list(into);
    state.commits.copy_from(slot.data, into, bytes, std::move(staging));
}

H5SER_CORE_INLINE void read_whole_tensor(load_state& state, const tree_group& parent, std::string_view name, const tensor_target& slot,
                                         const where& at) {
    if (state.mapping || state.source) {
        const manifest_record* r = state.contents->dataset(at.h5);
        if (!r) {
            state.problems.add({errc::kind_mismatch, at.field, at.h5_or_root(), "dataset " + std::string(slot.dtype), "group", {}});
            return;
        }
        if (r->layout == record_layout::contiguous && !state.mapping) return load_read(state, *r, slot, at);
        if (r->layout == record_layout::contiguous) return load_mapped(state, *r, state.mapping->data() + r->offset, true, slot, at);
        if (r->layout == record_layout::compact)
            return load_mapped(state, *r, reinterpret_cast<const unsigned char*>(r->value.data()), false, slot, at);
    }
    load_dataset(state, state.tree->hdf5_group(parent, at), name, slot, at);
}

H5SER_CORE_INLINE std::string expected_text(const expected_node& node) {
    switch (node.what) {
        case expected_node::kind::dataset:
            return "dataset " + std::string(node.dtype);
        case expected_node::kind::any_dataset:
            return "dataset of any element type";
        case expected_node::kind::attribute:
            return "attribute " + std::string(node.dtype);
        case expected_node::kind::group:
            break;
    }
    return "group";
}

H5SER_CORE_INLINE presence find_member(problem_list& problems, const member_listing& siblings, std::string_view name, const where& at,
                                       const expected_node& expected) {
    if (expected.what == expected_node::kind::attribute) return siblings.has_attribute(name) ? presence::present : presence::absent;
    const auto* link = siblings.find_link(name);
    if (!link) return presence::absent;
    if (link->type != H5L_TYPE_HARD) {
        report_refused_link(problems, link->type, expected_text(expected), at);
        return presence::refused;
    }
    return presence::present;
}

H5SER_CORE_INLINE bool field_present(load_state& state, const tree_group& parent, std::string_view name, const where& at,
                                     const expected_node& expected) {
    const presence found = find_member(state.problems, parent.members(), name, at, expected);
    if (found == presence::absent)
        state.mismatches().add(
            {errc::missing_field, at.field, at.h5_or_root(), expected_text(expected), {}, std::string(keeps_value_hint)});
    return found == presence::present;
}

H5SER_CORE_INLINE void finish_walk(load_state& state) {
    state.read_listed();
    if (state.verified) check_mapped(state.problems, state.fingerprint, state.mapped_checks);
    if (state.upgrades.empty() || !state.problems.empty() || !state.read_data) return;
    run_upgrades(state.upgrades, state.reads(), state.problems, state.mismatches(), state.fingerprint, state.undo);
}

H5SER_CORE_INLINE void finish_tree(load_state& state, const tree_group& root, const where& at) {
    try {
        finish_walk(state);
        // A strict load of everything the file holds read every tensor it lists: the fingerprint
        // over them must be the one the file was saved with.
        if (state.verified) {
            if (!state.lenient_walk && state.report_unexpected && state.check_fingerprint && state.problems.empty())
                check_fingerprint(state.problems, *state.tree, root, state.contents, state.fingerprint, state.given_fingerprint, at);
            else if (state.given_fingerprint && !state.report_unexpected && state.problems.empty())
                state.problems.add({errc::mode_mismatch,
                                    {},
                                    "/",
                                    "a load of every tensor the file holds",
                                    "a load of its weights alone",
                                    "h5ser::verify_with checks the fingerprint of every tensor of the file; a weights-only load of a "
                                    "full-model file leaves its optimizer state unread"});
        }
    } catch (...) {
        state.undo.restore();
        throw;
    }
    // The load fails: what upgraded structs' fields overwrote outside the load's copies goes back.
    if (!state.problems.empty()) state.undo.restore();
}

H5SER_CORE_INLINE void start_walk(load_state& state, const walk_input& in) {
    state.tree = &in.tree;
    state.file = in.path;
    state.mode = in.plan.mode;
    state.report_unexpected = in.plan.report_unexpected;
    state.check_fingerprint = in.plan.request.check_fingerprint;
    state.read_data = in.plan.request.read_data;
    state.given_fingerprint = in.plan.request.given_fingerprint;
    state.progress = &in.progress;
    state.contents = in.contents;
    state.mapping = in.mapping;
    state.source = in.source;
    state.total_bytes = in.size;
}

H5SER_CORE_INLINE const tree_group& open_root(load_state& state) {
    state.root_at = where{state.file, {}, "/"};
    state.root = state.tree->root(state.root_at);
    return *state.root;
}

H5SER_CORE_INLINE void end_walk(load_state& state, const walk_input& in) {
    state.problems.throw_if_any(in.path);
    state.commits.apply_all();
    if (in.plan.request.report)
        *in.plan.request.report = report_of(state.skipped, std::move(state.renamed), std::move(state.upgraded), std::move(state.converted));
    if (in.progress) in.progress(state.total_bytes, state.total_bytes);
}

H5SER_CORE_INLINE member_reads::member_reads(load_state& state, const tree_group& group, const where& at, std::span<const rename> renames,
                                             std::string_view type_name, pending_upgrade* upgrade)
    : state_(state),
      group_(group),
      at_(at),
      renames_(renames),
      type_name_(type_name),
      upgrade_(upgrade),
      first_problem_(state.problems.size()) {}

H5SER_CORE_INLINE member_reads::~member_reads() = default;

H5SER_CORE_INLINE const where* member_reads::place(std::string_view name, bool as_attribute, bool optional, std::string_view& stored) {
    place_ = at_.child(name);
    std::vector<std::string_view>& used = as_attribute ? attributes_ : links_;
    used.push_back(name);
    const member_listing& members = group_.members();
    const auto holds = [&](std::string_view n) { return members.has_attribute(n) || members.find_link(n) != nullptr; };
    stored = name;
    if (!renames_.empty()) {
        std::string_view found = holds(name) ? name : std::string_view{};
        for (const std::string_view old : old_names_of(renames_, name)) {
            if (!holds(old)) continue;
            used.push_back(old);
            if (found.empty()) {
                found = old;
                continue;
            }
            state_.problems.add({errc::unexpected_field, at_.child(old).field, at_.child(old).h5, "'" + std::string(found) + "' only",
                                 "'" + std::string(found) + "' and '" + std::string(old) + "'",
                                 "h5ser::evolution<" + std::string(type_name_) + ">::renames reads both as field '" + std::string(name) +
                                     "'; the file may hold one of them"});
        }
        if (!found.empty()) stored = found;
    }
    if (!optional && upgrade_ != nullptr && !holds(stored)) return nullptr;
    if (stored.data() == name.data()) return &place_;
    // Read under its old name: the field's path, the old object's place in the file.
    where old_at = at_.child(stored);
    state_.renamed.push_back(old_at.field + " -> " + place_.field);
    place_.h5 = std::move(old_at.h5);
    return &place_;
}

H5SER_CORE_INLINE void member_reads::finish(bool root) {
    if (state_.report_unexpected)
        report_unexpected(upgrade_ ? upgrade_->unexpected : state_.mismatches(), state_.mode, *state_.tree, group_, links_, attributes_,
                          at_, root);
    if (!state_.lenient_walk && state_.problems.size() > first_problem_) suggest_renames(state_.problems, first_problem_, at_, type_name_);
}

H5SER_CORE_INLINE std::optional<attribute_data> read_field_attribute(load_state& state, const tree_group& parent, std::string_view name,
                                                                     const attribute_request& want, const where& at) {
    if (const manifest_record* r = state.tree->attribute(parent, name)) return decode_attribute_data(*r, want, at, state.problems);
    return read_attribute_data(state.tree->hdf5_group(parent, at), std::string(name), want, at, state.problems);
}

H5SER_CORE_INLINE void stage_string_attribute(commit_list& commits, void* field, attribute_data&& data) {
    commits.move_into(*static_cast<std::string*>(field), std::move(data.strings.front()));
}

H5SER_CORE_INLINE void stage_string_list_attribute(commit_list& commits, void* field, attribute_data&& data) {
    commits.move_into(*static_cast<std::vector<std::string>*>(field), std::move(data.strings));
}

H5SER_CORE_INLINE void load_attribute(load_state& state, const tree_group& parent, std::string_view name, const attribute_target& target,
                                      const where& at, bool checked_present) {
    if (!checked_present && !field_present(state, parent, name, at, {expected_node::kind::attribute, target.want.dtype})) return;
    std::optional<attribute_data> data = read_field_attribute(state, parent, name, target.want, at);
    if (!data) return;
    if (target.stage) return target.stage(state.commits, target.field, std::move(*data));
    state.commits.copy_into(target.field, data->bytes.data(), data->bytes.size());
}

H5SER_CORE_INLINE void report_unexpected(problem_list& problems, save_mode mode, const file_tree& tree, const tree_group& group,
                                         const std::vector<std::string_view>& links, const std::vector<std::string_view>& attributes,
                                         const where& at, bool root) {
    const member_listing& listing = group.members();
    for (const auto& link : listing.links) {
        if (std::find(links.begin(), links.end(), link.name) == links.end()) {
            const where w = at.child(link.name);
            problems.add({errc::unexpected_field, w.field, w.h5, "nothing", describe_link(tree, group, link), std::string(leaves_it_hint)});
        }
    }
    for (const auto& attribute : listing.attributes) {
        // h5ser's own (h5ser_struct_version, and the root's header) are expected in every group;
        // weights-only files keep no other attributes.
        if (format::is_reserved_name(attribute) || (root && format::is_reserved_root_name(attribute))) continue;
        if (mode == save_mode::weights_only) break;
        if (std::find(attributes.begin(), attributes.end(), attribute) == attributes.end()) {
            const where w = at.child(attribute);
            problems.add({errc::unexpected_field, w.field, at.h5_or_root(), "nothing", "attribute '" + attribute + "'",
                          std::string(leaves_it_hint)});
        }
    }
}

H5SER_CORE_INLINE void suggest_renames(problem_list& problems, std::size_t first, const where& at, std::string_view type_name) {
    // A problem of a field of this group: its field path is this group's, one name further.
    const std::string prefix = at.field.empty() ? std::string() : at.field + ".";
    const auto own_name = [&](const problem& p) -> std::optional<std::string> {
        if (p.field_path.compare(0, prefix.size(), prefix) != 0) return std::nullopt;
        std::string name = p.field_path.substr(prefix.size());
        if (name.empty() || name.find_first_of(".[") != std::string::npos) return std::nullopt;
        return name;
    };
    const auto kind = [](const std::string& text) { return text.substr(0, text.find(' ')); };
    auto& items = problems.items();
    for (std::size_t i = first; i < items.size(); ++i) {
        problem& missing = items[i];
        const auto field = own_name(missing);
        if (missing.code != errc::missing_field || !field) continue;
        std::vector<std::string> candidates;
        for (std::size_t j = first; j < items.size(); ++j) {
            const auto old = own_name(items[j]);
            if (items[j].code == errc::unexpected_field && old && kind(items[j].found) == kind(missing.expected))
                candidates.push_back(*old);
        }
        if (candidates.empty() || candidates.size() > 3) continue;
        const std::string evolution = "h5ser::evolution<" + std::string(type_name) + ">";
        if (candidates.size() == 1) {
            missing.detail = "renamed? the file holds " + kind(missing.expected) + " '" + candidates.front() +
                             "' that no field reads; if it is this field, declare template <> struct " + evolution +
                             " { static constexpr h5ser::rename renames[] = {{\"" + candidates.front() + "\", \"" + *field + "\"}}; };";
            continue;
        }
        std::string names;
        for (const auto& c : candidates) names += (names.empty() ? "'" : ", '") + c + "'";
        missing.detail = "renamed? the file holds " + kind(missing.expected) + "s " + names +
                         " that no field reads; if one is this field, " + "add {\"<its name>\", \"" + *field + "\"} to " + evolution +
                         "::renames";
    }
}

H5SER_CORE_INLINE bool record_hash(problem_list& problems, digest_list& digests, const hash_check& check, std::uint64_t hash) {
    digests.set_hash(check.digest, hash);
    if (!check.compare || hash == check.expected) return true;
    problems.add({errc::checksum_mismatch, check.field, check.h5.empty() ? "/" : check.h5, "data with " + checksum_text(check.expected),
                  "data with " + checksum_text(hash), "the data differs from what was saved (corruption or tampering)"});
    return false;
}

H5SER_CORE_INLINE void check_mapped(problem_list& problems, digest_list& digests, std::vector<mapped_check>& checks) {
    if (checks.empty()) return;
    std::vector<hash_job> jobs;
    jobs.reserve(checks.size());
    for (const auto& c : checks) jobs.push_back(c.job);
    hash_all(jobs);
    for (std::size_t i = 0; i < checks.size(); ++i) record_hash(problems, digests, checks[i].check, jobs[i].hash);
    checks.clear();
}

H5SER_CORE_INLINE void read_ranges(const ranged_source& source, std::vector<range_read>& reads, std::vector<range_check>& checks,
                                   problem_list& problems, digest_list& digests, read_progress& progress) {
    source.read(reads, progress);
    for (std::size_t i = 0; i < reads.size(); ++i) {
        const range_read& r = reads[i];
        const hash_check& c = checks[i].check;
        if (r.hash && !record_hash(problems, digests, c, r.hash_value)) continue;
        if (checks[i].bools != 0) check_bool_elements<bool>(problems, r.into, checks[i].bools, where{{}, c.field, c.h5});
    }
    reads.clear();
    checks.clear();
}

H5SER_CORE_INLINE load_report report_of(const problem_list& skipped, std::vector<std::string> renamed, std::vector<std::string> upgraded,
                                        std::vector<std::string> converted) {
    load_report report;
    report.renamed = std::move(renamed);
    report.upgraded = std::move(upgraded);
    report.converted = std::move(converted);
    for (const problem& p : skipped.items()) {
        const std::string field = p.field_path.empty() ? p.hdf5_path : p.field_path;
        if (p.code == errc::missing_field) {
            report.missing.push_back(field + " (" + p.expected + ")");
        } else {
            // "attribute 'units'" in an error; the entry names it already: "units (attribute)".
            const auto quote = p.found.find(" '");
            report.unexpected.push_back(field + " (" + p.found.substr(0, quote) + ")");
        }
    }
    return report;
}

H5SER_CORE_INLINE std::optional<std::vector<std::string>> object_path_names(std::string_view path) {
    if (!path.empty() && path.front() == '/') path.remove_prefix(1);
    if (path.empty()) return std::nullopt;
    std::vector<std::string> names;
    for (;;) {
        const std::size_t slash = path.find('/');
        const std::string_view name = path.substr(0, slash);
        if (name.empty()) return std::nullopt;  // "a//b", "a/"
        names.emplace_back(name);
        if (slash == std::string_view::npos) return names;
        path.remove_prefix(slash + 1);
    }
}

H5SER_CORE_INLINE bool keeps_unmatchable_fingerprint(hid_t root, const where& at) {
    const auto stored = read_string_attribute(root, format::fingerprint_attribute, at);
    return stored && !from_hex(*stored);
}

H5SER_CORE_INLINE void check_fingerprint(problem_list& problems, file_tree& tree, const tree_group& root, const manifest* contents,
                                         const digest_list& read, std::optional<std::uint64_t> given, const where& at) {
    std::optional<std::string> stored;
    if (tree.from_manifest()) {
        if (contents->keeps_fingerprint()) stored = to_hex(contents->fingerprint());
    } else {
        stored = read_string_attribute(tree.hdf5_group(root, at), format::fingerprint_attribute, at);
    }
    // The fingerprint covers the tensors in the order they were saved; a struct whose fields were
    // reordered, renamed or upgraded since reads them in another.
    std::optional<std::string> in_saved_order;
    const auto found = [&]() -> const std::string& {
        if (!in_saved_order) {
            std::vector<std::string> saved_order;
            if (tree.from_manifest()) {
                for (const manifest_record& r : contents->records())
                    if (r.kind == record_kind::dataset) saved_order.emplace_back(r.path);
            } else {
                saved_order = datasets_in_save_order(tree.hdf5_group(root, at), at);
            }
            in_saved_order = read.hex_in_order(saved_order);
        }
        return *in_saved_order;
    };
    const auto matches = [&](const std::string& expected) { return expected == read.hex() || expected == found(); };
    if (stored && !matches(*stored)) {
        problems.add({errc::checksum_mismatch,
                      {},
                      "/",
                      "fingerprint " + *stored,
                      "fingerprint " + found(),
                      "the tensors differ from what was saved"});
    } else if (given && !matches(to_hex(*given))) {
        problems.add({errc::checksum_mismatch,
                      {},
                      "/",
                      "fingerprint " + to_hex(*given) + " (h5ser::verify_with)",
                      "fingerprint " + found(),
                      "the tensors differ from the ones the given fingerprint was taken of"});
    }
}

H5SER_CORE_INLINE std::optional<int> stored_version(problem_list& problems, file_tree& tree, const tree_group& group, const where& at) {
    const std::string name = format::struct_version_attribute;
    if (!group.members().has_attribute(name)) return 1;
    const where version_at{at.file, at.field, at.h5 == "/" ? "/" + name : at.h5 + "/" + name};
    std::optional<int> version;
    if (const manifest_record* r = tree.attribute(group, name)) version = decode_attribute<int>(*r, version_at, problems);
    else version = read_attribute<int>(tree.hdf5_group(group, at), name, version_at, problems);
    if (version && *version < 1) {
        problems.add({errc::invalid_value, at.field, version_at.h5, "a struct version of 1 or more", std::to_string(*version), {}});
        return std::nullopt;
    }
    return version;
}

H5SER_CORE_INLINE std::string upgraded_entry(const where& at, std::string_view type_name, int from, int to) {
    return (at.field.empty() ? std::string() : at.field + " ") + "(" + std::string(type_name) + " version " + std::to_string(from) +
           " -> " + std::to_string(to) + ")";
}

H5SER_CORE_INLINE void report_newer_version(problem_list& problems, const where& at, std::string_view type_name, int found, int known) {
    problems.add({errc::newer_version, at.field, at.h5_or_root(),
                  std::string(type_name) + " version " + std::to_string(known) + " or older",
                  std::string(type_name) + " version " + std::to_string(found),
                  "the file was saved by code whose h5ser::evolution<" + std::string(type_name) + ">::version is " + std::to_string(found) +
                      "; load it with that code, or declare the newer version here"});
}

H5SER_CORE_INLINE std::optional<std::size_t> sequence_length(problem_list& problems, const std::vector<std::string>& names,
                                                             const where& at) {
    std::vector<bool> seen(names.size(), false);
    for (const auto& n : names) {
        std::size_t index = 0;
        const auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), index);
        const bool canonical = ec == std::errc() && end == n.data() + n.size() && (n == "0" || n.front() != '0');
        if (!canonical || index >= names.size() || seen[index]) {
            problems.add({errc::unexpected_field, at.field, at.child(n).h5, "children named 0 to " + std::to_string(names.size() - 1),
                          "'" + n + "'", "a sequence group holds one child per index"});
            return std::nullopt;
        }
        seen[index] = true;
    }
    return names.size();
}

}  // namespace h5ser::detail
