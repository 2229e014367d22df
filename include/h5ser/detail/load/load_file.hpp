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
#include "h5ser/detail/hdf5/hdf5.hpp"
#include "h5ser/detail/isolation/isolation.hpp"
#include "h5ser/detail/load/load_walk.hpp"
#include "h5ser/detail/load/mapped_file.hpp"
#include "h5ser/detail/load/opened_file.hpp"
#include "h5ser/detail/load/ranged_source.hpp"
#include "h5ser/detail/model/storage_plan.hpp"
#include "h5ser/detail/safetensors/tree.hpp"
#include "h5ser/detail/save/saves_in_flight.hpp"
#include "h5ser/detail/save/tree_copy.hpp"
#include "h5ser/policy.hpp"
#include "h5ser/progress.hpp"

namespace h5ser::detail {

/// What the walk takes of a load's policies: the mode, strictness, verification, memory and
/// origin, with the trust left out. A load in place and the caller's load of an isolated child's
/// copy share one instantiation of the walk.
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
template <class Policies>
using walk_policies_of =
    walk_policies<Policies::mode, Policies::lenient, Policies::verify, Policies::map, Policies::convert, Policies::foreign>;

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

/// The plan for loading a file with `header` under `Policies` into a `Model` (`fresh_model`: a
/// default-constructed one, from h5ser::load); throws when the mode asked and the file's disagree.
template <class Policies, class Model>
load_plan plan_walk(const file_header& header, const std::string& path, bool fresh_model) {
    // One object of the file (h5ser::read_tensor): whatever else the file holds is not unexpected.
    if constexpr (is_object_at_v<Model>) return {header.mode, false, {}};
    constexpr save_mode asked = Policies::mode;
    if (asked == save_mode::full_model && header.mode == save_mode::weights_only) {
        throw error(path, problem{errc::mode_mismatch,
                                  {},
                                  "/",
                                  "a full-model file",
                                  "a weights-only file",
                                  "load it with h5ser::load_into<h5ser::weights_only>(model, path)"});
    }
    if constexpr (!weights_cover_everything<Model>() && !Policies::lenient) {
        if (fresh_model && asked == save_mode::as_saved && header.mode == save_mode::weights_only) {
            throw error(path,
                        problem{errc::mode_mismatch,
                                {},
                                "/",
                                "a full-model file",
                                "a weights-only file",
                                "it holds no hyperparameters or optimizer state; fill a model you set up with "
                                "h5ser::load_into(model, path), or load leniently with h5ser::load<Model, h5ser::lenient>(path, report)"});
        }
    }
    const save_mode effective = asked == save_mode::as_saved ? header.mode : asked;
    return {effective, effective == header.mode, {}};
}

/// Loads the sealed format-2 file `path` (`size` bytes; `contents`, its checked manifest, is its
/// tree) into `model` under `Policies`, without HDF5: tensors are views of `mapping` or copied from
/// it, or read by range from `source` (h5ser::owned_memory, a URL); compact ones come from the
/// manifest. Chunked tensors are read through `tree`'s HDF5 file (a local file's).
template <class Policies, class Model>
void load_sealed(Model& model, file_tree& tree, const std::string& path, std::uint64_t size, const manifest& contents,
                 std::shared_ptr<const mapped_file> mapping, const ranged_source* source, bool fresh_model,
                 const progress_callback& progress, const load_request& request) {
    file_header header;
    header.mode = contents.mode();
    header.format_version = static_cast<int>(contents.format_version());
    load_plan plan = plan_walk<Policies, Model>(header, path, fresh_model);
    plan.request = request;
    load_from<Policies::lenient, Policies::verify, Policies::convert>(tree, path, size, model, plan, progress, &contents,
                                                                      std::move(mapping), source);
}

/// Loads `file` (opened once; its seal checked as `seal`) into `model` under `Policies`
/// (`fresh_model`: h5ser::load's default-constructed one), in this process.
///
/// A sealed format-2 file whose seal checks out is read through the descriptor the seal was checked
/// on, and the walk reads its manifest, which the seal proves is the file's tree (load_sealed): the
/// file is mapped and its tensors are views of the mapping, or, with h5ser::owned_memory, read into
/// memory of their own with pread; HDF5 opens the file only for chunked tensors. Other files are
/// walked through HDF5. Whatever HDF5 opens by name is checked to be `file` (errc::file_changed if
/// another file was renamed over the name since).
/// `request`: where the report goes, and what an isolated load asks of its child and of its copy.
template <class Policies, class Model>
void load_model(Model& model, const opened_file& file, const seal_check& seal, bool fresh_model, const progress_callback& progress,
                load_request request = {}) {
    hdf5_scope hdf5;
    const std::string& path = file.path();
    const where at{path, {}, "/"};
    if (seal.damage && Policies::verify) throw *seal.damage;
    if (seal.status != seal_status::intact && !has_hdf5_signature(file)) {
        if (seal.damage) throw *seal.damage;  // says more than "not HDF5"
        throw error(path, problem{errc::not_hdf5, {}, {}, {}, {}, "the file has no HDF5 signature"});
    }
    if (seal.contents) {
        file_tree tree(file, *seal.contents);
        if constexpr (Policies::map) {
            return load_sealed<Policies>(model, tree, path, file.size(), *seal.contents, mapped_file::map(file, seal.contents->file_size()),
                                         nullptr, fresh_model, progress, request);
        } else {
            const file_ranges reads(file);
            return load_sealed<Policies>(model, tree, path, file.size(), *seal.contents, nullptr, &reads, fresh_model, progress, request);
        }
    }
    handle hdf5_file = file.open_hdf5(file_access(at).get(), at);
    const handle root = open_root(hdf5_file.get(), path);
    const file_header header = read_header(root.get(), path, nullptr, Policies::verify, Policies::foreign);
    // Another program's file: a root attribute named `fingerprint` is not h5ser's.
    if (header.foreign) request.check_fingerprint = false;
    // No tensors match a fingerprint that is not one: a check without data reads them all,
    // fingerprint included, so that its refusal is the one a load with data gives.
    else if (!request.read_data && Policies::verify && keeps_unmatchable_fingerprint(root.get(), at))
        request.read_data = request.check_fingerprint = true;
    file_tree tree(path, std::move(hdf5_file));
    load_plan plan = plan_walk<Policies, Model>(header, path, fresh_model);
    plan.request = request;
    load_from<Policies::lenient, Policies::verify, Policies::convert>(tree, path, file.size(), model, plan, progress, nullptr, nullptr,
                                                                      nullptr);
}

/// Loads the URL `url` (http:// or https://) into `model` under `Policies`: a sealed format-2 file
/// on a web server, read without HDF5 as a local one is (load_sealed) through the source
/// <h5ser/remote.hpp> opens, which read its seal and manifest in one request. Its tensors come by
/// ranged requests, each hashed as it arrives. Files that would need HDF5 (not sealed, format 1,
/// chunked tensors) are errc::needs_local_copy.
template <class Policies, class Model>
void load_remote(Model& model, const std::string& url, bool fresh_model, const progress_callback& progress, const load_request& request) {
    const sealed_url opened = open_sealed_url(url, false);
    file_tree tree(url, opened.contents);
    load_sealed<walk_policies_of<Policies>>(model, tree, url, opened.remote.size, opened.contents, nullptr, opened.remote.source.get(),
                                            fresh_model, progress, request);
}

/// Does a load under `Policies` of a file whose seal is `seal` parse it with libhdf5 in a child
/// process? Every parse of a file not declared h5ser::trusted does: the seal is a check against
/// damage, not a signature (anyone can recompute one), so only a load that needs no libhdf5 at all
/// (an intact format-2 file without chunked tensors: the manifest and the mapping) stays in place.
template <class Policies>
bool parses_in_child(const seal_check& seal) {
    if (Policies::isolate == isolation::never || in_isolated_child()) return false;
    if (Policies::isolate == isolation::always) return true;
    return seal.status != seal_status::intact || !seal.contents || seal.contents->has_chunked_data();
}

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

/// Loads `file` (opened once, its seal `seal`) into `model` under `Policies` in an isolated child,
/// then loads the child's copy here with the same walk (walk_policies_of). The report
/// (`request.report`, if any) is the child's: it walked the file itself. A request without data
/// (plan_file) takes only the child's report: no copy is made.
template <class Policies, class Model>
void load_isolated(Model& model, const opened_file& file, const seal_check& seal, bool fresh_model, const progress_callback& progress,
                   const load_request& request) {
    using walk = walk_policies_of<Policies>;
    if (!request.read_data) {
        load_report report = run_isolated<load_report>(file.path(), [&](const progress_callback&) {
            load_report r;
            load_model<walk>(model, file, seal, fresh_model, {}, {&r, false, false});
            return r;
        });
        if (request.report) *request.report = std::move(report);
        return;
    }
    const scratch_file scratch(file.path());
    isolated_load_reply reply = run_isolated<isolated_load_reply>(
        file.path(),
        [&](const progress_callback& child_progress) {
            // Every check of the direct load, and its errors, but no tensor data: the copy reads
            // that once, and the load of the copy below verifies it against the file's checksums.
            isolated_load_reply r;
            load_model<walk>(model, file, seal, fresh_model, {}, {&r.report, false, false});
            std::string only;
            if constexpr (is_object_at_v<Model>) only = model.path;
            r.kept_fingerprint = copy_for_reply(file, seal, Policies::verify, Policies::foreign, only, scratch.path(), child_progress);
            return r;
        },
        progress);
    load_report copy_report;
    try {
        const opened_file copy = opened_file::open(scratch.path());
        load_model<walk>(model, copy, check_seal(copy, true), fresh_model, {},
                         {&copy_report, reply.kept_fingerprint || request.given_fingerprint, true, request.given_fingerprint});
    } catch (const error& e) {
        rethrow_for_file(e, file.path());
    }
    // Upgrade hooks ran here, not in the child (it read no data): what they left unread is this load's to say.
    if (!copy_report.upgraded.empty()) reply.report.unexpected = std::move(copy_report.unexpected);
    if (request.report) *request.report = std::move(reply.report);
}

/// Loads the .safetensors file `file`, whose checked header is `h`, into `model` under `Policies`:
/// the walk of a sealed h5ser file over the manifest safetensors::manifest_of makes of the header,
/// mapped (or read, h5ser::owned_memory) without libhdf5, so never in a child process. The format
/// keeps no checksums: a verified load compares only the fingerprint h5ser wrote into the file, if
/// it did (docs/safetensors.md).
template <class Policies, class Model>
void load_safetensors(Model& model, const opened_file& file, const safetensors::header& h, bool fresh_model,
                      const progress_callback& progress, const load_request& request) {
    seal_check as_sealed;
    as_sealed.status = seal_status::intact;
    // One tensor (h5ser::read_tensor) is named as the file names it: "/h.0.attn.c_attn.weight".
    as_sealed.contents.emplace(
        safetensors::manifest_of(h, file.size(), file.path(), is_object_at_v<Model> || safetensors::takes_whole_names<Model>()));
    load_model<walk_policies_of<Policies>>(model, file, as_sealed, fresh_model, progress, request);
}

/// A file opened for loads: its descriptor, its seal checked (the hash over its HDF5 metadata
/// included), and, for a .safetensors file (by its content), its checked header. One load_file
/// opens one; an h5ser::tensor_reader keeps one for many reads.
struct file_to_load {
    opened_file file;
    seal_check seal;
    std::optional<safetensors::header> safetensors;

    static file_to_load open(const std::string& path) {
        opened_file file = opened_file::open(path);
        seal_check seal = check_seal(file, true);
        std::optional<safetensors::header> header;
        if (seal.status == seal_status::none) header = safetensors::header_if_safetensors(file);
        return {std::move(file), std::move(seal), std::move(header)};
    }
};

/// Loads the opened file `opened` (load_model), in a child process when parses_in_child says so;
/// the child loads the same open file. A .safetensors file is loaded by load_safetensors.
template <class Policies, class Model>
void load_opened(Model& model, const file_to_load& opened, bool fresh_model, const progress_callback& progress,
                 const load_request& request) {
    const opened_file& file = opened.file;
    const seal_check& seal = opened.seal;
    if (opened.safetensors) return load_safetensors<Policies>(model, file, *opened.safetensors, fresh_model, progress, request);
    if (seal.damage) {
        if (Policies::verify) throw *seal.damage;
        if (Policies::isolate == isolation::never && !in_isolated_child()) {
            problem p = seal.damage->problems().front();
            p.detail +=
                "; h5ser::trusted loads such a file only after it was saved again (without h5ser::trusted, h5ser::no_verify "
                "loads it in a child process)";
            throw error(file.path(), std::move(p));
        }
    }
    // A trusted load decides at compile time: it never compiles the isolated path.
    if constexpr (Policies::isolate != isolation::never) {
        if (parses_in_child<Policies>(seal)) return load_isolated<Policies>(model, file, seal, fresh_model, progress, request);
    }
    load_model<walk_policies_of<Policies>>(model, file, seal, fresh_model, progress, request);
}

/// One attempt of load_file: opens `path` once, checks its seal, and loads it (load_opened).
template <class Policies, class Model>
void load_file_once(Model& model, const std::string& path, bool fresh_model, const progress_callback& progress,
                    const load_request& request) {
    load_opened<Policies>(model, file_to_load::open(path), fresh_model, progress, request);
}

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

/// Loads `path` into `model` under `Policies` (`fresh_model`: h5ser::load's default-constructed
/// one): the entry of h5ser::load, load_into and the checkpoint manager's restores, with what their
/// caller asks (`request`: the report, a fingerprint to check). Waits for this process's
/// asynchronous saves of `path` first (a later call on a path sees the earlier save), and tries
/// again when another program replaced the file during the load.
template <class Policies, class Model>
void load_file(Model& model, const std::string& path, bool fresh_model, const progress_callback& progress,
               const load_request& request = {}) {
    const bool url = is_url(path);
    if (!url) settle_saves_of(path);
    for (int attempt = 1;; ++attempt) {
        try {
            if (url) return load_remote<Policies>(model, path, fresh_model, progress, request);
            return load_file_once<Policies>(model, path, fresh_model, progress, request);
        } catch (const error& e) {
            if (e.code() != errc::file_changed || attempt == load_attempts) throw;
        }
    }
}

/// The report a load of `path` into a default-constructed Model under `Policies` would give, from
/// the file's metadata alone (h5ser::plan_load): the same opening, seal check and walk, in place
/// or in a child as the load would be, without tensor data.
template <class Policies, class Model>
load_report plan_file(const std::string& path) {
    settle_saves_of(path);
    load_report report;
    for (int attempt = 1;; ++attempt) {
        try {
            Model scratch{};
            load_file_once<Policies>(scratch, path, true, {}, {&report, false, false});
            return report;
        } catch (const error& e) {
            if (e.code() != errc::file_changed || attempt == load_attempts) throw;
        }
    }
}

}  // namespace h5ser::detail

#if H5SER_CORE_DEFINITIONS
#include "h5ser/detail/load/load_file-inl.hpp"
#endif
