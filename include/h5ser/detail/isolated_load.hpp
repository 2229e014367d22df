// h5ser/detail/isolated_load.hpp: loading a model from a file that is parsed in a child process
// (isolation.hpp): h5ser::load of a file h5ser did not seal, and the Keras loaders.
//
// The child loads into its copy of the model, exactly as the caller would have, then writes the
// model as a sealed full-model h5ser file into a memory file; the parent loads that on the trusted
// path (seal, manifest, mapping), so the foreign file is parsed once, by the child, and the parent
// never hands it to libhdf5. The model changes only if both loads succeed, as with every load.
#pragma once

#include <string>
#include <type_traits>

#include "h5ser/detail/file_writer.hpp"
#include "h5ser/detail/isolation.hpp"
#include "h5ser/detail/background_save.hpp"
#include "h5ser/detail/load_walk.hpp"
#include "h5ser/detail/opened_file.hpp"
#include "h5ser/detail/seal.hpp"
#include "h5ser/policy.hpp"
#include "h5ser/progress.hpp"

namespace h5ser::detail {

template <class Policies, class Model>
void load_file_once(Model& model, const std::string& path, bool fresh_model, const progress_callback& progress);

/// Runs `load(model, progress)`, a load of `file` into `model`, in an isolated child, and moves
/// the result into `model`. The parent's load of the child's reply verifies and maps (or copies)
/// as `Policies` (a policy_set_of) say.
template <class Policies, class Model, class Load>
void load_isolated(Model& model, const std::string& file, const Load& load, const progress_callback& progress) {
    const scratch_file reply(file);
    run_isolated<void>(
        file,
        [&](const progress_callback& child_progress) {
            load(model, child_progress);  // the child's copy of the model
            // Every tensor contiguous (none compact), so the reply maps as a sealed original would.
            save_model<save_mode::full_model>(model, reply.path(), save_policies<compact_below<0>>::storage::plan(),
                                              no_extra_root_attributes{}, {}, file_target::write_in_place);
        },
        progress);
    using reply_policies = load_policies<full_model, std::conditional_t<Policies::verify, h5ser::verify, no_verify>,
                                         std::conditional_t<Policies::map, mapped_memory, owned_memory>, trusted>;
    try {
        load_file_once<reply_policies>(model, reply.path(), false, {});
    } catch (const error& e) {
        rethrow_for_file(e, file);
    }
}

/// Runs `load(model, progress)`, a load of `path` into `model`, in place, or in a child process
/// (load_isolated) when Policies::isolate says so for this file.
template <class Policies, class Model, class Load>
void load_in_place_or_isolated(Model& model, const std::string& path, const Load& load, const progress_callback& progress) {
    if (needs_isolation(Policies::isolate, path)) load_isolated<Policies>(model, path, load, progress);
    else load(model, progress);
}

/// Does a load under `Policies` of a file whose seal is `seal` parse it with libhdf5 in a child
/// process? Every parse of a file not declared h5ser::trusted does: the seal is a check against
/// damage, not a signature (anyone can recompute it), so only a load that needs no libhdf5 at all
/// (an intact format-2 file without chunked tensors: the manifest and the mapping) stays in place.
template <class Policies>
bool parses_in_child(const seal_check& seal) {
    if (Policies::isolate == isolation::never || in_isolated_child()) return false;
    if (Policies::isolate == isolation::always) return true;
    return seal.status != seal_status::intact || !seal.contents || seal.contents->has_chunked_data();
}

/// One attempt of load_file: opens `path` once, checks its seal, and loads it (load_model), in a
/// child process when parses_in_child says so; the child loads the same open file.
template <class Policies, class Model>
void load_file_once(Model& model, const std::string& path, bool fresh_model, const progress_callback& progress) {
    const opened_file file = opened_file::open(path);
    const seal_check seal = check_seal(file, true);
    if (seal.damage) {
        if (Policies::verify) throw *seal.damage;
        if (Policies::isolate == isolation::never && !in_isolated_child()) {
            problem p = seal.damage->problems().front();
            p.detail += "; h5ser::trusted loads such a file only after it was saved again (without h5ser::trusted, h5ser::no_verify "
                        "loads it in a child process)";
            throw error(path, std::move(p));
        }
    }
    const auto load_here = [&](Model& target, const progress_callback& p) { load_model<Policies>(target, file, seal, fresh_model, p); };
    if (parses_in_child<Policies>(seal)) load_isolated<Policies>(model, path, load_here, progress);
    else load_here(model, progress);
}

/// How often a load tries again when the file was replaced while it read it (errc::file_changed).
inline constexpr int load_attempts = 3;

/// Loads `path` into `model` under `Policies` (`fresh_model`: h5ser::load's default-constructed
/// one): the entry of h5ser::load, load_into and the checkpoint manager's restores. Waits for this
/// process's asynchronous saves of `path` first (a later call on a path sees the earlier save), and
/// tries again when another program replaced the file during the load.
template <class Policies, class Model>
void load_file(Model& model, const std::string& path, bool fresh_model, const progress_callback& progress) {
    settle_saves_of(path);
    for (int attempt = 1;; ++attempt) {
        try {
            return load_file_once<Policies>(model, path, fresh_model, progress);
        } catch (const error& e) {
            if (e.code() != errc::file_changed || attempt == load_attempts) throw;
        }
    }
}

}  // namespace h5ser::detail
