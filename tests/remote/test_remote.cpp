// Loads of URLs (h5ser/remote.hpp) from real servers on the loopback: Debian's nginx for what a web
// server does, tests/remote/fault_server.py for what goes wrong. Every failing load must leave the
// model as it was and name the URL (and the tensor, where one is at fault).
#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <h5ser/h5ser.hpp>
#include <h5ser/remote.hpp>

#include "../support.hpp"
#include "servers.hpp"

namespace {

struct Dense {
    h5ser::tensor<float, 2> kernel;
    std::vector<float> bias;
    int units = 0;
    std::string activation;
};
struct Net {
    Dense encoder;
    std::vector<Dense> blocks;
    h5ser::tensor<std::int64_t, 1> steps;
    h5ser::tensor<bool, 1> mask;
    h5ser::tensor<double, 0> scale;
    std::map<std::string, h5ser::tensor<float, 1>> extra;
    double learning_rate = 0;
};

Dense dense(std::size_t in, std::size_t out, float seed) {
    Dense d;
    d.kernel = h5ser::tensor<float, 2>({in, out}, h5ser::uninitialized);
    for (std::size_t i = 0; i < d.kernel.size(); ++i) d.kernel.data()[i] = seed + static_cast<float>(i) * 0.25f;
    d.bias.assign(out, seed * 2);
    d.units = static_cast<int>(out);
    d.activation = "gelu";
    return d;
}

Net make_net(float seed) {
    Net n;
    n.encoder = dense(300, 256, seed);  // 300 KiB: contiguous
    for (int i = 0; i < 3; ++i) n.blocks.push_back(dense(64, 64 * (i + 1), seed + static_cast<float>(i)));
    n.steps = h5ser::tensor<std::int64_t, 1>({5000}, h5ser::uninitialized);
    for (std::size_t i = 0; i < 5000; ++i) n.steps.data()[i] = static_cast<std::int64_t>(i) * -7;
    n.mask = h5ser::tensor<bool, 1>({6000}, h5ser::uninitialized);
    for (std::size_t i = 0; i < 6000; ++i) n.mask.data()[i] = i % 3 == 0;
    n.scale = h5ser::tensor<double, 0>({}, {seed * 1.5});
    n.extra["a"] = h5ser::tensor<float, 1>({2000}, h5ser::uninitialized);
    for (std::size_t i = 0; i < 2000; ++i) n.extra["a"].data()[i] = -static_cast<float>(i);
    n.extra["b"] = h5ser::tensor<float, 1>({3}, {1, 2, 3});
    n.learning_rate = 3e-4 * seed;
    return n;
}

bool same(const Dense& a, const Dense& b) {
    return test::same_bytes(a.kernel, b.kernel) && a.bias == b.bias && a.units == b.units && a.activation == b.activation;
}
bool same(const Net& a, const Net& b) {
    if (!same(a.encoder, b.encoder) || a.blocks.size() != b.blocks.size() || a.extra.size() != b.extra.size()) return false;
    for (std::size_t i = 0; i < a.blocks.size(); ++i)
        if (!same(a.blocks[i], b.blocks[i])) return false;
    for (const auto& [k, v] : a.extra)
        if (!b.extra.count(k) || !test::same_bytes(v, b.extra.at(k))) return false;
    return test::same_bytes(a.steps, b.steps) && test::same_bytes(a.mask, b.mask) && test::same_bytes(a.scale, b.scale) &&
           test::same_bytes(a.learning_rate, b.learning_rate);
}

/// The servers every test shares: nginx over a directory of saved files, the fault server over the
/// same directory. Started once for the suite.
struct served {
    test::scratch_dir dir;
    std::filesystem::path root = dir.path() / "www";
    std::string net_file;
    Net saved = make_net(1);
    std::string ca_file;  ///< the certificate nginx serves HTTPS with
    std::unique_ptr<test::servers::nginx> nginx;
    std::unique_ptr<test::servers::fault_server> faults;

    served() {
        std::filesystem::create_directories(root);
        h5ser::save(saved, (root / "net.h5").string());
        // The same file replaced by another model of the same shapes (fault_server's "replace").
        h5ser::save(make_net(2), (root / "net.h5.next").string());
        if (test::servers::have_nginx()) {
            // A self-signed certificate for 127.0.0.1, for the HTTPS tests.
            const std::string cert = dir.file("cert.pem"), key = dir.file("key.pem");
            const std::string openssl =
                "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 "
                "-keyout " +
                key + " -out " + cert + " >/dev/null 2>&1";
            if (std::system(openssl.c_str()) != 0) throw std::runtime_error("openssl could not make a certificate");
            ca_file = cert;
            nginx = std::make_unique<test::servers::nginx>(root, dir.path() / "nginx", cert, key);
        }
        faults =
            std::make_unique<test::servers::fault_server>(H5SER_TEST_SOURCE_DIR "/remote/fault_server.py", root, dir.path() / "faults");
    }
    static served& get() {
        static served s;
        return s;
    }
};

/// Says SKIPPED (ctest reports the test skipped) when nginx is not installed.
bool skipped_without_nginx() {
    if (test::servers::have_nginx()) return false;
    MESSAGE("SKIPPED: nginx is not installed (apt-get install nginx-light)");
    return true;
}

/// Options for fault tests: quick retries and stall detection.
struct quick_options {
    explicit quick_options(int retries = 2) {
        h5ser::remote_options o;
        o.retries = retries;
        o.stall_timeout_ms = 1000;
        o.connect_timeout_ms = 2000;
        h5ser::set_remote_options(o);
    }
    ~quick_options() { h5ser::set_remote_options({}); }
};

/// Loads `url` into a model that holds make_net(7) and checks the load failed with `code`, left
/// the model as it was, and named the URL (and `tensor`, if given). Returns the message.
std::string refused(const std::string& url, h5ser::errc code, const std::string& tensor = {}) {
    Net model = make_net(7);
    const h5ser::error e = test::expect_error([&] { h5ser::load_into(model, url); });
    if (std::getenv("H5SER_TEST_SHOW_ERRORS")) MESSAGE(std::string(e.what()));  // to read the messages: H5SER_TEST_SHOW_ERRORS=1
    CHECK_MESSAGE(e.code() == code, std::string(e.what()));
    CHECK_MESSAGE(test::contains(e.what(), url), std::string(e.what()));
    if (!tensor.empty()) CHECK_MESSAGE(test::contains(e.what(), tensor), std::string(e.what()));
    CHECK(same(model, make_net(7)));
    return e.what();
}

/// The code of the error h5ser::read_tensor of `object` of `url` throws.
h5ser::errc refused_read(const std::string& url, const std::string& object) {
    return test::expect_error([&] { (void)h5ser::read_tensor(url, object); }).code();
}

/// The code of the error h5ser::inspect of `url` throws.
h5ser::errc refused_inspect(const std::string& url) {
    return test::expect_error([&] { (void)h5ser::inspect(url); }).code();
}

}  // namespace

TEST_CASE("remote: a model loads from nginx bit for bit, one request for its seal and manifest and one per tensor") {
    if (skipped_without_nginx()) return;
    served& s = served::get();
    const std::size_t before = s.nginx->requests();
    const Net loaded = h5ser::load<Net>(s.nginx->url("net.h5"));
    CHECK(same(loaded, s.saved));
    std::size_t contiguous = 0;
    const auto count = [&](const auto& self, const h5ser::file_node& node) -> void {
        contiguous += node.kind == h5ser::file_node::kind_type::dataset && node.layout == "contiguous";
        for (const auto& child : node.children) self(self, child);
    };
    count(count, h5ser::inspect((s.root / "net.h5").string()));
    CHECK(contiguous >= 6);
    CHECK(s.nginx->requests() - before == 1 + contiguous);

    // load_into a model of the right shapes, with progress up to the file's size.
    Net into = make_net(5);
    std::uint64_t last = 0, total = 0;
    bool increasing = true;
    h5ser::load_into(into, s.nginx->url("net.h5"), [&](std::uint64_t done, std::uint64_t all) {
        increasing = increasing && done >= last;
        last = done;
        total = all;
    });
    CHECK(same(into, s.saved));
    CHECK(increasing);
    CHECK(total == std::filesystem::file_size(s.root / "net.h5"));
    CHECK(last == total);

    // Weights only, and a lenient load that reports what it skipped.
    struct Weights {
        Dense encoder;
    };
    h5ser::load_report report;
    const auto part = h5ser::load<Weights, h5ser::lenient>(s.nginx->url("net.h5"), report);
    CHECK(test::same_bytes(part.encoder.kernel, s.saved.encoder.kernel));
    CHECK(!report.unexpected.empty());
}

TEST_CASE("remote: a manifest longer than the first request is read with a second") {
    if (skipped_without_nginx()) return;
    served& s = served::get();
    // 120 compact tensors of 4000 bytes: their bytes live in the manifest, 480 KB of it.
    std::map<std::string, h5ser::tensor<float, 1>> many;
    for (int i = 0; i < 120; ++i) {
        auto& t = many["t" + std::to_string(i)] = h5ser::tensor<float, 1>({1000}, h5ser::uninitialized);
        for (std::size_t j = 0; j < 1000; ++j) t.data()[j] = static_cast<float>(i * 1000 + static_cast<int>(j));
    }
    h5ser::save(many, (s.root / "many.h5").string());
    const std::size_t before = s.nginx->requests();
    const auto loaded = h5ser::load<std::map<std::string, h5ser::tensor<float, 1>>>(s.nginx->url("many.h5"));
    REQUIRE(loaded.size() == many.size());
    for (const auto& [k, v] : many) CHECK(test::same_bytes(v, loaded.at(k)));
    CHECK(s.nginx->requests() - before == 2);
}

TEST_CASE("remote: files h5ser reads only from disk are refused with needs_local_copy") {
    if (skipped_without_nginx()) return;
    served& s = served::get();
    const Net saved = make_net(3);
    h5ser::save<h5ser::deflate<1>>(saved, (s.root / "chunked.h5").string());
    CHECK(test::contains(refused(s.nginx->url("chunked.h5"), h5ser::errc::needs_local_copy), "chunked"));
    std::filesystem::copy_file(s.root / "net.h5", s.root / "unsealed.h5", std::filesystem::copy_options::overwrite_existing);
    test::unseal((s.root / "unsealed.h5").string());
    CHECK(test::contains(refused(s.nginx->url("unsealed.h5"), h5ser::errc::needs_local_copy), "without h5ser's seal"));
    std::filesystem::copy_file(H5SER_TEST_DATA_DIR "/format1/full_model.h5", s.root / "format1.h5",
                               std::filesystem::copy_options::overwrite_existing);
    CHECK(test::contains(refused(s.nginx->url("format1.h5"), h5ser::errc::needs_local_copy), "format 1"));
}

TEST_CASE("remote: a damaged tensor is a checksum mismatch naming it, and a missing file, refused connections and denied access fail") {
    if (skipped_without_nginx()) return;
    served& s = served::get();
    const quick_options quick;
    std::filesystem::copy_file(s.root / "net.h5", s.root / "damaged.h5", std::filesystem::copy_options::overwrite_existing);
    test::flip_element_bit((s.root / "damaged.h5").string(), "/encoder/kernel", 4000);
    refused(s.nginx->url("damaged.h5"), h5ser::errc::checksum_mismatch, "/encoder/kernel");
    refused(s.nginx->url("nothing-here.h5"), h5ser::errc::file_not_found);
    CHECK(test::contains(refused("http://127.0.0.1:" + std::to_string(test::servers::free_port()) + "/net.h5", h5ser::errc::io),
                         "no server answers"));
    CHECK(test::contains(refused(s.faults->url("status-403", "net.h5"), h5ser::errc::io), "credentials"));
}

TEST_CASE("remote: broken connections and server errors are retried, resuming where the bytes stopped") {
    served& s = served::get();
    const quick_options quick;
    for (const char* fault : {"reset-once", "5xx-once", "short"}) {
        CAPTURE(fault);
        Net model = make_net(7);
        h5ser::load_into(model, s.faults->url(fault, "net.h5"));
        CHECK(same(model, s.saved));
    }
    CHECK(test::contains(refused(s.faults->url("reset-always", "net.h5"), h5ser::errc::io, "/"), "3 times"));
    CHECK(test::contains(refused(s.faults->url("5xx-always", "net.h5"), h5ser::errc::io, "/"), "HTTP 503"));
}

TEST_CASE("remote: a server that ignores Range, answers another range or stalls fails the load, bounded") {
    served& s = served::get();
    const quick_options quick;
    CHECK(test::contains(refused(s.faults->url("ignore-range", "net.h5"), h5ser::errc::io), "ignores Range"));
    CHECK(test::contains(refused(s.faults->url("wrong-range", "net.h5"), h5ser::errc::io), "another range"));
    const auto start = std::chrono::steady_clock::now();
    CHECK(test::contains(refused(s.faults->url("stall", "net.h5"), h5ser::errc::io), "no byte arrived"));
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));
}

TEST_CASE("remote: a file replaced during the load fails it, never mixing two versions") {
    served& s = served::get();
    const quick_options quick;
    // With an ETag: If-Match gets 412 on every attempt.
    CHECK(test::contains(refused(s.faults->url("replace", "net.h5"), h5ser::errc::file_changed), "replaced"));
    // Without one: the tensors of the other version do not match the manifest the load read.
    refused(s.faults->url("replace-no-etag", "net.h5"), h5ser::errc::checksum_mismatch);
}

TEST_CASE("remote: HTTPS checks the server's certificate, against the system's or remote_options::ca_file") {
    if (skipped_without_nginx()) return;
    served& s = served::get();
    const quick_options quick;
    CHECK(test::contains(refused(s.nginx->https_url("net.h5"), h5ser::errc::io), "TLS"));
    h5ser::remote_options trusting;
    trusting.ca_file = s.ca_file;
    h5ser::set_remote_options(trusting);
    CHECK(same(h5ser::load<Net>(s.nginx->https_url("net.h5")), s.saved));
}

TEST_CASE("remote: credentials: a bearer token from the options or H5SER_BEARER_TOKEN, basic authentication, AWS SigV4") {
    if (skipped_without_nginx()) return;
    served& s = served::get();
    const quick_options quick;
    CHECK(test::contains(refused(s.nginx->url("bearer/net.h5"), h5ser::errc::io), "credentials"));
    h5ser::remote_options o;
    o.bearer_token = "t0ken";
    h5ser::set_remote_options(o);
    CHECK(same(h5ser::load<Net>(s.nginx->url("bearer/net.h5")), s.saved));
    h5ser::set_remote_options({});
    ::setenv("H5SER_BEARER_TOKEN", "t0ken", 1);
    CHECK(same(h5ser::load<Net>(s.nginx->url("bearer/net.h5")), s.saved));
    ::setenv("H5SER_BEARER_TOKEN", "wrong", 1);
    CHECK(test::contains(refused(s.nginx->url("bearer/net.h5"), h5ser::errc::io), "HTTP 401"));
    ::unsetenv("H5SER_BEARER_TOKEN");

    o = {};
    o.user = "user";
    o.password = "pass";
    h5ser::set_remote_options(o);
    CHECK(same(h5ser::load<Net>(s.nginx->url("basic/net.h5")), s.saved));

    // nginx checks the form of the signature (it cannot check its value without the secret).
    h5ser::set_remote_options({});
    CHECK(test::contains(refused(s.nginx->url("sigv4/net.h5"), h5ser::errc::io), "HTTP 403"));
    o = {};
    o.aws_sigv4 = "aws:amz:us-east-1:s3";
    h5ser::set_remote_options(o);
    ::unsetenv("AWS_ACCESS_KEY_ID");
    CHECK(test::contains(refused(s.nginx->url("sigv4/net.h5"), h5ser::errc::io), "AWS_ACCESS_KEY_ID"));
    ::setenv("AWS_ACCESS_KEY_ID", "AKIDTEST", 1);
    ::setenv("AWS_SECRET_ACCESS_KEY", "secret", 1);
    CHECK(same(h5ser::load<Net>(s.nginx->url("sigv4/net.h5")), s.saved));
    ::unsetenv("AWS_ACCESS_KEY_ID");
    ::unsetenv("AWS_SECRET_ACCESS_KEY");
    h5ser::set_remote_options({});
}

namespace {
/// The tree without the root attributes only HDF5 metadata holds (the manifest's header gives the
/// version, the mode and the fingerprint; h5ser_version, model_type and schema it does not).
h5ser::file_node without_metadata_only_attributes(h5ser::file_node tree) {
    std::erase_if(tree.attributes, [](const auto& a) { return a.name == "h5ser_version" || a.name == "model_type" || a.name == "schema"; });
    return tree;
}
bool same_tree(const h5ser::file_node& a, const h5ser::file_node& b) {
    if (a.name != b.name || a.path != b.path || a.kind != b.kind || a.dtype != b.dtype || a.shape != b.shape || a.layout != b.layout ||
        a.element_bytes != b.element_bytes || a.stored_bytes != b.stored_bytes || a.filters != b.filters ||
        a.attributes.size() != b.attributes.size() || a.children.size() != b.children.size())
        return false;
    for (std::size_t i = 0; i < a.attributes.size(); ++i) {
        const auto& x = a.attributes[i];
        const auto& y = b.attributes[i];
        if (x.name != y.name || x.dtype != y.dtype || x.shape != y.shape || x.value != y.value) return false;
    }
    for (std::size_t i = 0; i < a.children.size(); ++i)
        if (!same_tree(a.children[i], b.children[i])) return false;
    return true;
}
}  // namespace

TEST_CASE("remote: h5ser::inspect of a URL is the tree of the file from its manifest, in one request, chunked tensors too") {
    if (skipped_without_nginx()) return;
    served& s = served::get();
    h5ser::save<h5ser::shuffle, h5ser::deflate<1>>(s.saved, (s.root / "deflated.h5").string());
    for (const char* name : {"net.h5", "deflated.h5"}) {
        CAPTURE(name);
        const std::size_t before = s.nginx->requests();
        const h5ser::file_node remote = h5ser::inspect(s.nginx->url(name));
        CHECK(s.nginx->requests() - before == 1);
        const h5ser::file_node local = without_metadata_only_attributes(h5ser::inspect((s.root / name).string()));
        CHECK(same_tree(remote, local));
        CHECK(h5ser::to_string(remote) == h5ser::to_string(local));
    }
    std::filesystem::copy_file(s.root / "net.h5", s.root / "unsealed.h5", std::filesystem::copy_options::overwrite_existing);
    test::unseal((s.root / "unsealed.h5").string());
    CHECK(refused_inspect(s.nginx->url("unsealed.h5")) == h5ser::errc::needs_local_copy);
}

#ifdef H5SER_TEST_CLI
TEST_CASE("remote: h5ser ls URL and h5ser verify URL read the manifest alone") {
    if (skipped_without_nginx()) return;
    served& s = served::get();
    const auto run = [&](const std::string& args) {
        const std::string out = s.dir.file("cli.out");
        const int rc = std::system((std::string(H5SER_TEST_CLI) + " " + args + " > " + out + " 2>&1").c_str());
        return std::make_pair(WEXITSTATUS(rc), test::file_bytes(out));
    };
    const std::size_t before = s.nginx->requests();
    const auto [ls_rc, ls_out] = run("ls " + s.nginx->url("net.h5"));
    CHECK(ls_rc == 0);
    CHECK(s.nginx->requests() - before == 1);
    const auto [local_rc, local_out] = run("ls " + (s.root / "net.h5").string());
    // The same table; the header line of the local file adds what only its HDF5 metadata holds.
    const auto table = [](const std::string& text) { return text.substr(text.find("\nname ")); };
    CHECK(table(ls_out) == table(local_out));
    CHECK(test::contains(ls_out, "h5ser: full_model, format 2, fingerprint " + h5ser::fingerprint(s.saved) + ", sealed"));
    const auto [verify_rc, verify_out] = run("verify " + s.nginx->url("net.h5") + " --expect-fingerprint " + h5ser::fingerprint(s.saved));
    CHECK(verify_rc == 0);
    CHECK(test::contains(verify_out, "OK"));
    CHECK(run("verify " + s.nginx->url("net.h5") + " --expect-fingerprint 0123456789abcdef").first == 1);
    // A flipped byte in the seal's range table: its checksum no longer matches.
    std::filesystem::copy_file(s.root / "net.h5", s.root / "damaged-seal.h5", std::filesystem::copy_options::overwrite_existing);
    {
        std::fstream f(s.root / "damaged-seal.h5", std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(70);
        f.put('\x7f');
    }
    const auto [damaged_rc, damaged_out] = run("verify " + s.nginx->url("damaged-seal.h5"));
    CHECK(damaged_rc == 1);
    CHECK(test::contains(damaged_out, "seal does not match"));
}
#endif

TEST_CASE("remote: h5ser::read_tensor of a URL reads one tensor (one request besides the manifest), and a slice of it") {
    if (skipped_without_nginx()) return;
    served& s = served::get();
    const std::size_t before = s.nginx->requests();
    const auto kernel = h5ser::read_tensor<float, 2>(s.nginx->url("net.h5"), "/encoder/kernel");
    CHECK(test::same_bytes(kernel, s.saved.encoder.kernel));
    CHECK(s.nginx->requests() - before == 2);
    const auto rows = h5ser::read_tensor<float, 2>(s.nginx->url("net.h5"), "/encoder/kernel", h5ser::rows(10, 2));
    REQUIRE(rows.shape() == std::array<std::size_t, 2>{2, 256});
    CHECK(std::memcmp(rows.data(), s.saved.encoder.kernel.data() + 10 * 256, 2 * 256 * sizeof(float)) == 0);
    CHECK(refused_read(s.nginx->url("net.h5"), "/encoder/missing") == h5ser::errc::missing_field);
}
