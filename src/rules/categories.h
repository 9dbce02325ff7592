#pragma once
// Safety categories: versioned CTCAE v5.0 term sets (alerts/rules/categories.json) naming what an
// event is for the trial's safety team - anti-angiogenic class effects of anlotinib (hemorrhage,
// fistula_perforation, ...) and immune-related adverse events of sintilimab (pneumonitis,
// colitis, ...). Source: clinical-rules.md sections 3, 5 and 7. Immutable after load, so safe to
// share between threads.

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "grading/catalogue.h"

namespace vigil::rules {

enum class CategoryKind { kAntiAngiogenic, kImmuneRelated };

struct Category {
  std::string name;  // one of kCategoryNames
  CategoryKind kind = CategoryKind::kAntiAngiogenic;
  std::vector<std::string> terms;  // CTCAE v5.0 terms as NCI spells them
  std::string source;
  std::string overlap;  // clinical-rules.md section 5 rule for terms either drug can cause, or ""
};

// The 25 category names every output uses, in this order.
extern const std::vector<std::string> kCategoryNames;

struct Classification {
  std::vector<const Category*> categories;  // in kCategoryNames order
  bool irae = false;
  bool anti_angiogenic = false;
  std::string overlap;  // non-empty when either drug can cause the event
};

class CategorySet {
 public:
  // Loads and checks the file: exactly the 25 categories, each term a CTCAE v5.0 term (checked
  // against the catalogue), each with a source. Fails naming the category and term.
  static core::Result<CategorySet> load(const std::string& path, const grading::Catalogue& catalogue);

  const std::string& version() const { return version_; }
  const std::vector<Category>& categories() const { return categories_; }
  const Category* find(std::string_view name) const;
  // The categories of a CTCAE term (exact NCI spelling); empty for a term in none.
  Classification classify(std::string_view term) const;

 private:
  std::string version_;
  std::vector<Category> categories_;
  std::unordered_map<std::string, std::vector<size_t>> by_term_;
};

}  // namespace vigil::rules
