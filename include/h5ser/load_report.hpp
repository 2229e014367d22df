// h5ser/load_report.hpp: what a load did beyond reading the file into the struct as it stands:
// fields the file lacks, objects the struct lacks. A lenient load must be given one, so that what
// it skipped is never silent.
//
//     h5ser::load_report report;
//     auto model = h5ser::load<Model, h5ser::lenient>("old.h5", report);
//     if (!report.complete()) std::cerr << h5ser::to_string(report);
#pragma once

#include <string>
#include <vector>

namespace h5ser {

/// The report of one load (h5ser::load, h5ser::load_into, checkpoint_manager::restore_latest with
/// an h5ser::load_report& as their last argument). Entries are field paths written as in error
/// messages (`layers[2].kernel`, `vocab["the"]`), in the order the load met them. A load that
/// throws leaves the report as it was, as it leaves the model.
struct load_report {
    /// Fields of the struct the file does not hold: they kept their values (h5ser::lenient), each
    /// with what it expected ("layers[3].kernel (dataset float32)", "head (group)").
    std::vector<std::string> missing;
    /// Objects of the file the struct has no field for: not read (h5ser::lenient), each with what
    /// it is ("units (attribute)", "extra (dataset)", "vocab[\"the\"] (entry)"). Listed when the load covers what the file holds: a
    /// weights-only load of a full-model file does not list the hyperparameters it leaves.
    std::vector<std::string> unexpected;
    /// Fields read under an old name (h5ser::evolution's renames), as "old -> new" field paths:
    /// "layers[2].w -> layers[2].kernel". Strict loads read them too: a rename is declared.
    std::vector<std::string> renamed;
    /// Structs the file holds at an older h5ser::evolution version, which their upgrade hook
    /// upgraded: "layers[2] (Dense version 1 -> 3)". Objects of their groups the hook read are
    /// used, not unexpected; fields the group lacks are the hook's to fill, not missing.
    std::vector<std::string> upgraded;
    /// Tensors and attributes stored with another element type, converted to their field's under
    /// h5ser::convert_dtypes: "layers[0].kernel (float32 -> bfloat16)".
    std::vector<std::string> converted;

    /// Nothing missing and nothing unexpected: the struct and the file hold the same fields.
    [[nodiscard]] bool complete() const noexcept { return missing.empty() && unexpected.empty(); }
};

/// The report as lines, one per entry ("missing: layers[3].kernel (dataset float32)", "renamed:
/// w -> kernel", "upgraded: layers[0] (Dense version 1 -> 3)"), or "complete" when there is nothing to say.
inline std::string to_string(const load_report& report) {
    std::string text;
    const auto list = [&](const char* what, const std::vector<std::string>& entries) {
        for (const auto& e : entries) text += std::string(what) + ": " + e + "\n";
    };
    list("missing", report.missing);
    list("unexpected", report.unexpected);
    list("renamed", report.renamed);
    list("upgraded", report.upgraded);
    list("converted", report.converted);
    return text.empty() ? "complete\n" : text;
}

}  // namespace h5ser
