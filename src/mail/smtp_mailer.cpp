#include "mail/smtp_mailer.h"

#include <Poco/Net/Context.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SecureSMTPClientSession.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/SMTPClientSession.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>

#include <sstream>

namespace vigil::mail {
namespace {

Poco::Net::Context::Ptr tlsContext(bool verify) {
  return new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, "", "", "",
                                verify ? Poco::Net::Context::VERIFY_RELAXED : Poco::Net::Context::VERIFY_NONE, 9,
                                true);
}

// SMTP reply codes 2xx and 3xx are positive.
void expect(int status, int wanted_class, const std::string& what, const std::string& response) {
  if (status / 100 != wanted_class) throw Poco::Net::SMTPException(what + " refused: " + response);
}

}  // namespace

SmtpMailer::SmtpMailer(SmtpOptions options) : options_(std::move(options)) {}

SmtpMailer::~SmtpMailer() { disconnect(); }

std::string SmtpMailer::describe() const {
  const char* tls = options_.tls == SmtpTls::kStartTls ? "STARTTLS" : options_.tls == SmtpTls::kSmtps ? "SMTPS" : "plain";
  const char* auth = options_.auth == SmtpAuth::kLogin ? "AUTH LOGIN" : options_.auth == SmtpAuth::kPlain ? "AUTH PLAIN" : "no auth";
  return "SMTP " + options_.host + ":" + std::to_string(options_.port) + " (" + tls + ", " + auth + ")";
}

void SmtpMailer::connect() {
  using namespace Poco::Net;
  const SocketAddress address(options_.host, static_cast<Poco::UInt16>(options_.port));
  const Poco::Timespan timeout(static_cast<Poco::Timespan::TimeDiff>(options_.timeout_ms) * 1000);
  if (options_.tls == SmtpTls::kSmtps) {
    SecureStreamSocket socket(tlsContext(options_.verify_certificate));
    socket.setPeerHostName(options_.host);
    socket.connect(address, timeout);
    socket.setNoDelay(true);
    session_ = std::make_unique<SMTPClientSession>(socket);
  } else if (options_.tls == SmtpTls::kStartTls) {
    StreamSocket socket;
    socket.connect(address, timeout);
    socket.setNoDelay(true);
    session_ = std::make_unique<SecureSMTPClientSession>(socket);
  } else {
    StreamSocket socket;
    socket.connect(address, timeout);
    socket.setNoDelay(true);
    session_ = std::make_unique<SMTPClientSession>(socket);
  }
  session_->setTimeout(timeout);
  session_->login(options_.helo);
  if (options_.tls == SmtpTls::kStartTls) {
    auto* secure = static_cast<SecureSMTPClientSession*>(session_.get());
    if (!secure->startTLS(tlsContext(options_.verify_certificate)))
      throw SMTPException("the server does not offer STARTTLS");
    // RFC 3207 4.2: the server forgets the session after STARTTLS; greet it again before AUTH or
    // MAIL (aiosmtpd answers "503 send EHLO first" otherwise).
    session_->login(options_.helo);
  }
  if (options_.auth == SmtpAuth::kPlain) {
    session_->login(options_.helo, SMTPClientSession::AUTH_PLAIN, options_.user, options_.password);
  } else if (options_.auth == SmtpAuth::kLogin) {
    // AUTH LOGIN by hand: Poco 1.11 matches the server's prompt text ("Username:") and gives up
    // on prompts it does not know (aiosmtpd sends "User Name\0"); the order is always user, then
    // password, whatever the prompt says.
    std::string response;
    expect(session_->sendCommand("AUTH LOGIN", response), 3, "AUTH LOGIN", response);
    expect(session_->sendCommand(base64(options_.user), response), 3, "AUTH LOGIN user", response);
    expect(session_->sendCommand(base64(options_.password), response), 2, "AUTH LOGIN password", response);
  }
}

void SmtpMailer::disconnect() noexcept {
  if (!session_) return;
  try {
    session_->close();
  } catch (const std::exception&) {
    // The connection is being dropped anyway; QUIT failing changes nothing.
  }
  session_.reset();
}

void SmtpMailer::idle() { disconnect(); }

core::Status SmtpMailer::send(const MailMessage& message) {
  try {
    if (!session_) connect();
    std::string response;
    expect(session_->sendCommand("MAIL FROM:", "<" + message.from + ">", response), 2, "sender", response);
    int status = session_->sendCommand("RCPT TO:", "<" + message.to + ">", response);
    if (status / 100 != 2) {
      std::string ignored;
      session_->sendCommand("RSET", ignored);  // keeps the session usable for the next message
      return core::Status::unavailable("recipient " + message.to + " refused: " + response);
    }
    expect(session_->sendCommand("DATA", response), 3, "DATA", response);
    std::istringstream body(toMime(message));
    session_->sendMessage(body);  // dot-stuffs and ends with CRLF.CRLF; throws on a negative reply
    return core::Status::ok();
  } catch (const Poco::Exception& e) {
    disconnect();
    return core::Status::unavailable(e.displayText());
  } catch (const std::exception& e) {
    disconnect();
    return core::Status::unavailable(e.what());
  }
}

}  // namespace vigil::mail
