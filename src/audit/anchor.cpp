#include "audit/anchor.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "core/crypto.h"

namespace vigil::audit {
namespace {
constexpr const char* kMagic = "vigil-audit-anchor/1";

std::string body(const Head& head) { return std::string(kMagic) + " " + std::to_string(head.seq) + " " + head.hash; }
std::string mac(const Head& head, const std::string& key) {
  return key.empty() ? std::string("-") : core::hmacSha256Hex(key, body(head));
}
}  // namespace

std::string formatAnchor(const Head& head, const std::string& key) { return body(head) + " " + mac(head, key) + "\n"; }

core::Result<Head> parseAnchor(const std::string& text, const std::string& key) {
  std::istringstream in(text);
  std::string magic, seq, hash, tag, extra;
  if (!(in >> magic >> seq >> hash >> tag) || (in >> extra) || magic != kMagic)
    return core::Status::invalid("the anchor is not a vigil-audit-anchor/1 line");
  Head head;
  try {
    size_t used = 0;
    head.seq = std::stoll(seq, &used);
    if (used != seq.size() || head.seq < 0) throw std::invalid_argument(seq);
  } catch (const std::exception&) {
    return core::Status::invalid("the anchor's sequence number '" + seq + "' is not a number");
  }
  head.hash = hash;
  if (!key.empty() && tag != mac(head, key))
    return core::Status::invalid("the anchor's MAC does not match under the audit key: it was not written by Vigil");
  return head;
}

core::Result<std::optional<Head>> readAnchor(const std::string& path, const std::string& key) {
  std::ifstream in(path);
  if (!in) {
    if (access(path.c_str(), F_OK) != 0) return std::optional<Head>();
    return core::Status::invalid("cannot read the audit anchor " + path);
  }
  std::stringstream ss;
  ss << in.rdbuf();
  auto head = parseAnchor(ss.str(), key);
  if (!head.isOk()) return core::Status::invalid(path + ": " + head.status().message());
  return std::optional<Head>(head.value());
}

core::Status writeAnchor(const std::string& path, const Head& head, const std::string& key) {
  const std::string tmp = path + ".tmp." + std::to_string(getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << formatAnchor(head, key);
    out.close();
    if (!out) {
      std::remove(tmp.c_str());
      return core::Status::unavailable("cannot write the audit anchor " + tmp);
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return core::Status::unavailable("cannot rename the audit anchor into " + path);
  }
  return core::Status::ok();
}

}  // namespace vigil::audit
