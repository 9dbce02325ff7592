// Every JSON body decoder of the intake API, behind the strict body reader, as vigild runs them:
// a body is read, then decoded as each resource. Whatever the bytes, nothing may crash, and a
// refused body must name at least one field. The same bytes are also read as a lab CSV file.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "intake/json_body.h"
#include "intake/json_codec.h"
#include "intake/lab_csv.h"

using namespace vigil;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  {
    std::vector<size_t> lines;
    auto csv = intake::labsFromCsv(text, 10000, lines);
    if (!csv.isOk() && csv.status().fields().empty()) std::abort();  // a refusal must say what is wrong
    if (csv.isOk()) {
      const auto& results = csv.value()["results"];
      if (!results.is_array() || results.empty() || lines.size() != results.size()) std::abort();
      intake::Errors errors;
      for (size_t i = 0; i < results.size() && i < 64; ++i) {
        (void)intake::decodeLab(results[i], "results[" + std::to_string(i) + "].", errors);
        (void)intake::csvFieldName("results[" + std::to_string(i) + "].value", lines);
      }
    }
  }
  auto body = intake::parseStrictJson(text);
  if (!body.isOk()) {
    if (body.status().fields().empty()) std::abort();  // a refusal must say what is wrong
    return 0;
  }
  const nlohmann::json& doc = body.value();
  intake::Errors errors;
  (void)intake::decodeParticipant(doc, errors);
  errors.clear();
  (void)intake::decodeDose(doc, errors);
  errors.clear();
  (void)intake::decodeAe(doc, false, errors);
  errors.clear();
  (void)intake::decodeAe(doc, true, errors);
  errors.clear();
  (void)intake::decodeLab(doc, "", errors);
  errors.clear();
  (void)intake::decodeVitals(doc, errors);
  if (doc.is_object() && doc.contains("results") && doc["results"].is_array()) {
    for (size_t i = 0; i < doc["results"].size() && i < 64; ++i)
      (void)intake::decodeLab(doc["results"][i], "results[" + std::to_string(i) + "].", errors);
  }
  return 0;
}
