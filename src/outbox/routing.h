#pragma once
// Who receives which alert class (config/recipients.json, schema in alerts/README.md):
//   {"format": "vigil-recipients/1",
//    "classes": {"sae": ["investigator", "safety_officer", "sponsor_pv"], ...},
//    "roles": {"safety_officer": ["..."], "sponsor_pv": ["..."], "medical_monitor": ["..."]},
//    "sites": {"S01": {"investigator": ["..."]}, "*": {"investigator": ["..."]}}}
// Every alert class must be listed (each is one that must be sent). "investigator" addresses are
// per site ("*" for sites without their own entry); the other roles are trial-wide. Immutable
// after load, so safe to share between threads.

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace vigil::outbox {

class RoutingError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

inline const std::vector<std::string>& alertClasses() {
  static const std::vector<std::string> k = {"sae",      "urgent",  "dose",       "deviation",
                                             "reminder", "overdue", "escalation", "digest", "supersede"};
  return k;
}
// A superseding alert goes to the recipients of the alert it supersedes, not by class.
inline bool routedByClass(const std::string& alert_class) { return alert_class != "supersede"; }
inline const std::vector<std::string>& recipientRoles() {
  static const std::vector<std::string> k = {"investigator", "safety_officer", "sponsor_pv", "medical_monitor"};
  return k;
}

struct Recipient {
  std::string address;
  std::string role;
};

class Routing {
 public:
  // Reads and checks the file; throws RoutingError naming the file and the problem (unknown
  // class or role, a class missing, an address that is not name@domain, a role a class needs
  // with no address).
  static Routing load(const std::string& path);
  static Routing parse(const std::string& json_text, const std::string& origin);

  // Throws RoutingError naming the class, role and site when a class that must be sent has no
  // address for one of these sites (a stop at start-up, before any alert could go missing).
  void checkSites(const std::vector<std::string>& sites) const;

  // The addresses of a class for a site, each address once (its first role kept), in role order.
  // Empty only for a site checkSites was not given and no "*" entry covers.
  std::vector<Recipient> recipients(const std::string& alert_class, const std::string& site) const;

 private:
  std::map<std::string, std::vector<std::string>> classes_;          // class -> roles
  std::map<std::string, std::vector<std::string>> roles_;            // trial-wide role -> addresses
  std::map<std::string, std::vector<std::string>> site_investigators_;  // site or "*" -> addresses
  std::string origin_;
};

}  // namespace vigil::outbox
