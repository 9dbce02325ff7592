#include "app/knowledge.h"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/crypto.h"

namespace vigil::app {

exports::Reference exportReference(const Knowledge& k) {
  return {k.catalogue, k.grader, k.categories, k.reporting, k.stopping, k.dose.version(), k.ctcae_version};
}

std::unique_ptr<Knowledge> loadKnowledge(const Settings& settings, std::string& error) {
  auto catalogue = grading::Catalogue::load(settings.ctcae_dir + "/terms.tsv");
  if (!catalogue.isOk()) return error = catalogue.status().message(), nullptr;
  auto grader = grading::LabGrader::load(settings.ctcae_dir);
  if (!grader.isOk()) return error = grader.status().message(), nullptr;
  auto k = std::unique_ptr<Knowledge>(new Knowledge{std::move(catalogue.value()), std::move(grader.value()), {}, {}, {}, {}, {}});
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
  auto stopping = exports::StoppingRules::load(settings.alerts_dir + "/rules/stopping.json", k->catalogue, k->categories);
  if (!stopping.isOk()) return error = stopping.status().message(), nullptr;
  k->stopping = std::move(stopping.value());
  // The CTCAE data's version: NCI's release named in lab_criteria.json and the hash of the
  // checksum list of every data file.
  try {
    std::ifstream criteria(settings.ctcae_dir + "/lab_criteria.json");
    k->ctcae_version = nlohmann::json::parse(criteria).value("ctcae_version", "5.0");
  } catch (const std::exception&) {
    k->ctcae_version = "5.0";
  }
  std::ifstream sums(settings.ctcae_dir + "/SHA256SUMS", std::ios::binary);
  std::stringstream text;
  text << sums.rdbuf();
  if (sums) k->ctcae_version += ", data sha256 " + core::sha256Hex(text.str()).substr(0, 16);
  return k;
}

}  // namespace vigil::app
