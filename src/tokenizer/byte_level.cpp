#include "tokenizer/byte_level.h"

#include <string_view>

#include "tokenizer/unicode.h"

namespace whale::byte_level {
namespace {

struct Tables {
  std::array<uint32_t, 256> to_char{};
  std::array<int16_t, 512> to_byte{};  // every alphabet code point is < U+0144
  std::array<std::array<char, 2>, 256> utf8{};
  std::array<uint8_t, 256> utf8_len{};
};

const Tables& tables() {
  static const Tables t = [] {
    Tables t;
    t.to_byte.fill(-1);
    uint32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
      uint32_t cp = printable ? uint32_t(b) : next++;
      t.to_char[b] = cp;
      t.to_byte[cp] = int16_t(b);
      std::string u;
      unicode::append_utf8(u, cp);
      t.utf8_len[b] = uint8_t(u.size());
      for (size_t i = 0; i < u.size(); ++i) t.utf8[b][i] = u[i];
    }
    return t;
  }();
  return t;
}

}  // namespace

uint32_t byte_to_char(uint8_t b) {
  return tables().to_char[b];
}

int char_to_byte(uint32_t cp) {
  return cp < 512 ? tables().to_byte[cp] : -1;
}

void encode(std::string_view bytes, std::string& out) {
  const Tables& t = tables();
  for (char c : bytes) {
    auto b = static_cast<uint8_t>(c);
    out.append(t.utf8[b].data(), t.utf8_len[b]);
  }
}

}  // namespace whale::byte_level
