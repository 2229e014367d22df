// h5ser/detail/load/load_file.hpp: the entry of every load of an h5ser file (h5ser::load, load_into,
// the checkpoint manager's restores): opens the file once, checks its seal, maps it, plans the
// walk (load_walk.hpp), and chooses between loading in this process and in an isolated child.
//
// A .safetensors file is walked as a sealed file is, over the manifest h5ser makes of its header.
// A file that needs libhdf5 (one h5ser did not seal, or sealed with chunked tensors) is parsed by
// a child process (isolation.hpp), which checks it against the struct as the caller's load would
// (every error the same) without reading tensor data, then copies the file's tree into a sealed
// scratch file (tree_copy.hpp), data read once, with the file's checksums; the caller maps the copy
// and loads it with the same walk, verified. The file never reaches libhdf5 in the caller, and no
// save of the model is compiled into a load. The model changes only if both loads succeed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "h5ser/detail/format/format.hpp"
#include "h5ser/detail/format/hash.hpp"
#include "h5ser/detail/format/seal.hpp"
#include "h5ser/detail/load/load_walk.hpp"
#include "h5ser/detail/load/mapped_file.hpp"
#include "h5ser/detail/load/opened_file.hpp"
#include "h5ser/detail/load/ranged_source.hpp"
#include "h5ser/detail/safetensors/header.hpp"
#include "h5ser/detail/safetensors/tree.hpp"  // takes_whole_names
#include "h5ser/policy.hpp"
#include "h5ser/progress.hpp"

namespace h5ser::detail {

/// What the walk takes of a load's policies: the mode, strictness, verification, memory and
/// origin, with the trust left out (h5ser::keras's load of its isolated child's copy).
template <save_mode Mode, bool Lenient, bool Verify, bool Map, bool Convert, bool Foreign>
struct walk_policies {
    static constexpr save_mode mode = Mode;
    static constexpr bool lenient = Lenient;
    static constexpr bool verify = Verify;
    static constexpr bool map = Map;
    static constexpr bool convert = Convert;
    static constexpr bool foreign = Foreign;
    static constexpr isolation isolate = isolation::never;
};

/// Whether a load under `Policies` without an h5ser::load_report may run: a lenient one may not,
/// as what it skips would go unsaid (false, after the error).
template <class Policies>
constexpr bool assert_report_given() {
    static_assert(!Policies::lenient,
                  "h5ser::lenient loads say what they skipped: pass an h5ser::load_report& as the last argument, "
                  "h5ser::load<Model, h5ser::lenient>(path, report) or h5ser::load_into<h5ser::lenient>(model, path, report), "
                  "and read report.missing and report.unexpected");
    return !Policies::lenient;
}

// The load entry below is compiled once (the compiled core), not once per model and policies: what
// it needs of the model is a model_to_load, and of the policies a load_choices. Only the walk
// (load_from) is instantiated for the model, and only the policies it takes (lenient, verify,
// convert) make it another.

struct load_choices;

/// The model a load fills, as the load entry sees it: where it is, what of its type the entry's
/// decisions need, and the walk instantiated for it.
struct model_to_load {
    void* model = nullptr;
    bool fresh = false;                                         ///< h5ser::load's default-constructed model (not load_into's)
    bool weights_cover_everything = false;                      ///< weights_cover_everything<Model>()
    const std::string* object_path = nullptr;                   ///< one object of the file (h5ser::read_tensor): its path
    bool whole_names = false;                                   ///< a .safetensors file's names stay whole (takes_whole_names)
    void (*walk)(const walk_input& in, void* model) = nullptr;  ///< load_from<Lenient, Verify, Convert, Model>
};

/// An isolated load (load_isolated), or null where the policies are h5ser::trusted: then a
/// translation unit that loads never compiles the isolated path.
using isolated_loader = void (*)(const model_to_load& target, const load_choices& choices, const opened_file& file, const seal_check& seal,
                                 const progress_callback& progress, const load_request& request);

/// A load's policies as values, for the load entry.
struct load_choices {
    save_mode mode = save_mode::as_saved;
    bool lenient = false;
    bool verify = true;
    bool map = true;
    bool convert = false;
    bool foreign = false;
    isolation isolate = isolation::hdf5_parses;
    isolated_loader isolated = nullptr;  ///< set unless isolate is never

    /// The same load in place: what an isolated load runs in its child and on the child's copy.
    [[nodiscard]] load_choices in_place() const noexcept {
        load_choices c = *this;
        c.isolate = isolation::never;
        c.isolated = nullptr;
        return c;
    }
};

/// The plan for loading a file with `header` under `choices` into `target`; throws when the mode
/// asked and the file's disagree.
H5SER_CORE_INLINE load_plan plan_walk(const load_choices& choices, const model_to_load& target, const file_header& header,
                                      const std::string& path);

/// Loads the sealed format-2 file `path` (`size` bytes; `contents`, its checked manifest, is its
/// tree) into `target` under `choices`, without HDF5: tensors are views of `mapping` or copied from
/// it, or read by range from `source` (h5ser::owned_memory, a URL); compact ones come from the
/// manifest. Chunked tensors are read through `tree`'s HDF5 file (a local file's).
H5SER_CORE_INLINE void load_sealed(const model_to_load& target, const load_choices& choices, file_tree& tree, const std::string& path,
                                   std::uint64_t size, const manifest& contents, std::shared_ptr<const mapped_file> mapping,
                                   const ranged_source* source, const progress_callback& progress, const load_request& request);

/// Loads `file` (opened once; its seal checked as `seal`) into `target` under `choices`, in this
/// process.
///
/// A sealed format-2 file whose seal checks out is read through the descriptor the seal was checked
/// on, and the walk reads its manifest, which the seal proves is the file's tree (load_sealed): the
/// file is mapped and its tensors are views of the mapping, or, with h5ser::owned_memory, read into
/// memory of their own with pread; HDF5 opens the file only for chunked tensors. Other files are
/// walked through HDF5. Whatever HDF5 opens by name is checked to be `file` (errc::file_changed if
/// another file was renamed over the name since).
/// `request`: where the report goes, and what an isolated load asks of its child and of its copy.
H5SER_CORE_INLINE void load_model(const model_to_load& target, const load_choices& choices, const opened_file& file, const seal_check& seal,
                                  const progress_callback& progress, load_request request);

/// Loads the URL `url` (http:// or https://) into `target` under `choices`: a sealed format-2 file
/// on a web server, read without HDF5 as a local one is (load_sealed) through the source
/// <h5ser/remote.hpp> opens, which read its seal and manifest in one request. Its tensors come by
/// ranged requests, each hashed as it arrives. Files that would need HDF5 (not sealed, format 1,
/// chunked tensors) are errc::needs_local_copy.
H5SER_CORE_INLINE void load_remote(const model_to_load& target, const load_choices& choices, const std::string& url,
                                   const progress_callback& progress, const load_request& request);

/// Does a load under `choices` of a file whose seal is `seal` parse it with libhdf5 in a child
/// process? Every parse of a file not declared h5ser::trusted does: the seal is a check against
/// damage, not a signature (anyone can recompute one), so only a load that needs no libhdf5 at all
/// (an intact format-2 file without chunked tensors: the manifest and the mapping) stays in place.
H5SER_CORE_INLINE bool parses_in_child(const load_choices& choices, const seal_check& seal);

/// The child's part of an isolated load of `file` (its seal `seal`), once its load without data
/// found nothing wrong: copies the file's tree into the sealed scratch file `reply` (`progress`:
/// tensor bytes copied), keeping the checksums and fingerprint the file holds, so that the
/// caller's verified load of the copy checks the bytes against what the file says was saved.
/// Returns whether the file keeps a fingerprint (the copy's is then the file's; one that keeps
/// none is not checked, as in place).
/// `only` (not empty): the path of the one object the load reads (h5ser::read_tensor): only it and
/// the groups above it are copied.
H5SER_CORE_INLINE bool copy_for_reply(const opened_file& file, const seal_check& seal, bool verify, bool accept_foreign,
                                      const std::string& only, const std::string& reply, const progress_callback& progress);

/// What an isolated child sends back beside its copy: whether the copy keeps the file's
/// fingerprint (copy_for_reply), and the report of its load of the file.
struct isolated_load_reply {
    bool kept_fingerprint = false;
    load_report report;
};

/// Loads `file` (opened once, its seal `seal`) into `target` under `choices` in an isolated child,
/// then loads the child's copy here with the same walk (choices.in_place()). The report
/// (`request.report`, if any) is the child's: it walked the file itself. A request without data
/// (plan_file) takes only the child's report: no copy is made.
H5SER_CORE_INLINE void load_isolated(const model_to_load& target, const load_choices& choices, const opened_file& file,
                                     const seal_check& seal, const progress_callback& progress, const load_request& request);

/// Loads the .safetensors file `file`, whose checked header is `h`, into `target` under `choices`:
/// the walk of a sealed h5ser file over the manifest safetensors::manifest_of makes of the header,
/// mapped (or read, h5ser::owned_memory) without libhdf5, so never in a child process. The format
/// keeps no checksums: a verified load compares only the fingerprint h5ser wrote into the file, if
/// it did (docs/safetensors.md).
H5SER_CORE_INLINE void load_safetensors(const model_to_load& target, const load_choices& choices, const opened_file& file,
                                        const safetensors::header& h, const progress_callback& progress, const load_request& request);

/// A file opened for loads: its descriptor, its seal checked (the hash over its HDF5 metadata
/// included), and, for a .safetensors file (by its content), its checked header. One load_file
/// opens one; an h5ser::tensor_reader keeps one for many reads.
struct file_to_load {
    opened_file file;
    seal_check seal;
    std::optional<safetensors::header> safetensors;

    H5SER_CORE_INLINE static file_to_load open(const std::string& path);
};

/// Loads the opened file `opened` (load_model), in a child process when parses_in_child says so;
/// the child loads the same open file. A .safetensors file is loaded by load_safetensors.
H5SER_CORE_INLINE void load_opened(const model_to_load& target, const load_choices& choices, const file_to_load& opened,
                                   const progress_callback& progress, const load_request& request);

/// The fingerprint `text` a caller gave (h5ser::verify_with) as a number; an h5ser::error naming
/// the file `path` when it is not one (16 lowercase hex digits, as h5ser::fingerprint writes them).
inline std::uint64_t given_fingerprint(const std::string& text, const std::string& path) {
    if (const auto value = from_hex(text)) return *value;
    throw error(path, problem{errc::invalid_value,
                              {},
                              "/",
                              "a fingerprint: 16 lowercase hex digits",
                              "'" + text.substr(0, 40) + (text.size() > 40 ? "...'" : "'"),
                              "h5ser::verify_with takes the fingerprint h5ser::fingerprint or `h5ser verify` gives"});
}

/// How often a load tries again when the file was replaced while it read it (errc::file_changed).
inline constexpr int load_attempts = 3;

/// Loads `path` into `target` under `choices`: the entry of h5ser::load, load_into and the
/// checkpoint manager's restores, with what their caller asks (`request`: the report, a
/// fingerprint to check). Waits for this process's asynchronous saves of `path` first (a later
/// call on a path sees the earlier save), and tries again when another program replaced the file
/// during the load. `once`: one attempt, no wait (a load of a file this process just wrote).
H5SER_CORE_INLINE void load_file(const model_to_load& target, const load_choices& choices, const std::string& path,
                                 const progress_callback& progress, const load_request& request, bool once = false);

/// The report a load of `path` into the default-constructed model `target` under `choices` would
/// give, from the file's metadata alone (h5ser::plan_load): the same opening, seal check and walk,
/// in place or in a child as the load would be, without tensor data.
H5SER_CORE_INLINE load_report plan_file(const model_to_load& target, const load_choices& choices, const std::string& path);

// ---- the typed side: what a load<Model, Policies...> instantiates ------------------------------

/// `Policies` as values (load_choices); the isolated path is referenced only when they may isolate.
template <class Policies>
load_choices choices_of() {
    load_choices c{Policies::mode,    Policies::lenient, Policies::verify,  Policies::map,
                   Policies::convert, Policies::foreign, Policies::isolate, nullptr};
    if constexpr (Policies::isolate != isolation::never) c.isolated = &load_isolated;
    return c;
}

/// `model` (a Model; `fresh`: default-constructed by h5ser::load) as the load entry sees it,
/// without a walk: what plan_walk needs of its type.
template <class Model>
model_to_load model_of(Model& model, bool fresh) {
    model_to_load m;
    m.model = &model;
    m.fresh = fresh;
    // Facts of the type, worked out while compiling (constexpr), not by code in the program.
    constexpr bool covers_everything = weights_cover_everything<Model>();
    constexpr bool whole_names = is_object_at_v<Model> || safetensors::takes_whole_names<Model>();
    m.weights_cover_everything = covers_everything;
    if constexpr (is_object_at_v<Model>) m.object_path = &model.path;
    m.whole_names = whole_names;
    return m;
}

/// The same with the walk `Policies` instantiate for it.
template <class Policies, class Model>
model_to_load model_for(Model& model, bool fresh) {
    model_to_load m = model_of(model, fresh);
    m.walk = [](const walk_input& in, void* p) {
        load_from<Policies::lenient, Policies::verify, Policies::convert>(in, *static_cast<Model*>(p));
    };
    return m;
}

/// Loads `path` into `model` under `Policies` (load_file above).
template <class Policies, class Model>
void load_file(Model& model, const std::string& path, bool fresh_model, const progress_callback& progress,
               const load_request& request = {}) {
    load_file(model_for<Policies>(model, fresh_model), choices_of<Policies>(), path, progress, request);
}

/// One attempt of load_file: opens `path` once, checks its seal, and loads it (load_opened).
template <class Policies, class Model>
void load_file_once(Model& model, const std::string& path, bool fresh_model, const progress_callback& progress,
                    const load_request& request) {
    load_file(model_for<Policies>(model, fresh_model), choices_of<Policies>(), path, progress, request, true);
}

/// Loads the file `opened`, opened before, into `model` under `Policies` (load_opened above).
template <class Policies, class Model>
void load_opened(Model& model, const file_to_load& opened, bool fresh_model, const progress_callback& progress,
                 const load_request& request) {
    load_opened(model_for<Policies>(model, fresh_model), choices_of<Policies>(), opened, progress, request);
}

/// The report a load of `path` into a default-constructed Model under `Policies` would give (plan_file above).
template <class Policies, class Model>
load_report plan_file(const std::string& path) {
    Model scratch{};
    return plan_file(model_for<Policies>(scratch, true), choices_of<Policies>(), path);
}

}  // namespace h5ser::detail

#if H5SER_CORE_DEFINITIONS
#include "h5ser/detail/load/load_file-inl.hpp"
#endif
