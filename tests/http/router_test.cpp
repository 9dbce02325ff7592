#include <catch2/catch.hpp>

#include "http/router.h"

using vigil::http::Router;

TEST_CASE("routes match by method and template, capturing parameters", "[http]") {
  Router<int> r;
  r.add("GET", "/api/v1/adverse-events/{id}", 1);
  r.add("PUT", "/api/v1/adverse-events/{id}", 2);
  r.add("GET", "/api/v1/adverse-events", 3);

  auto m = r.match("PUT", "/api/v1/adverse-events/42");
  REQUIRE(m.handler);
  CHECK(*m.handler == 2);
  CHECK(m.params.at("id") == "42");
  CHECK(m.route == "/api/v1/adverse-events/{id}");

  auto list = r.match("GET", "/api/v1/adverse-events/");
  REQUIRE(list.handler);
  CHECK(*list.handler == 3);
}

TEST_CASE("a known path with another method is told apart from an unknown path", "[http]") {
  Router<int> r;
  r.add("GET", "/healthz", 1);
  auto wrong_method = r.match("DELETE", "/healthz");
  CHECK(wrong_method.path_known);
  CHECK_FALSE(wrong_method.handler);
  auto unknown = r.match("GET", "/nope");
  CHECK_FALSE(unknown.path_known);
  CHECK_FALSE(r.match("GET", "/healthz/extra").path_known);
}

TEST_CASE("a match lists every method its path supports for the Allow header", "[http]") {
  Router<int> r;
  r.add("GET", "/api/v1/adverse-events/{id}", 1);
  r.add("PUT", "/api/v1/adverse-events/{id}", 2);
  r.add("GET", "/api/v1/adverse-events", 3);
  r.add("POST", "/api/v1/adverse-events", 4);
  r.add("GET", "/api/v1/adverse-events/open", 5);

  auto wrong = r.match("DELETE", "/api/v1/adverse-events/7");
  CHECK_FALSE(wrong.handler);
  CHECK(wrong.methods == std::vector<std::string>{"GET", "PUT"});
  CHECK(wrong.route == "/api/v1/adverse-events/{id}");

  auto list = r.match("PATCH", "/api/v1/adverse-events");
  CHECK(list.methods == std::vector<std::string>{"GET", "POST"});

  // Both templates match "open": the methods of each count, the first route serves GET.
  auto open = r.match("GET", "/api/v1/adverse-events/open");
  REQUIRE(open.handler);
  CHECK(*open.handler == 1);
  CHECK(open.methods == std::vector<std::string>{"GET", "PUT"});

  CHECK(r.match("GET", "/nope").methods.empty());
}
