#include "http/wire.h"

#include <algorithm>
#include <cctype>
#include <ctime>

namespace vigil::http {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// RFC 9110 section 5.6.2: tchar.
bool isTokenChar(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (std::isalnum(u)) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool isToken(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), isTokenChar); }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Splits off the first line (without its CR LF or bare LF); false when no line end is in s.
bool takeLine(std::string_view& s, std::string_view& line) {
  const size_t lf = s.find('\n');
  if (lf == std::string_view::npos) return false;
  line = s.substr(0, lf);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  s.remove_prefix(lf + 1);
  return true;
}

// Each comma-separated element of a list header, trimmed.
template <typename Fn>
void forEachElement(std::string_view value, Fn fn) {
  while (!value.empty()) {
    const size_t comma = value.find(',');
    fn(trim(value.substr(0, comma)));
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
}

constexpr const char* kLengthRule = "must be a single non-negative integer";

}  // namespace

const std::string* WireRequest::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (iequals(k, name)) return &v;
  return nullptr;
}

size_t WireRequest::headerCount(std::string_view name) const {
  return static_cast<size_t>(
      std::count_if(headers.begin(), headers.end(), [&](const auto& h) { return iequals(h.first, name); }));
}

RequestParser::Step RequestParser::fail(int status, std::string field, std::string message) {
  phase_ = Phase::kError;
  error_ = {status, std::move(field), std::move(message)};
  return Step::kError;
}

RequestParser::Step RequestParser::parseHead(std::string_view head) {
  std::string_view line;
  takeLine(head, line);
  // request-line = method SP request-target SP HTTP-version
  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos)
    return fail(400, "(request line)", "must be: METHOD target HTTP/1.1");
  const std::string_view method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (!isToken(method)) return fail(400, "(request line)", "the method is not a token");
  if (target.empty() || std::any_of(target.begin(), target.end(), [](char c) {
        return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f;
      }))
    return fail(400, "(request line)", "the target is empty or holds a control character");
  if (version == "HTTP/1.1")
    request_.minor_version = 1;
  else if (version == "HTTP/1.0")
    request_.minor_version = 0;
  else if (version.rfind("HTTP/", 0) == 0)
    return fail(505, "(request line)", "only HTTP/1.0 and HTTP/1.1 are served");
  else
    return fail(400, "(request line)", "must end with HTTP/1.1");
  request_.method = std::string(method);
  request_.target = std::string(target);

  while (takeLine(head, line)) {
    if (line.empty()) break;
    if (line.front() == ' ' || line.front() == '\t')
      return fail(400, "(headers)", "folded header lines are not accepted");
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || !isToken(line.substr(0, colon)))
      return fail(400, "(headers)", "each header must be: Name: value");
    const std::string_view value = trim(line.substr(colon + 1));
    if (std::any_of(value.begin(), value.end(), [](char c) {
          const auto u = static_cast<unsigned char>(c);
          return (u < 0x20 && c != '\t') || u == 0x7f;
        }))
      return fail(400, std::string(line.substr(0, colon)), "holds a control character");
    if (request_.headers.size() >= limits_.max_headers)
      return fail(431, "(headers)", "at most " + std::to_string(limits_.max_headers) + " headers");
    request_.headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
  }

  // Framing (RFC 9112 section 6): chunked, a length, or no body. Both at once could be read two
  // ways by two parsers (request smuggling), so that is refused.
  const std::string* te = request_.header("Transfer-Encoding");
  const size_t lengths = request_.headerCount("Content-Length");
  if (te != nullptr) {
    if (lengths > 0) return fail(400, "Transfer-Encoding", "must not be sent with Content-Length");
    if (request_.headerCount("Transfer-Encoding") > 1 || !iequals(*te, "chunked"))
      return fail(501, "Transfer-Encoding", "only chunked is supported");
    phase_ = Phase::kChunkSize;
  } else if (lengths > 0) {
    const std::string& text = *request_.header("Content-Length");
    if (lengths > 1 || text.empty() ||
        !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return fail(400, "Content-Length", kLengthRule);
    const size_t digits = text.size() - std::min(text.find_first_not_of('0'), text.size());
    uint64_t length = 0;
    if (digits <= 18) length = std::stoull(text);
    if (digits > 18 || length > limits_.max_body_bytes)
      return fail(413, "Content-Length", "must be at most " + std::to_string(limits_.max_body_bytes) + " bytes");
    declared_ = static_cast<size_t>(length);
    remaining_ = *declared_;
    phase_ = remaining_ == 0 ? Phase::kDone : Phase::kBody;
  } else {
    phase_ = Phase::kDone;
  }

  request_.keep_alive = request_.minor_version == 1;
  if (const std::string* connection = request_.header("Connection"))
    forEachElement(*connection, [&](std::string_view option) {
      if (iequals(option, "close")) request_.keep_alive = false;
      if (iequals(option, "keep-alive") && request_.minor_version == 0) request_.keep_alive = true;
    });
  if (const std::string* expect = request_.header("Expect"))
    request_.expect_continue = request_.minor_version == 1 && iequals(*expect, "100-continue");
  return Step::kHead;
}

RequestParser::Step RequestParser::advance(std::string& in) {
  for (;;) {
    switch (phase_) {
      case Phase::kError:
        return Step::kError;
      case Phase::kDone:
        return Step::kComplete;
      case Phase::kHead: {
        // Empty lines before a request line are ignored (RFC 9112 section 2.2).
        if (!started_) {
          const size_t first = in.find_first_not_of("\r\n");
          in.erase(0, first == std::string::npos ? in.size() : first);
        }
        if (in.empty()) return Step::kNeedMore;
        started_ = true;
        const size_t crlf = in.find("\r\n\r\n");
        const size_t lflf = in.find("\n\n");
        const size_t end = std::min(crlf == std::string::npos ? crlf : crlf + 4, lflf == std::string::npos ? lflf : lflf + 2);
        if (end == std::string::npos) {
          if (in.size() > limits_.max_head_bytes)
            return fail(431, "(headers)", "the request head is larger than " + std::to_string(limits_.max_head_bytes) + " bytes");
          return Step::kNeedMore;
        }
        if (end > limits_.max_head_bytes)
          return fail(431, "(headers)", "the request head is larger than " + std::to_string(limits_.max_head_bytes) + " bytes");
        const std::string head = in.substr(0, end);
        in.erase(0, end);
        const Step step = parseHead(head);
        return step;  // kHead or kError
      }
      case Phase::kBody: {
        const size_t n = std::min(remaining_, in.size());
        request_.body.append(in, 0, n);
        in.erase(0, n);
        remaining_ -= n;
        if (remaining_ > 0) return Step::kNeedMore;
        phase_ = Phase::kDone;
        break;
      }
      case Phase::kChunkSize: {
        std::string_view rest(in);
        std::string_view line;
        if (!takeLine(rest, line)) {
          if (in.size() > 1024) return fail(400, "(body)", "a chunk size line is longer than 1024 bytes");
          return Step::kNeedMore;
        }
        const std::string_view size_text = trim(line.substr(0, line.find(';')));
        if (size_text.empty() || !std::all_of(size_text.begin(), size_text.end(), [](char c) {
              return std::isxdigit(static_cast<unsigned char>(c)) != 0;
            }))
          return fail(400, "(body)", "a chunk size must be hexadecimal");
        const size_t digits = size_text.size() - std::min(size_text.find_first_not_of('0'), size_text.size());
        const uint64_t size = digits <= 15 ? std::stoull(std::string(size_text), nullptr, 16) : UINT64_MAX;
        if (size > limits_.max_body_bytes - std::min(limits_.max_body_bytes, request_.body.size()))
          return fail(413, "(body)", "must be at most " + std::to_string(limits_.max_body_bytes) + " bytes");
        in.erase(0, in.size() - rest.size());
        remaining_ = static_cast<size_t>(size);
        phase_ = size == 0 ? Phase::kTrailers : Phase::kChunkData;
        break;
      }
      case Phase::kChunkData: {
        const size_t n = std::min(remaining_, in.size());
        request_.body.append(in, 0, n);
        in.erase(0, n);
        remaining_ -= n;
        if (remaining_ > 0) return Step::kNeedMore;
        phase_ = Phase::kChunkDataEnd;
        break;
      }
      case Phase::kChunkDataEnd:
        if (in.rfind("\r\n", 0) == 0) {
          in.erase(0, 2);
        } else if (!in.empty() && in[0] == '\n') {
          in.erase(0, 1);
        } else if (in.empty() || in == "\r") {
          return Step::kNeedMore;
        } else {
          return fail(400, "(body)", "a chunk must end with CR LF");
        }
        phase_ = Phase::kChunkSize;
        break;
      case Phase::kTrailers: {
        std::string_view rest(in);
        std::string_view line;
        if (!takeLine(rest, line)) {
          if (trailer_bytes_ + in.size() > limits_.max_head_bytes)
            return fail(431, "(headers)", "the trailers are too large");
          return Step::kNeedMore;
        }
        trailer_bytes_ += in.size() - rest.size();
        in.erase(0, in.size() - rest.size());
        if (trailer_bytes_ > limits_.max_head_bytes) return fail(431, "(headers)", "the trailers are too large");
        if (line.empty()) phase_ = Phase::kDone;  // trailer fields are read and dropped
        break;
      }
    }
  }
}

WireRequest RequestParser::take() {
  WireRequest out = std::move(request_);
  request_ = WireRequest{};
  phase_ = Phase::kHead;
  started_ = false;
  declared_.reset();
  remaining_ = 0;
  trailer_bytes_ = 0;
  return out;
}

// RFC 9110 section 15 (Poco's table still has RFC 2616's "Request Time-out" and "Request Entity
// Too Large"), plus 429 and 431 from RFC 6585.
const char* reasonPhrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 203: return "Non-Authoritative Information";
    case 204: return "No Content";
    case 205: return "Reset Content";
    case 206: return "Partial Content";
    case 300: return "Multiple Choices";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 407: return "Proxy Authentication Required";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 421: return "Misdirected Request";
    case 422: return "Unprocessable Content";
    case 426: return "Upgrade Required";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

std::string serializeResponse(const WireResponse& r, int minor_version) {
  char date[64];
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  std::string out;
  out.reserve(256 + r.body.size());
  out += minor_version == 0 ? "HTTP/1.0 " : "HTTP/1.1 ";
  out += std::to_string(r.status);
  out += ' ';
  out += reasonPhrase(r.status);
  out += "\r\nDate: ";
  out += date;
  out += "\r\nServer: vigild\r\n";
  if (!r.content_type.empty()) out += "Content-Type: " + r.content_type + "\r\n";
  out += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
  out += r.close ? "Connection: close\r\n" : (minor_version == 0 ? "Connection: Keep-Alive\r\n" : "");
  for (const auto& [k, v] : r.headers) out += k + ": " + v + "\r\n";
  out += "\r\n";
  out += r.body;
  return out;
}

}  // namespace vigil::http
