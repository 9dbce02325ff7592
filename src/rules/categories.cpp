#include "rules/categories.h"

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

namespace vigil::rules {

const std::vector<std::string> kCategoryNames = {
    "hemorrhage",  "fistula_perforation", "arterial_thromboembolism", "venous_thromboembolism", "hypertension",
    "proteinuria", "palmar_plantar",      "wound",                    "rpls",                   "cardiac_dysfunction",
    "qt_prolongation", "pneumonitis",     "colitis",                  "hepatitis",              "nephritis",
    "thyroid",     "hypophysitis",        "adrenal",                  "diabetes",               "skin",
    "myocarditis", "myositis",            "neurologic",               "infusion_reaction",      "pancreatitis"};

core::Result<CategorySet> CategorySet::load(const std::string& path, const grading::Catalogue& catalogue) {
  CategorySet set;
  try {
    std::ifstream in(path);
    if (!in) return core::Status::unavailable("cannot read " + path);
    const auto j = nlohmann::json::parse(in);
    if (j.at("format") != "vigil-safety-categories/1") throw std::invalid_argument("unknown format");
    set.version_ = j.at("version").get<std::string>();
    for (const auto& jc : j.at("categories")) {
      Category c;
      c.name = jc.at("name").get<std::string>();
      const std::string kind = jc.at("kind").get<std::string>();
      if (kind != "anti_angiogenic" && kind != "immune_related")
        throw std::invalid_argument(c.name + ": kind must be anti_angiogenic or immune_related");
      c.kind = kind == "anti_angiogenic" ? CategoryKind::kAntiAngiogenic : CategoryKind::kImmuneRelated;
      c.source = jc.at("source").get<std::string>();
      if (c.source.empty()) throw std::invalid_argument(c.name + ": every category cites its source");
      c.overlap = jc.value("overlap", "");
      for (const auto& t : jc.at("terms")) {
        const std::string term = t.get<std::string>();
        const grading::CtcaeTerm* found = catalogue.find(term);
        if (!found || found->term != term)
          throw std::invalid_argument(c.name + ": '" + term + "' is not a CTCAE v5.0 term as NCI spells it");
        c.terms.push_back(term);
      }
      if (c.terms.empty()) throw std::invalid_argument(c.name + ": has no terms");
      set.categories_.push_back(std::move(c));
    }
    // Exactly the agreed names, in the agreed order, so outputs are stable.
    std::vector<std::string> names;
    for (const auto& c : set.categories_) names.push_back(c.name);
    if (names != kCategoryNames) throw std::invalid_argument("the categories must be exactly, in order: the 25 of kCategoryNames");
  } catch (const std::exception& e) {
    return core::Status::invalid(path + ": " + e.what());
  }
  for (size_t i = 0; i < set.categories_.size(); ++i)
    for (const auto& t : set.categories_[i].terms) set.by_term_[t].push_back(i);
  return set;
}

const Category* CategorySet::find(std::string_view name) const {
  for (const auto& c : categories_)
    if (c.name == name) return &c;
  return nullptr;
}

Classification CategorySet::classify(std::string_view term) const {
  Classification out;
  auto it = by_term_.find(std::string(term));
  if (it == by_term_.end()) return out;
  for (size_t i : it->second) {
    const Category& c = categories_[i];
    out.categories.push_back(&c);
    out.irae = out.irae || c.kind == CategoryKind::kImmuneRelated;
    out.anti_angiogenic = out.anti_angiogenic || c.kind == CategoryKind::kAntiAngiogenic;
    if (out.overlap.empty()) out.overlap = c.overlap;
  }
  return out;
}

}  // namespace vigil::rules
