#include "app/knowledge.h"

namespace vigil::app {

std::unique_ptr<Knowledge> loadKnowledge(const Settings& settings, std::string& error) {
  auto catalogue = grading::Catalogue::load(settings.ctcae_dir + "/terms.tsv");
  if (!catalogue.isOk()) return error = catalogue.status().message(), nullptr;
  auto grader = grading::LabGrader::load(settings.ctcae_dir);
  if (!grader.isOk()) return error = grader.status().message(), nullptr;
  auto k = std::unique_ptr<Knowledge>(new Knowledge{std::move(catalogue.value()), std::move(grader.value()), {}, {}, {}});
  auto categories = rules::CategorySet::load(settings.alerts_dir + "/rules/categories.json", k->catalogue);
  if (!categories.isOk()) return error = categories.status().message(), nullptr;
  k->categories = std::move(categories.value());
  // Loaded after categories has its final address: the rules keep a pointer to it.
  auto reporting = rules::ReportingRules::load(settings.alerts_dir, k->catalogue, k->categories);
  if (!reporting.isOk()) return error = reporting.status().message(), nullptr;
  k->reporting = std::move(reporting.value());
  auto dose = rules::DoseRules::load(settings.alerts_dir + "/rules/dose.json", k->catalogue, k->categories, k->grader);
  if (!dose.isOk()) return error = dose.status().message(), nullptr;
  k->dose = std::move(dose.value());
  return k;
}

}  // namespace vigil::app
