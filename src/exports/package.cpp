#include "exports/package.h"

#include <Poco/DateTime.h>
#include <Poco/Zip/Compress.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <set>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/crypto.h"
#include "core/json_text.h"
#include "core/time.h"
#include "exports/format.h"

namespace vigil::exports {
namespace {

namespace fs = std::filesystem;

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

std::string percent(int n, int of) { return of > 0 ? fixed(100.0 * n / of, 1) : std::string(); }

// ---- CSV -------------------------------------------------------------------------------

class Csv {
 public:
  explicit Csv(std::initializer_list<std::string_view> header) {
    for (auto h : header) field(h);
    end();
  }
  Csv& field(std::string_view v) {
    if (!first_) out_ += ',';
    first_ = false;
    appendCsvField(out_, v);
    return *this;
  }
  Csv& field(int v) { return field(std::to_string(v)); }
  void end() {
    out_ += "\r\n";
    first_ = true;
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
  bool first_ = true;
};

// ---- SDTM datasets: CSV and Dataset-JSON written side by side ------------------------------

enum class Type { kString, kInteger, kDecimal };
struct Column {
  const char* name;
  const char* label;
  Type type;
};

class Dataset {
 public:
  Dataset(std::string name, std::string label, std::vector<Column> columns)
      : name_(std::move(name)), label_(std::move(label)), columns_(std::move(columns)) {
    for (size_t i = 0; i < columns_.size(); ++i) {
      if (i) csv_ += ',';
      csv_ += columns_[i].name;
    }
    csv_ += "\r\n";
  }
  // Values in column order; nullopt is a missing value (empty in CSV, null in JSON).
  void cell(std::optional<std::string_view> v) {
    const Column& c = columns_[col_];
    if (col_) {
      csv_ += ',';
      rows_ += ',';
    } else {
      rows_ += rows_.empty() ? "[" : ",\n[";
    }
    if (!v) {
      rows_ += "null";
    } else {
      appendCsvField(csv_, *v);
      if (c.type == Type::kString) {
        rows_ += '"';
        core::appendJsonEscaped(rows_, *v);
        rows_ += '"';
      } else {
        rows_ += *v;
      }
    }
    if (++col_ == columns_.size()) {
      csv_ += "\r\n";
      rows_ += ']';
      col_ = 0;
      ++records_;
    }
  }
  void cell(const std::string& v) { cell(std::optional<std::string_view>(v)); }
  void cell(const char* v) { cell(std::optional<std::string_view>(v)); }

  std::string& csv() { return csv_; }
  // CDISC Dataset-JSON 1.1. Its creation time is the data cut, so the file is deterministic.
  std::string json(const std::string& study_id, const std::string& cut, const std::string& software_version) const {
    std::string out = "{\n\"datasetJSONCreationDateTime\":\"";
    out += cut.substr(0, 19);
    out += "\",\n\"datasetJSONVersion\":\"1.1.0\",\n\"fileOID\":\"";
    core::appendJsonEscaped(out, "www.vigil.invalid/" + study_id + "/" + name_ + "/" + cut);
    out += "\",\n\"dbLastModifiedDateTime\":\"" + cut.substr(0, 19) + "\",\n\"originator\":\"Vigil\",\n";
    out += "\"sourceSystem\":{\"name\":\"Vigil\",\"version\":\"";
    core::appendJsonEscaped(out, software_version);
    out += "\"},\n\"studyOID\":\"";
    core::appendJsonEscaped(out, study_id);
    out += "\",\n\"metaDataVersionOID\":\"MDV.SDTMIG.3.4\",\n\"itemGroupOID\":\"IG." + name_ + "\",\n";
    out += "\"records\":" + std::to_string(records_) + ",\n\"name\":\"" + name_ + "\",\n\"label\":\"";
    core::appendJsonEscaped(out, label_);
    out += "\",\n\"columns\":[\n";
    for (size_t i = 0; i < columns_.size(); ++i) {
      const Column& c = columns_[i];
      out += i ? ",\n" : "";
      out += std::string("{\"itemOID\":\"IT.") + name_ + "." + c.name + "\",\"name\":\"" + c.name + "\",\"label\":\"" +
             c.label + "\",\"dataType\":\"" +
             (c.type == Type::kString ? "string" : c.type == Type::kInteger ? "integer" : "decimal") + "\"";
      if (i < 3) out += ",\"keySequence\":" + std::to_string(i + 1);
      out += "}";
    }
    out += "\n],\n\"rows\":[\n";
    out += rows_;
    out += "\n]\n}\n";
    return out;
  }

 private:
  std::string name_, label_;
  std::vector<Column> columns_;
  std::string csv_, rows_;
  size_t col_ = 0;
  size_t records_ = 0;
};

std::string yn(bool b) { return b ? "Y" : "N"; }

std::string relText(core::Relatedness r) {
  switch (r) {
    case core::Relatedness::kNotRelated: return "NOT RELATED";
    case core::Relatedness::kUnlikely: return "UNLIKELY RELATED";
    case core::Relatedness::kPossible: return "POSSIBLY RELATED";
    case core::Relatedness::kProbable: return "PROBABLY RELATED";
    case core::Relatedness::kDefinite: return "RELATED";
  }
  return "";
}

std::string actionText(core::ActionTaken a) {
  switch (a) {
    case core::ActionTaken::kDoseNotChanged: return "DOSE NOT CHANGED";
    case core::ActionTaken::kDoseReduced: return "DOSE REDUCED";
    case core::ActionTaken::kDoseIncreased: return "DOSE INCREASED";
    case core::ActionTaken::kDrugInterrupted: return "DRUG INTERRUPTED";
    case core::ActionTaken::kDrugWithdrawn: return "DRUG WITHDRAWN";
    case core::ActionTaken::kNotApplicable: return "NOT APPLICABLE";
    case core::ActionTaken::kUnknown: return "UNKNOWN";
  }
  return "";
}

std::string outcomeText(core::Outcome o) {
  switch (o) {
    case core::Outcome::kRecovered: return "RECOVERED/RESOLVED";
    case core::Outcome::kRecovering: return "RECOVERING/RESOLVING";
    case core::Outcome::kNotRecovered: return "NOT RECOVERED/NOT RESOLVED";
    case core::Outcome::kRecoveredWithSequelae: return "RECOVERED/RESOLVED WITH SEQUELAE";
    case core::Outcome::kFatal: return "FATAL";
    case core::Outcome::kUnknown: return "UNKNOWN";
  }
  return "";
}

// ISO 8601 as SDTM --DTC wants it: a date as is; a timestamp as its clock time as recorded, to the
// second, without the zone ("2026-10-01T08:30:00+08:00" -> "2026-10-01T08:30:00"), so the date
// stays the day the site recorded.
std::string dtc(const std::string& text) {
  if (text.size() <= 10 || !core::parseTimestamp(text)) return text;
  std::string local = text.substr(0, text.find_first_of("Z+-", 11));
  local = local.substr(0, local.find('.'));
  return local.size() == 16 ? local + ":00" : local;
}

// AEREL: the strongest relatedness any drug was given by the investigator.
std::optional<std::string> overallRel(const core::AeVersion& v) {
  std::optional<core::Relatedness> best;
  for (const auto& pd : v.per_drug)
    if (pd.relatedness && (!best || *pd.relatedness > *best)) best = pd.relatedness;
  if (!best) return std::nullopt;
  return relText(*best);
}

// AEACN: the action when both drugs share it, MULTIPLE when they differ (SDTMIG 3.4 AE
// assumption for several study treatments; the per-drug actions go to SUPPAE).
std::optional<std::string> overallAction(const core::AeVersion& v) {
  const auto& a = v.per_drug[0].action;
  const auto& s = v.per_drug[1].action;
  if (!a && !s) return std::nullopt;
  if (a && s && *a != *s) return std::string("MULTIPLE");
  return actionText(a ? *a : *s);
}

struct Sdtm {
  Dataset ae, suppae, lb;
};

Sdtm sdtmDatasets(const store::DataCut& cut, const Analysis& analysis, const Reference& ref, const PackageOptions& o) {
  Sdtm d{Dataset("AE", "Adverse Events",
                 {{"STUDYID", "Study Identifier", Type::kString},
                  {"DOMAIN", "Domain Abbreviation", Type::kString},
                  {"USUBJID", "Unique Subject Identifier", Type::kString},
                  {"AESEQ", "Sequence Number", Type::kInteger},
                  {"AESPID", "Sponsor-Defined Identifier", Type::kString},
                  {"AETERM", "Reported Term for the Adverse Event", Type::kString},
                  {"AELLT", "Lowest Level Term", Type::kString},
                  {"AELLTCD", "Lowest Level Term Code", Type::kInteger},
                  {"AEDECOD", "Dictionary-Derived Term", Type::kString},
                  {"AEBODSYS", "Body System or Organ Class", Type::kString},
                  {"AESER", "Serious Event", Type::kString},
                  {"AEACN", "Action Taken with Study Treatment", Type::kString},
                  {"AEREL", "Causality", Type::kString},
                  {"AEOUT", "Outcome of Adverse Event", Type::kString},
                  {"AESCONG", "Congenital Anomaly or Birth Defect", Type::kString},
                  {"AESDISAB", "Persist or Signif Disability/Incapacity", Type::kString},
                  {"AESDTH", "Results in Death", Type::kString},
                  {"AESHOSP", "Requires or Prolongs Hospitalization", Type::kString},
                  {"AESLIFE", "Is Life Threatening", Type::kString},
                  {"AESMIE", "Other Medically Important Serious Event", Type::kString},
                  {"AETOXGR", "Standard Toxicity Grade", Type::kString},
                  {"AESTDTC", "Start Date/Time of Adverse Event", Type::kString},
                  {"AEENDTC", "End Date/Time of Adverse Event", Type::kString}}),
         Dataset("SUPPAE", "Supplemental Qualifiers for AE",
                 {{"STUDYID", "Study Identifier", Type::kString},
                  {"RDOMAIN", "Related Domain Abbreviation", Type::kString},
                  {"USUBJID", "Unique Subject Identifier", Type::kString},
                  {"IDVAR", "Identifying Variable", Type::kString},
                  {"IDVARVAL", "Identifying Variable Value", Type::kString},
                  {"QNAM", "Qualifier Variable Name", Type::kString},
                  {"QLABEL", "Qualifier Variable Label", Type::kString},
                  {"QVAL", "Data Value", Type::kString},
                  {"QORIG", "Origin", Type::kString},
                  {"QEVAL", "Evaluator", Type::kString}}),
         Dataset("LB", "Laboratory Test Results",
                 {{"STUDYID", "Study Identifier", Type::kString},
                  {"DOMAIN", "Domain Abbreviation", Type::kString},
                  {"USUBJID", "Unique Subject Identifier", Type::kString},
                  {"LBSEQ", "Sequence Number", Type::kInteger},
                  {"LBSPID", "Sponsor-Defined Identifier", Type::kString},
                  {"LBTESTCD", "Lab Test or Examination Short Name", Type::kString},
                  {"LBTEST", "Lab Test or Examination Name", Type::kString},
                  {"LBORRES", "Result or Finding in Original Units", Type::kString},
                  {"LBORRESU", "Original Units", Type::kString},
                  {"LBORNRLO", "Reference Range Lower Limit in Orig Unit", Type::kString},
                  {"LBORNRHI", "Reference Range Upper Limit in Orig Unit", Type::kString},
                  {"LBSTRESC", "Character Result/Finding in Std Format", Type::kString},
                  {"LBSTRESN", "Numeric Result/Finding in Standard Units", Type::kDecimal},
                  {"LBSTRESU", "Standard Units", Type::kString},
                  {"LBSPEC", "Specimen Type", Type::kString},
                  {"LBTOX", "Toxicity", Type::kString},
                  {"LBTOXGR", "Standard Toxicity Grade", Type::kString},
                  {"LBDTC", "Date/Time of Specimen Collection", Type::kString}})};

  // AE: sorted by participant, then AE id; AESEQ counts within the participant.
  std::vector<const AeFacts*> aes;
  aes.reserve(analysis.aes.size());
  for (const auto& f : analysis.aes) aes.push_back(&f);
  std::stable_sort(aes.begin(), aes.end(),
                   [](const AeFacts* x, const AeFacts* y) { return x->report->study_id < y->report->study_id; });
  std::string previous;
  int seq = 0;
  static const char* kQnam[2][2] = {{"AERELANL", "AERELSIN"}, {"AEACNANL", "AEACNSIN"}};
  static const char* kQlabel[2][2] = {{"Causality to Anlotinib", "Causality to Sintilimab"},
                                      {"Action Taken with Anlotinib", "Action Taken with Sintilimab"}};
  for (const AeFacts* f : aes) {
    const auto& v = *f->version;
    const std::string& sid = f->report->study_id;
    if (sid != previous) seq = 0;
    previous = sid;
    const std::string usubjid = o.study_id + "-" + sid;
    const std::string aeseq = std::to_string(++seq);
    d.ae.cell(o.study_id);
    d.ae.cell("AE");
    d.ae.cell(usubjid);
    d.ae.cell(aeseq);
    d.ae.cell(std::to_string(f->report->id));
    d.ae.cell(v.verbatim);
    d.ae.cell(v.ctcae_term);
    d.ae.cell(v.meddra_code.empty() ? std::nullopt : std::optional<std::string_view>(v.meddra_code));
    d.ae.cell(v.ctcae_term);
    d.ae.cell(f->soc);
    d.ae.cell(yn(f->serious));
    const auto acn = overallAction(v);
    d.ae.cell(acn ? std::optional<std::string_view>(*acn) : std::nullopt);
    const auto rel = overallRel(v);
    d.ae.cell(rel ? std::optional<std::string_view>(*rel) : std::nullopt);
    d.ae.cell(outcomeText(v.outcome));
    for (core::Seriousness s : {core::Seriousness::kCongenitalAnomaly, core::Seriousness::kDisability,
                                core::Seriousness::kDeath, core::Seriousness::kHospitalization,
                                core::Seriousness::kLifeThreatening, core::Seriousness::kImportantMedicalEvent})
      d.ae.cell(yn(v.hasCriterion(s)));
    d.ae.cell(std::to_string(v.grade));
    d.ae.cell(dtc(v.start));
    const std::string end = v.end ? dtc(*v.end) : std::string();
    d.ae.cell(v.end ? std::optional<std::string_view>(end) : std::nullopt);
    // SUPPAE: causality per drug always; the action per drug where AEACN says MULTIPLE.
    for (size_t kind = 0; kind < 2; ++kind) {
      if (kind == 1 && acn != "MULTIPLE") continue;
      for (size_t drug = 0; drug < 2; ++drug) {
        const auto& pd = v.per_drug[drug];
        std::string value;
        if (kind == 0 && pd.relatedness) value = relText(*pd.relatedness);
        if (kind == 1 && pd.action) value = actionText(*pd.action);
        if (value.empty()) continue;
        for (const char* c : {o.study_id.c_str(), "AE", usubjid.c_str(), "AESEQ", aeseq.c_str(), kQnam[kind][drug],
                              kQlabel[kind][drug], value.c_str(), "CRF", kind == 0 ? "INVESTIGATOR" : ""})
          d.suppae.cell(std::optional<std::string_view>(c));
      }
    }
  }

  // LB: in the cut's order (participant, collection time, id).
  previous.clear();
  for (size_t i = 0; i < cut.labs.size(); ++i) {
    const auto& l = cut.labs[i];
    if (l.study_id != previous) seq = 0;
    previous = l.study_id;
    const auto* analyte = ref.grader.find(l.test);
    d.lb.cell(o.study_id);
    d.lb.cell("LB");
    d.lb.cell(o.study_id + "-" + l.study_id);
    d.lb.cell(std::to_string(++seq));
    d.lb.cell(std::to_string(l.id));
    d.lb.cell(analyte ? analyte->code : l.test);
    d.lb.cell(analyte ? std::optional<std::string_view>(analyte->name) : std::nullopt);
    const std::string orres = number(l.value);
    d.lb.cell(orres);
    d.lb.cell(l.unit.empty() ? std::nullopt : std::optional<std::string_view>(l.unit));
    const std::string lo = l.lln ? number(*l.lln) : std::string(), hi = l.uln ? number(*l.uln) : std::string();
    d.lb.cell(l.lln ? std::optional<std::string_view>(lo) : std::nullopt);
    d.lb.cell(l.uln ? std::optional<std::string_view>(hi) : std::nullopt);
    // Standard units: the analyte's SI unit where the value converts to it, else as collected.
    double value = l.value;
    std::string unit = l.unit;
    if (analyte) {
      auto prepared = ref.grader.prepare(*analyte, l.unit);
      if (prepared.isOk() && prepared.value().system == grading::UnitSystem::kSi) {
        value *= prepared.value().factor;
        unit = analyte->si_unit;
      }
    }
    const std::string stres = number(value);
    d.lb.cell(stres);
    d.lb.cell(stres);
    d.lb.cell(unit.empty() ? std::nullopt : std::optional<std::string_view>(unit));
    d.lb.cell(l.specimen.empty() ? std::nullopt : std::optional<std::string_view>(l.specimen));
    // LBTOX/LBTOXGR: the worst CTCAE grade the value reached (one record holds one grade).
    std::string tox, toxgr;
    int worst = -1;
    for (const auto& g : analysis.lab_grades[i])
      if (g.grade && *g.grade > worst) {
        worst = *g.grade;
        tox = g.term;
      }
    if (worst >= 0) toxgr = std::to_string(worst);
    d.lb.cell(tox.empty() ? std::nullopt : std::optional<std::string_view>(tox));
    d.lb.cell(toxgr.empty() ? std::nullopt : std::optional<std::string_view>(toxgr));
    d.lb.cell(dtc(l.collected_at));
  }
  return d;
}

// ---- tables and listings -------------------------------------------------------------------

std::string incidenceCsv(const IncidenceTable& t) {
  Csv csv({"level", "soc", "term", "n_treated", "grade_1_n", "grade_1_pct", "grade_2_n", "grade_2_pct", "grade_3_n",
           "grade_3_pct", "grade_4_n", "grade_4_pct", "grade_5_n", "grade_5_pct", "grade_3_plus_n", "grade_3_plus_pct",
           "any_grade_n", "any_grade_pct"});
  for (const auto& r : t.rows) {
    csv.field(r.soc.empty() ? "any" : r.term.empty() ? "soc" : "term")
        .field(r.soc.empty() ? "Any adverse event" : r.soc)
        .field(r.term)
        .field(t.denominator);
    for (int n : r.by_worst_grade) csv.field(n).field(percent(n, t.denominator));
    csv.field(r.grade3_plus).field(percent(r.grade3_plus, t.denominator));
    csv.field(r.any).field(percent(r.any, t.denominator));
    csv.end();
  }
  return csv.take();
}

// "a;b;c": listings keep several values in one field.
void addItem(std::string& list, std::string_view item) {
  if (!list.empty()) list += ';';
  list += item;
}

std::string relOf(const std::optional<core::Relatedness>& r) { return r ? std::string(core::toString(*r)) : ""; }
std::string acnOf(const std::optional<core::ActionTaken>& a) { return a ? std::string(core::toString(*a)) : ""; }

std::string criteriaOf(const core::AeVersion& v) {
  std::string out;
  for (auto s : v.serious_criteria) addItem(out, core::toString(s));
  return out;
}

// Whole days from `occurred` (a date or timestamp) to `entered` when more than late_ms apart.
std::optional<int64_t> daysLate(const std::string& occurred, const std::string& entered, int64_t late_ms) {
  const auto at = core::parseInstant(occurred);
  const auto in = core::parseTimestamp(entered);
  if (!at || !in || *in - *at <= late_ms) return std::nullopt;
  return (*in - *at) / core::kDayMs;
}

std::string aeListing(const std::vector<const AeFacts*>& rows, int64_t late_ms) {
  Csv csv({"study_id", "site", "ae_id", "version", "ctcae_term", "soc", "grade", "serious_criteria", "start", "end",
           "outcome", "rel_anlotinib", "rel_sintilimab", "action_anlotinib", "action_sintilimab", "categories", "aesi",
           "treatment_emergent", "entered_at", "late_entry"});
  for (const AeFacts* f : rows) {
    const auto& v = *f->version;
    std::string cats;
    for (const auto& c : f->categories) addItem(cats, c);
    csv.field(f->report->study_id).field(f->report->site).field(std::to_string(f->report->id)).field(v.version)
        .field(v.ctcae_term).field(f->soc).field(v.grade).field(criteriaOf(v)).field(dtc(v.start))
        .field(v.end ? dtc(*v.end) : "").field(core::toString(v.outcome))
        .field(relOf(v.per_drug[0].relatedness)).field(relOf(v.per_drug[1].relatedness))
        .field(acnOf(v.per_drug[0].action)).field(acnOf(v.per_drug[1].action)).field(cats)
        .field(yn(f->aesi)).field(yn(f->emergent)).field(f->report->entered_at)
        .field(yn(daysLate(v.start, f->report->entered_at, late_ms).has_value()));
    csv.end();
  }
  return csv.take();
}

// Each participant's baseline facts (issue 14): what the registration carried, blank where not given.
std::string demographicsListing(const store::DataCut& cut) {
  Csv csv({"study_id", "site", "enrolled_on", "sex", "age", "birth_year", "weight_kg", "ecog", "hbsag", "anti_hbc",
           "hbv_dna_iu_ml", "fistula_or_perforation_6m", "liver_metastases", "prior_thoracic_radiotherapy"});
  auto num = [](const auto& v) {
    if (!v) return std::string();
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.12g", static_cast<double>(*v));
    return std::string(buf);
  };
  for (const auto& p : cut.participants) {
    const auto& f = p.facts;
    csv.field(p.study_id).field(p.site).field(p.enrolled_on).field(f.sex.value_or("")).field(num(f.age))
        .field(num(f.birth_year)).field(num(f.weight_kg)).field(num(f.ecog)).field(f.hbsag.value_or(""))
        .field(f.anti_hbc.value_or("")).field(num(f.hbv_dna_iu_ml))
        .field(f.fistula_or_perforation_6m ? yn(*f.fistula_or_perforation_6m) : std::string())
        .field(yn(p.liver_metastases)).field(yn(p.prior_thoracic_radiotherapy));
    csv.end();
  }
  return csv.take();
}

// Every AE, lab result and dose entered more than late_ms after it occurred (issue 14.5): late
// data is what makes a recommendation that a later entry withdraws.
std::string lateEntryListing(const store::DataCut& cut, int64_t late_ms) {
  Csv csv({"study_id", "record", "occurred", "entered_at", "days_late"});
  struct Row {
    std::string study_id, record, occurred, entered;
    int64_t days;
  };
  std::vector<Row> rows;
  auto add = [&](const std::string& study_id, const std::string& record, const std::string& occurred,
                 const std::string& entered) {
    if (auto days = daysLate(occurred, entered, late_ms)) rows.push_back({study_id, record, occurred, entered, *days});
  };
  for (const auto& r : cut.adverse_events) add(r.study_id, "ae/" + std::to_string(r.id), r.versions.front().start, r.entered_at);
  // Entered when first recorded: a correction since does not make a record late.
  for (const auto& l : cut.labs)
    add(l.study_id, "lab/" + std::to_string(l.id), l.collected_at, l.revision.enteredOr(l.recorded_at));
  for (const auto& d : cut.doses) add(d.study_id, "dose/" + std::to_string(d.id), d.date, d.revision.enteredOr(d.recorded_at));
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    return a.study_id != b.study_id ? a.study_id < b.study_id : a.entered < b.entered;
  });
  for (const auto& r : rows) {
    csv.field(r.study_id).field(r.record).field(r.occurred).field(r.entered).field(std::to_string(r.days));
    csv.end();
  }
  return csv.take();
}

std::string deviationListing(const std::vector<const core::SafetyChange*>& rows) {
  Csv csv({"study_id", "recorded_at", "code", "drug", "date", "dose_ref", "rule_ids", "unverified", "text"});
  for (const auto* c : rows) {
    const auto parsed = nlohmann::json::parse(c->detail, nullptr, false);
    const auto d = parsed.is_object() ? parsed : nlohmann::json::object();
    std::string ids;
    if (d.contains("rule_ids") && d["rule_ids"].is_array())
      for (const auto& id : d["rule_ids"]) addItem(ids, id.get<std::string>());
    csv.field(c->study_id).field(c->at).field(d.value("code", "")).field(d.contains("drug") && d["drug"].is_string() ? d["drug"].get<std::string>() : "")
        .field(d.value("date", "")).field(d.value("dose_ref", "")).field(ids).field(yn(d.value("unverified", false)))
        .field(d.value("text", ""));
    csv.end();
  }
  return csv.take();
}

std::string candidateListing(const std::vector<const core::AeCandidate*>& rows) {
  Csv csv({"candidate_id", "study_id", "ctcae_term", "grade", "worst_case_grade", "baseline_grade", "source",
           "source_ids", "created_at"});
  for (const auto* c : rows) {
    std::string ids;
    for (auto id : c->source_ids) addItem(ids, std::to_string(id));
    csv.field(std::to_string(c->id)).field(c->study_id).field(c->ctcae_term).field(c->grade).field(c->worst_case_grade)
        .field(c->baseline_grade).field(c->source).field(ids).field(c->created_at);
    csv.end();
  }
  return csv.take();
}

std::string pregnancyListing(const std::vector<const core::PregnancyReport*>& rows) {
  Csv csv({"pregnancy_id", "study_id", "site", "subject", "site_aware_at", "outcome", "outcome_aware_at"});
  for (const auto* g : rows) {
    csv.field(std::to_string(g->id)).field(g->study_id).field(g->site).field(g->subject).field(g->site_aware_at)
        .field(g->outcome).field(g->outcome_aware_at.value_or(""));
    csv.end();
  }
  return csv.take();
}

// Corrections and voids since the previous package's cut (issue 16): what a reviewer who saw that
// package needs to know changed under it. The fields named are those whose value differs between
// the version before and after; bookkeeping (version, when, the reason) is in its own columns. Who
// made the change stays in the audit trail: the package names no user.
std::string changeListing(const store::DataCut& cut) {
  Csv csv({"study_id", "at", "action", "record", "version", "changed_fields", "reason"});
  static const std::set<std::string> kBookkeeping = {"version",     "recorded_at", "recorded_by", "reason",
                                                     "reason_for_change", "voided", "updated_at", "versions"};
  for (const auto& row : cut.changes) {
    const auto& e = row.entry;
    const auto before = nlohmann::json::parse(e.before, nullptr, false);
    const auto after = nlohmann::json::parse(e.after, nullptr, false);
    std::string fields, reason, version;
    if (before.is_object() && after.is_object() && e.action == "update") {
      for (auto it = after.begin(); it != after.end(); ++it)
        if (!kBookkeeping.count(it.key()) && (!before.contains(it.key()) || before[it.key()] != it.value()))
          addItem(fields, it.key());
    }
    if (after.is_object()) {
      for (const char* key : {"reason_for_change", "reason", "decision_reason"})
        if (reason.empty() && after.contains(key) && after[key].is_string()) reason = after[key].get<std::string>();
      if (after.contains("version") && after["version"].is_number_integer())
        version = std::to_string(after["version"].get<int64_t>());
    }
    csv.field(row.study_id.value_or("")).field(e.at).field(e.action).field(e.entity + "/" + e.entity_id)
        .field(version).field(fields).field(reason);
    csv.end();
  }
  return csv.take();
}

std::string clockListing(const std::vector<ClockRow>& rows) {
  Csv csv({"study_id", "site", "ae_id", "kind", "anchor", "due_at", "met_at", "state", "hours_late"});
  for (const auto& r : rows) {
    const auto& d = *r.deadline;
    csv.field(d.study_id).field(d.site).field(std::to_string(d.ae_id)).field(d.kind).field(d.anchor).field(d.due_at)
        .field(d.met_at).field(r.state).field(fixed(r.hours_late, 1));
    csv.end();
  }
  return csv.take();
}

std::string shiftCsv(const std::vector<ShiftTable>& shifts) {
  Csv csv({"lbtestcd", "ctcae_term", "baseline_grade", "post_0", "post_1", "post_2", "post_3", "post_4", "post_missing",
           "participants"});
  static const char* kLabel[6] = {"0", "1", "2", "3", "4", "missing"};
  for (const auto& t : shifts) {
    for (size_t b = 0; b < 6; ++b) {
      int total = 0;
      for (int n : t.counts[b]) total += n;
      csv.field(t.test).field(t.term).field(kLabel[b]);
      for (int n : t.counts[b]) csv.field(n);
      csv.field(total);
      csv.end();
    }
  }
  return csv.take();
}

std::string exposureCsv(const std::vector<Exposure>& rows) {
  Csv csv({"study_id", "site", "treated", "first_dose", "last_dose", "days_on_treatment", "cycles_started",
           "anlotinib_mg_given", "anlotinib_mg_planned", "anlotinib_rdi_pct", "anlotinib_days_given", "sintilimab_doses",
           "doses_held", "first_discontinuation"});
  for (const auto& e : rows) {
    const bool treated = !e.first_dose.empty();
    csv.field(e.study_id).field(e.site).field(yn(treated)).field(e.first_dose).field(e.last_dose)
        .field(treated ? std::to_string(e.days_on_treatment) : "").field(e.cycles_started)
        .field(number(e.anlotinib_mg_given)).field(number(e.anlotinib_mg_planned))
        .field(e.anlotinib_rdi ? fixed(100 * *e.anlotinib_rdi, 1) : "").field(e.anlotinib_days_given)
        .field(e.sintilimab_doses).field(e.holds).field(e.discontinued.value_or(""));
    csv.end();
  }
  return csv.take();
}

std::string exposureSummaryCsv(const Analysis& a) {
  Csv csv({"measure", "n", "median", "min", "max", "total"});
  for (const auto& s : a.exposure_summary) {
    const bool any = s.n > 0;
    csv.field(s.label).field(s.n).field(any ? fixed(s.median, 1) : "").field(any ? fixed(s.min, 1) : "")
        .field(any ? fixed(s.max, 1) : "").field(fixed(s.total, 1));
    csv.end();
  }
  csv.field("Participant-years on treatment").field(a.treated).field("").field("").field("").field(fixed(a.participant_years, 3));
  csv.end();
  return csv.take();
}

std::string ratesCsv(const Analysis& a) {
  Csv csv({"event", "label", "events", "participant_years", "per_100_participant_years"});
  for (const auto& r : a.rates) {
    csv.field(r.id).field(r.label).field(r.events).field(fixed(a.participant_years, 3)).field(fixed(r.per_100_py, 2));
    csv.end();
  }
  return csv.take();
}

std::string stoppingCsv(const Analysis& a) {
  Csv csv({"id", "label", "observed", "treated", "unacceptable_rate", "prior_a", "prior_b", "posterior_a", "posterior_b",
           "posterior_probability", "threshold", "crossed", "verified", "source"});
  for (const auto& r : a.stopping) {
    const Boundary& b = *r.boundary;
    csv.field(b.id).field(b.label).field(r.observed).field(r.treated).field(number(b.unacceptable_rate))
        .field(number(b.prior_a)).field(number(b.prior_b)).field(number(r.posterior_a)).field(number(r.posterior_b))
        .field(fixed(r.probability, 4)).field(number(b.threshold)).field(yn(r.crossed))
        .field(b.verified ? "VERIFIED" : "UNVERIFIED").field(b.source);
    csv.end();
  }
  return csv.take();
}

std::string categoryCsv(const Analysis& a) {
  Csv csv({"category", "kind", "n_treated", "grade_1_n", "grade_2_n", "grade_3_n", "grade_4_n", "grade_5_n",
           "grade_3_plus_n", "grade_3_plus_pct", "any_grade_n", "any_grade_pct"});
  for (const auto& r : a.by_category) {
    csv.field(r.category).field(r.kind).field(a.treated);
    for (int n : r.by_worst_grade) csv.field(n);
    csv.field(r.grade3_plus).field(percent(r.grade3_plus, a.treated)).field(r.any).field(percent(r.any, a.treated));
    csv.end();
  }
  return csv.take();
}

}  // namespace

void appendCsvField(std::string& out, std::string_view field) {
  if (field.find_first_of(",\"\r\n") == std::string_view::npos) {
    out += field;
    return;
  }
  out += '"';
  for (char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

core::Result<PackageResult> writePackage(const store::DataCut& cut, const Reference& ref, const PackageOptions& options,
                                         const std::string& out_dir, const Progress& progress) {
  auto step = [&](std::string_view stage, double f) {
    if (progress) progress(stage, f);
  };
  PackageResult result;
  result.directory = out_dir;
  result.zip = out_dir + ".zip";
  std::error_code ec;
  fs::create_directories(fs::path(out_dir) / "tables", ec);
  fs::create_directories(fs::path(out_dir) / "listings", ec);
  fs::create_directories(fs::path(out_dir) / "sdtm", ec);
  if (ec) return core::Status::unavailable("cannot create " + out_dir + ": " + ec.message());

  std::map<std::string, std::string> files;  // path -> content, written in path order
  step("analysing", 0.05);
  const Analysis analysis = analyse(cut, ref, AnalysisOptions{options.zero_rows});
  // The SDTM datasets (the bulk of the bytes) are built on a second thread meanwhile.
  auto sdtm_files = std::async(std::launch::async, [&] {
    std::map<std::string, std::string> out;
    Sdtm sdtm = sdtmDatasets(cut, analysis, ref, options);
    out["sdtm/ae.json"] = sdtm.ae.json(options.study_id, cut.cut, options.software_version);
    out["sdtm/suppae.json"] = sdtm.suppae.json(options.study_id, cut.cut, options.software_version);
    out["sdtm/lb.json"] = sdtm.lb.json(options.study_id, cut.cut, options.software_version);
    out["sdtm/ae.csv"] = std::move(sdtm.ae.csv());
    out["sdtm/suppae.csv"] = std::move(sdtm.suppae.csv());
    out["sdtm/lb.csv"] = std::move(sdtm.lb.csv());
    return out;
  });
  step("tables", 0.25);
  for (const auto& t : analysis.incidence) files["tables/incidence_" + t.id + ".csv"] = incidenceCsv(t);
  files["tables/incidence_by_category.csv"] = categoryCsv(analysis);
  files["tables/lab_shift.csv"] = shiftCsv(analysis.shifts);
  files["tables/exposure.csv"] = exposureCsv(analysis.exposure);
  files["tables/exposure_summary.csv"] = exposureSummaryCsv(analysis);
  files["tables/event_rates.csv"] = ratesCsv(analysis);
  files["tables/stopping_monitor.csv"] = stoppingCsv(analysis);
  step("listings", 0.35);
  files["listings/serious_aes.csv"] = aeListing(analysis.serious, options.late_entry_ms);
  files["listings/deaths.csv"] = aeListing(analysis.deaths, options.late_entry_ms);
  files["listings/dose_actions.csv"] = aeListing(analysis.dose_actions, options.late_entry_ms);
  files["listings/late_entries.csv"] = lateEntryListing(cut, options.late_entry_ms);
  files["listings/demographics.csv"] = demographicsListing(cut);
  files["listings/protocol_deviations.csv"] = deviationListing(analysis.deviations);
  files["listings/pending_lab_aes.csv"] = candidateListing(analysis.pending_candidates);
  files["listings/reporting_clocks.csv"] = clockListing(analysis.clocks);
  files["listings/pregnancies.csv"] = pregnancyListing(analysis.pregnancies);
  files["listings/changes.csv"] = changeListing(cut);
  step("report", 0.45);
  files["report.html"] = renderReport(analysis, ref, options);
  step("SDTM datasets", 0.55);
  files.merge(sdtm_files.get());

  step("writing files", 0.7);
  nlohmann::ordered_json manifest;
  manifest["format"] = "vigil-dsmb-package/1";
  manifest["data_cut"] = cut.cut;
  manifest["software"] = {{"name", "Vigil"}, {"version", options.software_version}};
  manifest["versions"] = {{"ctcae", ref.ctcae_version},
                          {"dose_rules", ref.dose_rules_version},
                          {"categories", ref.categories.version()},
                          {"aesi_rules", ref.reporting.aesiVersion()},
                          {"rsi_anlotinib", ref.reporting.rsi(core::Drug::kAnlotinib).version},
                          {"rsi_sintilimab", ref.reporting.rsi(core::Drug::kSintilimab).version},
                          {"stopping_rules", ref.stopping.version}};
  manifest["study_id"] = options.study_id;
  manifest["participants"] = analysis.participants;
  manifest["treated"] = analysis.treated;
  manifest["zero_rows"] = options.zero_rows;
  // listings/changes.csv holds the corrections and voids made after this cut (issue 16).
  manifest["changes_since"] = cut.previous_cut ? nlohmann::ordered_json(*cut.previous_cut) : nlohmann::ordered_json(nullptr);
  // The audit chain's head as of the cut (issue 13.4): a copy outside the database, so a later cut
  // of the chain's tail shows against any package (vigilctl audit verify --manifest). As of the
  // cut, not as read, and no generation time: two exports of one cut are identical to the byte
  // (issue 18); the time of generation is in the audit entry and the zip's comment.
  manifest["audit_anchor"] = {{"seq", cut.audit_head.seq}, {"hash", cut.audit_head.hash}};
  // Written and hashed on two threads, each taking the next file; listed in path order.
  std::vector<const std::pair<const std::string, std::string>*> todo;
  for (const auto& entry : files) todo.push_back(&entry);
  result.files.resize(todo.size());
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  auto worker = [&] {
    for (size_t i = next++; i < todo.size(); i = next++) {
      const auto& [path, content] = *todo[i];
      std::ofstream out(fs::path(out_dir) / path, std::ios::binary | std::ios::trunc);
      out.write(content.data(), static_cast<std::streamsize>(content.size()));
      if (!out) failed = true;
      result.files[i] = PackageFile{path, core::sha256Hex(content), content.size()};
    }
  };
  auto helper = std::async(std::launch::async, worker);
  worker();
  helper.get();
  if (failed) return core::Status::unavailable("cannot write the package files under " + out_dir);
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const auto& f : result.files) list.push_back({{"path", f.path}, {"sha256", f.sha256}, {"bytes", f.bytes}});
  manifest["files"] = std::move(list);
  const std::string manifest_text = manifest.dump(2) + "\n";
  {
    std::ofstream out(fs::path(out_dir) / "manifest.json", std::ios::binary | std::ios::trunc);
    out << manifest_text;
    if (!out) return core::Status::unavailable("cannot write " + out_dir + "/manifest.json");
  }
  result.manifest_sha256 = core::sha256Hex(manifest_text);

  step("zipping", 0.8);
  try {
    std::ofstream zip_out(result.zip, std::ios::binary | std::ios::trunc);
    if (!zip_out) return core::Status::unavailable("cannot write " + result.zip);
    Poco::Zip::Compress zip(zip_out, true);
    // Entries carry the data cut as their time, so the zip depends on nothing but the package.
    const int64_t cut_ms = analysis.cut_ms;
    const int64_t day = cut_ms / core::kDayMs;
    const std::string date = core::formatDate(day);
    const int64_t sec = (cut_ms % core::kDayMs) / 1000;
    const Poco::DateTime when(std::stoi(date.substr(0, 4)), std::stoi(date.substr(5, 2)), std::stoi(date.substr(8, 2)),
                              static_cast<int>(sec / 3600), static_cast<int>(sec / 60 % 60), static_cast<int>(sec % 60));
    const std::string root = fs::path(out_dir).filename().string();
    auto add = [&](const std::string& path, const std::string& content) {
      std::istringstream in(content);
      zip.addFile(in, when, Poco::Path(root + "/" + path, Poco::Path::PATH_UNIX), Poco::Zip::ZipCommon::CM_DEFLATE,
                  Poco::Zip::ZipCommon::CL_SUPERFAST);
    };
    add("manifest.json", manifest_text);
    size_t done = 0;
    for (const auto& [path, content] : files) {
      add(path, content);
      step("zipping", 0.8 + 0.2 * static_cast<double>(++done) / static_cast<double>(files.size()));
    }
    zip.setZipComment("Vigil DSMB package, data cut " + cut.cut + ", generated " + options.generated_at);
    zip.close();
    zip_out.close();
    if (!zip_out) return core::Status::unavailable("cannot write " + result.zip);
  } catch (const Poco::Exception& e) {
    return core::Status::unavailable("cannot write " + result.zip + ": " + e.displayText());
  }
  step("done", 1.0);
  return result;
}

}  // namespace vigil::exports
