// The DSMB package written from a real SQLite store filled through the intake service with a
// moved clock (issue 6): the as-of cut, determinism, the manifest, the zip, the SDTM datasets
// against the SDTMIG 3.4 variable list, study IDs only, and report.html in headless Chromium.
#include <catch2/catch.hpp>

#include <Poco/Zip/ZipArchive.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "core/crypto.h"
#include "exports/exporter.h"
#include "intake/intake_service.h"
#include "intake/safety_monitor.h"
#include "store/sqlite_store.h"
#include "support/clinical_data.h"
#include "support/fixed_clock.h"
#include "support/temp_dir.h"

using namespace vigil;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

int64_t at(const char* ts) { return *core::parseTimestamp(ts); }

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Every file under dir, relative, '/' separated.
std::map<std::string, std::string> filesUnder(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) out[fs::relative(e.path(), dir).generic_string()] = slurp(e.path());
  return out;
}

std::vector<std::vector<std::string>> parseCsv(const std::string& text) {
  std::vector<std::vector<std::string>> rows(1);
  std::string field;
  bool quoted = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') field += '"', ++i;
      else if (c == '"') quoted = false;
      else field += c;
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      rows.back().push_back(field);
      field.clear();
    } else if (c == '\r') {
    } else if (c == '\n') {
      rows.back().push_back(field);
      field.clear();
      rows.emplace_back();
    } else {
      field += c;
    }
  }
  if (rows.back().empty()) rows.pop_back();
  return rows;
}

constexpr const char* kNarrative = "Seen by Dr Wang; patient Zhang Wei, hospital number 4471";

struct Trial {
  test::TempDir dir;
  test::FixedClock clock{at("2026-10-01T08:00:00Z")};
  store::SqliteStore store{store::SqliteOptions{.path = dir.file("vigil.db")}, clock};
  intake::SafetyMonitor monitor{test::clinicalData().evaluator};
  intake::IntakeService intake{store, clock, test::clinicalData().catalogue, test::clinicalData().grader,
                               test::clinicalData().reporting, &monitor};
  core::User inv{1, "inv1", core::Role::kInvestigator, {"S01"}, false};
  exports::StoppingRules stopping = std::move(exports::StoppingRules::load(VIGIL_SOURCE_DIR "/alerts/rules/stopping.json",
                                                                           test::clinicalData().catalogue,
                                                                           test::clinicalData().categories)
                                                  .value());
  exports::Reference ref{test::clinicalData().catalogue, test::clinicalData().grader, test::clinicalData().categories,
                         test::clinicalData().reporting, stopping, test::clinicalData().dose.version(), "5.0 (test)"};
  exports::DsmbExporter exporter{store, ref,
                                 [] {
                                   exports::PackageOptions o;
                                   o.study_id = "TEST-STUDY";
                                   o.software_version = "test";
                                   return o;
                                 }(),
                                 clock};
  int64_t hypertension_id = 0;
  int64_t pregnancy_id = 0;

  intake::WriteContext ctx() { return {inv, std::nullopt, "h"}; }

  void participant(const std::string& id) {
    json p = {{"study_id", id}, {"site", "S01"}, {"enrolled_on", "2026-09-28"}, {"liver_metastases", false},
              {"prior_thoracic_radiotherapy", false},
              {"baseline_labs", {{{"test", "ALT"}, {"value", 30}, {"unit", "U/L"}, {"lln", 7}, {"uln", 40}}}}};
    REQUIRE(intake.createParticipant(ctx(), p).isOk());
  }
  void dose(const std::string& id, const std::string& drug, const std::string& date, int day, const std::string& status = "given") {
    json d = {{"study_id", id}, {"drug", drug}, {"route", drug == "anlotinib" ? "oral" : "intravenous"},
              {"date", date},   {"cycle", 1},   {"day", day},  {"status", status}};
    if (status == "given") d["dose_mg"] = drug == "anlotinib" ? 12 : 200;
    // Entered on the evening of the day given.
    clock.set(std::max(clock.nowMs(), at((date + "T20:00:00Z").c_str())));
    auto r = intake.recordDose(ctx(), d);
    INFO(r.status().message());
    REQUIRE(r.isOk());
  }
  json ae(const std::string& id, const std::string& term, int grade, const std::string& start) {
    return {{"study_id", id},
            {"verbatim", "high blood pressure"},
            {"ctcae_term", term},
            {"grade", grade},
            {"serious_criteria", json::array()},
            {"relatedness", {{"anlotinib", "probable"}, {"sintilimab", "unlikely"}}},
            {"action_taken", {{"anlotinib", "dose_not_changed"}, {"sintilimab", "dose_not_changed"}}},
            {"outcome", "not_recovered"},
            {"start", start},
            {"site_aware_at", start + "T09:00:00Z"},
            {"narrative", kNarrative}};
  }

  Trial() {
    REQUIRE(intake.addSite("test", "S01", "Site one").isOk());
    auto token = intake.addUser("test", inv);
    REQUIRE(token.isOk());
    inv = store.userByTokenHash(core::sha256Hex(token.value())).value();
    participant("P-001");
    participant("P-002");
    participant("P-003");  // enrolled, never dosed
    dose("P-001", "sintilimab", "2026-10-01", 1);
    dose("P-002", "anlotinib", "2026-10-01", 1);
    dose("P-002", "anlotinib", "2026-10-02", 2, "held");
    for (int d = 1; d <= 9; ++d) dose("P-001", "anlotinib", "2026-10-0" + std::to_string(d), d);
    clock.set(at("2026-10-10T06:00:00Z"));
    auto h = intake.createAdverseEvent(ctx(), ae("P-001", "Hypertension", 2, "2026-10-04"));
    REQUIRE(h.isOk());
    hypertension_id = json::parse(h.value().body)["id"];
    json bleed = ae("P-002", "Esophageal hemorrhage", 3, "2026-10-06");
    bleed["serious_criteria"] = {"hospitalization"};
    bleed["relatedness"]["anlotinib"] = "possible";
    bleed["action_taken"]["anlotinib"] = "drug_interrupted";
    REQUIRE(intake.createAdverseEvent(ctx(), bleed).isOk());
    clock.set(at("2026-10-10T09:00:00Z"));
    auto pregnancy = intake.recordPregnancy(
        ctx(), {{"study_id", "P-002"}, {"subject", "partner"}, {"site_aware_at", "2026-10-09T10:00:00Z"}});
    REQUIRE(pregnancy.isOk());
    pregnancy_id = json::parse(pregnancy.value().body)["id"];
    json lab = {{"study_id", "P-001"}, {"test", "ALT"}, {"value", 150}, {"unit", "U/L"},
                {"lln", 7},           {"uln", 40},     {"collected_at", "2026-10-10T07:30:00Z"}};
    REQUIRE(intake.recordLabs(ctx(), lab).isOk());

    // After the first cut (2026-10-20T00:00:00Z): the hypertension worsens, a pneumonitis starts.
    clock.set(at("2026-10-25T09:00:00Z"));
    json worse = ae("P-001", "Hypertension", 3, "2026-10-04");
    worse["serious_criteria"] = {"hospitalization"};
    worse["reason"] = "admitted";
    worse["base_version"] = 1;
    REQUIRE(intake.updateAdverseEvent(ctx(), hypertension_id, worse).isOk());
    json pneumonitis = ae("P-001", "Pneumonitis", 2, "2026-10-24");
    pneumonitis["relatedness"] = {{"anlotinib", "unlikely"}, {"sintilimab", "probable"}};
    REQUIRE(intake.createAdverseEvent(ctx(), pneumonitis).isOk());
    // Also after the first cut: the bleed's SAE report is recorded, dated back to before its due
    // time, and a higher ALT raises the pending candidate to grade 3.
    core::DeadlineFilter open;
    open.study_id = "P-002";
    const auto clocks = store.deadlines(open).value();
    REQUIRE(clocks.size() == 1);
    REQUIRE(intake.markDeadlineMet(ctx(), clocks[0].id, {{"reference", "SAE-REPORT-1"}, {"met_at", "2026-10-07T08:00:00Z"}})
                .isOk());
    json alt = {{"study_id", "P-001"}, {"test", "ALT"}, {"value", 260}, {"unit", "U/L"},
                {"lln", 7},           {"uln", 40},     {"collected_at", "2026-10-24T07:30:00Z"}};
    REQUIRE(intake.recordLabs(ctx(), alt).isOk());
    REQUIRE(intake.recordPregnancyOutcome(ctx(), pregnancy_id,
                                          {{"outcome", "pregnancy_loss"}, {"outcome_aware_at", "2026-10-18T10:00:00Z"}})
                .isOk());
    clock.set(at("2026-11-02T08:00:00Z"));
  }

  exports::PackageResult exportAt(const std::string& as_of, const std::string& name, bool zero_rows = false) {
    auto r = exporter.run({as_of, zero_rows, "tester", dir.file(name)});
    INFO(r.status().message());
    REQUIRE(r.isOk());
    return r.value();
  }
};

std::vector<std::vector<std::string>> csvOf(const exports::PackageResult& p, const std::string& file) {
  return parseCsv(slurp(fs::path(p.directory) / file));
}

// The row of a CSV whose column `col` is `value`.
std::optional<std::vector<std::string>> findRow(const std::vector<std::vector<std::string>>& csv, const std::string& col,
                                                const std::string& value) {
  const auto& header = csv.at(0);
  const size_t c = static_cast<size_t>(std::find(header.begin(), header.end(), col) - header.begin());
  REQUIRE(c < header.size());
  for (size_t i = 1; i < csv.size(); ++i)
    if (csv[i].at(c) == value) return csv[i];
  return std::nullopt;
}

std::string column(const std::vector<std::vector<std::string>>& csv, const std::vector<std::string>& row,
                   const std::string& col) {
  const auto& header = csv.at(0);
  return row.at(static_cast<size_t>(std::find(header.begin(), header.end(), col) - header.begin()));
}

}  // namespace

TEST_CASE("the package stands as of the cut: later entries are absent, an AE shows its version at the cut") {
  Trial t;
  const auto early = t.exportAt("2026-10-20T00:00:00Z", "early");
  const auto late = t.exportAt("2026-10-31T23:59:59Z", "late");

  const auto ae_early = csvOf(early, "sdtm/ae.csv");
  const auto ae_late = csvOf(late, "sdtm/ae.csv");
  REQUIRE(ae_early.size() == 1 + 2);  // hypertension and bleed; the pneumonitis came later
  REQUIRE(ae_late.size() == 1 + 3);
  const auto htn_early = findRow(ae_early, "AESPID", std::to_string(t.hypertension_id));
  const auto htn_late = findRow(ae_late, "AESPID", std::to_string(t.hypertension_id));
  REQUIRE(htn_early);
  REQUIRE(htn_late);
  CHECK(column(ae_early, *htn_early, "AETOXGR") == "2");
  CHECK(column(ae_early, *htn_early, "AESER") == "N");
  CHECK(column(ae_late, *htn_late, "AETOXGR") == "3");
  CHECK(column(ae_late, *htn_late, "AESER") == "Y");
  CHECK(column(ae_late, *htn_late, "AESHOSP") == "Y");
  CHECK_FALSE(findRow(ae_early, "AEDECOD", "Pneumonitis"));
  CHECK(findRow(ae_late, "AEDECOD", "Pneumonitis"));

  // The incidence table follows: hypertension at G2 in the early cut, G3 in the late one.
  const auto inc_early = csvOf(early, "tables/incidence_all.csv");
  const auto inc_late = csvOf(late, "tables/incidence_all.csv");
  const auto e = findRow(inc_early, "term", "Hypertension");
  const auto l = findRow(inc_late, "term", "Hypertension");
  REQUIRE(e);
  REQUIRE(l);
  CHECK(column(inc_early, *e, "grade_2_n") == "1");
  CHECK(column(inc_early, *e, "grade_3_n") == "0");
  CHECK(column(inc_early, *e, "n_treated") == "2");
  CHECK(column(inc_early, *e, "grade_2_pct") == "50.0");
  CHECK(column(inc_late, *l, "grade_3_n") == "1");
  CHECK(column(inc_late, *l, "grade_2_n") == "0");
  // The SAE listing: one SAE early (the bleed), two late.
  CHECK(csvOf(early, "listings/serious_aes.csv").size() == 1 + 1);
  CHECK(csvOf(late, "listings/serious_aes.csv").size() == 1 + 2);
  // The bleed's hold is a dose action; the ALT of 3.75 x ULN awaits confirmation.
  CHECK(findRow(csvOf(early, "listings/dose_actions.csv"), "ctcae_term", "Esophageal hemorrhage"));
  CHECK(findRow(csvOf(early, "listings/pending_lab_aes.csv"), "ctcae_term", "Alanine aminotransferase increased"));
  // Rows rewritten after the first cut stand there as they were: the SAE report recorded on
  // 10-25 (dated 10-07) is still overdue at the first cut and met in time at the second; the
  // candidate is grade 2 at the first cut and grade 3 (ALT 6.5 x ULN) at the second.
  const auto clocks_early = csvOf(early, "listings/reporting_clocks.csv");
  const auto overdue = findRow(clocks_early, "study_id", "P-002");
  REQUIRE(overdue);
  CHECK(column(clocks_early, *overdue, "kind") == "sae_24h");
  CHECK(column(clocks_early, *overdue, "state") == "overdue");
  CHECK(column(clocks_early, *overdue, "met_at").empty());
  const auto clocks_late = csvOf(late, "listings/reporting_clocks.csv");
  CHECK_FALSE(findRow(clocks_late, "study_id", "P-002"));
  // The hypertension became serious on 10-25, three weeks after the site knew of it: its SAE
  // clock opened then, already overdue, and is listed at the second cut only.
  const auto htn_clock = findRow(clocks_late, "study_id", "P-001");
  REQUIRE(htn_clock);
  CHECK(column(clocks_late, *htn_clock, "state") == "overdue");
  CHECK_FALSE(findRow(clocks_early, "study_id", "P-001"));
  const auto pending_early = csvOf(early, "listings/pending_lab_aes.csv");
  const auto pending_late = csvOf(late, "listings/pending_lab_aes.csv");
  CHECK(column(pending_early, *findRow(pending_early, "ctcae_term", "Alanine aminotransferase increased"), "grade") == "2");
  CHECK(column(pending_late, *findRow(pending_late, "ctcae_term", "Alanine aminotransferase increased"), "grade") == "3");
  // The pregnancy's outcome was reported on 10-25 (known to the site since 10-18): at the first
  // cut the pregnancy is still ongoing.
  const auto preg_early = csvOf(early, "listings/pregnancies.csv");
  const auto preg_late = csvOf(late, "listings/pregnancies.csv");
  REQUIRE(preg_early.size() == 2);
  REQUIRE(preg_late.size() == 2);
  CHECK(column(preg_early, preg_early[1], "outcome") == "ongoing");
  CHECK(column(preg_early, preg_early[1], "outcome_aware_at").empty());
  CHECK(column(preg_late, preg_late[1], "outcome") == "pregnancy_loss");
  CHECK(column(preg_late, preg_late[1], "subject") == "partner");
  // Exposure: P-001 nine anlotinib days and one sintilimab dose; P-003 untreated.
  const auto exposure = csvOf(early, "tables/exposure.csv");
  const auto p1 = findRow(exposure, "study_id", "P-001");
  REQUIRE(p1);
  CHECK(column(exposure, *p1, "anlotinib_days_given") == "9");
  CHECK(column(exposure, *p1, "sintilimab_doses") == "1");
  CHECK(column(exposure, *p1, "days_on_treatment") == "9");
  CHECK(column(exposure, *p1, "anlotinib_rdi_pct") == "64.3");  // 108 of 168 mg
  CHECK(column(exposure, *findRow(exposure, "study_id", "P-003"), "treated") == "N");
}

TEST_CASE("records entered more than 3 days after they occurred are listed as late, and marked in the AE listings",
          "[exports]") {
  Trial t;
  const auto p = t.exportAt("2026-10-31T00:00:00Z", "late");
  const auto late = csvOf(p, "listings/late_entries.csv");
  REQUIRE(late.at(0) == std::vector<std::string>{"study_id", "record", "occurred", "entered_at", "days_late"});
  // The hypertension began 10-04 and was entered 10-10 06:00 (6 days); the bleed began 10-06 (4
  // days). The pneumonitis (a day), the ALT results (hours) and the doses (that evening) are on time.
  REQUIRE(late.size() == 3);
  const auto htn = findRow(late, "record", "ae/" + std::to_string(t.hypertension_id));
  REQUIRE(htn);
  CHECK(column(late, *htn, "occurred") == "2026-10-04");
  CHECK(column(late, *htn, "entered_at") == "2026-10-10T06:00:00.000Z");
  CHECK(column(late, *htn, "days_late") == "6");
  const auto bleed = findRow(late, "study_id", "P-002");
  REQUIRE(bleed);
  CHECK(column(late, *bleed, "days_late") == "4");
  // The serious-AE listing shows the hypertension at its version of 10-25 but entered when first
  // recorded, and late.
  const auto serious = csvOf(p, "listings/serious_aes.csv");
  const auto row = findRow(serious, "ae_id", std::to_string(t.hypertension_id));
  REQUIRE(row);
  CHECK(column(serious, *row, "version") == "2");
  CHECK(column(serious, *row, "entered_at") == "2026-10-10T06:00:00.000Z");
  CHECK(column(serious, *row, "late_entry") == "Y");
}

TEST_CASE("the demographics listing carries the baseline facts, blank where none was given", "[exports]") {
  Trial t;
  json p = {{"study_id", "P-004"}, {"site", "S01"}, {"enrolled_on", "2026-09-28"}, {"liver_metastases", true},
            {"prior_thoracic_radiotherapy", false}, {"sex", "M"}, {"birth_year", 1950}, {"weight_kg", 61.5},
            {"ecog", 1}, {"hbsag", "negative"}, {"anti_hbc", "positive"}, {"hbv_dna_iu_ml", 20},
            {"fistula_or_perforation_6m", false}};
  REQUIRE(t.intake.createParticipant(t.ctx(), p).isOk());
  const auto csv = csvOf(t.exportAt("2026-11-02T08:00:00Z", "demo"), "listings/demographics.csv");
  REQUIRE(csv.at(0) == std::vector<std::string>{"study_id", "site", "enrolled_on", "sex", "age", "birth_year", "weight_kg",
                                                "ecog", "hbsag", "anti_hbc", "hbv_dna_iu_ml",
                                                "fistula_or_perforation_6m", "liver_metastases",
                                                "prior_thoracic_radiotherapy"});
  const auto row = findRow(csv, "study_id", "P-004");
  REQUIRE(row);
  CHECK(*row == std::vector<std::string>{"P-004", "S01", "2026-09-28", "M", "", "1950", "61.5", "1", "negative",
                                         "positive", "20", "N", "Y", "N"});
  const auto bare = findRow(csv, "study_id", "P-001");
  REQUIRE(bare);
  CHECK(column(csv, *bare, "sex").empty());
  CHECK(column(csv, *bare, "fistula_or_perforation_6m").empty());
}

TEST_CASE("a cut before anything was entered, an unparsable cut and a future cut") {
  Trial t;
  const auto empty = t.exportAt("2026-09-30T00:00:00Z", "empty");
  CHECK(csvOf(empty, "sdtm/ae.csv").size() == 1);
  CHECK(csvOf(empty, "tables/exposure.csv").size() == 1);
  auto bad = t.exporter.run({"31/10/2026", false, "tester", t.dir.file("bad")});
  REQUIRE_FALSE(bad.isOk());
  REQUIRE(bad.status().fields().size() == 1);
  CHECK(bad.status().fields()[0].field == "as_of");
  auto future = t.exporter.run({"2026-11-02T08:00:01Z", false, "tester", t.dir.file("future")});
  REQUIRE_FALSE(future.isOk());
  CHECK(future.status().fields()[0].field == "as_of");
  CHECK_FALSE(fs::exists(t.dir.file("future")));
  // The cut exactly at the clock is allowed.
  CHECK(t.exporter.run({"2026-11-02T08:00:00Z", false, "tester", t.dir.file("now")}).isOk());
}

TEST_CASE("the same data and cut give byte-identical files, manifest included, the time of generation in the zip and the audit") {
  Trial t;
  const auto a = t.exportAt("2026-10-31T23:59:59Z", "a");
  t.clock.set(at("2026-11-05T10:00:00Z"));
  const auto b = t.exportAt("2026-10-31T23:59:59Z", "b");
  auto fa = filesUnder(a.directory);
  auto fb = filesUnder(b.directory);
  REQUIRE(fa.size() == fb.size());
  for (const auto& [path, content] : fa) {
    INFO(path);
    REQUIRE(fb.count(path));
    CHECK(content == fb[path]);
  }
  CHECK(a.manifest_sha256 == b.manifest_sha256);
  // The zip says when it was made; the audit trail records each export with its time.
  std::ifstream za(a.zip, std::ios::binary), zb(b.zip, std::ios::binary);
  const std::string zip_a((std::istreambuf_iterator<char>(za)), std::istreambuf_iterator<char>());
  const std::string zip_b((std::istreambuf_iterator<char>(zb)), std::istreambuf_iterator<char>());
  CHECK(zip_a.find("generated 2026-11-02T08:00:00.000Z") != std::string::npos);
  CHECK(zip_b.find("generated 2026-11-05T10:00:00.000Z") != std::string::npos);
  std::vector<std::string> exports;
  const auto entries = t.store.auditEntries().value();
  for (const auto& e : entries)
    if (e.action == "export") exports.push_back(e.after);
  REQUIRE(exports.size() == 2);
  CHECK(json::parse(exports[0])["generated_at"] == "2026-11-02T08:00:00.000Z");
  CHECK(json::parse(exports[1])["manifest_sha256"] == a.manifest_sha256);
}

TEST_CASE("the manifest carries the audit chain's head as of the cut", "[exports]") {
  Trial t;
  const auto before = t.store.auditEntries().value();
  REQUIRE_FALSE(before.empty());
  const auto p = t.exportAt("2026-10-31T23:59:59Z", "anchored");
  const json manifest = json::parse(filesUnder(p.directory)["manifest.json"]);
  REQUIRE(manifest.contains("audit_anchor"));
  // The newest row written at or before the cut; rows after it belong to later changes.
  const audit::AuditEntry* head = nullptr;
  for (const auto& e : before)
    if (e.at <= "2026-10-31T23:59:59.000Z") head = &e;
  REQUIRE(head != nullptr);
  CHECK(manifest["audit_anchor"]["seq"] == head->seq);
  CHECK(manifest["audit_anchor"]["hash"] == head->hash);
}

TEST_CASE("the manifest names the cut and the versions and hashes every other file, the zip holds them all") {
  Trial t;
  const auto p = t.exportAt("2026-10-31T23:59:59Z", "dsmb-20261031T235959Z");
  const auto files = filesUnder(p.directory);
  const json m = json::parse(files.at("manifest.json"));
  CHECK(m["data_cut"] == "2026-10-31T23:59:59.000Z");
  CHECK_FALSE(m.contains("generated_at"));
  CHECK(m["software"]["version"] == "test");
  CHECK(m["versions"]["ctcae"] == "5.0 (test)");
  CHECK(m["versions"]["dose_rules"] == test::clinicalData().dose.version());
  CHECK(m["versions"]["stopping_rules"] == t.stopping.version);
  CHECK(m["versions"]["aesi_rules"] == test::clinicalData().reporting.aesiVersion());
  CHECK_FALSE(m["versions"]["aesi_rules"].get<std::string>().empty());
  CHECK(m["versions"]["rsi_anlotinib"] == test::clinicalData().reporting.rsi(core::Drug::kAnlotinib).version);
  CHECK(m["versions"]["categories"] == test::clinicalData().categories.version());
  std::set<std::string> listed;
  for (const auto& f : m["files"]) {
    const std::string path = f["path"];
    listed.insert(path);
    INFO(path);
    REQUIRE(files.count(path));
    CHECK(f["sha256"] == core::sha256Hex(files.at(path)));
    CHECK(f["bytes"] == files.at(path).size());
  }
  std::set<std::string> on_disk;
  for (const auto& [path, content] : files)
    if (path != "manifest.json") on_disk.insert(path);
  CHECK(listed == on_disk);
  for (const char* required : {"report.html", "sdtm/ae.csv", "sdtm/lb.csv", "sdtm/ae.json", "sdtm/lb.json",
                               "tables/incidence_all.csv", "tables/incidence_related_anlotinib.csv",
                               "tables/incidence_related_sintilimab.csv", "tables/incidence_related_either.csv",
                               "tables/incidence_irae.csv", "tables/incidence_anti_angiogenic.csv",
                               "tables/incidence_aesi.csv", "tables/lab_shift.csv", "tables/exposure.csv",
                               "tables/event_rates.csv", "tables/stopping_monitor.csv", "listings/serious_aes.csv",
                               "listings/deaths.csv", "listings/dose_actions.csv", "listings/protocol_deviations.csv",
                               "listings/pending_lab_aes.csv", "listings/reporting_clocks.csv",
                               "listings/pregnancies.csv", "listings/late_entries.csv", "listings/demographics.csv",
                               "listings/changes.csv"})
    CHECK(listed.count(required));

  std::ifstream zip(p.zip, std::ios::binary);
  Poco::Zip::ZipArchive archive(zip);
  std::set<std::string> entries;
  for (auto it = archive.headerBegin(); it != archive.headerEnd(); ++it)
    if (it->second.isFile()) entries.insert(it->first);
  std::set<std::string> expected;
  for (const auto& [path, content] : files) expected.insert("dsmb-20261031T235959Z/" + path);
  CHECK(entries == expected);

  // An audit entry records who exported which cut, with the manifest's hash.
  bool audited = false;
  const auto audit = t.store.auditEntries().value();
  for (const auto& e : audit)
    audited = audited || (e.action == "export" && e.entity_id == "2026-10-31T23:59:59.000Z" && e.actor == "tester" &&
                          e.after.find(p.manifest_sha256) != std::string::npos);
  CHECK(audited);
}

TEST_CASE("SDTM AE, SUPPAE and LB use exactly SDTMIG 3.4 variable names, in standard order, with ISO 8601 dates") {
  Trial t;
  const auto p = t.exportAt("2026-10-31T23:59:59Z", "sdtm");
  // tests/data/sdtmig-3.4-variables.csv is converted from CDISC's SDTMIG 3.4 by scripts/convert-sdtmig.
  std::map<std::string, std::map<std::string, int>> order;  // dataset -> name -> variable order
  std::map<std::string, std::map<std::string, std::string>> type;
  const auto standard = parseCsv(slurp(VIGIL_SOURCE_DIR "/tests/data/sdtmig-3.4-variables.csv"));
  for (size_t i = 1; i < standard.size(); ++i) {
    order[standard[i][0]][standard[i][2]] = std::stoi(standard[i][1]);
    type[standard[i][0]][standard[i][2]] = standard[i][4];
  }
  REQUIRE(order["AE"].size() > 50);
  auto check = [&](const std::string& file, const std::string& dataset, const std::vector<std::string>& required) {
    INFO(file);
    const auto csv = csvOf(p, file);
    const auto& header = csv.at(0);
    int previous = 0;
    for (const auto& name : header) {
      INFO(name);
      REQUIRE(order[dataset].count(name));
      CHECK(order[dataset][name] > previous);
      previous = order[dataset][name];
    }
    for (const auto& name : required) CHECK(std::find(header.begin(), header.end(), name) != header.end());
    for (size_t i = 1; i < csv.size(); ++i) CHECK(csv[i].size() == header.size());
    // The Dataset-JSON twin: same columns, same rows, numbers where SDTM says Num.
    const json j = json::parse(slurp(fs::path(p.directory) / (file.substr(0, file.size() - 4) + ".json")));
    CHECK(j["datasetJSONVersion"] == "1.1.0");
    CHECK(j["itemGroupOID"] == "IG." + (dataset == "SUPPQUAL" ? std::string("SUPPAE") : dataset));
    CHECK(j["records"] == csv.size() - 1);
    REQUIRE(j["columns"].size() == header.size());
    for (size_t c = 0; c < header.size(); ++c) {
      CHECK(j["columns"][c]["name"] == header[c]);
      const bool num = type[dataset][header[c]] == "Num";
      CHECK((j["columns"][c]["dataType"] != "string") == num);
    }
    REQUIRE(j["rows"].size() == csv.size() - 1);
    for (size_t r = 0; r + 1 < csv.size(); ++r)
      for (size_t c = 0; c < header.size(); ++c) {
        const json& v = j["rows"][r][c];
        if (v.is_null()) CHECK(csv[r + 1][c].empty());
        else if (v.is_string()) CHECK(v.get<std::string>() == csv[r + 1][c]);
        else CHECK(v.dump() == csv[r + 1][c]);
      }
    return csv;
  };
  const auto ae = check("sdtm/ae.csv", "AE",
                        {"STUDYID", "DOMAIN", "USUBJID", "AESEQ", "AETERM", "AEDECOD", "AEBODSYS", "AETOXGR", "AESER",
                         "AESDTH", "AESHOSP", "AESLIFE", "AESDISAB", "AESCONG", "AESMIE", "AEREL", "AEACN", "AEOUT",
                         "AESTDTC", "AEENDTC"});
  const auto lb = check("sdtm/lb.csv", "LB",
                        {"STUDYID", "DOMAIN", "USUBJID", "LBSEQ", "LBTESTCD", "LBORRES", "LBORRESU", "LBSTRESN",
                         "LBSTRESU", "LBORNRLO", "LBORNRHI", "LBTOXGR", "LBDTC"});
  check("sdtm/suppae.csv", "SUPPQUAL", {"STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM", "QLABEL", "QVAL"});

  const std::regex iso(R"(^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?)?$)");
  for (const auto& [csv, cols] : std::vector<std::pair<const std::vector<std::vector<std::string>>*, std::vector<std::string>>>{
           {&ae, {"AESTDTC", "AEENDTC"}}, {&lb, {"LBDTC"}}})
    for (size_t r = 1; r < csv->size(); ++r)
      for (const auto& c : cols) {
        const std::string v = column(*csv, (*csv)[r], c);
        INFO(c << " = " << v);
        CHECK((v.empty() || std::regex_match(v, iso)));
      }
  const auto alt = findRow(lb, "LBTESTCD", "ALT");
  REQUIRE(alt);
  CHECK(column(lb, *alt, "LBDTC") == "2026-10-10T07:30:00");
  CHECK(column(lb, *alt, "LBORRES") == "150");
  CHECK(column(lb, *alt, "LBTOXGR") == "2");
  CHECK(column(lb, *alt, "USUBJID") == "TEST-STUDY-P-001");
  const auto htn = findRow(ae, "AEDECOD", "Hypertension");
  REQUIRE(htn);
  CHECK(column(ae, *htn, "AESTDTC") == "2026-10-04");
  CHECK(column(ae, *htn, "AEREL") == "PROBABLY RELATED");
  CHECK(column(ae, *htn, "AEBODSYS") == "Vascular disorders");
  CHECK(column(ae, *htn, "AEOUT") == "NOT RECOVERED/NOT RESOLVED");
}

TEST_CASE("the changes listing holds the corrections and voids made since the previous package's cut", "[exports]") {
  Trial t;
  // The first package: no earlier one, so every change up to its cut (the AE update of 25 October).
  const auto first = t.exportAt("2026-11-01T00:00:00Z", "first");
  const auto before = csvOf(first, "listings/changes.csv");
  REQUIRE(before.size() == 1 + 1);
  const auto ae_row = findRow(before, "record", "adverse_event/" + std::to_string(t.hypertension_id));
  REQUIRE(ae_row);
  CHECK(column(before, *ae_row, "action") == "update");
  CHECK(column(before, *ae_row, "version") == "2");
  CHECK(column(before, *ae_row, "reason") == "admitted");
  CHECK(column(before, *ae_row, "changed_fields") == "grade;serious;serious_criteria");
  CHECK(json::parse(slurp(fs::path(first.directory) / "manifest.json"))["changes_since"].is_null());

  // After it: the first ALT corrected, the pregnancy voided.
  t.clock.set(at("2026-11-03T08:00:00Z"));
  const auto labs = t.store.labs("P-001", {0, 10}).value();
  REQUIRE(labs.size() == 2);
  json lab = {{"study_id", "P-001"}, {"test", "ALT"}, {"value", 50},  {"unit", "U/L"}, {"lln", 7},
              {"uln", 40},           {"collected_at", "2026-10-10T07:30:00Z"}, {"reason_for_change", "misread"}};
  REQUIRE(t.intake.correctRecord(t.ctx(), intake::RecordType::kLab, labs[0].id, lab).isOk());
  REQUIRE(t.intake.voidRecord(t.ctx(), intake::RecordType::kPregnancy, t.pregnancy_id,
                              {{"reason_for_change", "entered for the wrong participant"}})
              .isOk());
  t.clock.set(at("2026-11-04T08:00:00Z"));
  const auto second = t.exportAt("2026-11-04T00:00:00Z", "second");
  CHECK(json::parse(slurp(fs::path(second.directory) / "manifest.json"))["changes_since"] == "2026-11-01T00:00:00.000Z");
  const auto after = csvOf(second, "listings/changes.csv");
  REQUIRE(after.size() == 1 + 2);
  const auto lab_row = findRow(after, "record", "lab_result/" + std::to_string(labs[0].id));
  REQUIRE(lab_row);
  CHECK(column(after, *lab_row, "changed_fields") == "grades;value");
  CHECK(column(after, *lab_row, "reason") == "misread");
  const auto void_row = findRow(after, "record", "pregnancy/" + std::to_string(t.pregnancy_id));
  REQUIRE(void_row);
  CHECK(column(after, *void_row, "action") == "void");
  CHECK(column(after, *void_row, "study_id") == "P-002");
  // The voided pregnancy has left the pregnancy listing; the corrected value is in LB.
  CHECK(csvOf(second, "listings/pregnancies.csv").size() == 1);
  CHECK(csvOf(first, "listings/pregnancies.csv").size() == 1 + 1);
  const auto lb = csvOf(second, "sdtm/lb.csv");
  CHECK(findRow(lb, "LBORRES", "50"));
  CHECK_FALSE(findRow(lb, "LBORRES", "150"));
}

TEST_CASE("participants appear by study ID only: no narrative, no user names in the package") {
  Trial t;
  const auto p = t.exportAt("2026-10-31T23:59:59Z", "ids");
  for (const auto& [path, content] : filesUnder(p.directory)) {
    INFO(path);
    CHECK(content.find("Zhang") == std::string::npos);
    CHECK(content.find("4471") == std::string::npos);
    CHECK(content.find("inv1") == std::string::npos);
  }
}

TEST_CASE("report.html is self-contained and renders in headless Chromium with no console output") {
  Trial t;
  const auto p = t.exportAt("2026-10-31T23:59:59Z", "report");
  const std::string html = slurp(fs::path(p.directory) / "report.html");
  CHECK(html.find("<script") == std::string::npos);
  CHECK_FALSE(std::regex_search(html, std::regex(R"((src|href)\s*=\s*["']?\s*(https?:)?//)", std::regex::icase)));
  CHECK(html.find("<link") == std::string::npos);
  CHECK(html.find("@import") == std::string::npos);
  CHECK(html.find("aria-label=\"Swimmer plot\"") != std::string::npos);
  CHECK(html.find("aria-label=\"Incidence by category and grade\"") != std::string::npos);
  CHECK(html.find("aria-label=\"Posterior probability per boundary\"") != std::string::npos);
  CHECK(html.find("UNVERIFIED") != std::string::npos);
  CHECK(html.find("P-001") != std::string::npos);

  const std::string script = VIGIL_SOURCE_DIR "/tests/support/chromium_check.sh";
  const std::string png = fs::absolute("dsmb-report.png").string();
  const std::string pdf = fs::absolute("dsmb-report.pdf").string();
  fs::remove(png);
  fs::remove(pdf);
  const int rc = std::system((script + " '" + p.directory + "/report.html' '" + png + "' '" + pdf + "'").c_str());
  CHECK(rc == 0);
  CHECK(fs::file_size(png) > 10000);  // the screenshot, kept in the build directory for a person to look at
  CHECK(slurp(pdf).rfind("%PDF", 0) == 0);

  // The check itself fails on a page that logs an error (so a pass above means something).
  const std::string bad = t.dir.file("bad.html");
  std::ofstream(bad) << "<!DOCTYPE html><html><body><p>x</p><script>console.error('boom'); nope();</script></body></html>";
  const int bad_rc = std::system((script + " '" + bad + "' '" + t.dir.file("bad.png") + "' '" + t.dir.file("bad.pdf") +
                                  "' >/dev/null")
                                     .c_str());
  CHECK(bad_rc != 0);
}
