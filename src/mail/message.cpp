#include "mail/message.h"

#include <Poco/Base64Encoder.h>
#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeFormatter.h>
#include <Poco/Net/QuotedPrintableEncoder.h>
#include <Poco/Timestamp.h>

#include <sstream>

namespace vigil::mail {
namespace {

std::string oneLine(const std::string& v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) out += (c == '\r' || c == '\n') ? ' ' : c;
  return out;
}

bool ascii(const std::string& v) {
  for (unsigned char c : v)
    if (c >= 0x80) return false;
  return true;
}

std::string encodedWord(const std::string& v) { return ascii(v) ? v : "=?UTF-8?B?" + base64(v) + "?="; }

// Quoted-printable with CRLF line ends (the encoder writes soft breaks as "=\r\n" and copies
// the text's own line ends, which we normalise first).
std::string quotedPrintable(const std::string& text) {
  std::string crlf;
  crlf.reserve(text.size() + text.size() / 40);
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r') continue;
    if (text[i] == '\n') crlf += "\r\n";
    else crlf += text[i];
  }
  std::ostringstream out;
  Poco::Net::QuotedPrintableEncoder enc(out);
  enc << crlf;
  enc.close();
  std::string encoded = out.str();
  if (encoded.size() < 2 || encoded.compare(encoded.size() - 2, 2, "\r\n") != 0) encoded += "\r\n";
  return encoded;
}

void part(std::ostringstream& out, const std::string& type, const std::string& body) {
  out << "Content-Type: " << type << "; charset=UTF-8\r\n"
      << "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
      << quotedPrintable(body);
}

}  // namespace

std::string base64(const std::string& bytes) {
  std::ostringstream out;
  Poco::Base64Encoder enc(out);
  enc.rdbuf()->setLineLength(0);
  enc << bytes;
  enc.close();
  return out.str();
}

std::string toMime(const MailMessage& m) {
  std::ostringstream out;
  const Poco::Timestamp date(static_cast<Poco::Timestamp::TimeVal>(m.date_ms) * 1000);
  out << "Date: " << Poco::DateTimeFormatter::format(date, Poco::DateTimeFormat::RFC1123_FORMAT) << "\r\n"
      << "From: " << oneLine(m.from) << "\r\n"
      << "To: " << oneLine(m.to) << "\r\n"
      << "Subject: " << encodedWord(oneLine(m.subject)) << "\r\n"
      << "Message-ID: " << oneLine(m.message_id) << "\r\n";
  if (!m.alert_ref.empty()) out << "X-Vigil-Alert: " << oneLine(m.alert_ref) << "\r\n";
  out << "Auto-Submitted: auto-generated\r\nMIME-Version: 1.0\r\n";
  if (m.html.empty()) {
    part(out, "text/plain", m.text);
    return out.str();
  }
  // The boundary is derived from the Message-ID, so the same alert gives the same bytes; no
  // quoted-printable line can contain "--=_vigil_" followed by it, as '=' is always escaped.
  std::string boundary = "=_vigil_";
  for (char c : m.message_id)
    if (std::isalnum(static_cast<unsigned char>(c))) boundary += c;
  out << "Content-Type: multipart/alternative; boundary=\"" << boundary << "\"\r\n\r\n";
  out << "--" << boundary << "\r\n";
  part(out, "text/plain", m.text);
  out << "--" << boundary << "\r\n";
  part(out, "text/html", m.html);
  out << "--" << boundary << "--\r\n";
  return out.str();
}

}  // namespace vigil::mail
