#include "mail/file_mailer.h"

#include <filesystem>
#include <fstream>

namespace vigil::mail {

core::Status FileMailer::send(const MailMessage& message) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) return core::Status::unavailable("cannot create " + dir_ + ": " + ec.message());
  std::string name;
  for (char c : message.message_id)
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_') name += c;
  const fs::path final_path = fs::path(dir_) / (name + ".eml");
  const fs::path tmp_path = fs::path(dir_) / ("." + name + ".tmp");
  {
    std::ofstream out(tmp_path, std::ios::binary | std::ios::trunc);
    out << toMime(message);
    out.flush();
    if (!out) return core::Status::unavailable("cannot write " + tmp_path.string());
  }
  fs::rename(tmp_path, final_path, ec);
  if (ec) return core::Status::unavailable("cannot rename to " + final_path.string() + ": " + ec.message());
  return core::Status::ok();
}

}  // namespace vigil::mail
