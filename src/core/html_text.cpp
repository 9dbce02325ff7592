#include "core/html_text.h"

namespace vigil::core {

void appendHtmlEscaped(std::string& out, std::string_view s, bool line_breaks) {
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      case '\n':
        if (line_breaks) out += "<br>\n";
        else out += c;
        break;
      case '\r':
        if (!line_breaks) out += c;
        break;
      default: out += c;
    }
  }
}

}  // namespace vigil::core
