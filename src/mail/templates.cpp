#include "mail/templates.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/html_text.h"

namespace vigil::mail {
namespace {

enum class Mode { kSubject, kText, kHtml };

// Calls on_field(name) for every {{name}}; throws on "{{" without "}}" or an empty name.
template <typename F>
void scan(const std::string& tpl, const std::string& file, F on_field) {
  size_t pos = 0;
  while ((pos = tpl.find("{{", pos)) != std::string::npos) {
    const size_t end = tpl.find("}}", pos + 2);
    if (end == std::string::npos) throw TemplateError(file + ": '{{' without '}}'");
    const std::string name = tpl.substr(pos + 2, end - pos - 2);
    if (name.empty() || name.find_first_not_of("abcdefghijklmnopqrstuvwxyz_0123456789") != std::string::npos)
      throw TemplateError(file + ": bad placeholder '{{" + name + "}}'");
    on_field(name);
    pos = end + 2;
  }
}

std::string readFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

core::Result<std::string> fill(const std::string& tpl, const Fields& fields, Mode mode, const std::string& what) {
  std::string out;
  out.reserve(tpl.size() + 256);
  size_t pos = 0;
  while (true) {
    const size_t open = tpl.find("{{", pos);
    if (open == std::string::npos) {
      out.append(tpl, pos, std::string::npos);
      break;
    }
    out.append(tpl, pos, open - pos);
    const size_t close = tpl.find("}}", open + 2);
    const std::string name = tpl.substr(open + 2, close - open - 2);
    auto it = fields.find(name);
    if (it == fields.end()) return core::Status::internal(what + ": no value for field '" + name + "'");
    if (mode == Mode::kHtml) {
      out += escapeHtml(it->second);
    } else if (mode == Mode::kSubject) {
      for (char c : it->second) out += (c == '\r' || c == '\n') ? ' ' : c;
    } else {
      out += it->second;
    }
    pos = close + 2;
  }
  if (mode == Mode::kSubject) {
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r' || out.back() == ' ')) out.pop_back();
    for (char& c : out)
      if (c == '\r' || c == '\n') c = ' ';
  }
  return out;
}

}  // namespace

std::string escapeHtml(const std::string& v) {
  std::string out;
  out.reserve(v.size() + 16);
  core::appendHtmlEscaped(out, v, true);
  return out;
}

Templates Templates::load(const std::string& dir, const std::map<std::string, std::set<std::string>>& fields_by_class) {
  namespace fs = std::filesystem;
  Templates t;
  for (const auto& entry : fields_by_class) {
    // Named references, not structured bindings: clang 14 (the fuzz build) cannot capture those.
    const std::string& cls = entry.first;
    const std::set<std::string>& allowed = entry.second;
    Set set;
    auto load_one = [&](const std::string& suffix, bool required) {
      const fs::path path = fs::path(dir) / (cls + suffix);
      if (!fs::exists(path)) {
        if (required) throw TemplateError(path.string() + ": missing (every alert class needs a subject and a text template)");
        return std::string();
      }
      std::string tpl = readFile(path);
      if (required && tpl.find_first_not_of(" \r\n\t") == std::string::npos) throw TemplateError(path.string() + ": empty");
      scan(tpl, path.string(), [&](const std::string& name) {
        if (!allowed.count(name))
          throw TemplateError(path.string() + ": unknown field '{{" + name + "}}' for alert class " + cls);
      });
      return tpl;
    };
    set.subject = load_one(".subject.txt", true);
    set.text = load_one(".text.txt", true);
    set.html = load_one(".html", false);
    t.by_class_[cls] = std::move(set);
  }
  return t;
}

core::Result<RenderedMail> Templates::render(const std::string& cls, const Fields& fields) const {
  auto it = by_class_.find(cls);
  if (it == by_class_.end()) return core::Status::internal("no templates for alert class " + cls);
  RenderedMail m;
  auto subject = fill(it->second.subject, fields, Mode::kSubject, cls + ".subject.txt");
  if (!subject.isOk()) return subject.status();
  auto text = fill(it->second.text, fields, Mode::kText, cls + ".text.txt");
  if (!text.isOk()) return text.status();
  m.subject = std::move(subject.value());
  m.text = std::move(text.value());
  if (!it->second.html.empty()) {
    auto html = fill(it->second.html, fields, Mode::kHtml, cls + ".html");
    if (!html.isOk()) return html.status();
    m.html = std::move(html.value());
  }
  return m;
}

bool Templates::hasHtml(const std::string& cls) const {
  auto it = by_class_.find(cls);
  return it != by_class_.end() && !it->second.html.empty();
}

}  // namespace vigil::mail
