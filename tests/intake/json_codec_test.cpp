#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "intake/json_codec.h"

using namespace vigil;
using nlohmann::json;

namespace {

json validAe() {
  return {{"study_id", "S01-001"},
          {"verbatim", "nose bleed"},
          {"ctcae_term", "Epistaxis"},
          {"meddra_code", "10015090"},
          {"grade", 2},
          {"serious_criteria", json::array()},
          {"relatedness", {{"anlotinib", "possible"}, {"sintilimab", "unlikely"}}},
          {"action_taken", {{"anlotinib", "drug_interrupted"}, {"sintilimab", "dose_not_changed"}}},
          {"outcome", "recovering"},
          {"start", "2026-02-10"},
          {"site_aware_at", "2026-02-10T08:00:00Z"}};
}

// The field names of all errors, for compact assertions.
std::vector<std::string> fields(const intake::Errors& errors) {
  std::vector<std::string> out;
  for (const auto& e : errors) out.push_back(e.field);
  return out;
}

bool hasError(const intake::Errors& errors, const std::string& field, const std::string& fragment = "") {
  for (const auto& e : errors)
    if (e.field == field && e.detail.find(fragment) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("a valid AE decodes with no errors and keeps every field", "[intake]") {
  intake::Errors errors;
  auto in = intake::decodeAe(validAe(), false, errors);
  CHECK(errors.empty());
  CHECK(in.study_id == "S01-001");
  CHECK(in.version.grade == 2);
  CHECK(in.version.per_drug[0].relatedness == core::Relatedness::kPossible);
  CHECK(in.version.per_drug[0].action == core::ActionTaken::kDrugInterrupted);
  CHECK(in.version.site_aware_at == "2026-02-10T08:00:00.000Z");
}

TEST_CASE("every bad AE field is reported at once", "[intake]") {
  json body = validAe();
  body.erase("verbatim");                          // required
  body["grade"] = "3";                             // type
  body["outcome"] = "resolved";                    // enumeration
  body["start"] = "10/02/2026";                    // format
  body["relatedness"]["anlotinib"] = "related";    // nested enumeration
  body["colour"] = "red";                          // unknown field
  intake::Errors errors;
  (void)intake::decodeAe(body, false, errors);
  CHECK(hasError(errors, "verbatim", "required"));
  CHECK(hasError(errors, "grade", "integer"));
  CHECK(hasError(errors, "outcome", "one of"));
  CHECK(hasError(errors, "start", "ISO 8601"));
  CHECK(hasError(errors, "relatedness.anlotinib", "one of"));
  CHECK(hasError(errors, "colour", "not a known field"));
  CHECK(errors.size() == 6);
}

TEST_CASE("AE grade limits: 1 to 5 are accepted, 0 and 6 are not", "[intake]") {
  for (int g : {0, 6}) {
    json body = validAe();
    body["grade"] = g;
    intake::Errors errors;
    (void)intake::decodeAe(body, false, errors);
    CHECK(hasError(errors, "grade", "between 1 and 5"));
  }
  for (int g : {1, 4}) {
    json body = validAe();
    body["grade"] = g;
    intake::Errors errors;
    (void)intake::decodeAe(body, false, errors);
    CHECK(errors.empty());
  }
}

TEST_CASE("an AE cannot end before it starts, nor be known before it started", "[intake]") {
  json body = validAe();
  body["outcome"] = "recovered";
  body["end"] = "2026-02-09";
  body["site_aware_at"] = "2026-02-09T23:00:00Z";
  intake::Errors errors;
  (void)intake::decodeAe(body, false, errors);
  CHECK(hasError(errors, "end", "before start"));
  CHECK(hasError(errors, "site_aware_at", "before the event started"));
  body["end"] = "2026-02-10";  // same day is fine
  body["site_aware_at"] = "2026-02-10T00:00:00Z";
  errors.clear();
  (void)intake::decodeAe(body, false, errors);
  CHECK(errors.empty());
}

TEST_CASE("grade 5, a fatal outcome and the death criterion must agree", "[intake]") {
  json body = validAe();
  body["grade"] = 5;
  intake::Errors errors;
  (void)intake::decodeAe(body, false, errors);
  CHECK(hasError(errors, "outcome", "fatal"));
  CHECK(hasError(errors, "serious_criteria", "death"));

  body["outcome"] = "fatal";
  body["serious_criteria"] = {"death"};
  errors.clear();
  (void)intake::decodeAe(body, false, errors);
  CHECK(errors.empty());

  json fatal_g3 = validAe();
  fatal_g3["grade"] = 3;
  fatal_g3["outcome"] = "fatal";
  errors.clear();
  (void)intake::decodeAe(fatal_g3, false, errors);
  CHECK(hasError(errors, "outcome", "requires grade 5"));
}

TEST_CASE("the outcome decides whether an end date belongs", "[intake]") {
  json recovered = validAe();
  recovered["outcome"] = "recovered";
  intake::Errors errors;
  (void)intake::decodeAe(recovered, false, errors);
  CHECK(hasError(errors, "end", "required"));

  json ongoing = validAe();
  ongoing["end"] = "2026-02-12";
  errors.clear();
  (void)intake::decodeAe(ongoing, false, errors);
  CHECK(hasError(errors, "end", "must be absent"));
}

TEST_CASE("seriousness criteria must be known and not repeated", "[intake]") {
  json body = validAe();
  body["serious_criteria"] = {"hospitalization", "hospitalization", "bad"};
  intake::Errors errors;
  (void)intake::decodeAe(body, false, errors);
  CHECK(fields(errors) == std::vector<std::string>{"serious_criteria[1]", "serious_criteria[2]"});
}

TEST_CASE("an AE update needs a reason and may carry base_version", "[intake]") {
  json body = validAe();
  intake::Errors errors;
  (void)intake::decodeAe(body, true, errors);
  CHECK(hasError(errors, "reason_for_change", "required"));
  // reason_for_change as every correction names it (issue 16), or reason as AE updates first did.
  body["reason_for_change"] = "grade corrected after review";
  errors.clear();
  CHECK(intake::decodeAe(body, true, errors).reason == "grade corrected after review");
  CHECK(errors.empty());
  body.erase("reason_for_change");
  body["reason"] = "grade corrected after review";
  body["base_version"] = 1;
  errors.clear();
  auto in = intake::decodeAe(body, true, errors);
  CHECK(errors.empty());
  CHECK(in.base_version == 1);
  // On create, reason is not a field.
  errors.clear();
  (void)intake::decodeAe(body, false, errors);
  CHECK(hasError(errors, "reason", "not a known field"));
}

TEST_CASE("participants: required facts, patterns and protocol dose levels", "[intake]") {
  json body = {{"study_id", "S01 001"}, {"site", "S01"}, {"enrolled_on", "2026-02-30"},
               {"liver_metastases", "no"}, {"dose_mg", {{"anlotinib", 11}, {"sintilimab", 100}}}};
  intake::Errors errors;
  (void)intake::decodeParticipant(body, errors);
  CHECK(hasError(errors, "study_id", "letters, digits"));
  CHECK(hasError(errors, "enrolled_on", "YYYY-MM-DD"));
  CHECK(hasError(errors, "liver_metastases", "true or false"));
  CHECK(hasError(errors, "prior_thoracic_radiotherapy", "required"));
  CHECK(hasError(errors, "dose_mg.anlotinib", "12, 10 or 8"));
  CHECK(hasError(errors, "dose_mg.sintilimab", "never reduced"));
}

TEST_CASE("participants: null dose means discontinued, absent keeps the starting dose", "[intake]") {
  json body = {{"study_id", "S01-001"}, {"site", "S01"}, {"enrolled_on", "2026-01-05"},
               {"liver_metastases", true}, {"prior_thoracic_radiotherapy", false},
               {"dose_mg", {{"anlotinib", nullptr}}}};
  intake::Errors errors;
  auto p = intake::decodeParticipant(body, errors);
  CHECK(errors.empty());
  CHECK_FALSE(p.anlotinib_dose_mg);
  CHECK(p.sintilimab_dose_mg == 200);
  CHECK(p.liver_metastases);
}

TEST_CASE("baseline labs need a unit and a coherent reference range", "[intake]") {
  json body = {{"study_id", "S01-001"}, {"site", "S01"}, {"enrolled_on", "2026-01-05"},
               {"liver_metastases", false}, {"prior_thoracic_radiotherapy", false},
               {"baseline_labs", {{{"test", "ALT"}, {"value", 30}, {"lln", 50}, {"uln", 40}},
                                  {{"test", "alt"}, {"value", 30}, {"unit", "U/L"}}}}};
  intake::Errors errors;
  (void)intake::decodeParticipant(body, errors);
  CHECK(hasError(errors, "baseline_labs[0].unit", "required"));
  CHECK(hasError(errors, "baseline_labs[0].lln", "must not exceed uln"));
  CHECK(hasError(errors, "baseline_labs[1].test", "LBTESTCD"));
}

TEST_CASE("doses: route follows the drug, a given dose has an amount, anlotinib days 1-14", "[intake]") {
  json body = {{"study_id", "S01-001"}, {"drug", "anlotinib"}, {"route", "intravenous"}, {"date", "2026-01-20"},
               {"cycle", 1}, {"day", 15}, {"status", "given"}};
  intake::Errors errors;
  (void)intake::decodeDose(body, errors);
  CHECK(hasError(errors, "route", "orally"));
  CHECK(hasError(errors, "dose_mg", "required"));
  CHECK(hasError(errors, "day", "days 1-14"));

  json held = {{"study_id", "S01-001"}, {"drug", "sintilimab"}, {"route", "intravenous"}, {"date", "2026-01-26"},
               {"cycle", 2}, {"day", 1}, {"status", "held"}};
  errors.clear();
  auto d = intake::decodeDose(held, errors);
  CHECK(errors.empty());
  CHECK_FALSE(d.dose_mg);
  held["day"] = 22;
  errors.clear();
  (void)intake::decodeDose(held, errors);
  CHECK(hasError(errors, "day", "between 1 and 21"));
}

TEST_CASE("labs need a unit, a zoned collection time and a valid test code", "[intake]") {
  json body = {{"study_id", "S01-001"}, {"test", "ALT"}, {"value", "high"}, {"collected_at", "2026-02-01T08:00:00"}};
  intake::Errors errors;
  (void)intake::decodeLab(body, "results[7].", errors);
  CHECK(hasError(errors, "results[7].value", "number"));
  CHECK(hasError(errors, "results[7].unit", "required"));
  CHECK(hasError(errors, "results[7].collected_at", "zone"));
}

TEST_CASE("vital signs: physiological ranges, diastolic below systolic, at least one value", "[intake]") {
  json body = {{"study_id", "S01-001"}, {"measured_at", "2026-02-03T09:00:00Z"}, {"systolic_mmhg", 90},
               {"diastolic_mmhg", 95}, {"temperature_c", 47.0}};
  intake::Errors errors;
  (void)intake::decodeVitals(body, errors);
  CHECK(hasError(errors, "diastolic_mmhg", "below systolic"));
  CHECK(hasError(errors, "temperature_c", "between 30 and 45"));
  json empty = {{"study_id", "S01-001"}, {"measured_at", "2026-02-03T09:00:00Z"}};
  errors.clear();
  (void)intake::decodeVitals(empty, errors);
  CHECK(hasError(errors, "(body)", "at least one"));
}

TEST_CASE("a body that is not an object is one clear error", "[intake]") {
  intake::Errors errors;
  (void)intake::decodeVitals(json::array(), errors);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].field == "(body)");
}

TEST_CASE("the direct lab serialiser writes exactly what nlohmann writes", "[intake]") {
  core::LabResult l;
  l.id = 42;
  l.study_id = "S01-001";
  l.test = "ALT";
  l.value = 0.1 + 0.2;  // not exactly representable: the number format must round-trip too
  l.unit = "U/L \"quoted\" \\ tab\t nl\n ctl\x01 µ";
  l.lln = std::nullopt;
  l.uln = 40;
  l.collected_at = "2026-02-01T08:00:00.000Z";
  l.specimen = "";
  l.recorded_at = "2026-02-01T09:00:00.000Z";
  l.recorded_by = "inv1";
  CHECK(intake::toJsonText(l) == intake::toJson(l).dump());
  CHECK(json::parse(intake::toJsonText(l))["unit"] == l.unit);
}
