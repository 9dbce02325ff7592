#pragma once
// Hashing and token generation used by authentication and the audit trail.

#include <cstddef>
#include <string>
#include <string_view>

namespace vigil::core {

// Lower-case hex SHA-256 of the bytes. Thread-safe.
std::string sha256Hex(std::string_view data);

// Lower-case hex HMAC-SHA-256 (RFC 2104) of data under key (raw bytes). Thread-safe.
std::string hmacSha256Hex(std::string_view key, std::string_view data);

// n bytes from the kernel's CSPRNG. Throws std::runtime_error if it cannot supply them.
std::string randomBytes(size_t n);

// Lower-case hex of bytes; fromHex returns false (out untouched) for an odd length or a
// character outside 0-9, a-f, A-F.
std::string toHex(std::string_view bytes);
bool fromHex(std::string_view hex, std::string& out);

// A new API token: "vgl_" followed by 43 base64url characters (256 bits from the kernel's
// CSPRNG). Throws std::runtime_error if the kernel cannot supply randomness.
std::string newApiToken();

}  // namespace vigil::core
