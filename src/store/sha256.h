// SHA-256 (FIPS 180-4), used to store API keys hashed. Small and dependency-free; checked
// against the standard's test vectors in tests/store.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace whale {

using Sha256Digest = std::array<uint8_t, 32>;

Sha256Digest sha256(std::string_view data);
std::string to_hex(const uint8_t* data, size_t n);

}  // namespace whale
