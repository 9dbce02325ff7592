#pragma once
// Writing JSON text directly, for hot paths where building a JSON library's object per row costs
// more than the work itself (lab batches, vigilctl grade).

#include <string>
#include <string_view>

namespace vigil::core {

// Appends s as the inside of a JSON string (no quotes), escaped exactly as nlohmann::json's
// dump() does: \" \\ \b \f \n \r \t, other control characters as \u00XX, UTF-8 as is.
void appendJsonEscaped(std::string& out, std::string_view s);

}  // namespace vigil::core
