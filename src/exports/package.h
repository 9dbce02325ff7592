#pragma once
// The DSMB review package (issue 6): one directory and a zip of it, written from a data cut.
//
//   manifest.json                 data cut, generation time, versions, the audit chain's head
//                                 (audit_anchor: seq and hash), SHA-256 of every other file
//   report.html                   self-contained page: key tables, swimmer plot, incidence bars, monitor
//   tables/incidence_<set>.csv    by SOC and CTCAE term, worst grade per participant (7 sets)
//   tables/incidence_by_category.csv, lab_shift.csv, exposure.csv, exposure_summary.csv,
//   tables/event_rates.csv, stopping_monitor.csv
//   listings/serious_aes.csv, deaths.csv, dose_actions.csv, protocol_deviations.csv,
//   listings/pending_lab_aes.csv, reporting_clocks.csv, pregnancies.csv, late_entries.csv,
//   listings/changes.csv (corrections and voids since the previous package's cut, issue 16: with
//                 each reason for change as written, so reasons must not name a patient; no user names),
//   listings/demographics.csv (baseline facts; eligibility findings are in protocol_deviations.csv)
//   sdtm/ae.csv, suppae.csv, lb.csv and the same as CDISC Dataset-JSON 1.1 (ae.json, ...)
//
// Every file but the manifest is a function of the cut, the reference data and the options:
// byte-identical for the same inputs. Participants appear by study ID only.

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "exports/analysis.h"
#include "store/store.h"

namespace vigil::exports {

struct PackageOptions {
  std::string study_id = "ANLO-SINTI-ESCC";  // STUDYID of the SDTM datasets
  std::string software_version;
  std::string generated_at;  // UTC timestamp: only in the zip's comment (and the export's audit entry)
  bool zero_rows = false;
  size_t swimmer_max_participants = 200;  // the report's plot; every participant is in the tables
  // A record entered more than this long after it occurred is late (setting alerts.late_entry_days).
  int64_t late_entry_ms = 3 * 24 * 3600 * 1000LL;
};

// Called as the package is written: the stage and the fraction done (0..1).
using Progress = std::function<void(std::string_view stage, double fraction)>;

struct PackageFile {
  std::string path;  // relative to the package directory, '/' separated
  std::string sha256;
  size_t bytes = 0;
};

struct PackageResult {
  std::string directory;
  std::string zip;            // directory + ".zip"
  std::string manifest_sha256;
  std::vector<PackageFile> files;  // every file but the manifest, sorted by path
};

// Writes the package into out_dir (created; must not hold an earlier package's files) and zips
// it into out_dir + ".zip". Fails naming the file that could not be written.
core::Result<PackageResult> writePackage(const store::DataCut& cut, const Reference& ref, const PackageOptions& options,
                                         const std::string& out_dir, const Progress& progress = {});

// The report alone (used by writePackage; exposed for tests).
std::string renderReport(const Analysis& analysis, const Reference& ref, const PackageOptions& options);

// RFC 4180 field: quoted when it holds a comma, quote, CR or LF.
void appendCsvField(std::string& out, std::string_view field);

}  // namespace vigil::exports
