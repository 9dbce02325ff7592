#pragma once
// Where rendered alert emails go. The dispatcher owns one Mailer and calls it from its own thread
// only, so implementations need not be thread-safe.

#include <string>

#include "core/status.h"
#include "mail/message.h"

namespace vigil::mail {

class Mailer {
 public:
  virtual ~Mailer() = default;
  // Delivers one message. Any failure (connection refused, recipient refused, timeout) comes
  // back as a non-ok Status with the server's answer; the caller retries. Never throws.
  virtual core::Status send(const MailMessage& message) = 0;
  // Called when the queue is empty: a mailer holding a connection may close it.
  virtual void idle() {}
  // For the start-up log: where mail goes.
  virtual std::string describe() const = 0;
};

}  // namespace vigil::mail
