// Unicode lookups the tokenizer needs: general category, White_Space, canonical combining
// class, canonical (de)composition and simple case folding, plus UTF-8 helpers.
// Backed by the generated range tables in unicode_tables.cpp (see tools/unicode/).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace whale::unicode {

// Order matches tools/unicode/gen_tables.py (CATS).
enum GeneralCategory : uint8_t {
  Cn,
  Lu,
  Ll,
  Lt,
  Lm,
  Lo,
  Mn,
  Mc,
  Me,
  Nd,
  Nl,
  No,
  Pc,
  Pd,
  Ps,
  Pe,
  Pi,
  Pf,
  Po,
  Sm,
  Sc,
  Sk,
  So,
  Zs,
  Zl,
  Zp,
  Cc,
  Cf,
  Cs,
  Co,
  kCategoryCount
};

// Bit masks over GeneralCategory for the one-letter groups (\p{L} etc.).
constexpr uint32_t bit(GeneralCategory c) {
  return uint32_t(1) << c;
}
constexpr uint32_t kLetter = bit(Lu) | bit(Ll) | bit(Lt) | bit(Lm) | bit(Lo);
constexpr uint32_t kMark = bit(Mn) | bit(Mc) | bit(Me);
constexpr uint32_t kNumber = bit(Nd) | bit(Nl) | bit(No);
constexpr uint32_t kPunct = bit(Pc) | bit(Pd) | bit(Ps) | bit(Pe) | bit(Pi) | bit(Pf) | bit(Po);
constexpr uint32_t kSymbol = bit(Sm) | bit(Sc) | bit(Sk) | bit(So);
constexpr uint32_t kSeparator = bit(Zs) | bit(Zl) | bit(Zp);
constexpr uint32_t kOther = bit(Cn) | bit(Cc) | bit(Cf) | bit(Cs) | bit(Co);

GeneralCategory category(uint32_t cp);
bool is_white_space(uint32_t cp);  // the White_Space property (what Oniguruma's \s matches)
uint8_t combining_class(uint32_t cp);
// Simple case folding (the code point itself when it has none).
uint32_t case_fold(uint32_t cp);
// Calls fn(cp2) for every code point cp2 != cp whose case folding equals cp's.
template <typename Fn>
void for_each_case_variant(uint32_t cp, Fn&& fn);

// NFC normalization of valid UTF-8 (Unicode canonical composition).
std::string to_nfc(std::string_view utf8);
// Cheap check: true when `utf8` certainly is already NFC (no character that could change).
bool is_nfc_quick(std::string_view utf8);

constexpr uint32_t kReplacement = 0xFFFD;

// Decodes one code point at s[pos], advancing pos. Invalid or truncated sequences (as defined by
// the Unicode "maximal subpart" rule) decode to U+FFFD and advance past the maximal subpart.
uint32_t decode_utf8(std::string_view s, size_t& pos);
// Length of the valid UTF-8 sequence at s[pos], or 0 when the bytes there are not one.
size_t valid_utf8_length(std::string_view s, size_t pos);
bool is_valid_utf8(std::string_view s);
// Replaces every invalid sequence by U+FFFD (like Rust's String::from_utf8_lossy).
std::string to_valid_utf8(std::string_view s);
void append_utf8(std::string& out, uint32_t cp);
// Number of bytes (0..3) at the end of s that are the start of a valid but unfinished
// multi-byte character: more bytes could still complete it.
size_t incomplete_utf8_tail(std::string_view s);

// ---- implementation details of the template above
size_t case_variants(uint32_t folded, const uint32_t** out);

template <typename Fn>
void for_each_case_variant(uint32_t cp, Fn&& fn) {
  uint32_t f = case_fold(cp);
  if (f != cp) fn(f);
  const uint32_t* v = nullptr;
  size_t n = case_variants(f, &v);
  for (size_t i = 0; i < n; ++i)
    if (v[i] != cp) fn(v[i]);
}

}  // namespace whale::unicode
