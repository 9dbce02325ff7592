#pragma once
// Writing HTML text directly: the escaping both the alert emails and the DSMB report use.

#include <string>
#include <string_view>

namespace vigil::core {

// Appends s with & < > " ' escaped, safe in element text and in quoted attributes. With
// line_breaks, each \n becomes "<br>\n" and \r is dropped (text written as paragraphs).
void appendHtmlEscaped(std::string& out, std::string_view s, bool line_breaks = false);

inline std::string htmlEscaped(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 16);
  appendHtmlEscaped(out, s);
  return out;
}

}  // namespace vigil::core
