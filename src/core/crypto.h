#pragma once
// Hashing and token generation used by authentication and the audit trail.

#include <string>
#include <string_view>

namespace vigil::core {

// Lower-case hex SHA-256 of the bytes. Thread-safe.
std::string sha256Hex(std::string_view data);

// A new API token: "vgl_" followed by 43 base64url characters (256 bits from the kernel's
// CSPRNG). Throws std::runtime_error if the kernel cannot supply randomness.
std::string newApiToken();

}  // namespace vigil::core
