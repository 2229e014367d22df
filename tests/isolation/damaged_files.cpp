// The damaged-file harness: single-bit flips and truncations of the real Keras files, through every
// entry point that parses a file h5ser did not seal. Each must return or throw an h5ser::error (the
// `h5ser` tool: exit 0 or 1 with a one-line message); none may crash or hang this process. A
// damaged file that loads is loaded again with h5ser::trusted (in this process), and must give the
// same result: isolation changes where a file is parsed, never what is read.
//
//     damaged_files FIXTURES_DIR H5SER_TOOL WORK_DIR [FILES [SAMPLE]]
//
// FILES damaged files (default 1000) go through keras::read_model_config, keras::load_weights and
// `h5ser ls`; SAMPLE of them (default 100) also through keras::load_optimizer_weights,
// h5ser::inspect, h5ser::load, h5ser::verify_file and the tool's verify, audit, diff, schema and
// convert. Prints what
// happened per entry point; exits 1 on any failure.
#include <h5ser/h5ser.hpp>
#include <h5ser/keras.hpp>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "../keras/fixture_models.hpp"

extern char** environ;

namespace {

namespace keras = h5ser::keras;

/// A load into a struct of the fixture's architecture: the fingerprint of what it loaded.
using model_load = std::function<std::string(const std::string& path, bool trusted)>;

template <class Model>
model_load weights_into() {
    return [](const std::string& path, bool trusted) {
        Model m;
        if (trusted) keras::load_weights<h5ser::trusted>(m, path);
        else keras::load_weights(m, path);
        return h5ser::fingerprint(m);
    };
}

template <class State>
model_load optimizer_into() {
    return [](const std::string& path, bool trusted) {
        State s;
        if (trusted) keras::load_optimizer_weights<h5ser::trusted>(s, path);
        else keras::load_optimizer_weights(s, path);
        return h5ser::fingerprint(s);
    };
}

template <class Model>
model_load h5ser_load() {
    return [](const std::string& path, bool trusted) {
        const Model m = trusted ? h5ser::load<Model, h5ser::trusted>(path) : h5ser::load<Model>(path);
        return h5ser::fingerprint(m);
    };
}

struct fixture_file {
    std::string name;
    model_load weights;
    model_load optimizer;  // empty: the file has no optimizer state
    model_load as_h5ser;
};

std::vector<fixture_file> fixture_files() {
    using namespace fixtures;
    return {
        {"k1.2.2_lstm_theano.h5", weights_into<K1LstmModel>(), {}, h5ser_load<K1LstmModel>()},
        {"k2.0.6_lstm.h5", weights_into<LstmModel>(), optimizer_into<RMSpropState206>(), h5ser_load<LstmModel>()},
        {"k2.0.6_lstm.weights_only.h5", weights_into<LstmModel>(), {}, h5ser_load<LstmModel>()},
        {"k2.1.3_bidirectional_lstm.h5", weights_into<BidirectionalModel>(), {}, h5ser_load<BidirectionalModel>()},
        {"k2.1.3_embedding_lstm.h5", weights_into<EmbeddingLstmModel>(), {}, h5ser_load<EmbeddingLstmModel>()},
        {"k2.3.1_mlp_sparse_xent.h5", weights_into<SoftmaxMlp>(), {}, h5ser_load<SoftmaxMlp>()},
        {"k3.14_legacy_mlp_adam.h5", weights_into<Mlp3>(), optimizer_into<Adam3State>(), h5ser_load<Mlp3>()},
        {"k3_mlp_adam.weights.h5", weights_into<Mlp3>(), optimizer_into<Adam3State>(), h5ser_load<Mlp3>()},
        {"k2.15_windows_backslash.keras", weights_into<Mlp3>(), optimizer_into<Adam215State>(), h5ser_load<Mlp3>()},
        {"tfk2.2.4_conv1d_bn_vlen.h5", weights_into<ConvBnModel>(), {}, h5ser_load<ConvBnModel>()},
    };
}

/// An h5ser model with strings (HDF5's global heap, where 1.10 trusts sizes) and tensors, saved and
/// then stripped of its seal: a file "not written by h5ser", for h5ser::load.
struct tagged_model {
    std::string name = "a model with strings";
    std::vector<std::string> tags{"mlp", "three layers", "adam"};
    int units = 12;
    fixtures::Mlp3 mlp;
};

std::string unsealed_h5ser_file(const std::string& work, const std::string& keras_fixture) {
    tagged_model m;
    keras::load_weights<h5ser::trusted>(m.mlp, keras_fixture);
    const std::string path = work + "/unsealed.h5";
    h5ser::save(m, path);
    std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
    const char zeros[16] = {};
    f.write(zeros, sizeof zeros);  // no seal magic: as if another program wrote it
    return path;
}

/// What happened to one call.
enum class outcome { loaded, refused, crash_contained, hang_contained, failed };

struct tally {
    std::map<outcome, int> counts;
    std::vector<std::string> failures;
    void add(outcome o, const std::string& what) {
        ++counts[o];
        if (o == outcome::failed) failures.push_back(what);
    }
};

outcome classify(const h5ser::error& e) {
    if (e.code() != h5ser::errc::isolation_failed) return outcome::refused;
    const std::string what = e.what();
    if (what.find("time limit") != std::string::npos) return outcome::hang_contained;
    if (what.find("crashed") != std::string::npos) return outcome::crash_contained;
    return outcome::failed;  // could not start, malformed reply: the isolation itself failed
}

/// Runs `call`; an h5ser::error is an answer, anything else a failure.
template <class Call>
outcome run_library(const Call& call, std::string& result, std::string& why) {
    try {
        result = call();
        return outcome::loaded;
    } catch (const h5ser::error& e) {
        why = e.what();
        return classify(e);
    } catch (const std::exception& e) {
        why = std::string("not an h5ser::error: ") + e.what();
        return outcome::failed;
    }
}

/// Runs the tool with `args`, waiting at most 120 s: exit 0 is loaded; exit 1 or 3 with nothing on
/// stderr (a check's answer) or exit 1 with one "h5ser:" line are answers; a signal, another code,
/// other output on stderr or a hang are failures.
outcome run_tool(const std::string& tool, const std::vector<std::string>& args, const std::string& work, std::string& why) {
    const std::string out = work + "/tool.out", err = work + "/tool.err";
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::vector<char*> argv{const_cast<char*>(tool.c_str())};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_t pid = 0;
    const int rc = posix_spawn(&pid, tool.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
        why = "cannot start the tool";
        return outcome::failed;
    }
    int status = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (::waitpid(pid, &status, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() > deadline) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            why = "the tool hung";
            return outcome::failed;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    std::ifstream in(err);
    std::string first, line;
    std::getline(in, first);
    const bool more = static_cast<bool>(std::getline(in, line));
    if (WIFSIGNALED(status)) {
        why = "the tool died of signal " + std::to_string(WTERMSIG(status));
        return outcome::failed;
    }
    // 0 success; 1 a failed check, a difference or an error; 3 (verify) nothing to check against.
    const int code = WEXITSTATUS(status);
    if (code == 0) return outcome::loaded;
    if ((code == 1 || code == 3) && first.empty()) return outcome::refused;
    if (code == 1 && first.rfind("h5ser:", 0) == 0 && !more) {
        if (first.find("isolated parse failed") == std::string::npos) return outcome::refused;
        if (first.find("time limit") != std::string::npos) return outcome::hang_contained;
        if (first.find("crashed") != std::string::npos) return outcome::crash_contained;
    }
    why = "exit code " + std::to_string(code) + ", stderr: " + first;
    return outcome::failed;
}

std::vector<char> read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::string& path, const std::vector<char>& bytes) {
    std::ofstream(path, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 4) {
        std::fprintf(stderr, "usage: damaged_files FIXTURES_DIR H5SER_TOOL WORK_DIR [FILES [SAMPLE]]\n");
        return 2;
    }
    const std::string fixtures_dir = std::string(argv[1]) + "/keras", tool = argv[2], work = argv[3];
    const int files = argc > 4 ? std::atoi(argv[4]) : 1000;
    const int sample = argc > 5 ? std::atoi(argv[5]) : 100;
    std::filesystem::create_directories(work);
    // A damaged file's hang ends at the time limit: short here, as these files are small (a sound
    // parse of one takes milliseconds).
    ::setenv("H5SER_ISOLATION_TIME_LIMIT", "5", 1);

    const auto cases = fixture_files();
    const std::string unsealed = unsealed_h5ser_file(work, fixtures_dir + "/k3_mlp_adam.weights.h5");
    const std::vector<char> unsealed_bytes = read_bytes(unsealed);
    std::map<std::string, tally> tallies;
    int identical_checked = 0;
    std::vector<std::string> mismatches;

    // The intact files first: the same results in and out of isolation.
    for (const auto& f : cases) {
        const std::string path = fixtures_dir + "/" + f.name;
        if (!std::filesystem::exists(path)) {
            std::printf("SKIPPED: Keras fixture %s not found\n", path.c_str());
            return 0;
        }
        const bool same_config = h5ser::detail::to_wire(keras::read_model_config(path)) ==
                                 h5ser::detail::to_wire(keras::read_model_config<h5ser::trusted>(path));
        bool same = same_config && f.weights(path, false) == f.weights(path, true);
        if (f.optimizer) same = same && f.optimizer(path, false) == f.optimizer(path, true);
        if (!same) mismatches.push_back("intact " + f.name);
        ++identical_checked;
    }
    if (h5ser::fingerprint(h5ser::load<tagged_model>(unsealed)) != h5ser::fingerprint(h5ser::load<tagged_model, h5ser::trusted>(unsealed)))
        mismatches.push_back("intact unsealed h5ser file");

    std::mt19937_64 random(20261130);
    const auto damage = [&](std::vector<char>& bytes) {
        if (random() % 5 != 0) {
            const std::size_t at = random() % bytes.size();
            const int bit = static_cast<int>(random() % 8);
            bytes[at] = static_cast<char>(bytes[at] ^ (1 << bit));
            return "bit " + std::to_string(bit) + " of byte " + std::to_string(at);
        }
        bytes.resize(random() % bytes.size());
        return "truncated to " + std::to_string(bytes.size()) + " bytes";
    };
    const std::string damaged = work + "/damaged";
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < files; ++i) {
        const fixture_file& f = cases[static_cast<std::size_t>(i) % cases.size()];
        const std::string source = fixtures_dir + "/" + f.name;
        std::vector<char> bytes = read_bytes(source);
        const std::string change = damage(bytes);
        // The extension matters: the loaders tell a .keras archive by its signature, the tool too.
        const std::string path = damaged + std::filesystem::path(f.name).extension().string();
        write_bytes(path, bytes);
        const std::string label = f.name + " (" + change + ")";

        // `call(trusted)`; `comparable`: it has an in-process form (h5ser::trusted) to compare with.
        const auto library = [&](const std::string& entry, const std::function<std::string(bool)>& call, bool comparable = true) {
            std::string result, why;
            const outcome o = run_library([&] { return call(false); }, result, why);
            tallies[entry].add(o, label + ": " + why);
            if (o == outcome::loaded && comparable) {  // the same in this process
                std::string trusted_result, trusted_why;
                if (run_library([&] { return call(true); }, trusted_result, trusted_why) != outcome::loaded || trusted_result != result)
                    mismatches.push_back(entry + " " + label);
                ++identical_checked;
            }
        };
        const auto command = [&](const std::string& entry, const std::vector<std::string>& args) {
            std::string why;
            tallies["h5ser " + entry].add(run_tool(tool, args, work, why), label + ": " + why);
        };

        library("keras::read_model_config", [&](bool trusted) {
            return h5ser::detail::to_wire(trusted ? keras::read_model_config<h5ser::trusted>(path) : keras::read_model_config(path));
        });
        library("keras::load_weights", [&](bool trusted) { return f.weights(path, trusted); });
        command("ls", {"ls", path});
        if (i % std::max(1, files / std::max(1, sample)) != 0) continue;
        if (f.optimizer) library("keras::load_optimizer_weights", [&](bool trusted) { return f.optimizer(path, trusted); });
        library("h5ser::inspect",
                [&](bool trusted) { return h5ser::to_string(trusted ? h5ser::inspect<h5ser::trusted>(path) : h5ser::inspect(path)); });
        library("h5ser::load", [&](bool trusted) { return f.as_h5ser(path, trusted); });
        library(
            "h5ser::verify_file",
            [&](bool) {
                const auto r = h5ser::verify_file(path);
                return r.computed_fingerprint + (r.readable() ? " readable" : " unreadable");
            },
            false);
        command("verify", {"verify", path});
        command("audit", {"audit", path});
        command("schema", {"schema", path});
        command("diff", {"diff", source, path});
        command("convert", {"convert", path, work + "/converted.h5"});

        // An h5ser file without its seal, damaged too.
        std::vector<char> h5 = unsealed_bytes;
        const std::string h5_label = "unsealed h5ser file (" + damage(h5) + ")";
        const std::string h5_path = work + "/damaged-unsealed.h5";
        write_bytes(h5_path, h5);
        std::string result, why;
        const outcome o = run_library([&] { return h5ser::fingerprint(h5ser::load<tagged_model>(h5_path)); }, result, why);
        tallies["h5ser::load (unsealed h5ser file)"].add(o, h5_label + ": " + why);
        if (o == outcome::loaded) {
            std::string trusted_result;
            if (run_library([&] { return h5ser::fingerprint(h5ser::load<tagged_model, h5ser::trusted>(h5_path)); }, trusted_result, why) !=
                    outcome::loaded ||
                trusted_result != result)
                mismatches.push_back("h5ser::load " + h5_label);
            ++identical_checked;
        }
        std::string tool_why;
        tallies["h5ser ls (unsealed h5ser file)"].add(run_tool(tool, {"ls", h5_path}, work, tool_why), h5_label + ": " + tool_why);
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    std::printf("%d damaged files (bit flips and truncations of %zu Keras files) in %.1f s\n", files, cases.size(), seconds);
    std::printf("%-34s %7s %8s %9s %7s %7s\n", "entry point", "loaded", "refused", "crashes*", "hangs*", "FAILED");
    int failures = 0;
    for (const auto& entry_tally : tallies) {
        const std::string& entry = entry_tally.first;
        const tally& t = entry_tally.second;  // not a structured binding: Clang 14 cannot capture those
        const auto n = [&](outcome o) {
            const auto it = t.counts.find(o);
            return it == t.counts.end() ? 0 : it->second;
        };
        std::printf("%-34s %7d %8d %9d %7d %7d\n", entry.c_str(), n(outcome::loaded), n(outcome::refused), n(outcome::crash_contained),
                    n(outcome::hang_contained), n(outcome::failed));
        for (const auto& why : t.failures) std::printf("  FAILED %s: %s\n", entry.c_str(), why.c_str());
        failures += n(outcome::failed);
    }
    std::printf("* contained: the child process crashed or hung, the caller got h5ser::errc::isolation_failed\n");
    std::printf("%d loads compared with h5ser::trusted: %zu differ\n", identical_checked, mismatches.size());
    for (const auto& m : mismatches) std::printf("  DIFFERENT %s\n", m.c_str());
    return failures == 0 && mismatches.empty() ? 0 : 1;
}
