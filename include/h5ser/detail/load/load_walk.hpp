// h5ser/detail/load/load_walk.hpp: the load walk, from an HDF5 file into a C++ struct. Its entry,
// which opens the file, checks its seal, maps it and plans the walk, is load_file.hpp.
//
// A load first checks everything (presence, kind, dtype, shape of every field; objects the struct
// does not know) and reads into staged values; only when nothing is wrong do the staged values move
// into the model (commit.hpp). A failed load throws one h5ser::error listing every problem and
// leaves the model as it was.
#pragma once

#include <hdf5.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "h5ser/config.hpp"
#include "h5ser/detail/format/format.hpp"
#include "h5ser/detail/format/hash.hpp"
#include "h5ser/detail/format/manifest.hpp"
#include "h5ser/detail/hdf5/attribute.hpp"
#include "h5ser/detail/hdf5/dataset.hpp"
#include "h5ser/detail/hdf5/group.hpp"
#include "h5ser/detail/hdf5/hdf5.hpp"
#include "h5ser/detail/load/commit.hpp"
#include "h5ser/detail/load/dtype_conversion.hpp"
#include "h5ser/detail/load/file_tree.hpp"
#include "h5ser/detail/load/mapped_file.hpp"
#include "h5ser/detail/load/problems.hpp"
#include "h5ser/detail/load/ranged_source.hpp"
#include "h5ser/detail/load/tensor_target.hpp"
#include "h5ser/detail/model/c_order.hpp"
#include "h5ser/detail/model/dynamic_tensor.hpp"
#include "h5ser/detail/model/evolution.hpp"
#include "h5ser/detail/model/field_kind.hpp"
#include "h5ser/detail/posix/file.hpp"
#include "h5ser/load_report.hpp"
#include "h5ser/policy.hpp"
#include "h5ser/progress.hpp"
#include "h5ser/reflect.hpp"

namespace h5ser::detail {

/// What a tensor's hash is checked against once it is known: its manifest checksum, if the file
/// keeps one, and its entry in the load's fingerprint.
struct hash_check {
    std::uint64_t expected = 0;
    bool compare = true;     ///< false: the hash is only for the load's fingerprint
    std::size_t digest = 0;  ///< its index in the load's digest_list
    std::string field;
    std::string h5;
};

/// Records `hash`, the hash of the tensor `check` is about, in `digests`; a problem when it is not
/// the checksum the file keeps (then false).
H5SER_CORE_INLINE bool record_hash(problem_list& problems, digest_list& digests, const hash_check& check, std::uint64_t hash);

/// A tensor viewed or copied from the mapped file, whose hash is checked after the walk (all of
/// them together, on both cores).
struct mapped_check {
    hash_job job;
    hash_check check;
};

/// Hashes the tensors of `checks` (on up to two threads), records each mismatch as a problem and
/// completes their entries of `digests`.
H5SER_CORE_INLINE void check_mapped(problem_list& problems, digest_list& digests, std::vector<mapped_check>& checks);

/// What the walk checks of a tensor read by range (load_read) once its bytes are in: its hash
/// (when its range_read asks for one), and, for bools, each byte.
struct range_check {
    hash_check check;
    std::size_t bools = 0;  ///< elements to check are 0 or 1 (bool tensors), else 0
};

/// The ranges a walk listed (`reads`, each checked as `checks` says): reads them from `source` all
/// at once, then records what is wrong in `problems` and the hashes in `digests`.
H5SER_CORE_INLINE void read_ranges(const ranged_source& source, std::vector<range_read>& reads, std::vector<range_check>& checks,
                                   problem_list& problems, digest_list& digests, read_progress& progress);

/// The load walk's extension point for tensors: how a tensor whose dataset is present in group
/// `parent` is read. This one takes it from the mapped file when the load maps one and the tensor
/// is not chunked (load_mapped), else reads it whole through HDF5 (load_dataset); h5ser::mpi
/// passes one that reads each rank's slice.
struct whole_tensor_reader {
    template <class Ctx, class X>
    void read(Ctx& ctx, const tree_group& parent, std::string_view name, X& target, const where& at);
};

/// Where the reads of a load come from: what an upgrade hook's h5ser::old_group reads with.
struct load_source {
    std::string file;
    save_mode mode = save_mode::full_model;
    bool verify = true;
    file_tree* tree = nullptr;
    const manifest* contents = nullptr;
    std::shared_ptr<const mapped_file> mapping;
    const ranged_source* source = nullptr;
};

/// A struct of an older version than its h5ser::evolution declares, read into a copy that its
/// upgrade hook upgrades after the walk, before anything reaches the model.
struct pending_upgrade {
    commit_list actions;  ///< fill the copy: applied just before the hook runs
    tree_group group;     ///< the group as saved, for the hook's h5ser::old_group
    where at;
    int file_version = 0;
    std::string_view type_name;  ///< the struct's (static storage)
    /// The group's objects no field read: unexpected unless the hook reads them.
    problem_list unexpected;
    /// Calls h5ser::evolution<T>::upgrade on the copy, `copy` (a T), with the file's version. A
    /// plain function pointer: <functional> would cost every translation unit that loads.
    void (*run)(const old_group& old, void* copy, int file_version) = nullptr;
    void* copy = nullptr;
};

/// What an h5ser::old_group views, and what its hook read through it.
struct old_group_state {
    const load_source& reads;
    const tree_group& group;
    const where& at;
    int version;
    struct read_object {
        std::string name;
        digest_list digests;  ///< of the tensors read, for the load's fingerprint
    };
    std::vector<read_object> read;  ///< each name once, first read
};

/// What a load walk keeps while it runs, whatever the model and policies: the file's sources, the
/// problems, the staged values, the tensors to read and check at its end. Its functions are
/// compiled once (the compiled core); load_context adds what is compiled per walk.
///
/// The mode is a run-time value: one instantiation of the walk reads both kinds of file (a
/// weights-only load skips at run time what only a full model holds), which halves the code a
/// translation unit that loads must compile.
struct load_state {
    H5SER_CORE_INLINE load_state(bool lenient, bool verify);
    H5SER_CORE_INLINE ~load_state();
    load_state(const load_state&) = delete;
    load_state& operator=(const load_state&) = delete;

    const bool lenient_walk;  ///< h5ser::lenient: what is missing or unexpected goes to `skipped`
    const bool verified;      ///< h5ser::verify: tensors are hashed and checked
    std::string file;
    save_mode mode = save_mode::full_model;  ///< full_model or weights_only, as the plan says
    bool report_unexpected = false;          ///< the file holds exactly what this mode reads: list what the struct lacks
    bool check_fingerprint = true;           ///< compare the file's fingerprint when strict and report_unexpected (load_plan)
    bool read_data = true;                   ///< false: check everything but read no tensor data (load_plan)
    /// The fingerprint the caller gave (h5ser::verify_with), checked beside the file's (load_plan).
    std::optional<std::uint64_t> given_fingerprint;
    problem_list problems;
    /// What a lenient load skips (missing fields, unexpected objects): its h5ser::load_report.
    problem_list skipped;
    std::vector<std::string> renamed;       ///< "old -> new" field paths read under an old name (h5ser::evolution)
    std::vector<std::string> upgraded;      ///< structs of older versions upgraded: "layers[0] (Dense version 1 -> 3)"
    std::vector<std::string> converted;     ///< element types converted (h5ser::convert_dtypes): "w (float32 -> bfloat16)"
    std::vector<pending_upgrade> upgrades;  ///< their hooks, run after the walk (run_upgrades)
    undo_log undo;                          ///< what applying the upgraded structs' fields before the hooks overwrote
    commit_list commits;
    digest_list fingerprint;  ///< of the tensors as read, to compare with the file's
    const progress_callback* progress = nullptr;
    std::uint64_t total_bytes = 0;       ///< the file's size
    std::uint64_t done_bytes = 0;        ///< stored bytes of the datasets read so far
    file_tree* tree = nullptr;           ///< where the walk reads groups and attributes
    const manifest* contents = nullptr;  ///< a format-2 file's manifest (checksums); null for format 1
    /// The file, mapped (then `tree` reads the manifest): tensors are views of it or copied from it.
    std::shared_ptr<const mapped_file> mapping;
    /// A format-2 file loaded into memory of its own (h5ser::owned_memory, or a URL): `tree` reads
    /// the manifest, and tensors are read by byte range from this source (load_read) at the walk's end.
    const ranged_source* source = nullptr;
    std::vector<mapped_check> mapped_checks;  ///< tensors taken from the mapping, hashed after the walk
    std::vector<range_read> range_reads;      ///< tensors to read from `source`, at the walk's end
    std::vector<range_check> range_checks;    ///< what to check of each once read
    where root_at;                            ///< the file's root group, as open_root opened it
    std::optional<tree_group> root;

    void advance(std::uint64_t bytes) {
        if (!progress || !*progress) return;
        done_bytes = std::min(total_bytes, done_bytes + bytes);
        (*progress)(done_bytes, total_bytes);
    }

    // Once anything is wrong the load will fail: keep checking metadata, stop reading data.
    [[nodiscard]] bool reading_data() const noexcept { return problems.empty(); }

    /// Reads the tensors listed for reading by range (load_read) now, all at once: at the end of
    /// the walk, or where a value read must be complete before the walk goes on (a C-order copy
    /// reordered, an element type converted).
    H5SER_CORE_INLINE void read_listed();

    /// Does a verified load hash the bytes of tensor `r` of the manifest? For its checksum, or for a
    /// fingerprint: the file's, or the caller's. A .safetensors file keeps neither checksums nor,
    /// unless h5ser wrote it, a fingerprint: its tensors load without hashing.
    [[nodiscard]] bool hashes(const manifest_record& r) const noexcept {
        return r.has_checksum || contents->keeps_fingerprint() || given_fingerprint.has_value();
    }

    /// Where a missing field or an unexpected object goes: an error of a strict load, an entry of
    /// a lenient load's report.
    problem_list& mismatches() noexcept { return lenient_walk ? skipped : problems; }

    [[nodiscard]] load_source reads() const { return {file, mode, verified, tree, contents, mapping, source}; }
};

/// A load walk's state with its policies as constants, and its tensor reader: what the walk's
/// templates take.
template <bool Lenient, bool Verify, class TensorReader = whole_tensor_reader, bool Convert = false>
struct load_context : load_state {
    static constexpr bool lenient = Lenient;
    static constexpr bool verify = Verify;
    static constexpr bool convert = Convert;  ///< h5ser::convert_dtypes
    TensorReader reader{};

    load_context() : load_state(Lenient, Verify) {}
};

/// What the file should hold for a field, for messages (expected_text): a dataset of a dtype or of
/// any, an attribute of a dtype, or a group.
struct expected_node {
    enum class kind { dataset, any_dataset, attribute, group };
    kind what = kind::group;
    std::string_view dtype;  ///< a dtype name: static storage
};

/// The expected_node of a field of type T.
template <class T>
constexpr expected_node expected_of() {
    constexpr field_kind kind = kind_of<T>();
    if constexpr (runtime_typed_tensor<T>) return {expected_node::kind::any_dataset, {}};
    else if constexpr (kind == field_kind::tensor)
        return {expected_node::kind::dataset, dtype_name<typename tensor_adapter<T>::element_type>()};
    else if constexpr (kind == field_kind::attribute) return {expected_node::kind::attribute, attribute_dtype_name<T>()};
    else if constexpr (kind == field_kind::optional || kind == field_kind::optimizer_state || kind == field_kind::stored)
        return expected_of<contained_t<T>>();
    else return {};
}

/// "dataset float32", "dataset of any element type", "attribute int32", "group".
H5SER_CORE_INLINE std::string expected_text(const expected_node& node);

/// What the file should hold for a field of type T, for messages.
template <class T>
std::string expected_text() {
    return expected_text(expected_of<T>());
}

enum class presence { absent, present, refused };

/// Records that a link to where `expected` should be is soft or external.
H5SER_CORE_INLINE void report_refused_link(problem_list& problems, H5L_type_t type, const std::string& expected, const where& at);

/// Is `name` present among `siblings` where `expected` would be (an attribute, else a link)? Soft
/// and external links are refused (and reported), never followed.
H5SER_CORE_INLINE presence find_member(problem_list& problems, const member_listing& siblings, std::string_view name, const where& at,
                                       const expected_node& expected);

/// The same where a node of type T would be.
template <class T>
presence find_member(problem_list& problems, const member_listing& siblings, std::string_view name, const where& at) {
    return find_member(problems, siblings, name, at, expected_of<T>());
}

/// Is field `name` of `parent` in the file (find_member)? A missing one is a problem, or a lenient
/// load's report entry.
H5SER_CORE_INLINE bool field_present(load_state& state, const tree_group& parent, std::string_view name, const where& at,
                                     const expected_node& expected);

/// Reads attribute field `name` of `parent` as `want` says: from the manifest when the file has one,
/// else through HDF5. Nothing, and a problem recorded, when it does not fit.
H5SER_CORE_INLINE std::optional<attribute_data> read_field_attribute(load_state& state, const tree_group& parent, std::string_view name,
                                                                     const attribute_request& want, const where& at);

/// An attribute field as the load walk reads it, whatever its type: what it wants, and the one
/// operation that needs its type, staging the value made of what was read (attribute_target_of).
/// Numbers, enums, bools and arrays of them need none: the bytes read are the field's bytes
/// (checked: bools are 0 or 1, arrays have their length), copied in when the load commits.
struct attribute_target {
    void* field = nullptr;
    attribute_request want;
    void (*stage)(commit_list& commits, void* field, attribute_data&& data) = nullptr;  ///< strings; null: copy the bytes
};

/// attribute_target::stage of the string attributes models hold most, std::string and
/// std::vector<std::string> fields: compiled once, with the core.
H5SER_CORE_INLINE void stage_string_attribute(commit_list& commits, void* field, attribute_data&& data);
H5SER_CORE_INLINE void stage_string_list_attribute(commit_list& commits, void* field, attribute_data&& data);

/// `field` (an attribute field of type X) as an attribute_target.
template <class X>
attribute_target attribute_target_of(X& field) {
    if constexpr (std::is_same_v<X, std::string>) {
        return {&field, attribute_request_of<X>(), &stage_string_attribute};
    } else if constexpr (std::is_same_v<X, std::vector<std::string>>) {
        return {&field, attribute_request_of<X>(), &stage_string_list_attribute};
    } else if constexpr (std::is_same_v<typename attribute_codec<X>::element, std::string>) {
        return {&field, attribute_request_of<X>(), [](commit_list& commits, void* f, attribute_data&& data) {
                    commits.move_into(*static_cast<X*>(f), attribute_from<X>(std::move(data)));
                }};
    } else {
        static_assert(std::is_trivially_copyable_v<X>);
        return {&field, attribute_request_of<X>(), nullptr};
    }
}

/// Reads attribute field `name` of `parent` (read_field_attribute) and stages it for `target`;
/// `checked_present`: field_present already said it is there.
H5SER_CORE_INLINE void load_attribute(load_state& state, const tree_group& parent, std::string_view name, const attribute_target& target,
                                      const where& at, bool checked_present = false);

template <class Ctx, class T>
void load_node(Ctx& ctx, const tree_group& parent, std::string_view name, T& target, const where& at);

// ---- datasets -------------------------------------------------------------------------------

/// A dataset opened for loading into a tensor, checked against it.
struct opened_tensor {
    handle dataset;
    dataset_view view;
};

/// Does a stored tensor of `found_dtype` and `shape` fit a field of `dtype` in the shape `current`
/// (`rank` dimensions; any shape of that rank when `unsized`)? Records a problem if not.
H5SER_CORE_INLINE bool tensor_matches(problem_list& problems, std::string_view found_dtype, const extent& shape, std::string_view dtype,
                                      const std::size_t* current, std::size_t rank, bool unsized, const where& at);

/// Opens dataset `name` of `parent` and checks it holds `dtype` elements in the shape `current`
/// (`rank` dimensions; any shape of that rank when `unsized`), stored so it can be read. Records a
/// problem and returns nothing when not, or when `reading` is off (the load already failed).
H5SER_CORE_INLINE std::optional<opened_tensor> open_tensor(problem_list& problems, hid_t parent, std::string_view name,
                                                           std::string_view dtype, std::size_t element_size, const std::size_t* current,
                                                           std::size_t rank, bool unsized, bool reading, const where& at);

/// The dtype of dataset `name` of `parent` (at `at`), which a run-time-typed tensor takes: from
/// the manifest `contents` when it lists the dataset, else from HDF5. Nothing, and a problem
/// recorded, when there is no such dataset.
H5SER_CORE_INLINE std::optional<std::string> stored_dtype(problem_list& problems, file_tree& tree, const tree_group& parent,
                                                          const manifest* contents, std::string_view name, const where& at);

/// The element type of attribute `name` of `object` (at `at`), as describe_type names it.
H5SER_CORE_INLINE std::string stored_attribute_dtype(hid_t object, std::string_view name, const where& at);

/// Reads tensor `name` of `parent` (an HDF5 group) whole into staged storage for `slot`, verified
/// (state.verified).
H5SER_CORE_INLINE void load_dataset(load_state& state, hid_t parent, std::string_view name, const tensor_target& slot, const where& at);

/// The same for a tensor of type X (h5ser::mpi reads its replicated tensors so).
template <class X>
void load_dataset(load_state& state, hid_t parent, std::string_view name, X& target, const where& at) {
    load_dataset(state, parent, name, tensor_target_of(target), at);
}

/// Takes tensor `slot` (record `r`) from `bytes`, its element bytes in the mapped file or, for a
/// compact one, in its manifest record: a view of the mapping for types that can view
/// (viewable_tensor), are unsized and whose bytes lie 64-byte aligned in the mapping
/// (h5ser::tensor's promise); else copied, into a new value or, for a tensor that already has its
/// shape, into its own memory when the load commits. Its hash is checked after the walk
/// (state.verified); HDF5 is not called.
H5SER_CORE_INLINE void load_mapped(load_state& state, const manifest_record& r, const unsigned char* bytes, bool in_mapping,
                                   const tensor_target& slot, const where& at);

/// Lists tensor `slot` (record `r`, contiguous in the file) for reading by byte range from the
/// load's source (`state.source`: the local file with pread, h5ser::owned_memory, or a URL) into
/// memory of its own: a new value for an unsized tensor, else a staging buffer copied into the
/// tensor when the load commits. The reads happen together at the end of the walk (finish_walk),
/// where each is hashed as it arrives and checked (state.verified). HDF5 is not called; a read
/// error is an h5ser::error, never a signal (as a mapping's page would be).
H5SER_CORE_INLINE void load_read(load_state& state, const manifest_record& r, const tensor_target& slot, const where& at);

/// Reads tensor `slot`, field `name` of `parent`: from the mapping or the ranged source when the
/// file has a manifest and the tensor is contiguous or compact, else through HDF5.
H5SER_CORE_INLINE void read_whole_tensor(load_state& state, const tree_group& parent, std::string_view name, const tensor_target& slot,
                                         const where& at);

template <class Ctx, class X>
void whole_tensor_reader::read(Ctx& ctx, const tree_group& parent, std::string_view name, X& target, const where& at) {
    read_whole_tensor(ctx, parent, name, tensor_target_of(target), at);
}

// ---- structs --------------------------------------------------------------------------------

/// What a strict load's missing and unexpected problems say a lenient load would do.
inline constexpr std::string_view keeps_value_hint = "h5ser::lenient with an h5ser::load_report keeps its value";
inline constexpr std::string_view leaves_it_hint =
    "the struct has no field of this name (h5ser::lenient with an h5ser::load_report leaves it)";

/// Adds to each problem since `first` of a field of the group at `at` (a struct of type
/// `type_name`) that is missing a "renamed?" hint when the group holds unexpected objects of the
/// same kind: the h5ser::evolution line that would read one of them as the field.
H5SER_CORE_INLINE void suggest_renames(problem_list& problems, std::size_t first, const where& at, std::string_view type_name);

/// "dataset 'extra'", "group 'old'", "soft link 'x'": what an unexpected link of `group` leads to.
H5SER_CORE_INLINE std::string describe_link(const file_tree& tree, const tree_group& group, const member_listing::link& link);

/// Records, as unexpected, each link and attribute of `group` the struct does not name in `links`
/// and `attributes`. Weights-only files keep no attributes; the root's reserved attributes
/// (h5ser_*, schema, fingerprint, ...) are always expected.
H5SER_CORE_INLINE void report_unexpected(problem_list& problems, save_mode mode, const file_tree& tree, const tree_group& group,
                                         const std::vector<std::string_view>& links, const std::vector<std::string_view>& attributes,
                                         const where& at, bool root);

/// What load_members keeps while it reads the fields of one struct from `group` (at `at`; of type
/// `type_name`, whose h5ser::evolution declares `renames`; `upgrade`: read into a copy its hook
/// upgrades): the names its fields are read under, and where the field being read is. Compiled
/// once: the walk's template over the struct only asks it where each field is.
class member_reads {
public:
    H5SER_CORE_INLINE member_reads(load_state& state, const tree_group& group, const where& at, std::span<const rename> renames,
                                   std::string_view type_name, pending_upgrade* upgrade);
    H5SER_CORE_INLINE ~member_reads();
    member_reads(const member_reads&) = delete;
    member_reads& operator=(const member_reads&) = delete;

    /// Where field `name` is read from: `stored`, its own name or the old name of one of its
    /// renames the group holds instead, and the place returned: where it goes in the model (its
    /// own field path) and where it is in the file, valid until the next call. Null when the field
    /// is not read: an upgraded struct's field that the group lacks, unless `optional`, is its
    /// hook's to fill. Every name of the field the group holds is used (`as_attribute`: among its
    /// attributes, else its links); two of them at once are a problem. A field read under an old
    /// name is noted in `state.renamed`.
    H5SER_CORE_INLINE const where* place(std::string_view name, bool as_attribute, bool optional, std::string_view& stored);

    /// After the last field: the group's objects no field used are unexpected (when the load
    /// reports them; an upgraded struct's go to its hook), and a strict load's problems get the
    /// renames that would explain them (suggest_renames).
    H5SER_CORE_INLINE void finish(bool root);

private:
    load_state& state_;
    const tree_group& group_;
    const where& at_;
    std::span<const rename> renames_;
    std::string_view type_name_;
    pending_upgrade* upgrade_;
    std::size_t first_problem_;
    std::vector<std::string_view> links_;
    std::vector<std::string_view> attributes_;
    where place_;
};

/// The version of the struct group `group` (at `at`) holds: its h5ser_struct_version attribute, 1
/// without one. Nothing, and a problem recorded, when the attribute is not a version.
H5SER_CORE_INLINE std::optional<int> stored_version(problem_list& problems, file_tree& tree, const tree_group& group, const where& at);

/// "layers[0] (Dense version 1 -> 3)": a report's `upgraded` entry.
H5SER_CORE_INLINE std::string upgraded_entry(const where& at, std::string_view type_name, int from, int to);

/// Records that group `at` holds a `type_name` of version `found`, newer than the `known` one.
H5SER_CORE_INLINE void report_newer_version(problem_list& problems, const where& at, std::string_view type_name, int found, int known);

/// Reads the fields of `target` from `group`. An upgraded struct's (`upgrade`) fields that the group
/// lacks are its hook's to fill, and the objects no field reads go to `upgrade->unexpected`.
template <class Ctx, class T>
void load_members(Ctx& ctx, const tree_group& group, T& target, const where& at, bool root, pending_upgrade* upgrade) {
    member_reads reads(ctx, group, at, renames_of<T>(), type_name<T>(), upgrade);
    for_each_field(target, [&](std::string_view name, auto& field) {
        using field_type = std::remove_cvref_t<decltype(field)>;
        if constexpr (is_stored<field_type, save_mode::full_model>()) {
            if (ctx.mode == save_mode::weights_only && !is_stored<field_type, save_mode::weights_only>()) return;
            std::string_view stored;
            if (const where* place =
                    reads.place(name, stored_as_attribute<field_type>(), kind_of<field_type>() == field_kind::optional, stored))
                load_node(ctx, group, stored, field, *place);
        }
    });
    reads.finish(root);
}

/// Reads a struct saved at an older version `file_version` whose h5ser::evolution has an upgrade
/// hook: its fields go into a copy of `target`, which the hook upgrades after the walk
/// (run_upgrades); the copy moves into `target` when the whole load succeeds.
template <class Ctx, class T>
void load_upgraded(Ctx& ctx, const tree_group& group, T& target, const where& at, bool root, int file_version) {
    ctx.upgraded.push_back(upgraded_entry(at, type_name<T>(), file_version, version_of<T>()));
    auto staged = ctx.commits.stage(target, T(target));
    T& copy = staged.value();  // stays where it is: the slot is on the heap
    pending_upgrade upgrade;
    commit_list outer = std::move(ctx.commits);
    ctx.commits = commit_list{};
    load_members(ctx, group, copy, at, root, &upgrade);
    upgrade.actions = std::move(ctx.commits);
    ctx.commits = std::move(outer);
    ctx.commits.finish(std::move(staged));
    upgrade.group = ctx.tree->share(group);
    upgrade.at = at;
    upgrade.file_version = file_version;
    upgrade.type_name = type_name<T>();
    upgrade.copy = &copy;
    upgrade.run = [](const old_group& old, void* c, int v) { evolution<T>::upgrade(old, *static_cast<T*>(c), v); };
    ctx.upgrades.push_back(std::move(upgrade));
}

template <class Ctx, class T>
void load_fields(Ctx& ctx, const tree_group& group, T& target, const where& at, bool root = false) {
    static_assert(assert_renames<T>() && assert_version<T>());
    const std::optional<int> saved = stored_version(ctx.problems, *ctx.tree, group, at);
    if (!saved) return;
    if (*saved > version_of<T>()) return report_newer_version(ctx.problems, at, type_name<T>(), *saved, version_of<T>());
    if constexpr (has_upgrade<T>) {
        if (*saved < version_of<T>()) return load_upgraded(ctx, group, target, at, root, *saved);
    }
    load_members(ctx, group, target, at, root, nullptr);
}

// ---- sequences and maps ---------------------------------------------------------------------

template <class Element>
std::vector<std::string> child_names(const member_listing& listing) {
    std::vector<std::string> names;
    if constexpr (stored_as_attribute<Element>()) names = listing.attributes;
    else
        for (const auto& l : listing.links) names.push_back(l.name);
    return names;
}

/// The element count of a sequence group whose children are `names`: they must be "0" to "n-1".
H5SER_CORE_INLINE std::optional<std::size_t> sequence_length(problem_list& problems, const std::vector<std::string>& names,
                                                             const where& at);

template <class Ctx, class T>
void load_sequence(Ctx& ctx, const tree_group& group, T& target, const where& at) {
    using traits = sequence_traits<T>;
    using element = typename traits::element;
    const auto length = sequence_length(ctx.problems, child_names<element>(group.members()), at);
    if (!length) return;
    const auto load_element = [&](std::size_t i, element& e) {
        const std::string key = std::to_string(i);
        load_node(ctx, group, key, e, at.child(key, true));
    };
    const auto check_length = [&](std::size_t expected) {
        if (*length == expected) return true;
        ctx.problems.add({errc::shape_mismatch,
                          at.field,
                          at.h5_or_root(),
                          std::to_string(expected) + " elements",
                          std::to_string(*length) + " elements",
                          {}});
        return false;
    };
    if constexpr (traits::fixed_size) {
        if (!check_length(traits::size)) return;
        for (std::size_t i = 0; i < traits::size; ++i) load_element(i, target[i]);
    } else if (!target.empty()) {
        // A sized vector is filled element by element and must have the file's length.
        if (!check_length(target.size())) return;
        for (std::size_t i = 0; i < target.size(); ++i) load_element(i, target[i]);
    } else {
        // An empty vector takes the file's length; its elements are staged, then moved in whole.
        auto staged = ctx.commits.stage(target, T(*length));
        for (std::size_t i = 0; i < *length; ++i) load_element(i, staged.value()[i]);
        ctx.commits.finish(std::move(staged));
    }
}

/// An entry of a map in a file: the group that holds it, its name there, and its key.
struct map_entry {
    const tree_group* parent;
    std::string name;
    std::string key;
};

/// The entries of the map stored in `group` (the file's root when `root`, whose reserved names are
/// no entries): its attributes when `attributes`, else its links; with `paths` (a map of tensors),
/// the links of its subgroups too, keyed by their paths below `group` ("encoder/0/w"), as
/// walk_entries saves such keys. The subgroups are opened into `opened`. (`Tree` is file_tree: these
/// are templates, so that only translation units that load a map compile them.)
template <class Tree>
std::vector<map_entry> map_entries(Tree& tree, problem_list& problems, const tree_group& group, bool attributes, bool paths, bool root,
                                   std::vector<std::unique_ptr<tree_group>>& opened, const where& at) {
    std::vector<map_entry> entries;
    const auto add = [&](const tree_group& g, const std::string& prefix, auto& self) -> void {
        const member_listing& members = g.members();
        if (attributes) {
            for (const std::string& name : members.attributes)
                if (!root || !format::is_reserved_root_name(name)) entries.push_back({&g, name, name});
            return;
        }
        for (const member_listing::link& link : members.links) {
            if (root && prefix.empty() && format::is_reserved_root_name(link.name)) continue;
            std::string key = prefix + link.name;
            if (paths && link.type == H5L_TYPE_HARD && tree.object_type(g, link) == H5I_GROUP) {
                if (auto child = tree.open_group(problems, g, link.name, at.key(key))) {
                    opened.push_back(std::make_unique<tree_group>(std::move(*child)));
                    self(*opened.back(), key + "/", self);
                }
                continue;
            }
            entries.push_back({&g, link.name, std::move(key)});
        }
    };
    add(group, {}, add);
    return entries;
}

/// The group below `group` that holds the entry of path key `key` ("encoder/0/w"), opened into
/// `opened`; null when a group on the way is missing (and `missing` set) or is no group (a problem
/// recorded).
template <class Tree>
const tree_group* entry_parent(Tree& tree, problem_list& problems, const tree_group& group, std::string_view key,
                               std::vector<std::unique_ptr<tree_group>>& opened, bool& missing, const where& at) {
    const tree_group* parent = &group;
    for (std::size_t slash = key.find('/'), start = 0; slash != std::string_view::npos; start = slash + 1, slash = key.find('/', start)) {
        const std::string_view name = key.substr(start, slash - start);
        const member_listing::link* link = parent->members().find_link(name);
        if (!link) {
            missing = true;
            return nullptr;
        }
        if (link->type != H5L_TYPE_HARD) {
            report_refused_link(problems, link->type, "group", at);
            return nullptr;
        }
        auto child = tree.open_group(problems, *parent, name, at);
        if (!child) return nullptr;
        opened.push_back(std::make_unique<tree_group>(std::move(*child)));
        parent = opened.back().get();
    }
    return parent;
}

/// Loads a string-keyed map from `group`: a child of a struct, or the file's root (`root`). A map
/// of tensors takes the datasets of the whole tree below `group`, keyed by their paths: any file's
/// datasets read flat into `std::map<std::string, h5ser::any_tensor>`.
template <class Ctx, class T>
void load_map(Ctx& ctx, const tree_group& group, T& target, const where& at, bool root = false) {
    using element = typename string_map_traits<T>::element;
    constexpr bool paths = kind_of<element>() == field_kind::tensor;
    std::vector<std::unique_ptr<tree_group>> opened;
    const std::vector<map_entry> entries =
        map_entries(*ctx.tree, ctx.problems, group, stored_as_attribute<element>(), paths, root, opened, at);
    if (target.empty()) {
        auto staged = ctx.commits.stage(target, T{});
        for (const map_entry& entry : entries) {
            element& e = staged.value()[entry.key];
            load_node(ctx, *entry.parent, entry.name, e, at.key(entry.key));
        }
        ctx.commits.finish(std::move(staged));
        return;
    }
    // A filled map is loaded key by key, like a struct whose fields are its keys.
    for (auto& [key, e] : target) {
        const std::size_t slash = paths ? key.rfind('/') : std::string::npos;
        if (slash == std::string::npos) {
            load_node(ctx, group, key, e, at.key(key));
            continue;
        }
        const where w = at.key(key);
        bool missing = false;
        if (const tree_group* parent = entry_parent(*ctx.tree, ctx.problems, group, key, opened, missing, w))
            load_node(ctx, *parent, std::string_view(key).substr(slash + 1), e, w);
        else if (missing)
            ctx.mismatches().add({errc::missing_field, w.field, w.h5, expected_text<element>(), {}, std::string(keeps_value_hint)});
    }
    if (!ctx.report_unexpected) return;
    for (const map_entry& entry : entries) {
        if (target.find(entry.key) == target.end()) {
            const where w = at.key(entry.key);
            ctx.mismatches().add(
                {errc::unexpected_field, w.field, w.h5, "nothing", "entry '" + entry.key + "'", "the map has no such key"});
        }
    }
}

// ---- the walk -------------------------------------------------------------------------------

/// The load walk's visitor for one node: field `name` of group `parent`.
template <class Ctx>
struct load_step {
    Ctx& ctx;
    const tree_group& parent;
    std::string_view name;
    const where& at;

    template <class X>
    void tensor(X& x) {
        if constexpr (assert_loadable_tensor<X>()) {
            if (!present<X>()) return;
            const auto read = [&](auto& target) {
                if constexpr (Ctx::convert) {
                    if (read_converted(target)) return;
                }
                ctx.reader.read(ctx, parent, name, target, at);
            };
            if constexpr (runtime_typed_tensor<X>) runtime_typed(x);
            else if constexpr (adapted_tensor<X>) read(x);
            else
                load_through_c_order(ctx.commits, x, takes_file_shape(x), [&](auto& target) {
                    read(target);
                    ctx.read_listed();  // the C-order copy is reordered now
                });
        }
    }
    template <class X>
    void attribute(X& x) {
        if constexpr (Ctx::convert && std::is_arithmetic_v<X> && !std::is_same_v<X, bool>) {
            if (!present<X>() || read_converted_attribute(x)) return;
            load_attribute(ctx, parent, name, attribute_target_of(x), at, true);
        } else {
            load_attribute(ctx, parent, name, attribute_target_of(x), at);
        }
    }
    template <class X>
    void group(X& x) {
        if (const auto g = open_group<X>()) load_fields(ctx, *g, x, at);
    }
    template <class X>
    void sequence(X& x) {
        if (const auto g = open_group<X>()) load_sequence(ctx, *g, x, at);
    }
    template <class X>
    void map(X& x) {
        if (const auto g = open_group<X>()) load_map(ctx, *g, x, at);
    }
    template <class X>
    void optional(X& x) {
        using element = contained_t<X>;
        const presence found = find_member<element>(ctx.problems, parent.members(), name, at);
        if (found == presence::refused) return;
        if (found == presence::absent) {
            // Absent means empty; a lenient load keeps a value it has, and says so.
            if (x && Ctx::lenient) ctx.skipped.add({errc::missing_field, at.field, at.h5_or_root(), expected_text<element>(), {}, {}});
            else if (x) ctx.commits.move_into(x, X{});
            return;
        }
        auto staged = ctx.commits.stage(x, x ? X(*x) : X(element{}));
        load_node(ctx, parent, name, *staged.value(), at);
        ctx.commits.finish(std::move(staged));
    }
    template <class X>
    void optimizer_state(X& x) {
        load_node(ctx, parent, name, x.value, at);
    }
    template <class X>
    void stored(X& x) {
        load_node(ctx, parent, name, x.value, at);
    }

private:
    /// h5ser::convert_dtypes: when dataset `name` holds elements of another type that converts to
    /// X's, reads it as stored (verified as stored), converts it into X's type and stages that;
    /// true when it did (or recorded why it could not). False: the usual read follows (the same
    /// type, or one that does not convert, which it reports).
    template <class X>
    bool read_converted(X& x) {
        using adapter = tensor_adapter<X>;
        using element = typename adapter::element_type;
        constexpr std::string_view dtype = dtype_name<element>();
        if constexpr (std::is_same_v<element, bool>) return false;  // bool converts from nothing
        const std::optional<std::string> found = stored_dtype(ctx.problems, *ctx.tree, parent, ctx.contents, name, at);
        if (!found) return true;
        if (*found == dtype || !convertible(*found, dtype)) return false;
        ctx.converted.push_back(at.field + " (" + *found + " -> " + std::string(dtype) + ")");
        with_element_type(*element_kind_named(*found), [&]<class S>() {
            if constexpr (std::is_same_v<S, bool>) {
                return;  // never convertible
            } else {
                dynamic_tensor<S> stored;
                const std::size_t mark = ctx.commits.mark();
                ctx.reader.read(ctx, parent, name, stored, at);
                ctx.read_listed();                       // converted now
                if (ctx.commits.mark() == mark) return;  // not read: a problem was recorded, or no data is read
                ctx.commits.apply_since(mark);
                stage_converted(x, stored, *found);
            }
        });
        return true;
    }
    /// Stages `stored` (read at `at`, elements `found`) converted into X's element type, for `x`.
    template <class X, class S>
    void stage_converted(X& x, const dynamic_tensor<S>& stored, const std::string& found) {
        using adapter = tensor_adapter<X>;
        using element = typename adapter::element_type;
        constexpr std::string_view dtype = dtype_name<element>();
        // The shape must fit as it would without a conversion.
        const auto current = shape_of(std::as_const(x));
        const bool unsized = takes_file_shape(x);
        extent shape;
        shape.scalar = stored.shape().empty();
        for (const std::size_t d : stored.shape()) shape.dims.push_back(d);
        if (!tensor_matches(ctx.problems, dtype, shape, dtype, current.data(), adapter::rank, unsized, at)) return;
        const std::size_t count = stored.shape().elements();
        const auto convert_into = [&](element* out) {
            const std::size_t bad = convert_elements(stored.data(), out, count);
            if (bad == count) return true;
            std::string value;
            if constexpr (std::is_integral_v<S>) value = " " + std::to_string(stored.data()[bad]);
            ctx.problems.add({errc::invalid_value, at.field, at.h5_or_root(), "values that fit " + std::string(dtype),
                              found + " value" + value + " at element " + std::to_string(bad),
                              "h5ser::convert_dtypes converts an integer only when its value fits the field's type"});
            return false;
        };
        const auto file_shape = to_shape<adapter::rank>(stored.shape());
        if (unsized) {
            if constexpr (resizable_tensor<X>) {
                X staged{};
                adapter::resize_for_overwrite(staged, file_shape);
                if (convert_into(adapter::data(staged))) ctx.commits.move_into(x, std::move(staged));
                return;
            }
        }
        std::vector<unsigned char> bytes(count * sizeof(element));
        if (convert_into(reinterpret_cast<element*>(bytes.data())))
            ctx.commits.copy_into(static_cast<void*>(adapter::data(x)), std::move(bytes));
    }
    /// h5ser::convert_dtypes for a numeric attribute: read as stored, converted to X; true when it did.
    template <class X>
    bool read_converted_attribute(X& x) {
        constexpr std::string_view dtype = dtype_name<X>();
        const manifest_record* r = ctx.tree->attribute(parent, name);
        const std::string found = r ? std::string(r->dtype) : stored_attribute_dtype(ctx.tree->hdf5_group(parent, at), name, at);
        if (found == dtype || !convertible(found, dtype)) return false;
        ctx.converted.push_back(at.field + " (" + found + " -> " + std::string(dtype) + ")");
        with_element_type(*element_kind_named(found), [&]<class S>() {
            if constexpr (std::is_arithmetic_v<S> && !std::is_same_v<S, bool>) {
                std::optional<attribute_data> data = read_field_attribute(ctx, parent, name, attribute_request_of<S>(), at);
                if (!data) return;
                const S value = attribute_from<S>(std::move(*data));
                X converted{};
                if (convert_elements(&value, &converted, 1) != 1) {
                    ctx.problems.add({errc::invalid_value, at.field, at.h5_or_root(), "a value that fits " + std::string(dtype),
                                      found + " value " + std::to_string(value),
                                      "h5ser::convert_dtypes converts an integer only when its value fits the field's type"});
                    return;
                }
                ctx.commits.move_into(x, std::move(converted));
            }
        });
        return true;
    }
    /// A run-time-typed tensor takes the element type and the shape of the file's dataset: it is
    /// read as a dynamic_tensor of that type (owning its memory, or a view of the mapped file),
    /// which the adapter's view() then wraps. Nothing reaches `x` before the load commits.
    template <class X>
    void runtime_typed(X& x) {
        using adapter = tensor_adapter<X>;
        const std::optional<std::string> found = stored_dtype(ctx.problems, *ctx.tree, parent, ctx.contents, name, at);
        if (!found) return;
        const std::optional<element_kind> kind = element_kind_named(*found);
        if (!kind || !adapter::holds(*kind)) {
            ctx.problems.add({errc::dtype_mismatch,
                              at.field,
                              at.h5_or_root(),
                              "dataset of an element type " + std::string(type_name<X>()) + " holds",
                              "dataset " + *found,
                              {}});
            return;
        }
        with_element_type(*kind, [&]<class E>() {
            dynamic_tensor<E> staged;
            const std::size_t mark = ctx.commits.mark();
            ctx.reader.read(ctx, parent, name, staged, at);
            ctx.read_listed();                       // viewed as X's elements now
            if (ctx.commits.mark() == mark) return;  // not read: a problem was recorded (or an earlier one stops reading)
            ctx.commits.apply_since(mark);
            ctx.commits.move_into(x, adapter::view(*kind, staged.shape(), static_cast<void*>(staged.data()), staged.keep()));
        });
    }
    /// Is the field in the file? A missing one is a problem, or a lenient load's report entry.
    template <class X>
    bool present() {
        return field_present(ctx, parent, name, at, expected_of<X>());
    }
    template <class X>
    std::optional<tree_group> open_group() {
        if (!present<X>()) return std::nullopt;
        return ctx.tree->open_group(ctx.problems, parent, name, at);
    }
};

/// Loads field `name` (located at `at`) of group `parent` into `target`.
template <class Ctx, class T>
void load_node(Ctx& ctx, const tree_group& parent, std::string_view name, T& target, const where& at) {
    visit_field(load_step<Ctx>{ctx, parent, name, at}, target);
}

// ---- files ----------------------------------------------------------------------------------

/// Does the root group `root` of a file without a manifest keep a fingerprint attribute no tensors
/// can match (text not of to_hex's form)? A strict verified load of everything refuses such a file.
H5SER_CORE_INLINE bool keeps_unmatchable_fingerprint(hid_t root, const where& at);

/// Checks the fingerprint of the tensors a strict load of everything the file holds read (`read`)
/// against the file's (its manifest's, else its root attribute's) and the one the caller gave
/// (`given`, h5ser::verify_with); records a problem if not.
H5SER_CORE_INLINE void check_fingerprint(problem_list& problems, file_tree& tree, const tree_group& root, const manifest* contents,
                                         const digest_list& read, std::optional<std::uint64_t> given, const where& at);

/// Runs the upgrade hooks of the structs a walk read at older versions (`upgrades`, innermost
/// first): applies the actions that fill each copy (saving in `undo` what they overwrite beyond
/// it), then the hook. A hook that throws becomes a problem naming it; objects of a group its hook
/// read are used, the others go to `mismatches`, and the hashes of tensors only a hook read to
/// `fingerprint`.
H5SER_CORE_INLINE void run_upgrades(std::vector<pending_upgrade>& upgrades, const load_source& reads, problem_list& problems,
                                    problem_list& mismatches, digest_list& fingerprint, undo_log& undo);

/// Ends a walk into `state`: reads the tensors it listed by range, hashes the tensors taken from the
/// mapping and, when everything read is right and data was read, runs the upgrade hooks.
H5SER_CORE_INLINE void finish_walk(load_state& state);

/// Ends the walk of a whole file whose root is `root` (finish_walk) and, when the load covers
/// everything the file holds, checks the file's fingerprint. What upgraded structs' fields
/// overwrote outside the load's copies goes back when the load fails.
H5SER_CORE_INLINE void finish_tree(load_state& state, const tree_group& root, const where& at);

/// What a load of one object of a file (h5ser::read_tensor) reads: the object at `path`
/// ("/group/name") into `value`, the rest of the file unread and not unexpected.
template <class X>
struct object_at {
    std::string path;
    X value{};
};
template <class T>
inline constexpr bool is_object_at_v = false;
template <class X>
inline constexpr bool is_object_at_v<object_at<X>> = true;

/// The names along `path` ("/a/b/c": a, b, c); nothing when it names no object (empty, "/", "a//b").
H5SER_CORE_INLINE std::optional<std::vector<std::string>> object_path_names(std::string_view path);

/// Reads the object `target.path` of the file whose root is `root` into `target.value`: the groups
/// on the path are opened, the object read as a field of the last one would be. Nothing else of
/// the file is looked at.
template <class Ctx, class X>
void load_object_at(Ctx& ctx, const tree_group& root, object_at<X>& target) {
    const auto names = object_path_names(target.path);
    if (!names) {
        ctx.problems.add({errc::invalid_value, {}, target.path, "the path of an object, such as /group/name", "'" + target.path + "'", {}});
        return;
    }
    std::optional<tree_group> group;
    std::string path;
    for (std::size_t i = 0; i < names->size(); ++i) {
        const std::string& name = (*names)[i];
        path += "/" + name;
        const where at{ctx.file, path.substr(1), path};
        const tree_group& parent = group ? *group : root;
        const bool leaf = i + 1 == names->size();
        const presence found = leaf ? find_member<X>(ctx.problems, parent.members(), name, at)
                                    : find_member<object_at<X>>(ctx.problems, parent.members(), name, at);
        if (found == presence::refused) return;
        if (found == presence::absent) {
            ctx.problems.add({errc::missing_field,
                              at.field,
                              path,
                              leaf ? expected_text<X>() : std::string("group"),
                              {},
                              "h5ser::inspect(path) or `h5ser ls FILE` lists what the file holds"});
            return;
        }
        if (leaf) return load_node(ctx, parent, name, target.value, at);
        auto next = ctx.tree->open_group(ctx.problems, parent, name, at);
        if (!next) return;
        group = std::move(next);
    }
}

/// Opens the root group of the file the walk reads: state.root, at state.root_at.
H5SER_CORE_INLINE const tree_group& open_root(load_state& state);

/// Reads the fields of `model` from the file's root group into `ctx` (problems and staged values),
/// and, when the load covers everything the file holds, checks the file's fingerprint.
template <class Ctx, class Model>
void load_tree(Ctx& ctx, Model& model) {
    const tree_group& root = open_root(ctx);
    const where& at = ctx.root_at;
    if constexpr (is_object_at_v<Model>) load_object_at(ctx, root, model);
    else if constexpr (string_map_traits<Model>::value) load_map(ctx, root, model, at, true);
    else load_fields(ctx, root, model, at, true);
    finish_tree(ctx, root, at);
}

/// What the caller of a load asks beyond its policies.
struct load_request {
    load_report* report = nullptr;  ///< where the load's report goes (an h5ser::load_report& argument)
    /// Off: a strict load of everything does not compare the file's fingerprint (an isolated
    /// child's copy of a file that keeps none).
    bool check_fingerprint = true;
    /// Off: everything is checked but no tensor data is read (an isolated child's check, whose copy
    /// the caller reads and verifies).
    bool read_data = true;
    /// A fingerprint the tensors read must give, beside the file's (h5ser::verify_with).
    std::optional<std::uint64_t> given_fingerprint = {};
};

/// How a load reads a file: in which mode, whether objects the struct lacks are listed (errors of a
/// strict load, report entries of a lenient one), and what its caller asks.
struct load_plan {
    save_mode mode;
    bool report_unexpected;
    load_request request;
};

/// The report of a load that skipped `skipped`, read `renamed` under old names, upgraded
/// `upgraded` structs and converted `converted` element types (load_context).
H5SER_CORE_INLINE load_report report_of(const problem_list& skipped, std::vector<std::string> renamed, std::vector<std::string> upgraded,
                                        std::vector<std::string> converted);

/// What the load walk of one model starts from (load_from): the file's tree and size, the plan,
/// and where the tensors come from (the mapping, a ranged source, or, with neither, HDF5).
struct walk_input {
    file_tree& tree;
    const std::string& path;
    std::uint64_t size;
    const load_plan& plan;
    const progress_callback& progress;
    const manifest* contents = nullptr;
    std::shared_ptr<const mapped_file> mapping = {};
    const ranged_source* source = nullptr;
};

/// Sets `state` up for the walk of `in`.
H5SER_CORE_INLINE void start_walk(load_state& state, const walk_input& in);

/// Ends the load `state` walked (`in`): throws its problems, if any, else moves the staged values
/// into the model and gives the report and the last progress.
H5SER_CORE_INLINE void end_walk(load_state& state, const walk_input& in);

/// Loads `model` from the file `in.path` whose tree is `in.tree`, as `in.plan` says: from the
/// mapping, from `in.source` by byte range, or (neither) through HDF5.
template <bool Lenient, bool Verify, bool Convert, class Model>
void load_from(const walk_input& in, Model& model) {
    load_context<Lenient, Verify, whole_tensor_reader, Convert> ctx;
    start_walk(ctx, in);
    load_tree(ctx, model);
    end_walk(ctx, in);
}

}  // namespace h5ser::detail

#if H5SER_CORE_DEFINITIONS
#include "h5ser/detail/load/load_walk-inl.hpp"
#endif
