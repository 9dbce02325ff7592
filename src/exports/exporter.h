#pragma once
// One DSMB package export, as vigilctl and GET /api/v1/exports/dsmb both run it: check the
// data cut, read the cut in one snapshot, write the package and its zip, and append an audit
// entry naming who exported which cut and the manifest's SHA-256.

#include <string>

#include "core/status.h"
#include "core/time.h"
#include "exports/package.h"
#include "store/store.h"

namespace vigil::exports {

struct ExportRequest {
  std::string as_of;       // as given: a zoned ISO 8601 timestamp
  bool zero_rows = false;
  std::string actor;       // user name (HTTP) or vigilctl:<login>
  std::string out_dir;     // the package directory; the zip is out_dir + ".zip"
};

class DsmbExporter {
 public:
  // ref and store must outlive the exporter. options.generated_at is set on each run.
  DsmbExporter(store::Store& store, const Reference& ref, PackageOptions options, const core::Clock& clock)
      : store_(store), ref_(ref), options_(std::move(options)), clock_(clock) {}

  // The cut in the package's spelling ("2026-10-31T23:59:59.000Z"), or Status::invalid naming
  // as_of when it is not a zoned timestamp or lies in the future (a cut not yet reached would
  // not give the same package twice).
  core::Result<std::string> normaliseCut(const std::string& as_of) const;

  // "dsmb-20261031T235959Z": the package's directory name for a cut.
  static std::string packageName(const std::string& cut);

  core::Result<PackageResult> run(const ExportRequest& request, const Progress& progress = {}) const;

 private:
  store::Store& store_;
  const Reference& ref_;
  PackageOptions options_;
  const core::Clock& clock_;
};

}  // namespace vigil::exports
