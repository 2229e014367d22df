// tests/remote/servers.hpp: real web servers on the loopback for the remote-load tests and the W5
// remote benchmark: Debian's nginx (nginx-light), started with its own configuration and temporary
// directories on a free port, and tests/remote/fault_server.py for the failures nginx cannot
// produce. Each is stopped (SIGTERM, then SIGKILL) when its object goes away.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace test::servers {

/// A port of 127.0.0.1 that nothing listens on now (the kernel's choice for a socket bound to 0).
inline int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof a;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &length) != 0)
        throw std::runtime_error("no free port");
    ::close(fd);
    return ntohs(a.sin_port);
}

/// Does something accept connections on 127.0.0.1:`port`?
inline bool accepts(int port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool ok = fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    if (fd >= 0) ::close(fd);
    return ok;
}

/// A child process, stopped when this goes away, and killed by the kernel if this process dies
/// first (a crashed test must not leave a server holding CTest's output pipe open).
class process {
public:
    /// Starts `args` with its standard output into `output` (empty: /dev/null) and its standard
    /// error into /dev/null.
    explicit process(const std::vector<std::string>& args, const std::string& output = {}) {
        std::vector<char*> argv;
        for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        const std::string out = output.empty() ? "/dev/null" : output;
        const pid_t parent = ::getpid();
        pid_ = ::fork();
        if (pid_ < 0) throw std::runtime_error("cannot start " + args[0]);
        if (pid_ == 0) {  // only async-signal-safe calls from here to exec
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (::getppid() != parent) ::_exit(127);  // the parent died before prctl
            const int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
            const int e = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
            if (o < 0 || e < 0 || ::dup2(o, STDOUT_FILENO) < 0 || ::dup2(e, STDERR_FILENO) < 0) ::_exit(127);
            ::execv(argv[0], argv.data());
            ::_exit(127);
        }
    }
    process(const process&) = delete;
    process& operator=(const process&) = delete;
    ~process() {
        ::kill(pid_, SIGTERM);
        for (int i = 0; i < 100; ++i) {
            if (::waitpid(pid_, nullptr, WNOHANG) == pid_) return;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
    [[nodiscard]] bool running() const { return ::waitpid(pid_, nullptr, WNOHANG) == 0; }

private:
    pid_t pid_ = 0;
};

inline void wait_until_accepting(int port, const process& p, const std::string& what) {
    for (int i = 0; i < 500; ++i) {
        if (accepts(port)) return;
        if (!p.running()) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    throw std::runtime_error(what + " did not start on port " + std::to_string(port));
}

inline bool have_nginx() { return std::filesystem::exists("/usr/sbin/nginx"); }

/// nginx serving `root` on a free loopback port, with its configuration, logs and temporary
/// directories in `work` (a directory of the test's own). The access log lists each request.
/// Beside plain files it serves the same files under /bearer/, /basic/ and /sigv4/ only to requests
/// with the credentials the remote tests give (a bearer token "t0ken", user "user" with password
/// "pass", an AWS SigV4 signature by key id "AKIDTEST"), and, given a certificate and its key
/// (PEM), over HTTPS on a second port.
class nginx {
public:
    nginx(const std::filesystem::path& root, const std::filesystem::path& work, const std::string& cert = {}, const std::string& key = {})
        : work_(work) {
        std::filesystem::create_directories(work / "tmp");
        for (int tries = 0;; ++tries) {
            port_ = free_port();
            tls_port_ = cert.empty() ? 0 : free_port();
            {
                std::ofstream conf(work / "nginx.conf");
                const std::string w = work.string();
                const std::string r = root.string() + "/";
                conf << "daemon off;\nmaster_process off;\nworker_processes 1;\npid " << w << "/nginx.pid;\nerror_log " << w
                     << "/error.log;\nevents { worker_connections 256; }\nhttp {\n  access_log " << w << "/access.log;\n"
                     << "  client_body_temp_path " << w << "/tmp; proxy_temp_path " << w << "/tmp; fastcgi_temp_path " << w
                     << "/tmp; uwsgi_temp_path " << w << "/tmp; scgi_temp_path " << w << "/tmp;\n"
                     << "  sendfile on;\n  keepalive_requests 100000;\n  default_type application/octet-stream;\n"
                     << "  server {\n    listen 127.0.0.1:" << port_ << ";\n";
                if (!cert.empty())
                    conf << "    listen 127.0.0.1:" << tls_port_ << " ssl;\n    ssl_certificate " << cert << ";\n    ssl_certificate_key "
                         << key << ";\n";
                conf
                    << "    root " << r << ";\n"
                    << "    location /bearer/ { if ($http_authorization != \"Bearer t0ken\") { return 401; } alias " << r << "; }\n"
                    << "    location /basic/ { if ($http_authorization != \"Basic dXNlcjpwYXNz\") { return 401; } alias " << r << "; }\n"
                    << "    location /sigv4/ { if ($http_authorization !~ \"^AWS4-HMAC-SHA256 Credential=AKIDTEST/[0-9]+/us-east-1/s3/aws4_request, "
                       "SignedHeaders=[^,]*x-amz-date[^,]*, Signature=[0-9a-f]{64}$\") { return 403; } alias "
                    << r << "; }\n"
                    << "  }\n}\n";
            }
            server_ = std::make_unique<process>(
                std::vector<std::string>{"/usr/sbin/nginx", "-c", (work / "nginx.conf").string(), "-p", work.string()});
            try {
                wait_until_accepting(port_, *server_, "nginx");
                return;
            } catch (const std::exception&) {
                server_.reset();
                if (tries == 3) throw;  // another program took the port in between: try another
            }
        }
    }
    [[nodiscard]] std::string url(const std::string& name) const { return "http://127.0.0.1:" + std::to_string(port_) + "/" + name; }
    [[nodiscard]] std::string https_url(const std::string& name) const {
        return "https://127.0.0.1:" + std::to_string(tls_port_) + "/" + name;
    }
    /// Requests served so far (lines of the access log), once the log has settled: nginx writes a
    /// request's line after its answer has gone, so a client can be ahead of it. Waits until the
    /// count has not changed for 100 ms.
    [[nodiscard]] std::size_t requests() const {
        std::size_t last = count_lines(), same_for = 0;
        while (same_for < 10) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
            const std::size_t now = count_lines();
            same_for = now == last ? same_for + 1 : 0;
            last = now;
        }
        return last;
    }

private:
    [[nodiscard]] std::size_t count_lines() const {
        std::ifstream log(work_ / "access.log");
        std::size_t n = 0;
        for (std::string line; std::getline(log, line);) ++n;
        return n;
    }
    std::filesystem::path work_;
    int port_ = 0;
    int tls_port_ = 0;
    std::unique_ptr<process> server_;
};

/// tests/remote/fault_server.py serving `root`; url("reset-once", "m.h5") names a file it serves
/// with that fault.
class fault_server {
public:
    fault_server(const std::string& script, const std::filesystem::path& root, const std::filesystem::path& work) {
        std::filesystem::create_directories(work);
        const std::string port_file = (work / "port").string();
        server_ = std::make_unique<process>(std::vector<std::string>{"/usr/bin/python3", script, root.string()}, port_file);
        for (int i = 0; i < 500 && port_ == 0; ++i) {
            std::ifstream in(port_file);
            if (!(in >> port_)) port_ = 0;
            if (port_ == 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        if (port_ == 0) throw std::runtime_error("the fault server did not start");
        wait_until_accepting(port_, *server_, "the fault server");
    }
    [[nodiscard]] std::string url(const std::string& fault, const std::string& name) const {
        return "http://127.0.0.1:" + std::to_string(port_) + "/" + fault + "/" + name;
    }

private:
    int port_ = 0;
    std::unique_ptr<process> server_;
};

}  // namespace test::servers
