#pragma once
// The CTCAE v5.0 term dictionary (ctcae/terms.tsv): 837 terms with MedDRA code, SOC, the text
// of each grade and which grades exist. Immutable after load, so safe to share between threads.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"

namespace vigil::grading {

struct CtcaeTerm {
  std::string meddra_code;
  std::string soc;
  std::string term;
  std::array<std::string, 5> grade_text;  // "" where the grade does not exist
  std::array<bool, 5> grade_exists{};     // index 0 is grade 1
  std::string definition;
  std::string navigational_note;
  bool other_specify = false;  // "<SOC> - Other, specify": needs the verbatim term

  bool hasGrade(int grade) const { return grade >= 1 && grade <= 5 && grade_exists[static_cast<size_t>(grade - 1)]; }
  std::vector<int> grades() const;
};

class Catalogue {
 public:
  // Reads terms.tsv. Fails with Status::invalid naming the line when the file is malformed.
  static core::Result<Catalogue> load(const std::string& terms_tsv_path);

  size_t size() const { return terms_.size(); }
  const std::vector<CtcaeTerm>& terms() const { return terms_; }
  // Exact term name, case-insensitively, or an 8-digit MedDRA code.
  const CtcaeTerm* find(std::string_view name_or_code) const;
  // Terms for a data-entry search box: exact, then prefix, then all words as prefixes, then
  // words within a small edit distance (one edit for words of 4-7 letters, two from 8).
  std::vector<const CtcaeTerm*> search(std::string_view query, size_t limit) const;
  // Suggestions for a term that is not in CTCAE: search() first; when that finds nothing, the
  // terms whose names or NCI definitions share the most words with the query ("nose bleed"
  // finds Epistaxis, "A disorder characterized by bleeding from the nose").
  std::vector<const CtcaeTerm*> suggest(std::string_view query, size_t limit) const;

 private:
  std::vector<CtcaeTerm> terms_;
  std::unordered_map<std::string, size_t> by_name_;  // lower-case name
  std::unordered_map<std::string, size_t> by_code_;
  std::vector<std::vector<std::string>> words_;      // lower-case words of each term
  std::vector<std::vector<std::string>> definition_words_;
};

std::string toLower(std::string_view s);

}  // namespace vigil::grading
