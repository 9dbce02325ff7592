// The HTTP/1.1 request parser and response writer of the front stage (src/http/wire.h): framing,
// limits just below, at and above each bound, and byte-at-a-time arrival.

#include "http/wire.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using vigil::http::RequestParser;
using vigil::http::WireLimits;
using vigil::http::WireRequest;
using Step = RequestParser::Step;

namespace {

struct Outcome {
  Step step = Step::kNeedMore;
  WireRequest request;
  int status = 0;  // of the error, when step is kError
  std::string field;
  std::string left;  // bytes not consumed
};

// Feeds all of text at once and drives the parser to its end (complete, error or needs more).
Outcome parse(std::string text, WireLimits limits = {}) {
  RequestParser parser(limits);
  Outcome out;
  for (;;) {
    out.step = parser.advance(text);
    if (out.step == Step::kHead) continue;
    break;
  }
  if (out.step == Step::kComplete) out.request = parser.take();
  if (out.step == Step::kError) {
    out.status = parser.error().status;
    out.field = parser.error().field;
  }
  out.left = text;
  return out;
}

// Feeds text one byte at a time, as a slow client would send it.
Outcome parseByteByByte(const std::string& text, WireLimits limits = {}) {
  RequestParser parser(limits);
  Outcome out;
  std::string buffer;
  for (char c : text) {
    buffer += c;
    do out.step = parser.advance(buffer);
    while (out.step == Step::kHead);
    if (out.step == Step::kComplete || out.step == Step::kError) break;
  }
  if (out.step == Step::kComplete) out.request = parser.take();
  if (out.step == Step::kError) out.status = parser.error().status;
  out.left = buffer;
  return out;
}

std::string withLength(const std::string& length) {
  return "POST /api/v1/labs HTTP/1.1\r\nHost: x\r\nContent-Length: " + length + "\r\n\r\n";
}

}  // namespace

TEST_CASE("wire: a GET with headers is read whole") {
  const Outcome o = parse("GET /api/v1/participants?site=S01 HTTP/1.1\r\nHost: localhost\r\nauthorization:  Bearer abc \r\n\r\n");
  REQUIRE(o.step == Step::kComplete);
  CHECK(o.request.method == "GET");
  CHECK(o.request.target == "/api/v1/participants?site=S01");
  CHECK(o.request.minor_version == 1);
  CHECK(o.request.keep_alive);
  REQUIRE(o.request.header("Authorization") != nullptr);
  CHECK(*o.request.header("AUTHORIZATION") == "Bearer abc");
  CHECK(o.request.headerCount("host") == 1);
  CHECK(o.request.header("Cookie") == nullptr);
  CHECK(o.request.body.empty());
  CHECK(o.left.empty());
}

TEST_CASE("wire: byte-at-a-time arrival gives the same request") {
  const std::string text =
      "POST /api/v1/adverse-events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Content-Length: 17\r\n\r\n{\"study_id\":\"A1\"}";
  const Outcome whole = parse(text);
  const Outcome slow = parseByteByByte(text);
  REQUIRE(whole.step == Step::kComplete);
  REQUIRE(slow.step == Step::kComplete);
  CHECK(slow.request.method == whole.request.method);
  CHECK(slow.request.target == whole.request.target);
  CHECK(slow.request.headers == whole.request.headers);
  CHECK(slow.request.body == "{\"study_id\":\"A1\"}");
}

TEST_CASE("wire: a partial head needs more and consumes nothing") {
  RequestParser parser({});
  std::string in = "GET / HTTP/1.1\r\nHost: x\r\n";
  CHECK(parser.advance(in) == Step::kNeedMore);
  CHECK(in == "GET / HTTP/1.1\r\nHost: x\r\n");
  CHECK(parser.started());
}

TEST_CASE("wire: empty lines before a request are skipped and do not start it") {
  RequestParser parser({});
  std::string in = "\r\n\r\n";
  CHECK(parser.advance(in) == Step::kNeedMore);
  CHECK_FALSE(parser.started());
  in += "GET /healthz HTTP/1.1\r\n\r\n";
  CHECK(parser.advance(in) == Step::kHead);
  CHECK(parser.advance(in) == Step::kComplete);
  CHECK(parser.take().target == "/healthz");
}

TEST_CASE("wire: pipelined requests are read one after the other") {
  std::string in =
      "GET /a HTTP/1.1\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 3\r\n\r\nxyzGET /c HTTP/1.1\r\n\r\n";
  RequestParser parser({});
  std::vector<std::string> seen;
  for (int i = 0; i < 3; ++i) {
    Step step = parser.advance(in);
    if (step == Step::kHead) step = parser.advance(in);
    REQUIRE(step == Step::kComplete);
    const WireRequest r = parser.take();
    seen.push_back(r.target + ":" + r.body);
  }
  CHECK(seen == std::vector<std::string>{"/a:", "/b:xyz", "/c:"});
  CHECK(in.empty());
  CHECK(parser.advance(in) == Step::kNeedMore);
}

TEST_CASE("wire: the head is readable before the body arrives") {
  RequestParser parser({});
  std::string in = withLength("10");
  REQUIRE(parser.advance(in) == Step::kHead);
  CHECK(parser.request().method == "POST");
  REQUIRE(parser.declaredLength().has_value());
  CHECK(*parser.declaredLength() == 10);
  CHECK(parser.advance(in) == Step::kNeedMore);
  in = "12345";
  CHECK(parser.advance(in) == Step::kNeedMore);
  CHECK(parser.bodyBytes() == 5);
  in = "67890extra";
  CHECK(parser.advance(in) == Step::kComplete);
  CHECK(in == "extra");
  CHECK(parser.take().body == "1234567890");
}

TEST_CASE("wire: Content-Length must be one run of digits") {
  CHECK(parse(withLength("-1")).status == 400);
  CHECK(parse(withLength("-1")).field == "Content-Length");
  CHECK(parse(withLength("1e3")).status == 400);
  CHECK(parse(withLength("+5")).status == 400);
  CHECK(parse(withLength("0x10")).status == 400);
  CHECK(parse(withLength("")).status == 400);
  CHECK(parse(withLength("5, 5")).status == 400);
  const Outcome twice = parse("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx");
  CHECK(twice.status == 400);
  const Outcome zero = parse(withLength("0"));
  CHECK(zero.step == Step::kComplete);
  const Outcome padded = parse(withLength("0003") + "abc");
  REQUIRE(padded.step == Step::kComplete);
  CHECK(padded.request.body == "abc");
}

TEST_CASE("wire: Content-Length just below at and above the body limit") {
  WireLimits limits;
  limits.max_body_bytes = 1000;
  const Outcome below = parse(withLength("999") + std::string(999, 'a'), limits);
  CHECK(below.step == Step::kComplete);
  const Outcome at = parse(withLength("1000") + std::string(1000, 'a'), limits);
  REQUIRE(at.step == Step::kComplete);
  CHECK(at.request.body.size() == 1000);
  const Outcome above = parse(withLength("1001"), limits);
  CHECK(above.status == 413);
  CHECK(above.field == "Content-Length");
}

TEST_CASE("wire: an absurd Content-Length is 413 not an overflow") {
  CHECK(parse(withLength("99999999999999999999999999")).status == 413);
  CHECK(parse(withLength("18446744073709551616")).status == 413);  // 2^64
  CHECK(parse(withLength("999999999999999999")).status == 413);    // 18 digits
  // Leading zeros do not count towards the digits.
  CHECK(parse(withLength("0000000000000000000000000004") + "abcd").step == Step::kComplete);
}

TEST_CASE("wire: the head just below at and above its limit") {
  WireLimits limits;
  limits.max_head_bytes = 200;
  const std::string start = "GET / HTTP/1.1\r\nX-Pad: ";  // 24 bytes, then padding, then 4 bytes
  const auto head = [&](size_t total) { return start + std::string(total - start.size() - 4, 'p') + "\r\n\r\n"; };
  REQUIRE(head(200).size() == 200);
  CHECK(parse(head(199), limits).step == Step::kComplete);
  CHECK(parse(head(200), limits).step == Step::kComplete);
  CHECK(parse(head(201), limits).status == 431);
  // A head that never ends is refused once it passes the limit, before its end arrives.
  CHECK(parse(start + std::string(200, 'p'), limits).status == 431);
  CHECK(parse(start + std::string(170, 'p'), limits).step == Step::kNeedMore);
  CHECK(parseByteByByte(start + std::string(1000, 'p'), limits).status == 431);
}

TEST_CASE("wire: the header count just below at and above its limit") {
  WireLimits limits;
  limits.max_headers = 5;
  const auto with = [](int n) {
    std::string s = "GET / HTTP/1.1\r\n";
    for (int i = 0; i < n; ++i) s += "X-H" + std::to_string(i) + ": v\r\n";
    return s + "\r\n";
  };
  CHECK(parse(with(4), limits).step == Step::kComplete);
  CHECK(parse(with(5), limits).step == Step::kComplete);
  CHECK(parse(with(6), limits).status == 431);
}

TEST_CASE("wire: a chunked body is decoded with extensions and trailers") {
  const Outcome o = parse(
      "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
      "4;ext=1\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nX-Trailer: t\r\n\r\nNEXT");
  REQUIRE(o.step == Step::kComplete);
  CHECK(o.request.body == "Wikipedia in\r\n\r\nchunks.");
  CHECK(o.left == "NEXT");
  const Outcome slow = parseByteByByte(
      "POST /x HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
  REQUIRE(slow.step == Step::kComplete);
  CHECK(slow.request.body == "abc");
}

TEST_CASE("wire: chunked bodies are held to the body limit") {
  WireLimits limits;
  limits.max_body_bytes = 10;
  const std::string head = "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  CHECK(parse(head + "5\r\naaaaa\r\n5\r\nbbbbb\r\n0\r\n\r\n", limits).step == Step::kComplete);
  CHECK(parse(head + "5\r\naaaaa\r\n6\r\n", limits).status == 413);
  CHECK(parse(head + "b\r\n", limits).status == 413);
  CHECK(parse(head + "ffffffffffffffffffffffff\r\n", limits).status == 413);
  CHECK(parse(head + "zz\r\n", limits).status == 400);
  CHECK(parse(head + "3\r\nabcX", limits).status == 400);  // no CR LF after the chunk
}

TEST_CASE("wire: ambiguous or unsupported framing is refused") {
  const Outcome both = parse("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nabc");
  CHECK(both.status == 400);
  CHECK(both.field == "Transfer-Encoding");
  CHECK(parse("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n").status == 501);
  CHECK(parse("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n").status == 501);
}

TEST_CASE("wire: malformed request lines and headers") {
  CHECK(parse("GET /\r\n\r\n").status == 400);
  CHECK(parse("GET  / HTTP/1.1\r\n\r\n").status == 400);
  CHECK(parse("GET / HTTP/1.1 extra\r\n\r\n").status == 400);
  CHECK(parse("G(T / HTTP/1.1\r\n\r\n").status == 400);
  CHECK(parse("GET / HTTP/2.0\r\n\r\n").status == 505);
  CHECK(parse("GET / HTTP/1.2\r\n\r\n").status == 505);
  CHECK(parse("GET / FTP/1.1\r\n\r\n").status == 400);
  CHECK(parse("GET / HTTP/1.1\r\nNo colon here\r\n\r\n").status == 400);
  CHECK(parse("GET / HTTP/1.1\r\nBad Name: v\r\n\r\n").status == 400);
  CHECK(parse("GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n").status == 400);
  const Outcome ctl = parse(std::string("GET / HTTP/1.1\r\nX-A: a\x01z\r\n\r\n"));
  CHECK(ctl.status == 400);
  CHECK(ctl.field == "X-A");
  CHECK(parse(std::string("GET /a\x7f HTTP/1.1\r\n\r\n")).status == 400);
}

TEST_CASE("wire: after an error the parser stays failed") {
  RequestParser parser({});
  std::string in = "BROKEN\r\n\r\nGET / HTTP/1.1\r\n\r\n";
  CHECK(parser.advance(in) == Step::kError);
  CHECK(parser.advance(in) == Step::kError);
  CHECK(parser.error().status == 400);
}

TEST_CASE("wire: keep-alive follows the version and Connection") {
  CHECK(parse("GET / HTTP/1.1\r\n\r\n").request.keep_alive);
  CHECK_FALSE(parse("GET / HTTP/1.1\r\nConnection: close\r\n\r\n").request.keep_alive);
  CHECK_FALSE(parse("GET / HTTP/1.1\r\nConnection: Upgrade, Close\r\n\r\n").request.keep_alive);
  CHECK_FALSE(parse("GET / HTTP/1.0\r\n\r\n").request.keep_alive);
  const Outcome old = parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  CHECK(old.request.keep_alive);
  CHECK(old.request.minor_version == 0);
}

TEST_CASE("wire: Expect 100-continue is noticed on HTTP/1.1 only") {
  CHECK(parse(withLength("0").insert(28, "Expect: 100-continue\r\n")).request.expect_continue);
  CHECK_FALSE(parse("POST / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n").request.expect_continue);
  CHECK_FALSE(parse(withLength("0")).request.expect_continue);
}

TEST_CASE("wire: a bare LF ends lines too") {
  const Outcome o = parse("POST /x HTTP/1.1\nContent-Length: 2\n\nok");
  REQUIRE(o.step == Step::kComplete);
  CHECK(o.request.body == "ok");
  CHECK(o.request.header("Content-Length") != nullptr);
}

TEST_CASE("wire: a response carries its reason phrase and framing") {
  vigil::http::WireResponse r;
  r.status = 404;
  r.content_type = "application/problem+json";
  r.body = "{}";
  r.headers.emplace_back("Allow", "GET");
  const std::string bytes = vigil::http::serializeResponse(r);
  CHECK(bytes.rfind("HTTP/1.1 404 Not Found\r\n", 0) == 0);
  CHECK(bytes.find("\r\nContent-Type: application/problem+json\r\n") != std::string::npos);
  CHECK(bytes.find("\r\nContent-Length: 2\r\n") != std::string::npos);
  CHECK(bytes.find("\r\nAllow: GET\r\n") != std::string::npos);
  CHECK(bytes.find("\r\nDate: ") != std::string::npos);
  CHECK(bytes.find("Connection:") == std::string::npos);
  CHECK(bytes.substr(bytes.size() - 6) == "\r\n\r\n{}");

  r.close = true;
  r.status = 503;
  const std::string closing = vigil::http::serializeResponse(r);
  CHECK(closing.rfind("HTTP/1.1 503 Service Unavailable\r\n", 0) == 0);
  CHECK(closing.find("\r\nConnection: close\r\n") != std::string::npos);

  r.close = false;
  CHECK(vigil::http::serializeResponse(r, 0).find("\r\nConnection: Keep-Alive\r\n") != std::string::npos);
  CHECK(std::string(vigil::http::reasonPhrase(408)) == "Request Timeout");
  CHECK(std::string(vigil::http::reasonPhrase(431)) == "Request Header Fields Too Large");
}

TEST_CASE("wire: reason phrases are those of RFC 9110") {
  CHECK(std::string(vigil::http::reasonPhrase(413)) == "Content Too Large");
  CHECK(std::string(vigil::http::reasonPhrase(422)) == "Unprocessable Content");
  CHECK(std::string(vigil::http::reasonPhrase(201)) == "Created");
  CHECK(std::string(vigil::http::reasonPhrase(599)) == "Unknown");
}
