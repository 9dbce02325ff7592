#pragma once
// Reads a request body as JSON strictly (issue 13.5), naming the field at fault the way the
// body decoders do ("results[3].value"):
//   - a number too large for a double (1e999, -1e999, a grade of 1e400) is refused, not a 500;
//   - a key given twice in one object is refused (which one would count is anyone's guess);
//   - a NUL character in a string (key or value) is refused: no text field may carry one.
// Syntax errors name the byte. Built on nlohmann's SAX interface, one pass, no recursion.

#include <nlohmann/json.hpp>
#include <string_view>

#include "core/status.h"

namespace vigil::intake {

// The document, or Status::invalid whose fields name each problem found (syntax and number
// errors stop the reading; NUL characters are all reported; a duplicate key stops it).
// syntax_error is set when the text is not JSON at all (the caller answers 400, else 422).
core::Result<nlohmann::json> parseStrictJson(std::string_view text, bool* syntax_error = nullptr);

}  // namespace vigil::intake
