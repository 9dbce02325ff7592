#include "grading/catalogue.h"

#include <algorithm>
#include <fstream>

namespace vigil::grading {
namespace {

std::string unescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      const char n = s[++i];
      out += n == 'n' ? '\n' : n == 't' ? '\t' : n;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::vector<std::string> splitTabs(const std::string& line) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    const size_t tab = line.find('\t', start);
    out.push_back(unescape(std::string_view(line).substr(start, tab == std::string::npos ? std::string::npos : tab - start)));
    if (tab == std::string::npos) return out;
    start = tab + 1;
  }
}

std::vector<std::string> words(std::string_view text) {
  std::vector<std::string> out;
  std::string w;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u)) {
      w += static_cast<char>(std::tolower(u));
    } else if (!w.empty()) {
      out.push_back(std::move(w));
      w.clear();
    }
  }
  if (!w.empty()) out.push_back(std::move(w));
  return out;
}

// Optimal string alignment distance, stopping early beyond max.
size_t editDistance(std::string_view a, std::string_view b, size_t max) {
  if (a.size() > b.size() + max || b.size() > a.size() + max) return max + 1;
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.size()][b.size()];
}

size_t allowedEdits(size_t length) { return length >= 8 ? 2 : length >= 4 ? 1 : 0; }

}  // namespace

std::string toLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::vector<int> CtcaeTerm::grades() const {
  std::vector<int> out;
  for (int g = 1; g <= 5; ++g)
    if (hasGrade(g)) out.push_back(g);
  return out;
}

core::Result<Catalogue> Catalogue::load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return core::Status::unavailable("cannot read " + path);
  Catalogue c;
  std::string line;
  std::getline(in, line);
  if (line.rfind("meddra_code\tsoc\tterm\tgrade_1", 0) != 0) return core::Status::invalid(path + ": unexpected header");
  size_t line_no = 1;
  while (std::getline(in, line)) {
    ++line_no;
    auto cells = splitTabs(line);
    if (cells.size() != 10) return core::Status::invalid(path + ":" + std::to_string(line_no) + ": expected 10 columns");
    CtcaeTerm t;
    t.meddra_code = cells[0];
    t.soc = cells[1];
    t.term = cells[2];
    for (size_t g = 0; g < 5; ++g) {
      t.grade_exists[g] = cells[3 + g] != "-";
      t.grade_text[g] = t.grade_exists[g] ? cells[3 + g] : "";
    }
    t.definition = cells[8];
    t.navigational_note = cells[9];
    t.other_specify = t.term.find("Other, specify") != std::string::npos;
    const size_t index = c.terms_.size();
    if (!c.by_name_.emplace(toLower(t.term), index).second || !c.by_code_.emplace(t.meddra_code, index).second)
      return core::Status::invalid(path + ":" + std::to_string(line_no) + ": duplicate term or MedDRA code");
    c.words_.push_back(words(t.term));
    c.definition_words_.push_back(words(t.definition));
    c.terms_.push_back(std::move(t));
  }
  return c;
}

const CtcaeTerm* Catalogue::find(std::string_view name_or_code) const {
  if (auto it = by_code_.find(std::string(name_or_code)); it != by_code_.end()) return &terms_[it->second];
  if (auto it = by_name_.find(toLower(name_or_code)); it != by_name_.end()) return &terms_[it->second];
  return nullptr;
}

std::vector<const CtcaeTerm*> Catalogue::search(std::string_view query, size_t limit) const {
  const std::string q = toLower(query);
  const auto qwords = words(q);
  if (qwords.empty()) return {};
  // Lower score is better: 0 exact, 1 term prefix, 2 every word a word prefix, 3+ with typos.
  std::vector<std::pair<size_t, size_t>> scored;  // (score, index)
  for (size_t i = 0; i < terms_.size(); ++i) {
    const std::string name = toLower(terms_[i].term);
    size_t score = 0;
    if (name == q) {
      score = 0;
    } else if (name.rfind(q, 0) == 0) {
      score = 1;
    } else {
      size_t edits = 0;
      bool all = true;
      for (const auto& qw : qwords) {
        size_t best = SIZE_MAX;
        for (const auto& tw : words_[i]) {
          if (tw.rfind(qw, 0) == 0) {
            best = 0;
            break;
          }
          const size_t allowed = allowedEdits(qw.size());
          if (allowed == 0) continue;
          // A typo may sit in a prefix: compare against the word cut to the query's length too.
          const size_t d = std::min(editDistance(qw, tw, allowed),
                                    editDistance(qw, std::string_view(tw).substr(0, std::min(tw.size(), qw.size())), allowed));
          if (d <= allowed) best = std::min(best, d);
        }
        if (best == SIZE_MAX) {
          all = false;
          break;
        }
        edits += best;
      }
      if (!all) continue;
      score = 2 + edits;
    }
    scored.emplace_back(score, i);
  }
  std::stable_sort(scored.begin(), scored.end(), [&](const auto& a, const auto& b) {
    if (a.first != b.first) return a.first < b.first;
    return terms_[a.second].term.size() < terms_[b.second].term.size();
  });
  std::vector<const CtcaeTerm*> out;
  for (size_t i = 0; i < scored.size() && out.size() < limit; ++i) out.push_back(&terms_[scored[i].second]);
  return out;
}

std::vector<const CtcaeTerm*> Catalogue::suggest(std::string_view query, size_t limit) const {
  auto found = search(query, limit);
  if (!found.empty()) return found;
  // Words of 4+ letters match a word they begin (or that begins them): "bleed" ~ "bleeding".
  auto related = [](const std::string& q, const std::string& w) {
    const size_t n = std::min(q.size(), w.size());
    return n >= 4 && q.compare(0, n, w, 0, n) == 0;
  };
  std::vector<std::string> qwords;
  for (auto& w : words(query))
    if (w.size() >= 4) qwords.push_back(std::move(w));
  std::vector<std::pair<size_t, size_t>> scored;  // (score, index), higher is better
  for (size_t i = 0; i < terms_.size(); ++i) {
    size_t score = 0;
    for (const auto& q : qwords) {
      bool in_name = false, in_definition = false;
      for (const auto& w : words_[i]) in_name = in_name || related(q, w);
      for (const auto& w : definition_words_[i]) in_definition = in_definition || related(q, w);
      score += in_name ? 3 : in_definition ? 2 : 0;
    }
    if (score > 0) scored.emplace_back(score, i);
  }
  std::stable_sort(scored.begin(), scored.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<const CtcaeTerm*> out;
  for (size_t i = 0; i < scored.size() && out.size() < limit; ++i) out.push_back(&terms_[scored[i].second]);
  return out;
}

}  // namespace vigil::grading
