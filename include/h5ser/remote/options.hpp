// h5ser/remote/options.hpp: how loads of URLs talk to the server (h5ser/remote.hpp).
#pragma once

#include <mutex>
#include <string>

namespace h5ser {

/// How h5ser loads URLs: set once for the process with h5ser::set_remote_options, read at the
/// start of each load. docs/remote.md says more.
struct remote_options {
    /// Requests a load keeps in flight at once, each on a thread of its own (1 to 64).
    int connections = 4;
    /// Fails a connection that takes longer to set up (TCP and TLS), in milliseconds.
    long connect_timeout_ms = 10'000;
    /// Fails a request that receives no byte for this long, in milliseconds, checked about once a
    /// second (not retried: the load has waited long enough).
    long stall_timeout_ms = 30'000;
    /// How often a request is tried again after a server error (5xx) or a connection that broke,
    /// waiting 0.25 s, then twice as long each time; it resumes where the bytes stopped.
    int retries = 3;
    /// A file of certificates (PEM) to check the server's against, instead of the system's.
    /// Certificates are always checked.
    std::string ca_file;
    /// Sent as `Authorization: Bearer <token>` (not to another host a redirect leads to); empty:
    /// the environment variable H5SER_BEARER_TOKEN, if set.
    std::string bearer_token;
    /// HTTP basic authentication; empty: the user's ~/.netrc, if it names the host.
    std::string user;
    std::string password;
    /// Signs every request with AWS Signature Version 4 (S3 and the object stores that speak its
    /// API), as libcurl's CURLOPT_AWS_SIGV4 says: "aws:amz:<region>:s3". The keys come from the
    /// environment variables AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN,
    /// if set, for temporary credentials). Empty: requests are not signed.
    std::string aws_sigv4;
};

namespace detail {
struct remote_settings {
    std::mutex mutex;
    remote_options options;
};
inline remote_settings& remote_settings_of_process() {
    static remote_settings settings;
    return settings;
}
}  // namespace detail

/// Sets how this process's loads of URLs talk to servers, from the next load on.
inline void set_remote_options(remote_options options) {
    auto& settings = detail::remote_settings_of_process();
    const std::lock_guard lock(settings.mutex);
    settings.options = std::move(options);
}

/// The options loads of URLs use now.
inline remote_options current_remote_options() {
    auto& settings = detail::remote_settings_of_process();
    const std::lock_guard lock(settings.mutex);
    return settings.options;
}

}  // namespace h5ser
