#pragma once
// A real SMTP server for integration tests: tests/support/smtp_sink.py (python3-aiosmtpd) on a
// free loopback port, storing each accepted message; messages() reads them back.

#include <map>
#include <string>
#include <vector>

#include "support/temp_dir.h"

namespace vigil::test {

struct SinkMessage {
  std::string mail_from;
  std::vector<std::string> rcpt_tos;
  std::string data;                            // the whole message as received
  std::map<std::string, std::string> headers;  // top-level headers, names lower-cased
  std::string body;                            // everything after the headers, quoted-printable decoded
  int64_t received_ms = 0;
  bool tls = false;                            // the message came over TLS
  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? "" : it->second;
  }
};

struct SinkOptions {
  int port = 0;                     // 0: any free port; a port to restart on the same one
  std::vector<std::string> refuse;  // recipients containing one of these get 550
  int delay_ms = 0;                 // before accepting each message
  std::string auth;                 // "user:password" to require AUTH
  std::string tls;                  // "", "starttls" (offered and required) or "smtps"; a
                                    // self-signed certificate for 127.0.0.1 is made with openssl
};

class SmtpSink {
 public:
  SmtpSink() = default;
  ~SmtpSink();
  // Starts the server and waits until it listens. Throws on failure.
  void start(const SinkOptions& options = {});
  void stop();  // SIGTERM and wait; messages stay readable
  bool running() const { return pid_ > 0; }
  int port() const { return port_; }
  // Every message accepted so far (across restarts), in order of arrival.
  std::vector<SinkMessage> messages() const;
  // Waits until at least n messages arrived; false on timeout.
  bool waitFor(size_t n, int timeout_ms = 10000) const;

 private:
  TempDir dir_;
  long pid_ = -1;
  int port_ = 0;
};

}  // namespace vigil::test
