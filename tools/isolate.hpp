// How the h5ser tool runs a command on files h5ser did not seal: in a child process (the
// library's run_isolated), so that a damaged or hostile file that crashes or hangs libhdf5 ends
// the child, not the tool; the tool then reports it as an error (exit code 1).
//
// The child writes the command's output into a temporary file and sends it back with the exit
// code: a command that fails half way prints nothing on stdout, as when it runs in place.
#pragma once

#include <unistd.h>

#include <cstdio>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "internals.hpp"

namespace h5ser_cli {

/// What a command run in a child sends back.
struct command_reply {
    int exit_code = 0;
    std::string output;  ///< its stdout
};

/// Runs `command` (which returns the exit code and reports its own errors on stderr) in place when
/// `trusted` or when every file of `inputs` is sealed, else in a child process.
inline int run_command(const std::vector<std::string>& inputs, bool trusted, const std::function<int()>& command) {
    bool isolate = false;
    for (const auto& f : inputs)
        isolate = isolate || internal::needs_isolation(trusted ? internal::isolation::never : internal::isolation::hdf5_parses, f);
    if (!isolate) return command();
    const command_reply reply = internal::run_isolated<command_reply>(inputs.front(), [&](const h5ser::progress_callback&) {
        std::FILE* captured = std::tmpfile();
        if (!captured) throw std::runtime_error("cannot create a temporary file for the output");
        std::fflush(stdout);
        ::dup2(::fileno(captured), STDOUT_FILENO);
        command_reply r;
        r.exit_code = command();
        std::cout.flush();
        std::fflush(stdout);
        std::rewind(captured);
        char chunk[65536];
        for (std::size_t n; (n = std::fread(chunk, 1, sizeof chunk, captured)) > 0;) r.output.append(chunk, n);
        return r;
    });
    std::fwrite(reply.output.data(), 1, reply.output.size(), stdout);
    return reply.exit_code;
}

}  // namespace h5ser_cli
