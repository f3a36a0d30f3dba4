// GPT-2's byte-level alphabet: every byte maps to one printable code point, so any byte string
// becomes a string of "characters" a BPE vocabulary can cover. Printable Latin-1 bytes map to
// themselves; the 68 others map to U+0100.. in byte order.
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace whale::byte_level {

// Code point of byte b.
uint32_t byte_to_char(uint8_t b);
// Byte of code point cp, or -1 when cp is not in the alphabet.
int char_to_byte(uint32_t cp);
// Appends the byte-level form (UTF-8) of each byte of `bytes` to out.
void encode(std::string_view bytes, std::string& out);

}  // namespace whale::byte_level
