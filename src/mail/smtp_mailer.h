#pragma once
// Sends through an SMTP server with Poco's client: plain, STARTTLS or SMTPS (implicit TLS), with
// AUTH LOGIN or AUTH PLAIN. One session is kept open while messages keep coming and closed by
// idle(); TCP_NODELAY is set on the socket, without which Poco's session spends ~44 ms per mail
// on loopback (Nagle against delayed ACKs, ../shared/PLATFORM.md). Not thread-safe: one
// dispatcher thread owns it.

#include <memory>
#include <string>

#include "mail/mailer.h"

namespace Poco::Net {
class SMTPClientSession;
}

namespace vigil::mail {

enum class SmtpTls { kNone, kStartTls, kSmtps };
enum class SmtpAuth { kNone, kLogin, kPlain };

struct SmtpOptions {
  std::string host;
  int port = 25;
  SmtpTls tls = SmtpTls::kNone;
  SmtpAuth auth = SmtpAuth::kNone;
  std::string user;
  std::string password;       // from the environment only (VIGIL_SMTP_PASSWORD)
  std::string helo = "vigild";
  int timeout_ms = 10000;     // connect and each reply
  bool verify_certificate = true;
};

class SmtpMailer final : public Mailer {
 public:
  explicit SmtpMailer(SmtpOptions options);
  ~SmtpMailer() override;
  core::Status send(const MailMessage& message) override;
  void idle() override;
  std::string describe() const override;

 private:
  void connect();
  void disconnect() noexcept;

  SmtpOptions options_;
  std::unique_ptr<Poco::Net::SMTPClientSession> session_;
};

}  // namespace vigil::mail
