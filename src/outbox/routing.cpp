#include "outbox/routing.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

namespace vigil::outbox {
namespace {

using nlohmann::json;

bool known(const std::vector<std::string>& list, const std::string& v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

std::vector<std::string> addresses(const json& j, const std::string& where, const std::string& origin) {
  static const std::regex kAddress(R"(^[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}$)");
  if (!j.is_array()) throw RoutingError(origin + ": " + where + " must be a list of email addresses");
  std::vector<std::string> out;
  for (const auto& a : j) {
    if (!a.is_string() || !std::regex_match(a.get<std::string>(), kAddress))
      throw RoutingError(origin + ": " + where + ": '" + (a.is_string() ? a.get<std::string>() : a.dump()) +
                         "' is not an email address");
    out.push_back(a.get<std::string>());
  }
  return out;
}

}  // namespace

Routing Routing::load(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw RoutingError(path + ": cannot read the recipients file (setting alerts.recipients_file)");
  std::ostringstream text;
  text << in.rdbuf();
  return parse(text.str(), path);
}

Routing Routing::parse(const std::string& text, const std::string& origin) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    throw RoutingError(origin + ": not JSON: " + e.what());
  }
  if (!j.is_object() || j.value("format", "") != "vigil-recipients/1")
    throw RoutingError(origin + ": \"format\" must be \"vigil-recipients/1\"");
  for (const auto& [key, value] : j.items())
    if (key != "format" && key != "classes" && key != "roles" && key != "sites" && key != "comment")
      throw RoutingError(origin + ": unknown field '" + key + "'");
  Routing r;
  r.origin_ = origin;
  const json classes = j.value("classes", json::object());
  for (const auto& [cls, roles] : classes.items()) {
    if (!known(alertClasses(), cls)) throw RoutingError(origin + ": classes: unknown alert class '" + cls + "'");
    if (!routedByClass(cls))
      throw RoutingError(origin + ": classes." + cls + ": a superseding alert goes to the recipients of the alert it "
                         "supersedes; it is not routed by class");
    if (!roles.is_array() || roles.empty())
      throw RoutingError(origin + ": classes." + cls + " must list at least one role");
    for (const auto& role : roles) {
      if (!role.is_string() || !known(recipientRoles(), role.get<std::string>()))
        throw RoutingError(origin + ": classes." + cls + ": unknown role " + role.dump());
      r.classes_[cls].push_back(role.get<std::string>());
    }
  }
  for (const auto& cls : alertClasses())
    if (routedByClass(cls) && !r.classes_.count(cls))
      throw RoutingError(origin + ": classes." + cls + " is missing: every alert class must name its recipients");
  const json roles = j.value("roles", json::object());
  for (const auto& [role, list] : roles.items()) {
    if (!known(recipientRoles(), role) || role == "investigator")
      throw RoutingError(origin + ": roles: '" + role + "' is not a trial-wide role (investigators are per site)");
    r.roles_[role] = addresses(list, "roles." + role, origin);
  }
  const json sites = j.value("sites", json::object());
  for (const auto& [site, entry] : sites.items()) {
    if (!entry.is_object()) throw RoutingError(origin + ": sites." + site + " must be an object");
    for (const auto& [role, list] : entry.items()) {
      if (role != "investigator") throw RoutingError(origin + ": sites." + site + ": only 'investigator' is per site");
      r.site_investigators_[site] = addresses(list, "sites." + site + ".investigator", origin);
    }
  }
  // Trial-wide roles a class needs must have an address now; investigators are checked per site.
  for (const auto& [cls, needed] : r.classes_)
    for (const auto& role : needed)
      if (role != "investigator" && (!r.roles_.count(role) || r.roles_.at(role).empty()))
        throw RoutingError(origin + ": alert class " + cls + " goes to " + role + ", but roles." + role +
                           " has no address");
  return r;
}

void Routing::checkSites(const std::vector<std::string>& sites) const {
  for (const auto& [cls, needed] : classes_) {
    if (!known(needed, "investigator")) continue;
    for (const auto& site : sites) {
      auto it = site_investigators_.find(site);
      if (it == site_investigators_.end()) it = site_investigators_.find("*");
      if (it == site_investigators_.end() || it->second.empty())
        throw RoutingError(origin_ + ": alert class " + cls + " goes to the investigators of site " + site +
                           ", but sites." + site + ".investigator (or sites.*) has no address");
    }
  }
}

std::vector<Recipient> Routing::recipients(const std::string& cls, const std::string& site) const {
  std::vector<Recipient> out;
  std::set<std::string> seen;
  auto it = classes_.find(cls);
  if (it == classes_.end()) return out;
  for (const auto& role : it->second) {
    const std::vector<std::string>* list = nullptr;
    if (role == "investigator") {
      auto s = site_investigators_.find(site);
      if (s == site_investigators_.end()) s = site_investigators_.find("*");
      if (s != site_investigators_.end()) list = &s->second;
    } else if (auto r = roles_.find(role); r != roles_.end()) {
      list = &r->second;
    }
    if (!list) continue;
    for (const auto& a : *list)
      if (seen.insert(a).second) out.push_back({a, role});
  }
  return out;
}

}  // namespace vigil::outbox
