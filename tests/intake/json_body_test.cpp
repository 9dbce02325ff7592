// The strict body reader: numbers out of range, duplicate keys and NUL characters are refused
// with the field named; everything else reads as nlohmann reads it.
#include <catch2/catch.hpp>

#include "intake/json_body.h"

using namespace vigil;
using nlohmann::json;

namespace {
// The one field error of a refused text.
core::FieldError only(const std::string& text, bool expect_syntax = false) {
  bool syntax = !expect_syntax;
  auto r = intake::parseStrictJson(text, &syntax);
  REQUIRE_FALSE(r.isOk());
  CHECK(r.status().code() == core::StatusCode::kInvalid);
  CHECK(syntax == expect_syntax);
  REQUIRE(r.status().fields().size() == 1);
  return r.status().fields()[0];
}
}  // namespace

TEST_CASE("well-formed bodies read exactly as nlohmann reads them", "[intake][json]") {
  for (const std::string text :
       {R"({"a":1,"b":[1,2.5,-3,"x",null,true,{"c":{}}],"d":"\u00e9","e":18446744073709551615})", "[]", "3", "\"s\"",
        R"({"grade":1.7976931348623157e308,"low":-1.7976931348623157e308,"tiny":1e-400})"}) {
    auto r = intake::parseStrictJson(text);
    REQUIRE(r.isOk());
    CHECK(r.value() == json::parse(text));
  }
}

TEST_CASE("a number too large for a double is refused naming its field", "[intake][json]") {
  CHECK(only(R"({"value":1e999})").field == "value");
  CHECK(only(R"({"value":-1e999})").field == "value");
  CHECK(only(R"({"grade":1e400})").detail == "is a number out of range");
  CHECK(only(R"({"labs":[{"value":1},{"value":1e309}]})").field == "labs[1].value");
  CHECK(only(R"({"a":{"b":[[1, 2e999]]}})").field == "a.b[0][1]");
  CHECK(only("1e999").field == "(body)");
  // Just inside the range of a double still reads.
  CHECK(intake::parseStrictJson(R"({"value":1.7e308})").isOk());
  CHECK(intake::parseStrictJson(R"({"value":-1.7e308})").isOk());
}

TEST_CASE("a key given twice in one object is refused naming it", "[intake][json]") {
  const auto e = only(R"({"grade":2,"grade":3})");
  CHECK(e.field == "grade");
  CHECK(e.detail == "appears more than once in the same object");
  CHECK(only(R"({"labs":[{"value":1},{"unit":"g/L","unit":"g/dL"}]})").field == "labs[1].unit");
  // The same key in two different objects is fine.
  CHECK(intake::parseStrictJson(R"({"a":{"x":1},"b":{"x":1},"c":[{"x":1},{"x":2}]})").isOk());
}

TEST_CASE("a NUL character in a string or a key is refused naming the field", "[intake][json]") {
  auto r = intake::parseStrictJson(R"({"verbatim":"nose\u0000bleed","narrative":"a\u0000b","ok":"fine"})");
  REQUIRE_FALSE(r.isOk());
  REQUIRE(r.status().fields().size() == 2);  // every NUL is reported, not just the first
  CHECK(r.status().fields()[0].field == "verbatim");
  CHECK(r.status().fields()[0].detail == "must not contain NUL characters");
  CHECK(r.status().fields()[1].field == "narrative");
  CHECK(only(R"({"tags":["a","b\u0000"]})").field == "tags[1]");
  CHECK(only(R"({"k\u0000":1})").detail == "the key must not contain NUL characters");
  // A raw NUL byte is not JSON at all.
  CHECK(only(std::string("{\"a\":\"x\0y\"}", 11), true).field == "(body)");
}

TEST_CASE("text that is not JSON is a syntax error naming the byte", "[intake][json]") {
  for (const std::string text : {"", "{", "{\"a\":}", "[1,]", "{\"a\":1} trailing", "nul", "{'a':1}"}) {
    const auto e = only(text, true);
    CHECK(e.field == "(body)");
    CHECK(e.detail.rfind("invalid JSON at byte ", 0) == 0);
  }
}
