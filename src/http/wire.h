#pragma once
// HTTP/1.1 on the wire (RFC 9112), independent of sockets: an incremental request parser fed
// whatever bytes have arrived, and the writer of a response's bytes. The front stage
// (server.cpp) owns the sockets; only complete requests leave it for the worker threads, so a
// client that sends slowly or not at all holds a buffer, never a thread.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vigil::http {

struct WireRequest {
  std::string method;
  std::string target;  // as sent: path and query
  int minor_version = 1;
  std::vector<std::pair<std::string, std::string>> headers;  // in arrival order, values trimmed
  std::string body;                                          // de-chunked
  bool keep_alive = true;
  bool expect_continue = false;

  // The first value of a header (names compare case-insensitively), or nullptr.
  const std::string* header(std::string_view name) const;
  size_t headerCount(std::string_view name) const;
};

// Why a request cannot be read. The connection is closed after the answer.
struct WireError {
  int status = 400;      // 400, 408, 413, 431, 501, 505
  std::string field;     // "Content-Length", "(request line)", ...
  std::string message;
};

struct WireLimits {
  size_t max_head_bytes = 32 * 1024;  // request line and headers together
  size_t max_headers = 100;
  size_t max_body_bytes = 16 * 1024 * 1024;
};

// Feed bytes as they arrive; the parser consumes from the front of the buffer it is given and
// leaves the bytes of a following (pipelined) request in place.
class RequestParser {
 public:
  enum class Step {
    kNeedMore,  // nothing complete yet
    kHead,      // the head has been read: request() has method, target and headers (once)
    kComplete,  // the whole request has been read: take it with take()
    kError,     // error() says why; feed no more
  };

  explicit RequestParser(WireLimits limits) : limits_(limits) {}

  // Consumes what it can from the front of in. Call again after kHead to go on with the body.
  Step advance(std::string& in);

  const WireRequest& request() const { return request_; }
  // The declared body length, once the head is read (nullopt for a chunked body or none).
  std::optional<size_t> declaredLength() const { return declared_; }
  // Bytes of body read so far (de-chunked).
  size_t bodyBytes() const { return request_.body.size(); }
  const WireError& error() const { return error_; }
  // True once any byte of the current request has been consumed.
  bool started() const { return phase_ != Phase::kHead || started_; }

  // Hands over the complete request and resets for the next one.
  WireRequest take();

 private:
  enum class Phase { kHead, kBody, kChunkSize, kChunkData, kChunkDataEnd, kTrailers, kDone, kError };
  Step fail(int status, std::string field, std::string message);
  Step parseHead(std::string_view head);

  WireLimits limits_;
  Phase phase_ = Phase::kHead;
  bool started_ = false;
  WireRequest request_;
  std::optional<size_t> declared_;
  size_t remaining_ = 0;  // of the declared body or of the current chunk
  size_t trailer_bytes_ = 0;
  WireError error_;
};

struct WireResponse {
  int status = 200;
  std::string content_type;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool close = false;  // Connection: close, and the connection ends after it
};

// The bytes of a response: status line with its reason phrase, Date, Server, Content-Type,
// Content-Length, Connection, then the extra headers and the body.
std::string serializeResponse(const WireResponse& response, int minor_version = 1);

// The standard reason phrase of a status ("Not Found"), or "Unknown".
const char* reasonPhrase(int status);

}  // namespace vigil::http
