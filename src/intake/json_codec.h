#pragma once
// JSON <-> domain types for the intake API. Decoding checks types, required fields,
// enumerations, ISO 8601 formats, ranges and unknown fields, and records every problem as a
// FieldError (with its JSON path) instead of stopping at the first. Coherence checks that need
// stored data (enrolment date, current AE version) live in IntakeService.

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/model.h"
#include "core/status.h"

namespace vigil::intake {

using Errors = std::vector<core::FieldError>;

// Checks a site id's shape (1-16 letters, digits or '-'); returns it.
std::string decodeSiteId(const std::string& id, Errors& errors);

core::Participant decodeParticipant(const nlohmann::json& body, Errors& errors);
core::DoseRecord decodeDose(const nlohmann::json& body, Errors& errors);

struct AeInput {
  std::string study_id;           // required on create; optional on update (must then match)
  core::AeVersion version;
  std::string reason;             // update only, required there
  std::optional<int> base_version;  // update only: optimistic concurrency check
};
AeInput decodeAe(const nlohmann::json& body, bool is_update, Errors& errors);

// One lab result; prefix is prepended to field paths ("results[3].").
core::LabResult decodeLab(const nlohmann::json& body, const std::string& prefix, Errors& errors);
core::VitalSigns decodeVitals(const nlohmann::json& body, Errors& errors);

// A correction (issue 16): PUT .../{id} carries the record's fields as for creating it, a
// required reason_for_change and an optional base_version (409 when it is not the current one).
// fields is the body without those two, for the record's own decoder.
struct Correction {
  std::string reason;
  std::optional<int> base_version;
  nlohmann::json fields;
};
Correction splitCorrection(const nlohmann::json& body, Errors& errors);
// The body of a void (DELETE .../{id}): {"reason_for_change": "..."}, required.
std::string decodeVoidReason(const nlohmann::json& body, Errors& errors);

nlohmann::json toJson(const core::Participant& p);
nlohmann::json toJson(const core::DoseRecord& d);
nlohmann::json toJson(const core::AeVersion& v);
// The AE with its current fields at top level; with_history adds "versions" (oldest first).
nlohmann::json toJson(const core::AeReport& r, bool with_history);
nlohmann::json toJson(const core::LabResult& l);
// The same document as toJson(l).dump(), written directly: a lab batch serialises 10,000 of
// these inside its transaction, where building nlohmann objects dominated the time.
std::string toJsonText(const core::LabResult& l);
nlohmann::json toJson(const core::VitalSigns& v);
nlohmann::json toJson(const core::AeCandidate& c);
nlohmann::json toJson(const core::SafetyChange& c);
nlohmann::json toJson(const core::PregnancyReport& p);
nlohmann::json toJson(const core::ConcomitantMedication& m);
// A deadline with its state ("due", "overdue" or "met") at as_of_ms.
nlohmann::json toJson(const core::ReportingDeadline& d, int64_t as_of_ms);

}  // namespace vigil::intake
