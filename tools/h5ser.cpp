// The h5ser command-line tool: what is in a model file, is it intact, how do two files differ.
//
//     h5ser ls FILE [--cpp]                the tree as layers: shapes, dtypes, parameters, bytes, filters;
//                                          for a Keras file, C++ structs that load it; FILE may be a URL
//     h5ser verify FILE [--expect-fingerprint HEX]   seal, checksums and fingerprint (of a URL: seal and manifest)
//     h5ser diff A B [--atol X] [--rtol X] [--no-verify]   tensor by tensor, and attribute by
//                                          attribute: equal, or how far apart
//     h5ser schema FILE                    the JSON schema of a full-model file
//     h5ser audit FILE                     what should not be in a weights file (data, big attributes, links)
//     h5ser convert IN OUT [--to h5ser|keras|safetensors] [--from hdf5|keras] [--preset default|fast|compressed|archival]
//     h5ser seal FILE [--accept-changes]   what changed since h5ser saved it; seal it again when meant
//     h5ser check FILE --against REF       what a load of FILE into REF's struct would report
//     h5ser cat FILE PATH [--slice a:b,c:d]   one tensor, or a part of it, as numpy prints it
//     h5ser --version                      the library, the file format versions, and HDF5's
//
// Every command takes --trusted, and every one but cat --json. Exit codes: 0 success (or equal), 1 a failed check (or
// different, or an error reading a file), 2 a usage error. Errors are one line on stderr.
//
// Every command parses its files in a child process (a seal detects damage; anyone can forge one), so that a damaged one
// cannot crash or hang the tool (isolate.hpp); --trusted parses them in place.
#include <CLI/CLI.hpp>

#include <hdf5.h>

#include <cstdio>
#include <string>

#include "audit.hpp"
#include "cat.hpp"
#include "check.hpp"
#include "convert.hpp"
#include "diff.hpp"
#include "isolate.hpp"
#include "ls.hpp"
#include "schema.hpp"
#include "seal.hpp"
#include "verify.hpp"

#if H5SER_CLI_REMOTE
#include <h5ser/remote.hpp>  // ls and verify take http:// and https:// URLs
#endif

namespace {

/// The first line of an error: h5ser's messages can list several problems and an HDF5 stack.
std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"h5ser: inspect, verify and compare model files (any HDF5 file; h5ser's and Keras's in their own terms)"};
    app.require_subcommand(1);
    // The library (the version written into full-model files), the format versions it writes and
    // reads, and the HDF5 it runs on: what a bug report needs.
    unsigned hdf5_major = 0, hdf5_minor = 0, hdf5_release = 0;
    H5get_libversion(&hdf5_major, &hdf5_minor, &hdf5_release);
    app.set_version_flag("--version", std::string("h5ser ") + h5ser::version + " (writes file format " +
                                          std::to_string(h5ser::format_version) + ", reads formats 1 to " +
                                          std::to_string(h5ser::format_version) + "; HDF5 " + std::to_string(hdf5_major) + "." +
                                          std::to_string(hdf5_minor) + "." + std::to_string(hdf5_release) + ")");
    bool as_json = false;
    std::string file, other, expect;
    auto* ls = app.add_subcommand("ls", "The tree as layers: dtype, shape, parameters, stored bytes, compression, filters");
    ls->add_option("FILE", file, "HDF5 file (or .keras archive, or the URL of a sealed h5ser file)")->required();
    bool as_cpp = false;
    ls->add_flag("--cpp", as_cpp, "for a Keras file: print C++ structs that load its weights and its optimizer's");
    auto* verify = app.add_subcommand("verify",
                                      "Check the seal, every dataset's checksum and the fingerprint; exit 0 intact, 1 damaged, "
                                      "3 not written by h5ser (nothing to check against)");
    verify
        ->add_option("FILE", file,
                     "HDF5 file (h5ser's are checked in full; others only in that they read whole), or the URL of a sealed h5ser "
                     "file (its seal and manifest)")
        ->required();
    verify->add_option("--expect-fingerprint", expect,
                       "fail unless the file's fingerprint is HEX (for any file: its tensors' fingerprint)");
    auto* diff = app.add_subcommand("diff", "Compare two files tensor by tensor; exit 0 when equal, 1 when different");
    diff->add_option("A", file, "first file")->required();
    diff->add_option("B", other, "second file")->required();
    h5ser_cli::diff_options diff_options;
    diff->add_option("--atol", diff_options.atol, "tensors whose elements all lie within |a - b| <= atol + rtol * |b| count as equal")
        ->check(CLI::NonNegativeNumber);
    diff->add_option("--rtol", diff_options.rtol, "see --atol (numpy.allclose's rule; both default to 0: bit for bit)")
        ->check(CLI::NonNegativeNumber);
    bool no_verify = false;
    diff->add_flag("--no-verify", no_verify,
                   "compare a file whose seal no longer matches (edited by another program) as it is now, in a child process");
    auto* schema_cmd = app.add_subcommand("schema", "Print the JSON schema of a full-model file");
    schema_cmd->add_option("FILE", file, "full-model file written by h5ser")->required();
    auto* audit = app.add_subcommand("audit", "Flag what should not be in a weights file: data sets, large attributes, links out");
    audit->add_option("FILE", file, "HDF5 file")->required();
    std::uint64_t max_attribute_bytes = 64 * 1024;
    audit->add_option("--max-attribute-bytes", max_attribute_bytes, "flag attributes larger than this (default 65536)");
    auto* convert = app.add_subcommand(
        "convert", "Keras or .safetensors file to h5ser's layout and back, or an h5ser file re-stored under another preset");
    convert->add_option("IN", file, "Keras file (.h5, .weights.h5, .keras), .safetensors file or h5ser file")->required();
    convert->add_option("OUT", other, "file to write (replaced atomically)")->required();
    std::string to, preset = "default";
    convert
        ->add_option("--to", to,
                     "output layout (default h5ser, or safetensors when OUT ends in .safetensors; keras writes the tf.keras "
                     "save_weights layout)")
        ->check(CLI::IsMember({"h5ser", "keras", "safetensors"}));
    std::string from;
    convert
        ->add_option("--from", from,
                     "what IN is, when not what it looks like: hdf5 (any HDF5 file, e.g. h5py's, sealed as it is) or keras "
                     "(default: an HDF5 file h5ser did not write is read as Keras's)")
        ->check(CLI::IsMember({"hdf5", "keras"}));
    convert->add_option("--preset", preset, "storage of the h5ser output's tensors")
        ->check(CLI::IsMember({"default", "fast", "compressed", "compact", "archival"}));  // compact: compressed's former name
    auto* seal = app.add_subcommand("seal",
                                    "Name every tensor that changed since h5ser sealed FILE (edited by another program); with "
                                    "--accept-changes, seal the file again as it is now; exit 0 sealed, 1 changed");
    seal->add_option("FILE", file, "h5ser file")->required();
    bool accept_changes = false;
    seal->add_flag("--accept-changes", accept_changes,
                   "replace FILE atomically with a sealed copy of it as it is now: new checksums and fingerprint");
    seal->add_option("--preset", preset, "storage of the sealed copy's tensors (default: as h5ser::save stores them)")
        ->check(CLI::IsMember({"default", "fast", "compressed", "compact", "archival"}));
    auto* cat = app.add_subcommand("cat", "Print one tensor (or a part of it, --slice) as numpy prints an array");
    cat->add_option("FILE", file, "HDF5 or .safetensors file")->required();
    cat->add_option("PATH", other, "the tensor's path in the file, e.g. /encoder/kernel")->required();
    std::string slice_text;
    cat->add_option("--slice", slice_text, "a part, numpy's slices per dimension: 0:10 or 100:200,0:8 (end excluded; a: and :b open)");
    auto* check = app.add_subcommand("check",
                                     "What h5ser::load would report loading FILE into the struct REFERENCE was saved from "
                                     "(missing, unexpected, mismatch, versions), from metadata alone; exit 0 complete, 1 differences");
    check->add_option("FILE", file, "the file to load")->required();
    check->add_option("--against", other, "a full-model h5ser file saved from the struct, or its schema as JSON (h5ser schema)")
        ->required();
    bool trusted = false;
    for (auto* sub : {ls, verify, diff, schema_cmd, audit, convert, seal, check, cat}) {
        if (sub != cat) sub->add_flag("--json", as_json, "machine-readable output (JSON)");
        sub->add_flag("--trusted", trusted,
                      "parse files h5ser did not seal in this process (by default, in a child process that a "
                      "damaged file cannot crash or hang the tool through)");
    }

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::fprintf(stderr, "h5ser: %s (run h5ser --help)\n", e.what());
        return 2;
    }
    const auto command = [&]() -> int {
        try {
            if (*ls) return h5ser_cli::ls(file, as_json, as_cpp);
            if (*verify) return h5ser_cli::verify(file, expect, as_json);
            if (*diff) {
                diff_options.verify = !no_verify;
                return h5ser_cli::diff(file, other, diff_options, as_json);
            }
            if (*schema_cmd) return h5ser_cli::schema(file);
            if (*audit) return h5ser_cli::audit(file, max_attribute_bytes, as_json);
            if (*convert) return h5ser_cli::convert(file, other, to, from, preset, as_json);
            if (*seal) return h5ser_cli::seal(file, accept_changes, preset, as_json);
            if (*check) return h5ser_cli::check(file, other, as_json);
            if (*cat) return h5ser_cli::cat(file, other, slice_text);
        } catch (const h5ser::error& e) {
            std::fprintf(stderr, "%s\n", first_line(e.what()).c_str());
            // A seal that does not match: a file edited by another program, which `h5ser seal` examines.
            if (e.code() == h5ser::errc::checksum_mismatch && !*seal)
                std::fprintf(stderr,
                             "h5ser: h5ser seal %s names the tensors that changed since h5ser saved it, and seals it again when "
                             "the changes are meant (--accept-changes)%s\n",
                             e.file().c_str(), *diff ? "; diff --no-verify compares it as it is now" : "");
            return 1;
        } catch (const std::exception& e) {
            std::fprintf(stderr, "h5ser: %s\n", first_line(e.what()).c_str());
            return 1;
        }
        return 2;
    };
    std::vector<std::string> inputs{file};
    if (*diff || *check) inputs.push_back(other);
    try {
        return h5ser_cli::run_command(inputs, trusted, command);
    } catch (const std::exception& e) {  // the child crashed or hung
        std::fprintf(stderr, "%s\n", first_line(e.what()).c_str());
        return 1;
    }
}
