#pragma once
// Alert email templates (alerts/templates/): for each alert class <class>.subject.txt,
// <class>.text.txt and optionally <class>.html. A template is text with {{field}} placeholders and
// nothing else (no logic): what an alert says is decided in code from coded data, and the words
// around it live here. Values are inserted as they are in the text part, on one line in the
// subject, and HTML-escaped (newlines as <br>) in the HTML part. Immutable after load, so safe to
// share between threads.

#include <map>
#include <set>
#include <stdexcept>
#include <string>

#include "core/status.h"

namespace vigil::mail {

class TemplateError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct RenderedMail {
  std::string subject;
  std::string text;
  std::string html;  // empty when the class has no HTML template
};

using Fields = std::map<std::string, std::string>;

class Templates {
 public:
  // Loads the templates of every class in fields_by_class from dir. Throws TemplateError naming
  // the file when a subject or text template is missing or empty, a placeholder is malformed, or
  // it names a field the class does not provide.
  static Templates load(const std::string& dir, const std::map<std::string, std::set<std::string>>& fields_by_class);

  // Renders one class. A placeholder whose field is absent is an error naming it (never an empty
  // gap in a safety email).
  core::Result<RenderedMail> render(const std::string& alert_class, const Fields& fields) const;

  bool hasHtml(const std::string& alert_class) const;

 private:
  struct Set {
    std::string subject, text, html;
  };
  std::map<std::string, Set> by_class_;
};

// HTML-escapes & < > " ' and turns newlines into <br>.
std::string escapeHtml(const std::string& value);

}  // namespace vigil::mail
