// Issue 6 benchmark: the whole DSMB package (data cut read, tables, listings, SDTM CSV and
// Dataset-JSON, report.html, manifest, zip) for a synthetic programme of 5,000 participants and
// 1,000,000 AE versions. Target: under 10 s.
//
// usage: bench_dsmb DB CTCAE_DIR ALERTS_DIR OUT_DIR [participants=5000] [versions=1000000] [runs=3]
// The database is filled once (through the store's own unit of work) and reused when it exists.
// A quarter of the AEs get their last version after the cut, so the cut has real work to do.

#include <atomic>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <random>

#include "core/time.h"
#include "exports/exporter.h"
#include "grading/catalogue.h"
#include "grading/lab_grader.h"
#include "rules/categories.h"
#include "rules/dose_rules.h"
#include "rules/reporting.h"
#include "store/sqlite_store.h"

using namespace vigil;

namespace {

class MovableClock final : public core::Clock {
 public:
  int64_t nowMs() const override { return ms_.load(); }
  void set(const char* ts) { ms_ = *core::parseTimestamp(ts); }

 private:
  std::atomic<int64_t> ms_{0};
};

const char* const kTerms[] = {"Hypertension", "Proteinuria", "Diarrhea", "Fatigue", "Palmar-plantar erythrodysesthesia syndrome",
                              "Hypothyroidism", "Anorexia", "Nausea", "Epistaxis", "Esophageal hemorrhage",
                              "Pneumonitis", "Rash maculo-papular", "Alanine aminotransferase increased",
                              "Aspartate aminotransferase increased", "Platelet count decreased", "Anemia",
                              "Weight loss", "Cough", "Hoarseness", "Mucositis oral", "Colitis",
                              "Esophageal fistula", "Thromboembolic event", "Pruritus", "Constipation",
                              "Abdominal pain", "Back pain", "Headache", "Fever"};

void fill(store::SqliteStore& store, MovableClock& clock, const grading::Catalogue& catalogue, int participants,
          int versions) {
  std::mt19937 rng(6);
  const int aes_per = std::max(1, versions / 4 / participants);
  const auto start_day = *core::parseDate("2025-01-06");
  std::vector<std::pair<int64_t, core::AeVersion>> last_versions;
  clock.set("2026-06-01T08:00:00Z");
  const int batch = 100;
  for (int first = 0; first < participants; first += batch) {
    const core::Status s = store.write([&](store::Transaction& tx) {
      for (int i = first; i < std::min(participants, first + batch); ++i) {
        const std::string site = "S" + std::to_string(10 + i % 20);
        if (i < 20) tx.insertSite(site, "Site " + site);
        core::Participant p;
        char id[16];
        std::snprintf(id, sizeof id, "%s-%04d", site.c_str(), i);
        p.study_id = id;
        p.site = site;
        p.enrolled_on = "2025-01-01";
        p.baseline_labs.push_back({"ALT", 25, "U/L", 7, 40, std::nullopt});
        p.baseline_labs.push_back({"HGB", 125, "g/L", 120, 160, std::nullopt});
        p.created_by = "bench";
        tx.insertParticipant(p);
        const int64_t day0 = start_day + i % 300;
        const int cycles = 1 + i % 6;
        for (int c = 0; c < cycles; ++c) {
          core::DoseRecord d;
          d.study_id = p.study_id;
          d.cycle = c + 1;
          d.recorded_by = "bench";
          d.drug = core::Drug::kSintilimab;
          d.route = core::Route::kIntravenous;
          d.dose_mg = 200;
          d.date = core::formatDate(day0 + 21 * c);
          tx.insertDose(d);
          d.drug = core::Drug::kAnlotinib;
          d.route = core::Route::kOral;
          for (int k = 0; k < 14; ++k) {
            d.day = k + 1;
            d.date = core::formatDate(day0 + 21 * c + k);
            const bool held = rng() % 25 == 0;
            d.status = held ? core::DoseStatus::kHeld : core::DoseStatus::kGiven;
            d.dose_mg = held ? std::nullopt : std::optional<double>(c >= 3 ? 10 : 12);
            tx.insertDose(d);
          }
        }
        for (int l = 0; l < 12; ++l) {
          core::LabResult lab;
          lab.study_id = p.study_id;
          lab.test = "ALT";
          lab.value = 20 + static_cast<double>(rng() % 200);
          lab.unit = "U/L";
          lab.lln = 7;
          lab.uln = 40;
          lab.collected_at = core::formatDate(day0 + 7 * l) + "T07:30:00Z";
          lab.specimen = "SERUM";
          lab.recorded_by = "bench";
          const int g = lab.value > 200 ? 3 : lab.value > 120 ? 2 : lab.value > 40 ? 1 : 0;
          lab.grades_json = "[{\"term\":\"Alanine aminotransferase increased\",\"grade\":" + std::to_string(g) + "}]";
          tx.insertLab(lab);
        }
        for (int a = 0; a < aes_per; ++a) {
          const char* term = kTerms[rng() % (sizeof kTerms / sizeof *kTerms)];
          const auto* t = catalogue.find(term);
          if (!t) throw std::runtime_error(std::string("not a CTCAE term: ") + term);
          core::AeVersion v;
          v.verbatim = term;
          v.ctcae_term = t->term;
          v.meddra_code = t->meddra_code;
          v.grade = 1;
          v.start = core::formatDate(day0 + static_cast<int64_t>(rng() % (21 * cycles)));
          v.site_aware_at = v.start + "T09:00:00Z";
          v.per_drug[0].relatedness = static_cast<core::Relatedness>(rng() % 5);
          v.per_drug[1].relatedness = static_cast<core::Relatedness>(rng() % 5);
          v.per_drug[0].action = core::ActionTaken::kDoseNotChanged;
          v.per_drug[1].action = core::ActionTaken::kDoseNotChanged;
          v.outcome = core::Outcome::kRecovering;
          v.narrative = "synthetic";
          v.recorded_by = "bench";
          const int64_t ae = tx.insertAdverseEvent(p.study_id, v);
          for (int k = 2; k <= 3; ++k) {
            v.version = k;
            v.grade = std::min(static_cast<int>(1 + rng() % 4), t->hasGrade(4) ? 4 : 3);
            while (v.grade > 1 && !t->hasGrade(v.grade)) --v.grade;
            v.reason = "follow-up";
            if (v.grade >= 3 && rng() % 3 == 0) v.serious_criteria = {core::Seriousness::kHospitalization};
            if (v.grade >= 3 && rng() % 2 == 0) v.per_drug[0].action = core::ActionTaken::kDrugInterrupted;
            tx.insertAeVersion(ae, v);
          }
          if (v.serious()) {
            core::ReportingDeadline d;
            d.ae_id = ae;
            d.kind = "sae_24h";
            d.due_at = core::formatTimestamp(*core::parseTimestamp(v.site_aware_at) + core::kDayMs);
            d.anchor = "site_aware";
            d.opened_in_version = 2;
            tx.insertDeadline(d);
          }
          v.version = 4;
          v.outcome = core::Outcome::kRecovered;
          v.end = core::formatDate(*core::parseDate(v.start) + 10);
          last_versions.emplace_back(ae, v);
        }
      }
      return core::Status::ok();
    });
    if (!s.isOk()) throw std::runtime_error(s.message());
  }
  // The fourth versions: three quarters before the cut, a quarter after it.
  for (int phase = 0; phase < 2; ++phase) {
    clock.set(phase == 0 ? "2026-10-15T08:00:00Z" : "2026-11-10T08:00:00Z");
    for (size_t first = 0; first < last_versions.size(); first += 20000) {
      const core::Status s = store.write([&](store::Transaction& tx) {
        for (size_t i = first; i < std::min(last_versions.size(), first + 20000); ++i)
          if ((i % 4 == 3) == (phase == 1)) tx.insertAeVersion(last_versions[i].first, last_versions[i].second);
        return core::Status::ok();
      });
      if (!s.isOk()) throw std::runtime_error(s.message());
    }
  }
}

double since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::cerr << "usage: bench_dsmb DB CTCAE_DIR ALERTS_DIR OUT_DIR [participants] [versions] [runs]\n";
    return 64;
  }
  const std::string db = argv[1], ctcae = argv[2], alerts = argv[3], out = argv[4];
  const int participants = argc > 5 ? std::stoi(argv[5]) : 5000;
  const int versions = argc > 6 ? std::stoi(argv[6]) : 1000000;
  const int runs = argc > 7 ? std::stoi(argv[7]) : 3;

  auto catalogue = grading::Catalogue::load(ctcae + "/terms.tsv").value();
  auto grader = grading::LabGrader::load(ctcae).value();
  auto categories = rules::CategorySet::load(alerts + "/rules/categories.json", catalogue).value();
  auto reporting = rules::ReportingRules::load(alerts, catalogue, categories).value();
  auto dose = rules::DoseRules::load(alerts + "/rules/dose.json", catalogue, categories, grader).value();
  auto stopping = exports::StoppingRules::load(alerts + "/rules/stopping.json", catalogue, categories).value();
  const exports::Reference ref{catalogue, grader, categories, reporting, stopping, dose.version(), "5.0"};

  MovableClock clock;
  const bool exists = std::filesystem::exists(db);
  store::SqliteOptions options;
  options.path = db;
  store::SqliteStore store(options, clock);
  if (!exists) {
    const auto t = std::chrono::steady_clock::now();
    fill(store, clock, catalogue, participants, versions);
    std::cout << "filled " << db << " in " << since(t) << " s\n";
  }
  clock.set("2026-11-20T08:00:00Z");
  exports::PackageOptions po;
  po.software_version = "bench";
  const exports::DsmbExporter exporter(store, ref, po, clock);
  for (int r = 0; r < runs; ++r) {
    const std::string dir = out + "/run" + std::to_string(r);
    std::filesystem::remove_all(dir);
    std::filesystem::remove(dir + ".zip");
    const auto t0 = std::chrono::steady_clock::now();
    std::string stages;
    double last = 0;
    std::string stage = "start";
    auto progress = [&](std::string_view next, double) {
      if (next == stage) return;
      const double now = since(t0);
      stages += " " + stage + " " + std::to_string(now - last).substr(0, 5) + "s;";
      last = now;
      stage = std::string(next);
    };
    auto result = exporter.run({"2026-10-31T23:59:59Z", false, "bench", dir}, progress);
    const double total = since(t0);
    if (!result.isOk()) {
      std::cerr << "export failed: " << result.status().message() << "\n";
      return 1;
    }
    uintmax_t bytes = 0;
    for (const auto& f : result.value().files) bytes += f.bytes;
    std::cout << "run " << r + 1 << ": whole package " << total << " s (" << result.value().files.size() + 1
              << " files, " << bytes / 1000000 << " MB, zip " << std::filesystem::file_size(result.value().zip) / 1000000
              << " MB);" << stages << "\n";
  }
  return 0;
}
