#include "exports/exporter.h"

#include <filesystem>

namespace vigil::exports {

core::Result<std::string> DsmbExporter::normaliseCut(const std::string& as_of) const {
  const auto ms = core::parseTimestamp(as_of);
  if (!ms)
    return core::Status::invalid("as_of is not a data cut",
                                 {{"as_of", "must be an ISO 8601 timestamp with a zone, e.g. 2026-10-31T23:59:59Z"}});
  if (*ms > clock_.nowMs())
    return core::Status::invalid("as_of is in the future",
                                 {{"as_of", "must not be later than now (" + core::formatTimestamp(clock_.nowMs()) + ")"}});
  return core::formatTimestamp(*ms);
}

std::string DsmbExporter::packageName(const std::string& cut) {
  std::string compact;
  for (char c : cut.substr(0, 19))
    if (c != '-' && c != ':') compact += c;
  return "dsmb-" + compact + "Z";
}

core::Result<PackageResult> DsmbExporter::run(const ExportRequest& request, const Progress& progress) const {
  auto cut_text = normaliseCut(request.as_of);
  if (!cut_text.isOk()) return cut_text.status();
  std::error_code ec;
  if (std::filesystem::exists(request.out_dir, ec) && !std::filesystem::is_empty(request.out_dir, ec))
    return core::Status::invalid(request.out_dir + " is not empty", {{"out", "must be a new or empty directory"}});
  if (std::filesystem::exists(request.out_dir + ".zip", ec))
    return core::Status::invalid(request.out_dir + ".zip exists", {{"out", "DIR.zip must not exist yet"}});
  if (progress) progress("reading the data cut", 0.0);
  auto cut = store_.dataCut(cut_text.value());
  if (!cut.isOk()) return cut.status();
  PackageOptions options = options_;
  options.generated_at = core::formatTimestamp(clock_.nowMs());
  options.zero_rows = request.zero_rows;
  auto result = writePackage(cut.value(), ref_, options, request.out_dir, progress);
  if (!result.isOk()) return result.status();
  core::Status audited = store_.write([&](store::Transaction& tx) {
    tx.appendAudit({request.actor, "export", "dsmb_package", cut_text.value(), "",
                    "{\"manifest_sha256\":\"" + result.value().manifest_sha256 + "\",\"zero_rows\":" +
                        (request.zero_rows ? "true" : "false") + ",\"generated_at\":\"" + options.generated_at + "\"}"});
    return core::Status::ok();
  });
  if (!audited.isOk()) return audited;
  return result;
}

}  // namespace vigil::exports
