#pragma once
// Maps a method and path to a route. Templates use {name} segments: "/api/v1/adverse-events/{id}".

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace vigil::http {

template <typename Handler>
class Router {
 public:
  struct Match {
    const Handler* handler = nullptr;
    std::string route;  // the template, for metrics and logs
    std::map<std::string, std::string> params;
    bool path_known = false;  // path matched some route, though maybe not this method
    std::vector<std::string> methods;  // every method the path supports, in the order added (for Allow)
  };

  void add(std::string method, std::string route, Handler handler) {
    routes_.push_back({std::move(method), split(route), route, std::move(handler)});
  }

  Match match(const std::string& method, const std::string& path) const {
    Match m;
    const auto parts = split(path);
    for (const auto& r : routes_) {
      std::map<std::string, std::string> params;
      if (!matches(r.segments, parts, params)) continue;
      if (!m.path_known || (!m.handler && r.method == method)) m.route = r.route;
      m.path_known = true;
      if (std::find(m.methods.begin(), m.methods.end(), r.method) == m.methods.end()) m.methods.push_back(r.method);
      if (!m.handler && r.method == method) {
        m.handler = &r.handler;
        m.params = std::move(params);
      }
    }
    return m;
  }

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;
    std::string route;
    Handler handler;
  };
  static std::vector<std::string> split(const std::string& path) {
    std::vector<std::string> out;
    size_t i = 0;
    while (i < path.size()) {
      if (path[i] == '/') {
        ++i;
        continue;
      }
      const size_t j = path.find('/', i);
      out.push_back(path.substr(i, j == std::string::npos ? std::string::npos : j - i));
      if (j == std::string::npos) break;
      i = j;
    }
    return out;
  }
  static bool matches(const std::vector<std::string>& tpl, const std::vector<std::string>& parts,
                      std::map<std::string, std::string>& params) {
    if (tpl.size() != parts.size()) return false;
    for (size_t i = 0; i < tpl.size(); ++i) {
      if (tpl[i].size() > 2 && tpl[i].front() == '{' && tpl[i].back() == '}') {
        if (parts[i].empty()) return false;
        params[tpl[i].substr(1, tpl[i].size() - 2)] = parts[i];
      } else if (tpl[i] != parts[i]) {
        return false;
      }
    }
    return true;
  }
  std::vector<Route> routes_;
};

}  // namespace vigil::http
