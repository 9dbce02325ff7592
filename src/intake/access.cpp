#include "intake/access.h"

#include <algorithm>

namespace vigil::intake {
namespace {
bool boundTo(const core::User& user, const std::string& site) {
  return std::find(user.sites.begin(), user.sites.end(), site) != user.sites.end();
}
}  // namespace

bool canRead(const core::User& user, const std::string& site) {
  return user.role != core::Role::kInvestigator || boundTo(user, site);
}

bool canWrite(const core::User& user, const std::string& site) {
  return user.role == core::Role::kInvestigator && boundTo(user, site);
}

bool canRecordReport(const core::User& user, const std::string& site) {
  return user.role == core::Role::kSafetyOfficer || canWrite(user, site);
}

bool canExportDsmbPackage(const core::User& user) { return user.role != core::Role::kInvestigator; }

}  // namespace vigil::intake
