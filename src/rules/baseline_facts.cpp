#include "rules/baseline_facts.h"

#include <nlohmann/json.hpp>

#include <cmath>

namespace vigil::rules {
namespace {

using nlohmann::json;

std::optional<int> enrolmentYear(const std::string& enrolled_on) {
  if (enrolled_on.size() < 4) return std::nullopt;
  int y = 0;
  for (size_t i = 0; i < 4; ++i) {
    if (enrolled_on[i] < '0' || enrolled_on[i] > '9') return std::nullopt;
    y = y * 10 + (enrolled_on[i] - '0');
  }
  return y;
}

class Reader {
 public:
  Reader(const json& obj, const std::string& prefix, std::vector<core::FieldError>& errors)
      : obj_(obj), prefix_(prefix), errors_(errors) {}

  const json* get(const char* key) const {
    if (!obj_.is_object() || !obj_.contains(key) || obj_.at(key).is_null()) return nullptr;
    return &obj_.at(key);
  }
  void bad(const char* key, const std::string& detail) { errors_.push_back({prefix_ + key, detail}); }

  std::optional<int> integer(const char* key, int lo, int hi) {
    const json* v = get(key);
    if (!v) return std::nullopt;
    if (!v->is_number_integer() || v->get<int64_t>() < lo || v->get<int64_t>() > hi) {
      bad(key, "must be a whole number from " + std::to_string(lo) + " to " + std::to_string(hi));
      return std::nullopt;
    }
    return static_cast<int>(v->get<int64_t>());
  }
  std::optional<double> number(const char* key, double lo, double hi, const std::string& range) {
    const json* v = get(key);
    if (!v) return std::nullopt;
    if (!v->is_number() || !std::isfinite(v->get<double>()) || v->get<double>() < lo || v->get<double>() > hi) {
      bad(key, "must be a number " + range);
      return std::nullopt;
    }
    return v->get<double>();
  }
  std::optional<std::string> oneOf(const char* key, std::initializer_list<const char*> allowed) {
    const json* v = get(key);
    if (!v) return std::nullopt;
    std::string list;
    for (const char* a : allowed) {
      if (v->is_string() && v->get<std::string>() == a) return std::string(a);
      list += (list.empty() ? "" : ", ") + std::string(a);
    }
    bad(key, "must be one of " + list);
    return std::nullopt;
  }
  std::optional<bool> boolean(const char* key) {
    const json* v = get(key);
    if (!v) return std::nullopt;
    if (!v->is_boolean()) {
      bad(key, "must be true or false");
      return std::nullopt;
    }
    return v->get<bool>();
  }

 private:
  const json& obj_;
  const std::string& prefix_;
  std::vector<core::FieldError>& errors_;
};

}  // namespace

const std::vector<std::string>& baselineFactKeys() {
  static const std::vector<std::string> k = {"sex",   "age",   "birth_year", "weight_kg",    "ecog",
                                             "hbsag", "anti_hbc", "hbv_dna_iu_ml", "fistula_or_perforation_6m"};
  return k;
}

core::BaselineFacts readBaselineFacts(const json& participant, const std::string& prefix, const std::string& enrolled_on,
                                      std::vector<core::FieldError>& errors) {
  Reader r(participant, prefix, errors);
  core::BaselineFacts f;
  f.sex = r.oneOf("sex", {"F", "M", "U"});
  f.age = r.integer("age", 0, 120);
  f.birth_year = r.integer("birth_year", 1900, 2100);
  f.weight_kg = r.number("weight_kg", 10, 400, "of kilograms from 10 to 400");
  f.ecog = r.integer("ecog", 0, 5);
  f.hbsag = r.oneOf("hbsag", {"positive", "negative"});
  f.anti_hbc = r.oneOf("anti_hbc", {"positive", "negative"});
  f.hbv_dna_iu_ml = r.number("hbv_dna_iu_ml", 0, 1e10, "of IU/mL from 0 to 1e10 (copies/mL divided by 5)");
  f.fistula_or_perforation_6m = r.boolean("fistula_or_perforation_6m");
  const auto year = enrolmentYear(enrolled_on);
  if (f.birth_year && year) {
    if (*f.birth_year > *year) {
      r.bad("birth_year", "is after the enrolment year " + std::to_string(*year));
      f.birth_year.reset();
    } else if (*year - *f.birth_year > 121) {
      r.bad("birth_year", "makes the age at enrolment over 120");
      f.birth_year.reset();
    } else if (f.age && *f.age != *year - *f.birth_year && *f.age != *year - *f.birth_year - 1) {
      r.bad("birth_year", "does not agree with age " + std::to_string(*f.age) + " at enrolment in " + std::to_string(*year));
      f.birth_year.reset();
    }
  }
  return f;
}

void writeBaselineFacts(const core::BaselineFacts& f, json& out) {
  auto put = [&](const char* key, const auto& v) { out[key] = v ? json(*v) : json(nullptr); };
  put("sex", f.sex);
  put("age", f.age);
  put("birth_year", f.birth_year);
  put("weight_kg", f.weight_kg);
  put("ecog", f.ecog);
  put("hbsag", f.hbsag);
  put("anti_hbc", f.anti_hbc);
  put("hbv_dna_iu_ml", f.hbv_dna_iu_ml);
  put("fistula_or_perforation_6m", f.fistula_or_perforation_6m);
}

std::optional<std::pair<int, int>> ageRange(const core::BaselineFacts& f, const std::string& enrolled_on) {
  if (f.age) return std::make_pair(*f.age, *f.age);
  const auto year = enrolmentYear(enrolled_on);
  if (!f.birth_year || !year) return std::nullopt;
  // Born in year B, a person is B's-age - 1 before their birthday in the enrolment year and the
  // full difference after it.
  return std::make_pair(std::max(0, *year - *f.birth_year - 1), *year - *f.birth_year);
}

}  // namespace vigil::rules
