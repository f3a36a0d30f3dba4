// Internal representation shared by the regex compiler (regex_compile.cpp) and the matcher
// (regex_match.cpp). Not part of the tokenizer's public API.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace whale::regex_detail {

// A set of code points: the union of ranges, general categories, White_Space and nested
// (possibly negated) sets, optionally negated and/or case-insensitive as a whole.
struct CharClass {
  std::vector<std::pair<uint32_t, uint32_t>> ranges;
  uint32_t categories = 0;  // bit mask over unicode::GeneralCategory
  bool white_space = false;
  std::vector<CharClass> parts;
  bool negate = false;
  bool icase = false;
  std::vector<uint64_t> bmp;  // precomputed answer for U+0000..U+FFFF (filled by finalize)

  bool matches(uint32_t cp) const {
    if (cp < 0x10000 && !bmp.empty()) return (bmp[cp >> 6] >> (cp & 63)) & 1;
    return matches_slow(cp);
  }
  bool matches_slow(uint32_t cp) const;  // icase and negate applied, no cache
  bool raw(uint32_t cp) const;           // the union, ignoring negate and icase
  void finalize();
};

enum class Op : uint8_t {
  Char,      // x = code point
  CharFold,  // x = case-folded code point
  Class,     // x = class index
  Any,       // any code point but \n
  Split,     // try x first, then y
  Jmp,       // goto x
  Match,
  Bol,
  Eol,
  Bos,
  Eos,
  EosNl,
  WordBoundary,
  NotWordBoundary,
  Look,    // x = sub-program; neg = negative; y = 0: ahead, else behind with max length y-1
  Atomic,  // x = sub-program: first match only, no backtracking into it
  Mark,    // slots[x] = position (loop start, for the empty-iteration check)
  Check,   // if position == slots[x]: goto y (leave the loop) else fall through
};

struct Inst {
  Op op;
  bool neg = false;
  uint32_t x = 0;
  uint32_t y = 0;
};

struct Program {
  std::vector<Inst> insts;
  std::vector<CharClass> classes;
  std::vector<Program> subs;
  uint32_t n_slots = 0;
  // Code points a match can start with (nullopt-like: any_start when unknown / nullable).
  bool any_start = true;
  CharClass first;
};

}  // namespace whale::regex_detail
