#include "app/audit_key.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/crypto.h"
#include "store/sqlite.h"

namespace vigil::app {
namespace {

constexpr size_t kMinKeyBytes = 32;

std::string trimmed(std::string text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  size_t start = 0;
  while (start < text.size() && std::isspace(static_cast<unsigned char>(text[start]))) ++start;
  return text.substr(start);
}

std::string decodeKey(const std::string& hex, const std::string& origin) {
  std::string key;
  if (!core::fromHex(trimmed(hex), key) || key.size() < kMinKeyBytes)
    throw AuditKeyError(origin + " must hold at least 64 hex digits (a 256-bit key)");
  return key;
}

std::string readKeyFile(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) throw AuditKeyError("cannot read the audit key " + path + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) throw AuditKeyError("the audit key " + path + " is not a regular file");
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    throw AuditKeyError("the audit key " + path + " has mode " + mode +
                        "; it must be readable by its owner only: chmod 600 " + path);
  }
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  if (!in) throw AuditKeyError("cannot read the audit key " + path);
  return decodeKey(ss.str(), "the audit key file " + path);
}

}  // namespace

bool databaseIsNew(const std::string& path) {
  if (!std::filesystem::exists(path)) return true;
  try {
    store::Connection c(path, true);
    auto& s = c.prepare("SELECT 1 FROM audit_log LIMIT 1");
    const bool has_rows = s.step();
    if (has_rows) s.reset();
    return !has_rows;
  } catch (const store::SqliteError&) {
    return true;  // no audit_log table yet: nothing was ever written
  }
}

std::string loadAuditKey(const AuditSettings& audit, const std::string& database_path, bool create_for_new_database,
                         bool* created) {
  if (created) *created = false;
  if (!audit.key_hex.empty()) return decodeKey(audit.key_hex, "VIGIL_AUDIT_KEY");
  if (std::filesystem::exists(audit.key_file)) return readKeyFile(audit.key_file);
  if (!create_for_new_database || !databaseIsNew(database_path))
    throw AuditKeyError("no audit key: VIGIL_AUDIT_KEY is not set and " + audit.key_file +
                        " does not exist; for a database from before keyed audit chains run "
                        "vigilctl audit init-key (it keeps the existing rows verifiable)");
  auto key = createAuditKeyFile(audit.key_file);
  // Another process (vigild and vigilctl started together) created it first: use that one.
  if (!key.isOk() && key.status().code() == core::StatusCode::kConflict) return readKeyFile(audit.key_file);
  if (!key.isOk()) throw AuditKeyError(key.status().message());
  if (created) *created = true;
  return key.value();
}

core::Result<std::string> createAuditKeyFile(const std::string& path) {
  const std::string key = core::randomBytes(kMinKeyBytes);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return core::Status::conflict(path + " exists; an audit key is never overwritten");
    return core::Status::unavailable("cannot create the audit key " + path + ": " + std::strerror(errno));
  }
  const std::string text = core::toHex(key) + "\n";
  // The umask may have cleared bits, never added them; fchmod makes it exactly 0600 either way.
  const bool ok = ::fchmod(fd, 0600) == 0 && ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                  ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) {
    ::unlink(path.c_str());
    return core::Status::unavailable("cannot write the audit key " + path + ": " + std::strerror(errno));
  }
  return key;
}

std::string keyFingerprint(const std::string& key) { return core::sha256Hex(key).substr(0, 16); }

}  // namespace vigil::app
