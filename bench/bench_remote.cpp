// W5 over HTTP: the GPT-2-small-shaped model of bench_gpt2 (148 float32 tensors, 498 MB), sealed
// by h5ser::save and served by Debian's nginx on the loopback (warm page cache on the server's
// side), loaded verified from its URL (h5ser/remote.hpp), each load a whole fresh process, against:
//
//   curl -o /dev/null     the whole file by one GET, written nowhere: the network's limit (the issue's
//                         baseline; it keeps no byte, so it pays neither memory nor hashing)
//   sockets               the same bytes by ranged GETs of 16 MiB over 4 plain sockets, straight into
//                         fresh memory (faulted in as h5ser does) and hashed: what any client that
//                         keeps the bytes pays on this machine, without libcurl or h5ser
//   local                 a verified load of the same file from disk (bench_gpt2's h5ser row)
//
// It also prints the requests of one remote load (nginx's access log), its peak memory against the
// model's bytes, and `h5ser ls URL` (one request) against curl of the first 64 KiB.
// Rounds are interleaved; medians and ranges are printed, with ratios.
//
//     bench_remote [rounds] [dir] [--tiny]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#define XXH_INLINE_ALL  // the baseline hashes as h5ser does: libxxhash inlined
#include <xxhash.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <h5ser/h5ser.hpp>
#include <h5ser/remote.hpp>

#include "../tests/remote/servers.hpp"
#include "bench_common.hpp"
#include "gpt2_model.hpp"

extern char** environ;

namespace {

using bench::gpt2::Gpt2;

volatile std::uint64_t sink = 0;

/// The "sockets" baseline: `size` bytes of `port`/`name` by ranged GETs of 16 MiB on 4 connections,
/// each part received straight into fresh memory (faulted in first, huge pages asked for, as
/// h5ser's client does) and hashed with XXH3 as it arrives.
int sockets_in_this_process(int port, const std::string& name, std::uint64_t size) {
    constexpr std::uint64_t part = 16U << 20;
    auto* memory = static_cast<unsigned char*>(::operator new (size, std::align_val_t{64}));
    std::atomic<std::uint64_t> next{0};
    std::atomic<bool> failed{false};
    const auto work = [&] {
        const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(static_cast<std::uint16_t>(port));
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return void(failed = true);
        std::vector<char> head(16384);
        for (std::uint64_t offset; (offset = next.fetch_add(part)) < size;) {
            const std::uint64_t length = std::min(part, size - offset);
            unsigned char* into = memory + offset;
            const auto begin = reinterpret_cast<std::uintptr_t>(into), end = begin + length;
            const std::uintptr_t huge = 2U << 20, page = 4096;
            if (((end & ~(huge - 1)) > ((begin + huge - 1) & ~(huge - 1))))
                ::madvise(reinterpret_cast<void*>((begin + huge - 1) & ~(huge - 1)),
                          (end & ~(huge - 1)) - ((begin + huge - 1) & ~(huge - 1)), MADV_HUGEPAGE);
            ::madvise(reinterpret_cast<void*>((begin + page - 1) & ~(page - 1)), (end & ~(page - 1)) - ((begin + page - 1) & ~(page - 1)),
                      MADV_POPULATE_WRITE);
            const std::string request = "GET /" + name + " HTTP/1.1\r\nHost: 127.0.0.1\r\nRange: bytes=" + std::to_string(offset) + "-" +
                                        std::to_string(offset + length - 1) + "\r\n\r\n";
            if (::send(fd, request.data(), request.size(), 0) != static_cast<ssize_t>(request.size())) return void(failed = true);
            std::size_t have = 0, body_start = 0;
            for (;;) {  // the headers, and whatever of the body came with them
                const ssize_t n = ::recv(fd, head.data() + have, head.size() - have, 0);
                if (n <= 0) return void(failed = true);
                have += static_cast<std::size_t>(n);
                const auto found = std::string_view(head.data(), have).find("\r\n\r\n");
                if (found != std::string_view::npos) {
                    body_start = found + 4;
                    break;
                }
            }
            XXH3_state_t* state = XXH3_createState();
            XXH3_64bits_reset(state);
            std::uint64_t got = std::min<std::uint64_t>(have - body_start, length);
            std::memcpy(into, head.data() + body_start, got);
            XXH3_64bits_update(state, into, got);
            while (got < length) {
                const ssize_t n = ::recv(fd, into + got, std::min<std::uint64_t>(length - got, 1U << 20), 0);
                if (n <= 0) return void(failed = true);
                XXH3_64bits_update(state, into + got, static_cast<std::size_t>(n));
                got += static_cast<std::uint64_t>(n);
            }
            sink = sink + XXH3_64bits_digest(state);
            XXH3_freeState(state);
        }
        ::close(fd);
    };
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i) threads.emplace_back(work);
    for (auto& t : threads) t.join();
    ::operator delete (memory, std::align_val_t{64});
    return failed ? 1 : 0;
}

/// Runs `args` in a child process, its output discarded; returns its peak resident memory (KiB).
long run_process(const std::vector<std::string>& args) {
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    ::posix_spawn_file_actions_init(&actions);
    ::posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    pid_t pid = 0;
    if (::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ) != 0) std::abort();
    ::posix_spawn_file_actions_destroy(&actions);
    int status = 0;
    rusage usage{};
    ::wait4(pid, &status, 0, &usage);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        std::fprintf(stderr, "%s %s failed\n", args[0].c_str(), args.size() > 1 ? args[1].c_str() : "");
        std::exit(1);
    }
    return usage.ru_maxrss;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc == 3 && std::strcmp(argv[1], "--load") == 0) {  // a verified load, of a URL or a path
        const auto m = h5ser::load<Gpt2>(argv[2]);
        sink = sink + m.h.size();
        return 0;
    }
    if (argc == 5 && std::strcmp(argv[1], "--sockets") == 0)
        return sockets_in_this_process(std::atoi(argv[2]), argv[3], std::strtoull(argv[4], nullptr, 10));
    if (!test::servers::have_nginx()) {
        std::fprintf(stderr, "bench_remote needs nginx (apt-get install nginx-light)\n");
        return 1;
    }
    int rounds = 7;
    std::filesystem::path dir = ".";
    bool tiny = false;
    int positional = 0;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--tiny") == 0) tiny = true;
        else if (positional++ == 0) rounds = std::atoi(argv[i]);
        else dir = argv[i];
    }
    bench::gpt2::shape s;
    if (tiny) s = {500, 64, 64, 2};
    const std::filesystem::path www = dir / "remote-bench" / "www";
    std::filesystem::create_directories(www);
    const std::string file = (www / "gpt2.h5").string();
    {
        const Gpt2 model = bench::gpt2::make_model(s);
        h5ser::save(model, file);
    }
    const std::uint64_t size = std::filesystem::file_size(file);
    const test::servers::nginx server(www, dir / "remote-bench" / "nginx");
    const std::string url = server.url("gpt2.h5");
    const std::string port = url.substr(url.rfind(':') + 1, url.find('/', url.rfind(':')) - url.rfind(':') - 1);
    const std::string self = argv[0];
    const std::vector<std::string> curl{"/usr/bin/curl", "-s", "-f", "-o", "/dev/null", url};

    // Requests and peak memory of one remote load.
    const std::size_t before = server.requests();
    const long peak_kib = run_process({self, "--load", url});
    const std::size_t requests = server.requests() - before;

    const std::vector<bench::program> programs{
        {"curl -o /dev/null", [&] { run_process(curl); }},
        {"sockets into fresh memory + XXH3",
         [&] {
             run_process({self, "--sockets", port, "gpt2.h5", std::to_string(size)});
         }},
        {"h5ser::load, local file (verified)",
         [&] {
             run_process({self, "--load", file});
         }},
        {"h5ser::load, URL (verified)",
         [&] {
             run_process({self, "--load", url});
         }},
    };
    for (const auto& p : programs) p.run();  // warm the server's page cache and the binaries
    const auto rows = bench::interleaved_medians(rounds, programs);
    std::printf("W5 over HTTP: %s, %.0f MB, nginx on the loopback, each load a fresh process, %d rounds\n",
                tiny ? "tiny GPT-2" : "GPT-2 small", static_cast<double>(size) / 1e6, rounds);
    bench::print("loads", rows, static_cast<double>(size), rows[0]);
    const double curl_s = rows[0].seconds, sockets_s = rows[1].seconds, local_s = rows[2].seconds, remote_s = rows[3].seconds;
    std::printf("\nh5ser remote load: %.2fx the throughput of curl -o /dev/null (target >= 0.9), %.2fx that of the sockets baseline,\n",
                curl_s / remote_s, sockets_s / remote_s);
    std::printf("  %.2fx the time of a local verified load plus curl (target <= 1.3)\n", remote_s / (local_s + curl_s));
    std::printf("  requests per load: %zu (1 + one per contiguous tensor or 16 MiB part)\n", requests);
    std::printf("  peak memory: %.0f MB for %.0f MB of file (%+.0f MB; target <= +64 MiB)\n", static_cast<double>(peak_kib) / 1e3 * 1.024,
                static_cast<double>(size) / 1e6, (static_cast<double>(peak_kib) * 1024.0 - static_cast<double>(size)) / 1e6);
#ifdef H5SER_BENCH_CLI
    const std::vector<bench::program> listings{
        {"curl of the first 64 KiB",
         [&] {
             run_process({"/usr/bin/curl", "-s", "-f", "-r", "0-65535", "-o", "/dev/null", url});
         }},
        {"h5ser ls URL",
         [&] {
             run_process({H5SER_BENCH_CLI, "ls", url});
         }},
    };
    for (const auto& p : listings) p.run();
    const auto listed = bench::interleaved_medians(rounds, listings);
    bench::print("h5ser ls of the URL (one request; target < 20 ms)", listed, 65536.0, listed[0]);
#endif
    return sink == 42 ? 1 : 0;
}
