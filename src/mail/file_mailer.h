#pragma once
// Writes each message as an .eml file instead of sending it: what `make run` does when no SMTP
// server is configured, so a new user sees the alerts at once. The file is named after the
// Message-ID, so a message written again after a crash replaces itself.

#include "mail/mailer.h"

namespace vigil::mail {

class FileMailer final : public Mailer {
 public:
  // Creates dir if needed on the first send.
  explicit FileMailer(std::string dir) : dir_(std::move(dir)) {}
  core::Status send(const MailMessage& message) override;
  std::string describe() const override { return ".eml files in " + dir_; }

 private:
  std::string dir_;
};

}  // namespace vigil::mail
