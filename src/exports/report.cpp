// report.html of the DSMB package: one self-contained page (inline CSS and SVG, no script, no
// external asset) that reads on screen and prints to PDF (A4 landscape).

#include <algorithm>
#include <cstdio>
#include <map>

#include "core/html_text.h"
#include "core/time.h"
#include "exports/format.h"
#include "exports/package.h"

namespace vigil::exports {
namespace {

const char* const kGradeColour[5] = {"#7cb342", "#fdd835", "#fb8c00", "#e53935", "#212121"};

std::string esc(std::string_view s) { return core::htmlEscaped(s); }

std::string cell(int n, int of) {
  if (n == 0) return "0";
  return std::to_string(n) + " (" + (of > 0 ? fixed(100.0 * n / of, 1) : std::string("-")) + "%)";
}

constexpr const char* kStyle = R"CSS(
*{box-sizing:border-box;-webkit-print-color-adjust:exact;print-color-adjust:exact}
body{font:13px/1.4 "DejaVu Sans","Liberation Sans",Arial,sans-serif;color:#222;margin:24px;max-width:1200px}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:17px;margin:28px 0 8px;border-bottom:2px solid #345;padding-bottom:3px;break-after:avoid}
h3{font-size:14px;margin:16px 0 6px;break-after:avoid}
p.meta{color:#555;margin:2px 0}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:14px 0}
.card{border:1px solid #bbc;border-radius:4px;padding:8px 12px;min-width:140px}
.card b{display:block;font-size:20px}
.alert{color:#b71c1c;font-weight:bold}
.unverified{background:#fff3cd;border:1px solid #e0c060;border-radius:3px;padding:0 4px;font-size:11px}
table{border-collapse:collapse;margin:6px 0 12px;font-size:12px}
th,td{border:1px solid #ccd;padding:2px 6px;text-align:left;vertical-align:top}
th{background:#eef1f5}
td.n{text-align:right;white-space:nowrap}
tr.soc td{font-weight:bold;background:#f6f7f9}
tr.any td{font-weight:bold;background:#e8edf3}
tr{break-inside:avoid}
svg{max-width:100%;height:auto}
.legend span{display:inline-block;margin-right:12px}
.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:middle}
.note{color:#555;font-size:11px}
@page{size:A4 landscape;margin:12mm}
@media print{body{margin:0;max-width:none}h2{break-before:auto}section{break-inside:auto}}
)CSS";

void legend(std::string& h) {
  h += "<p class=\"legend\">";
  for (int g = 0; g < 5; ++g)
    h += std::string("<span><i style=\"background:") + kGradeColour[g] + "\"></i>Grade " + std::to_string(g + 1) + "</span>";
  h += "</p>\n";
}

void stoppingSection(std::string& h, const Analysis& a) {
  h += "<section id=\"stopping\"><h2>Stopping-rule monitor</h2>\n";
  h += "<p class=\"note\">Beta-binomial model: prior Beta(a, b), x of n treated participants with a qualifying "
       "treatment-emergent event; posterior Beta(a + x, b + n - x). A boundary is crossed when P(true rate &gt; "
       "unacceptable rate) reaches its threshold. Vigil reports; the DSMB decides.</p>\n";
  h += "<table><tr><th>Boundary</th><th>Observed</th><th>Unacceptable rate</th><th>Prior</th><th>P(rate &gt; "
       "unacceptable)</th><th>Threshold</th><th>Crossed</th><th>Source</th></tr>\n";
  for (const auto& r : a.stopping) {
    const Boundary& b = *r.boundary;
    h += "<tr><td>" + esc(b.id) + "<br>" + esc(b.label) + "</td><td class=\"n\">" + cell(r.observed, r.treated) + " of " +
         std::to_string(r.treated) + "</td><td class=\"n\">" + fixed(100 * b.unacceptable_rate, 1) +
         "%</td><td class=\"n\">Beta(" + fixed(b.prior_a, 2) + ", " + fixed(b.prior_b, 2) + ")</td><td class=\"n\">" +
         fixed(r.probability, 3) + "</td><td class=\"n\">" + fixed(b.threshold, 2) + "</td><td>" +
         (r.crossed ? "<span class=\"alert\">CROSSED</span>" : "no") + "</td><td>" +
         (b.verified ? "" : "<span class=\"unverified\">UNVERIFIED</span> ") + esc(b.source) + "</td></tr>\n";
  }
  h += "</table>\n";
  // Bars: posterior probability against the threshold.
  const int row = 26, left = 190, width = 520;
  const int height = static_cast<int>(a.stopping.size()) * row + 30;
  h += "<svg role=\"img\" aria-label=\"Posterior probability per boundary\" width=\"760\" height=\"" +
       std::to_string(height) + "\" viewBox=\"0 0 760 " + std::to_string(height) + "\" xmlns=\"http://www.w3.org/2000/svg\">\n";
  for (int t = 0; t <= 4; ++t) {
    const int x = left + width * t / 4;
    h += "<line x1=\"" + std::to_string(x) + "\" y1=\"0\" x2=\"" + std::to_string(x) + "\" y2=\"" +
         std::to_string(height - 20) + "\" stroke=\"#ddd\"/><text x=\"" + std::to_string(x) + "\" y=\"" +
         std::to_string(height - 6) + "\" font-size=\"11\" text-anchor=\"middle\">" + fixed(t / 4.0, 2) + "</text>\n";
  }
  int y = 4;
  for (const auto& r : a.stopping) {
    const int w = static_cast<int>(r.probability * width + 0.5);
    const int tx = left + static_cast<int>(r.boundary->threshold * width + 0.5);
    h += "<text x=\"" + std::to_string(left - 6) + "\" y=\"" + std::to_string(y + 14) +
         "\" font-size=\"11\" text-anchor=\"end\">" + esc(r.boundary->id) + "</text>";
    h += "<rect x=\"" + std::to_string(left) + "\" y=\"" + std::to_string(y + 3) + "\" width=\"" + std::to_string(w) +
         "\" height=\"16\" fill=\"" + (r.crossed ? "#c62828" : "#546e7a") + "\"/>";
    h += "<line x1=\"" + std::to_string(tx) + "\" y1=\"" + std::to_string(y) + "\" x2=\"" + std::to_string(tx) +
         "\" y2=\"" + std::to_string(y + 22) + "\" stroke=\"#000\" stroke-width=\"2\" stroke-dasharray=\"3,2\"/>";
    h += "<text x=\"" + std::to_string(left + w + 4) + "\" y=\"" + std::to_string(y + 15) + "\" font-size=\"11\">" +
         fixed(r.probability, 3) + "</text>\n";
    y += row;
  }
  h += "</svg><p class=\"note\">Bar: posterior probability; dashed line: threshold.</p></section>\n";
}

void categoryBars(std::string& h, const Analysis& a) {
  h += "<section id=\"categories\"><h2>Incidence by safety category and worst grade</h2>\n";
  legend(h);
  const int row = 18, left = 190, width = 560;
  const int height = static_cast<int>(a.by_category.size()) * row + 30;
  h += "<svg role=\"img\" aria-label=\"Incidence by category and grade\" width=\"820\" height=\"" + std::to_string(height) +
       "\" viewBox=\"0 0 820 " + std::to_string(height) + "\" xmlns=\"http://www.w3.org/2000/svg\">\n";
  for (int t = 0; t <= 5; ++t) {
    const int x = left + width * t / 5;
    h += "<line x1=\"" + std::to_string(x) + "\" y1=\"0\" x2=\"" + std::to_string(x) + "\" y2=\"" +
         std::to_string(height - 20) + "\" stroke=\"#ddd\"/><text x=\"" + std::to_string(x) + "\" y=\"" +
         std::to_string(height - 6) + "\" font-size=\"11\" text-anchor=\"middle\">" + std::to_string(t * 20) +
         "%</text>\n";
  }
  int y = 2;
  for (const auto& r : a.by_category) {
    h += "<text x=\"" + std::to_string(left - 6) + "\" y=\"" + std::to_string(y + 12) +
         "\" font-size=\"11\" text-anchor=\"end\">" + esc(r.category) + (r.kind == "immune_related" ? " (irAE)" : "") +
         "</text>";
    double x = left;
    for (size_t g = 0; g < 5; ++g) {
      if (!r.by_worst_grade[g] || a.treated == 0) continue;
      const double w = width * static_cast<double>(r.by_worst_grade[g]) / a.treated;
      h += "<rect x=\"" + fixed(x, 1) + "\" y=\"" + std::to_string(y + 2) + "\" width=\"" + fixed(w, 1) +
           "\" height=\"13\" fill=\"" + kGradeColour[g] + "\"><title>" + esc(r.category) + ", grade " +
           std::to_string(g + 1) + ": " + std::to_string(r.by_worst_grade[g]) + "</title></rect>";
      x += w;
    }
    if (r.any) h += "<text x=\"" + fixed(x + 4, 1) + "\" y=\"" + std::to_string(y + 12) + "\" font-size=\"10\">" +
                    cell(r.any, a.treated) + "</text>";
    h += "\n";
    y += row;
  }
  h += "</svg></section>\n";
}

void swimmer(std::string& h, const Analysis& a, const PackageOptions& o) {
  std::vector<const Exposure*> shown;
  size_t treated = 0;
  for (const auto& e : a.exposure) {
    if (e.first_dose.empty()) continue;
    ++treated;
    if (shown.size() < o.swimmer_max_participants) shown.push_back(&e);
  }
  std::map<std::string, std::vector<const AeFacts*>> aes;
  for (const auto& f : a.aes)
    if (f.emergent) aes[f.report->study_id].push_back(&f);
  h += "<section id=\"swimmer\"><h2>Swimmer plot: time on treatment</h2>\n";
  legend(h);
  h += "<p class=\"note\">Bar: first to last dose given. Circle: AE onset, coloured by grade. Blue triangle: dose held. "
       "Red cross: a drug withdrawn because of an AE.";
  if (shown.size() < treated)
    h += " Showing the first " + std::to_string(shown.size()) + " of " + std::to_string(treated) +
         " treated participants by study ID; every participant is in tables/exposure.csv.";
  h += "</p>\n";
  int64_t max_days = 21;
  for (const auto* e : shown) max_days = std::max<int64_t>(max_days, e->days_on_treatment);
  for (const auto* e : shown)
    for (const auto* f : aes[e->study_id]) max_days = std::max<int64_t>(max_days, f->start_day - dayNumber(e->first_dose) + 1);
  const int row = 14, left = 110, width = 760;
  const int height = static_cast<int>(shown.size()) * row + 34;
  auto xOf = [&](int64_t day) { return left + static_cast<double>(day) * width / static_cast<double>(max_days); };
  h += "<svg role=\"img\" aria-label=\"Swimmer plot\" width=\"900\" height=\"" + std::to_string(height) +
       "\" viewBox=\"0 0 900 " + std::to_string(height) + "\" xmlns=\"http://www.w3.org/2000/svg\">\n";
  const int64_t tick = max_days > 365 ? 90 : max_days > 120 ? 28 : 7;
  for (int64_t d = 0; d <= max_days; d += tick)
    h += "<line x1=\"" + fixed(xOf(d), 1) + "\" y1=\"0\" x2=\"" + fixed(xOf(d), 1) + "\" y2=\"" + std::to_string(height - 22) +
         "\" stroke=\"#eee\"/><text x=\"" + fixed(xOf(d), 1) + "\" y=\"" + std::to_string(height - 8) +
         "\" font-size=\"10\" text-anchor=\"middle\">" + std::to_string(d) + "</text>\n";
  h += "<text x=\"" + std::to_string(left + width / 2) + "\" y=\"" + std::to_string(height) +
       "\" font-size=\"10\" text-anchor=\"middle\">days since first dose</text>\n";
  int y = 2;
  for (const auto* e : shown) {
    const int64_t day0 = dayNumber(e->first_dose);
    h += "<text x=\"" + std::to_string(left - 6) + "\" y=\"" + std::to_string(y + 10) +
         "\" font-size=\"10\" text-anchor=\"end\">" + esc(e->study_id) + "</text>";
    h += "<rect x=\"" + std::to_string(left) + "\" y=\"" + std::to_string(y + 3) + "\" width=\"" +
         fixed(xOf(e->days_on_treatment) - left, 1) + "\" height=\"8\" fill=\"#90a4ae\"/>";
    for (const auto& held : e->hold_dates) {
      const double x = xOf(dayNumber(held) - day0);
      h += "<path d=\"M" + fixed(x - 3, 1) + " " + std::to_string(y) + "h6l-3 5z\" fill=\"#1e88e5\"/>";
    }
    for (const auto* f : aes[e->study_id]) {
      const double x = xOf(f->start_day - day0);
      const int g = std::clamp(f->version->grade, 1, 5);
      h += "<circle cx=\"" + fixed(x, 1) + "\" cy=\"" + std::to_string(y + 7) + "\" r=\"3.5\" fill=\"" + kGradeColour[g - 1] +
           "\" stroke=\"#333\" stroke-width=\"0.5\"><title>" + esc(f->version->ctcae_term) + " G" + std::to_string(g) +
           "</title></circle>";
    }
    if (e->discontinued) {
      const double x = xOf(dayNumber(*e->discontinued) - day0);
      h += "<path d=\"M" + fixed(x - 4, 1) + " " + std::to_string(y + 3) + "l8 8m0 -8l-8 8\" stroke=\"#c62828\" "
           "stroke-width=\"2\"/>";
    }
    h += "\n";
    y += row;
  }
  h += "</svg></section>\n";
}

void incidenceTable(std::string& h, const IncidenceTable& t) {
  h += "<h3>" + esc(t.title) + " (N = " + std::to_string(t.denominator) + ")</h3>\n";
  h += "<table><tr><th>SOC / CTCAE term</th><th>Grade 1</th><th>Grade 2</th><th>Grade 3</th><th>Grade 4</th>"
       "<th>Grade 5</th><th>Grade &ge; 3</th><th>Any grade</th></tr>\n";
  for (const auto& r : t.rows) {
    if (r.any == 0 && !r.soc.empty()) continue;  // zero rows stay in the CSV
    const char* cls = r.soc.empty() ? "any" : r.term.empty() ? "soc" : "";
    h += std::string("<tr class=\"") + cls + "\"><td>" +
         (r.soc.empty() ? std::string("Any adverse event") : r.term.empty() ? esc(r.soc) : "&nbsp;&nbsp;" + esc(r.term)) +
         "</td>";
    for (int n : r.by_worst_grade) h += "<td class=\"n\">" + cell(n, t.denominator) + "</td>";
    h += "<td class=\"n\">" + cell(r.grade3_plus, t.denominator) + "</td><td class=\"n\">" + cell(r.any, t.denominator) +
         "</td></tr>\n";
  }
  h += "</table>\n";
}

void aeListing(std::string& h, const char* title, const std::vector<const AeFacts*>& rows, const char* file) {
  constexpr size_t kMaxRows = 300;
  h += std::string("<h3>") + title + " (" + std::to_string(rows.size()) + ")</h3>\n";
  if (rows.empty()) {
    h += "<p>None.</p>\n";
    return;
  }
  h += "<table><tr><th>Study ID</th><th>Site</th><th>AE</th><th>CTCAE term</th><th>Grade</th><th>Seriousness</th>"
       "<th>Start</th><th>Outcome</th><th>Anlotinib: rel. / action</th><th>Sintilimab: rel. / action</th></tr>\n";
  for (size_t i = 0; i < rows.size() && i < kMaxRows; ++i) {
    const auto& f = *rows[i];
    const auto& v = *f.version;
    std::string crit;
    for (auto s : v.serious_criteria) {
      if (!crit.empty()) crit += ", ";
      crit += core::toString(s);
    }
    auto drug = [&](size_t d) {
      const auto& pd = v.per_drug[d];
      return esc(pd.relatedness ? core::toString(*pd.relatedness) : "-") + " / " +
             esc(pd.action ? core::toString(*pd.action) : "-");
    };
    h += "<tr><td>" + esc(f.report->study_id) + "</td><td>" + esc(f.report->site) + "</td><td>" +
         std::to_string(f.report->id) + "</td><td>" + esc(v.ctcae_term) + "</td><td class=\"n\">" +
         std::to_string(v.grade) + "</td><td>" + esc(crit) + "</td><td>" + esc(v.start.substr(0, 10)) + "</td><td>" +
         esc(core::toString(v.outcome)) + "</td><td>" + drug(0) + "</td><td>" + drug(1) + "</td></tr>\n";
  }
  h += "</table>\n";
  if (rows.size() > kMaxRows)
    h += "<p class=\"note\">First " + std::to_string(kMaxRows) + " rows; all are in " + file + ".</p>\n";
}

void exposureSection(std::string& h, const Analysis& a) {
  h += "<section id=\"exposure\"><h2>Exposure and event rates</h2>\n";
  h += "<table><tr><th>Measure</th><th>n</th><th>Median</th><th>Range</th></tr>\n";
  for (const auto& s : a.exposure_summary)
    h += "<tr><td>" + esc(s.label) + "</td><td class=\"n\">" + std::to_string(s.n) + "</td><td class=\"n\">" +
         (s.n ? fixed(s.median, 1) : "-") + "</td><td class=\"n\">" +
         (s.n ? fixed(s.min, 1) + " - " + fixed(s.max, 1) : "-") + "</td></tr>\n";
  h += "</table>\n<p>Participant-years on treatment: <b>" + fixed(a.participant_years, 2) + "</b></p>\n";
  h += "<table><tr><th>Event</th><th>Events</th><th>Per 100 participant-years</th></tr>\n";
  for (const auto& r : a.rates)
    h += "<tr><td>" + esc(r.label) + "</td><td class=\"n\">" + std::to_string(r.events) + "</td><td class=\"n\">" +
         fixed(r.per_100_py, 2) + "</td></tr>\n";
  h += "</table></section>\n";
}

void shiftSection(std::string& h, const Analysis& a) {
  h += "<section id=\"shifts\"><h2>Lab shift tables: baseline grade against worst post-baseline grade</h2>\n";
  if (a.shifts.empty()) h += "<p>No graded lab values.</p>\n";
  static const char* kLabel[6] = {"0", "1", "2", "3", "4", "missing"};
  for (const auto& t : a.shifts) {
    h += "<h3>" + esc(t.test) + ": " + esc(t.term) + " (" + std::to_string(t.participants) + " participants)</h3>\n";
    h += "<table><tr><th>Baseline \\ worst post-baseline</th>";
    for (const char* l : kLabel) h += std::string("<th>") + l + "</th>";
    h += "</tr>\n";
    for (size_t b = 0; b < 6; ++b) {
      int total = 0;
      for (int n : t.counts[b]) total += n;
      if (!total) continue;
      h += std::string("<tr><td>") + kLabel[b] + "</td>";
      for (int n : t.counts[b]) h += "<td class=\"n\">" + std::to_string(n) + "</td>";
      h += "</tr>\n";
    }
    h += "</table>\n";
  }
  h += "</section>\n";
}

}  // namespace

std::string renderReport(const Analysis& a, const Reference& ref, const PackageOptions& o) {
  std::string h;
  h.reserve(1 << 20);
  h += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>DSMB safety report - " +
       esc(o.study_id) + " - data cut " + esc(a.cut) + "</title>\n<style>" + kStyle + "</style></head><body>\n";
  h += "<h1>DSMB safety report: anlotinib + sintilimab, second-line advanced ESCC</h1>\n";
  h += "<p class=\"meta\">Study " + esc(o.study_id) + " &middot; data cut <b>" + esc(a.cut) + "</b> &middot; Vigil " +
       esc(o.software_version) + " &middot; CTCAE " + esc(ref.ctcae_version) + " &middot; dose rules " +
       esc(ref.dose_rules_version) + " &middot; categories " + esc(ref.categories.version()) + " &middot; stopping rules " +
       esc(ref.stopping.version) + "</p>\n";
  h += "<p class=\"meta\">Participants are identified by study ID only. Every number is as recorded at the data cut; "
       "each AE shows the version that stood at the cut.</p>\n";
  int crossed = 0;
  for (const auto& r : a.stopping) crossed += r.crossed;
  auto card = [&](const std::string& label, const std::string& value, bool alert = false) {
    h += "<div class=\"card\"><b" + std::string(alert ? " class=\"alert\"" : "") + ">" + value + "</b>" + label + "</div>";
  };
  h += "<div class=\"cards\">";
  card("participants", std::to_string(a.participants));
  card("treated", std::to_string(a.treated));
  card("participant-years", fixed(a.participant_years, 2));
  card("serious AEs", std::to_string(a.serious.size()));
  card("deaths", std::to_string(a.deaths.size()), !a.deaths.empty());
  card("stopping boundaries crossed", std::to_string(crossed) + " of " + std::to_string(a.stopping.size()), crossed > 0);
  card("reporting clocks overdue or late", std::to_string(a.clocks.size()), !a.clocks.empty());
  h += "</div>\n";

  stoppingSection(h, a);
  categoryBars(h, a);
  h += "<section id=\"incidence\"><h2>Incidence of treatment-emergent AEs by SOC and CTCAE term</h2>\n"
       "<p class=\"note\">Each participant counts once per term, once per SOC and once in the first row, at their worst "
       "grade; percentages of the treated participants. Related: possible, probable or definite by the investigator or "
       "the sponsor. Rows with no events are left out here (tables/*.csv keep them on request).</p>\n";
  for (const auto& t : a.incidence) incidenceTable(h, t);
  h += "</section>\n";
  swimmer(h, a, o);
  h += "<section id=\"listings\"><h2>Listings</h2>\n";
  aeListing(h, "Deaths", a.deaths, "listings/deaths.csv");
  aeListing(h, "Serious adverse events", a.serious, "listings/serious_aes.csv");
  aeListing(h, "AEs leading to a hold, reduction or discontinuation", a.dose_actions, "listings/dose_actions.csv");
  h += "<h3>Reporting clocks overdue or met late (" + std::to_string(a.clocks.size()) + ")</h3>\n";
  if (a.clocks.empty()) h += "<p>None.</p>\n";
  else {
    h += "<table><tr><th>Study ID</th><th>AE</th><th>Clock</th><th>Due</th><th>Met</th><th>State</th><th>Hours late</th></tr>\n";
    for (const auto& c : a.clocks)
      h += "<tr><td>" + esc(c.deadline->study_id) + "</td><td>" + std::to_string(c.deadline->ae_id) + "</td><td>" +
           esc(c.deadline->kind) + "</td><td>" + esc(c.deadline->due_at) + "</td><td>" + esc(c.deadline->met_at) +
           "</td><td>" + esc(c.state) + "</td><td class=\"n\">" + fixed(c.hours_late, 1) + "</td></tr>\n";
    h += "</table>\n";
  }
  h += "<h3>Pregnancies (" + std::to_string(a.pregnancies.size()) + ")</h3>\n";
  if (a.pregnancies.empty()) h += "<p>None.</p>\n";
  else {
    h += "<table><tr><th>Study ID</th><th>Subject</th><th>Site aware</th><th>Outcome</th><th>Outcome known</th></tr>\n";
    for (const auto* g : a.pregnancies)
      h += "<tr><td>" + esc(g->study_id) + "</td><td>" + esc(g->subject) + "</td><td>" + esc(g->site_aware_at) +
           "</td><td>" + esc(g->outcome) + "</td><td>" + esc(g->outcome_aware_at.value_or("-")) + "</td></tr>\n";
    h += "</table>\n";
  }
  h += "<p>Protocol deviations: <b>" + std::to_string(a.deviations.size()) +
       "</b> (listings/protocol_deviations.csv). Lab-derived AEs awaiting investigator confirmation: <b>" +
       std::to_string(a.pending_candidates.size()) + "</b> (listings/pending_lab_aes.csv).</p>\n</section>\n";
  exposureSection(h, a);
  shiftSection(h, a);
  h += "<p class=\"note\">Generated by Vigil from the data recorded at the cut. Vigil recommends; the DSMB and the "
       "investigators decide.</p>\n</body></html>\n";
  return h;
}

}  // namespace vigil::exports
