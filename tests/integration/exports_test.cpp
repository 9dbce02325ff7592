// The DSMB package over HTTP and from vigilctl, on the real vigild (issue 6): who may export,
// what a bad cut gets, and what comes back.
#include <catch2/catch.hpp>

#include <Poco/Zip/ZipArchive.h>
#include <Poco/Zip/ZipStream.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "core/crypto.h"
#include "core/time.h"
#include "support/daemon.h"

using namespace vigil;
using namespace vigil::test;
using nlohmann::json;

namespace {

std::string nowText() {
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  return core::formatTimestamp(ms);
}

// Every file of a zip, by name.
std::map<std::string, std::string> unzip(const std::string& bytes) {
  std::map<std::string, std::string> out;
  std::istringstream index(bytes);
  Poco::Zip::ZipArchive archive(index);
  for (auto it = archive.headerBegin(); it != archive.headerEnd(); ++it) {
    if (!it->second.isFile()) continue;
    std::istringstream in(bytes);
    Poco::Zip::ZipInputStream zin(in, it->second);
    std::stringstream content;
    content << zin.rdbuf();
    out[it->first] = content.str();
  }
  return out;
}

bool names(const HttpResult& r, const std::string& field) {
  const json body = r.json();  // kept: a range-for over a temporary's member would dangle
  for (const auto& e : body["errors"])
    if (e["field"] == field) return true;
  return false;
}

}  // namespace

TEST_CASE("GET /api/v1/exports/dsmb: roles, bad cuts and the package as a zip", "[integration]") {
  Daemon d;
  const std::string inv = d.addUser("inv1", "investigator", {"S01"});
  const std::string dsmb = d.addUser("dsmb1", "dsmb");
  const std::string safety = d.addUser("so1", "safety_officer");
  const std::string admin = d.addUser("admin1", "admin");
  d.start();
  REQUIRE(d.post("/api/v1/participants", inv, participantBody("S01-001", "S01")).status == 201);
  REQUIRE(d.post("/api/v1/dosing", inv, doseBody("S01-001")).status == 201);
  REQUIRE(d.post("/api/v1/adverse-events", inv, aeBody("S01-001")).status == 201);
  const std::string cut = nowText();

  SECTION("the DSMB, a safety officer and an admin get the zip; an investigator does not") {
    for (const auto& token : {dsmb, safety, admin}) {
      auto r = d.get("/api/v1/exports/dsmb?as_of=" + cut, token);
      REQUIRE(r.status == 200);
      CHECK(r.content_type == "application/zip");
      REQUIRE(r.body.rfind("PK\x03\x04", 0) == 0);
      const auto files = unzip(r.body);
      const std::string root = "dsmb-" + [&] {
        std::string c;
        for (char ch : cut.substr(0, 19))
          if (ch != '-' && ch != ':') c += ch;
        return c;
      }() + "Z/";
      REQUIRE(files.count(root + "manifest.json"));
      CHECK(core::sha256Hex(files.at(root + "manifest.json")) == r.headers["X-Vigil-Manifest-SHA256"]);
      const json manifest = json::parse(files.at(root + "manifest.json"));
      CHECK(manifest["data_cut"] == core::formatTimestamp(*core::parseTimestamp(cut)));
      for (const auto& f : manifest["files"]) {
        const std::string path = root + f["path"].get<std::string>();
        REQUIRE(files.count(path));
        CHECK(core::sha256Hex(files.at(path)) == f["sha256"]);
      }
      CHECK(files.at(root + "sdtm/ae.csv").find("Epistaxis") != std::string::npos);
      CHECK(files.at(root + "report.html").find("S01-001") != std::string::npos);
    }
    auto denied = d.get("/api/v1/exports/dsmb?as_of=" + cut, inv);
    CHECK(denied.status == 403);
    CHECK(denied.content_type == "application/problem+json");
    // Each export is in the audit trail, and the trail still verifies.
    auto verify = d.ctl({"audit", "verify"});
    CHECK(verify.exit_code == 0);
  }

  SECTION("a missing, malformed or future cut and unknown parameters get 400 naming the field") {
    auto missing = d.get("/api/v1/exports/dsmb", dsmb);
    CHECK(missing.status == 400);
    CHECK(names(missing, "as_of"));
    auto malformed = d.get("/api/v1/exports/dsmb?as_of=2026-10-31", dsmb);
    CHECK(malformed.status == 400);
    CHECK(names(malformed, "as_of"));
    auto future = d.get("/api/v1/exports/dsmb?as_of=2999-01-01T00:00:00Z", dsmb);
    CHECK(future.status == 400);
    CHECK(names(future, "as_of"));
    auto zero = d.get("/api/v1/exports/dsmb?as_of=" + cut + "&zero_rows=maybe", dsmb);
    CHECK(zero.status == 400);
    CHECK(names(zero, "zero_rows"));
    auto unknown = d.get("/api/v1/exports/dsmb?as_of=" + cut + "&format=pdf", dsmb);
    CHECK(unknown.status == 400);
    CHECK(names(unknown, "format"));
    CHECK(unknown.content_type == "application/problem+json");
  }

  SECTION("zero_rows=true keeps every CTCAE term in the incidence tables") {
    auto r = d.get("/api/v1/exports/dsmb?as_of=" + cut + "&zero_rows=true", dsmb);
    REQUIRE(r.status == 200);
    for (const auto& [name, content] : unzip(r.body))
      if (name.find("tables/incidence_all.csv") != std::string::npos)
        CHECK(std::count(content.begin(), content.end(), '\n') > 837);
  }
}

TEST_CASE("vigilctl export dsmb writes the package and its zip, no progress bar into a pipe", "[integration]") {
  Daemon d;
  const std::string inv = d.addUser("inv1", "investigator", {"S01"});
  d.start();
  REQUIRE(d.post("/api/v1/participants", inv, participantBody("S01-001", "S01")).status == 201);
  REQUIRE(d.post("/api/v1/adverse-events", inv, aeBody("S01-001")).status == 201);
  const std::string out = d.dir() + "/pkg";
  auto r = d.ctl({"export", "dsmb", "--as-of=" + nowText(), "--out=" + out});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find('\r') == std::string::npos);
  CHECK(r.out.find("manifest sha256") != std::string::npos);
  CHECK(std::filesystem::exists(out + "/manifest.json"));
  CHECK(std::filesystem::exists(out + "/sdtm/ae.json"));
  CHECK(std::filesystem::exists(out + ".zip"));

  auto again = d.ctl({"export", "dsmb", "--as-of=" + nowText(), "--out=" + out});
  CHECK(again.exit_code == 65);  // the directory already holds a package
  auto future = d.ctl({"export", "dsmb", "--as-of=2999-01-01T00:00:00Z", "--out=" + d.dir() + "/f"});
  CHECK(future.exit_code == 65);
  CHECK(future.err.find("--as-of") != std::string::npos);
  auto usage = d.ctl({"export", "dsmb", "--out=" + d.dir() + "/g"});
  CHECK(usage.exit_code == 64);

  // On a terminal (script(1) from bsdutils, an essential Debian package, gives it one) the same
  // command draws a progress bar that ends at 100 %.
  std::string command = VIGILCTL_PATH;
  for (const auto& a : d.commonArgs()) command += " '" + a + "'";
  command += " export dsmb --as-of=" + nowText() + " --out=" + d.dir() + "/tty";
  auto tty = runCommand("/usr/bin/script", {"-qefc", command, "/dev/null"});
  INFO(tty.out << tty.err);
  CHECK(tty.exit_code == 0);
  CHECK(tty.out.find('\r') != std::string::npos);
  CHECK(tty.out.find("100% done") != std::string::npos);
  CHECK(std::filesystem::exists(d.dir() + "/tty.zip"));
}
