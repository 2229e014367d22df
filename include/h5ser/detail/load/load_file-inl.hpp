// h5ser/detail/load/load_file-inl.hpp: definitions of h5ser/detail/load/load_file.hpp (compiled once with the
// compiled core; see h5ser/config.hpp).
#pragma once

#include "h5ser/detail/hdf5/hdf5.hpp"
#include "h5ser/detail/isolation/isolation.hpp"
#include "h5ser/detail/load/load_file.hpp"
#include "h5ser/detail/save/saves_in_flight.hpp"
#include "h5ser/detail/save/tree_copy.hpp"

namespace h5ser::detail {

H5SER_CORE_INLINE load_plan plan_walk(const load_choices& choices, const model_to_load& target, const file_header& header,
                                      const std::string& path) {
    // One object of the file (h5ser::read_tensor): whatever else the file holds is not unexpected.
    if (target.object_path) return {header.mode, false, {}};
    const save_mode asked = choices.mode;
    if (asked == save_mode::full_model && header.mode == save_mode::weights_only) {
        throw error(path, problem{errc::mode_mismatch,
                                  {},
                                  "/",
                                  "a full-model file",
                                  "a weights-only file",
                                  "load it with h5ser::load_into<h5ser::weights_only>(model, path)"});
    }
    if (!target.weights_cover_everything && !choices.lenient && target.fresh && asked == save_mode::as_saved &&
        header.mode == save_mode::weights_only) {
        throw error(path,
                    problem{errc::mode_mismatch,
                            {},
                            "/",
                            "a full-model file",
                            "a weights-only file",
                            "it holds no hyperparameters or optimizer state; fill a model you set up with "
                            "h5ser::load_into(model, path), or load leniently with h5ser::load<Model, h5ser::lenient>(path, report)"});
    }
    const save_mode effective = asked == save_mode::as_saved ? header.mode : asked;
    return {effective, effective == header.mode, {}};
}

H5SER_CORE_INLINE void load_sealed(const model_to_load& target, const load_choices& choices, file_tree& tree, const std::string& path,
                                   std::uint64_t size, const manifest& contents, std::shared_ptr<const mapped_file> mapping,
                                   const ranged_source* source, const progress_callback& progress, const load_request& request) {
    file_header header;
    header.mode = contents.mode();
    header.format_version = static_cast<int>(contents.format_version());
    load_plan plan = plan_walk(choices, target, header, path);
    plan.request = request;
    target.walk({tree, path, size, plan, progress, &contents, std::move(mapping), source}, target.model);
}

H5SER_CORE_INLINE void load_model(const model_to_load& target, const load_choices& choices, const opened_file& file, const seal_check& seal,
                                  const progress_callback& progress, load_request request) {
    hdf5_scope hdf5;
    const std::string& path = file.path();
    const where at{path, {}, "/"};
    if (seal.damage && choices.verify) throw *seal.damage;
    if (seal.status != seal_status::intact && !has_hdf5_signature(file)) {
        if (seal.damage) throw *seal.damage;  // says more than "not HDF5"
        throw error(path, problem{errc::not_hdf5, {}, {}, {}, {}, "the file has no HDF5 signature"});
    }
    if (seal.contents) {
        file_tree tree(file, *seal.contents);
        if (choices.map)
            return load_sealed(target, choices, tree, path, file.size(), *seal.contents, mapped_file::map(file, seal.contents->file_size()),
                               nullptr, progress, request);
        const file_ranges reads(file);
        return load_sealed(target, choices, tree, path, file.size(), *seal.contents, nullptr, &reads, progress, request);
    }
    handle hdf5_file = file.open_hdf5(file_access(at).get(), at);
    const handle root = open_root(hdf5_file.get(), path);
    const file_header header = read_header(root.get(), path, nullptr, choices.verify, choices.foreign);
    // Another program's file: a root attribute named `fingerprint` is not h5ser's.
    if (header.foreign) request.check_fingerprint = false;
    // No tensors match a fingerprint that is not one: a check without data reads them all,
    // fingerprint included, so that its refusal is the one a load with data gives.
    else if (!request.read_data && choices.verify && keeps_unmatchable_fingerprint(root.get(), at))
        request.read_data = request.check_fingerprint = true;
    file_tree tree(path, std::move(hdf5_file));
    load_plan plan = plan_walk(choices, target, header, path);
    plan.request = request;
    target.walk({tree, path, file.size(), plan, progress}, target.model);
}

H5SER_CORE_INLINE void load_remote(const model_to_load& target, const load_choices& choices, const std::string& url,
                                   const progress_callback& progress, const load_request& request) {
    const sealed_url opened = open_sealed_url(url, false);
    file_tree tree(url, opened.contents);
    load_sealed(target, choices.in_place(), tree, url, opened.remote.size, opened.contents, nullptr, opened.remote.source.get(), progress,
                request);
}

H5SER_CORE_INLINE bool parses_in_child(const load_choices& choices, const seal_check& seal) {
    if (choices.isolate == isolation::never || in_isolated_child()) return false;
    if (choices.isolate == isolation::always) return true;
    return seal.status != seal_status::intact || !seal.contents || seal.contents->has_chunked_data();
}

H5SER_CORE_INLINE void load_isolated(const model_to_load& target, const load_choices& choices, const opened_file& file,
                                     const seal_check& seal, const progress_callback& progress, const load_request& request) {
    const load_choices walk = choices.in_place();
    if (!request.read_data) {
        load_report report = run_isolated<load_report>(file.path(), [&](const progress_callback&) {
            load_report r;
            load_model(target, walk, file, seal, {}, {&r, false, false});
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
            load_model(target, walk, file, seal, {}, {&r.report, false, false});
            const std::string only = target.object_path ? *target.object_path : std::string();
            r.kept_fingerprint = copy_for_reply(file, seal, choices.verify, choices.foreign, only, scratch.path(), child_progress);
            return r;
        },
        progress);
    load_report copy_report;
    try {
        const opened_file copy = opened_file::open(scratch.path());
        load_model(target, walk, copy, check_seal(copy, true), {},
                   {&copy_report, reply.kept_fingerprint || request.given_fingerprint, true, request.given_fingerprint});
    } catch (const error& e) {
        rethrow_for_file(e, file.path());
    }
    // Upgrade hooks ran here, not in the child (it read no data): what they left unread is this load's to say.
    if (!copy_report.upgraded.empty()) reply.report.unexpected = std::move(copy_report.unexpected);
    if (request.report) *request.report = std::move(reply.report);
}

H5SER_CORE_INLINE void load_safetensors(const model_to_load& target, const load_choices& choices, const opened_file& file,
                                        const safetensors::header& h, const progress_callback& progress, const load_request& request) {
    seal_check as_sealed;
    as_sealed.status = seal_status::intact;
    // One tensor (h5ser::read_tensor) is named as the file names it: "/h.0.attn.c_attn.weight".
    as_sealed.contents.emplace(safetensors::manifest_of(h, file.size(), file.path(), target.whole_names));
    load_model(target, choices.in_place(), file, as_sealed, progress, request);
}

H5SER_CORE_INLINE file_to_load file_to_load::open(const std::string& path) {
    opened_file file = opened_file::open(path);
    seal_check seal = check_seal(file, true);
    std::optional<safetensors::header> header;
    if (seal.status == seal_status::none) header = safetensors::header_if_safetensors(file);
    return {std::move(file), std::move(seal), std::move(header)};
}

H5SER_CORE_INLINE void load_opened(const model_to_load& target, const load_choices& choices, const file_to_load& opened,
                                   const progress_callback& progress, const load_request& request) {
    const opened_file& file = opened.file;
    const seal_check& seal = opened.seal;
    if (opened.safetensors) return load_safetensors(target, choices, file, *opened.safetensors, progress, request);
    if (seal.damage) {
        if (choices.verify) throw *seal.damage;
        if (choices.isolate == isolation::never && !in_isolated_child()) {
            problem p = seal.damage->problems().front();
            p.detail +=
                "; h5ser::trusted loads such a file only after it was saved again (without h5ser::trusted, h5ser::no_verify "
                "loads it in a child process)";
            throw error(file.path(), std::move(p));
        }
    }
    // A trusted load has no isolated loader: its translation unit never compiles the isolated path.
    if (choices.isolated && parses_in_child(choices, seal)) return choices.isolated(target, choices, file, seal, progress, request);
    load_model(target, choices.in_place(), file, seal, progress, request);
}

H5SER_CORE_INLINE void load_file(const model_to_load& target, const load_choices& choices, const std::string& path,
                                 const progress_callback& progress, const load_request& request, bool once) {
    if (once) return load_opened(target, choices, file_to_load::open(path), progress, request);
    const bool url = is_url(path);
    if (!url) settle_saves_of(path);
    for (int attempt = 1;; ++attempt) {
        try {
            if (url) return load_remote(target, choices, path, progress, request);
            return load_opened(target, choices, file_to_load::open(path), progress, request);
        } catch (const error& e) {
            if (e.code() != errc::file_changed || attempt == load_attempts) throw;
        }
    }
}

H5SER_CORE_INLINE load_report plan_file(const model_to_load& target, const load_choices& choices, const std::string& path) {
    settle_saves_of(path);
    load_report report;
    for (int attempt = 1;; ++attempt) {
        try {
            load_file(target, choices, path, {}, {&report, false, false}, true);
            return report;
        } catch (const error& e) {
            if (e.code() != errc::file_changed || attempt == load_attempts) throw;
        }
    }
}

H5SER_CORE_INLINE bool copy_for_reply(const opened_file& file, const seal_check& seal, bool verify, bool accept_foreign,
                                      const std::string& only, const std::string& reply, const progress_callback& progress) {
    hdf5_scope hdf5;
    const where at{file.path(), {}, "/"};
    const manifest* contents = seal.contents ? &*seal.contents : nullptr;
    const handle hdf5_file = file.open_hdf5(file_access(at).get(), at);
    const handle root = open_root(hdf5_file.get(), file.path());
    const file_header header = read_header(root.get(), file.path(), contents, verify, accept_foreign);
    tree_copy_options options;
    options.plan.compact_below = 0;  // every tensor contiguous: the copy maps as a sealed original would
    options.carry_checksums = true;
    options.skip_foreign_objects = true;  // what the child's load did not refuse, it did not read
    options.in_place = true;
    options.only = only;
    // Progress counts the file's bytes, as a load in place does: the tensor bytes copied, scaled.
    const std::uint64_t size = file.size();
    if (progress)
        options.progress = [&progress, size](std::uint64_t done, std::uint64_t total) {
            progress(total == 0 ? size : static_cast<std::uint64_t>(static_cast<long double>(done) / total * size), size);
        };
    const bool kept = copy_h5ser_file(hdf5_file.get(), file.path(), contents, header, reply, options).carried_fingerprint;
    if (progress) progress(size, size);
    return kept;
}

}  // namespace h5ser::detail
