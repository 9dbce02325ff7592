#pragma once
// One email as Vigil sends it, and its RFC 5322 / MIME form. The same bytes go to the SMTP server
// and into an .eml file, so what a developer sees under var/mail/ is what a recipient gets.

#include <cstdint>
#include <string>

namespace vigil::mail {

struct MailMessage {
  std::string from;        // bare address
  std::string to;          // bare address: one recipient per message (one outbox row each)
  std::string subject;     // UTF-8, one line
  std::string text;        // UTF-8 plain-text body
  std::string html;        // optional UTF-8 HTML alternative; empty for none
  std::string message_id;  // "<...@...>", stable across attempts
  int64_t date_ms = 0;     // Date header (UTC)
  std::string alert_ref;   // X-Vigil-Alert header: "alert/ID" so receivers can group
};

// Base64 on one line (RFC 2047 words, AUTH LOGIN).
std::string base64(const std::string& bytes);

// The message in MIME form with CRLF line ends: text/plain, or multipart/alternative with the HTML
// part when there is one; bodies quoted-printable, a non-ASCII subject RFC 2047-encoded. Header
// values have CR and LF removed, so a field can never inject a header.
std::string toMime(const MailMessage& message);

}  // namespace vigil::mail
