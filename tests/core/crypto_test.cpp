#include <catch2/catch.hpp>
#include <set>

#include "core/crypto.h"

using namespace vigil::core;

TEST_CASE("sha256Hex matches the FIPS 180-2 test vector", "[core]") {
  CHECK(sha256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("API tokens are prefixed, 256-bit and distinct", "[core]") {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    const auto t = newApiToken();
    CHECK(t.rfind("vgl_", 0) == 0);
    CHECK(t.size() == 4 + 43);
    CHECK(t.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", 4) == std::string::npos);
    seen.insert(t);
  }
  CHECK(seen.size() == 100);
}
