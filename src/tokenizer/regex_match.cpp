// The backtracking matcher for programs built by regex_compile.cpp.
#include <algorithm>

#include "tokenizer/regex.h"
#include "tokenizer/regex_program.h"
#include "tokenizer/unicode.h"

namespace whale {
namespace regex_detail {

bool CharClass::raw(uint32_t cp) const {
  for (const auto& r : ranges)
    if (cp >= r.first && cp <= r.second) return true;
  if (categories && (categories >> unicode::category(cp)) & 1) return true;
  if (white_space && unicode::is_white_space(cp)) return true;
  for (const auto& p : parts)
    if (p.matches_slow(cp)) return true;
  return false;
}

bool CharClass::matches_slow(uint32_t cp) const {
  bool r = raw(cp);
  if (!r && icase) unicode::for_each_case_variant(cp, [&](uint32_t v) { r = r || raw(v); });
  return r != negate;
}

void CharClass::finalize() {
  bmp.assign(0x10000 / 64, 0);
  for (uint32_t cp = 0; cp < 0x10000; ++cp)
    if (matches_slow(cp)) bmp[cp >> 6] |= uint64_t(1) << (cp & 63);
}

namespace {

bool is_word(uint32_t cp) {
  constexpr uint32_t kWord =
      unicode::kLetter | unicode::kMark | unicode::bit(unicode::Nd) | unicode::bit(unicode::Pc);
  return (kWord >> unicode::category(cp)) & 1;
}

uint32_t fold(uint32_t cp) {
  if (cp < 128) return cp >= 'A' && cp <= 'Z' ? cp + 32 : cp;
  return unicode::case_fold(cp);
}

struct Frame {
  uint32_t pc;  // kRestore: slots[slot] = pos
  uint32_t slot;
  size_t pos;
};
constexpr uint32_t kRestore = UINT32_MAX;

// Backtracking stacks are reused across calls (per thread) so matching does not allocate.
struct Scratch {
  std::vector<Frame> stack;
  std::vector<size_t> slots;
};
thread_local Scratch t_scratch;

class Matcher {
 public:
  Matcher(const Program& root, size_t budget) : root_(root), budget_(budget) {}
  bool exhausted() const { return budget_ == 0; }

  // Nested calls (lookaround, atomic groups) use the part of the shared stacks above `base`.
  bool run(const Program& p, size_t pos, std::span<const uint32_t> text, size_t& out_end) {
    auto& stack = t_scratch.stack;
    auto& all_slots = t_scratch.slots;
    const size_t base = stack.size();
    const size_t slot_base = all_slots.size();
    all_slots.resize(slot_base + p.n_slots, SIZE_MAX);
    bool r = run_at(p, pos, text, out_end, base, slot_base);
    stack.resize(base);
    all_slots.resize(slot_base);
    return r;
  }

 private:
  bool run_at(const Program& p, size_t pos, std::span<const uint32_t> text, size_t& out_end,
              const size_t base, const size_t slot_base) {
    auto& stack = t_scratch.stack;
    auto& all_slots = t_scratch.slots;
    const size_t n = text.size();
    uint32_t pc = 0;
    while (true) {
      if (budget_ == 0) return false;
      --budget_;
      const Inst& in = p.insts[pc];
      bool ok = true;
      switch (in.op) {
        case Op::Char:
          ok = pos < n && text[pos] == in.x;
          pos += ok;
          ++pc;
          break;
        case Op::CharFold:
          ok = pos < n && fold(text[pos]) == in.x;
          pos += ok;
          ++pc;
          break;
        case Op::Class:
          ok = pos < n && root_.classes[in.x].matches(text[pos]);
          pos += ok;
          ++pc;
          break;
        case Op::Any:
          ok = pos < n && text[pos] != '\n';
          pos += ok;
          ++pc;
          break;
        case Op::Split:
          stack.push_back({in.y, 0, pos});
          pc = in.x;
          break;
        case Op::Jmp:
          pc = in.x;
          break;
        case Op::Match:
          out_end = pos;
          return true;
        case Op::Bol:
          ok = pos == 0 || text[pos - 1] == '\n';
          ++pc;
          break;
        case Op::Eol:
          ok = pos == n || text[pos] == '\n';
          ++pc;
          break;
        case Op::Bos:
          ok = pos == 0;
          ++pc;
          break;
        case Op::Eos:
          ok = pos == n;
          ++pc;
          break;
        case Op::EosNl:
          ok = pos == n || (pos + 1 == n && text[pos] == '\n');
          ++pc;
          break;
        case Op::WordBoundary:
        case Op::NotWordBoundary: {
          bool before = pos > 0 && is_word(text[pos - 1]);
          bool after = pos < n && is_word(text[pos]);
          ok = (before != after) == (in.op == Op::WordBoundary);
          ++pc;
          break;
        }
        case Op::Look: {
          const Program& sub = p.subs[in.x];
          bool found = false;
          size_t e;
          if (in.y == 0) {
            found = run(sub, pos, text, e);
          } else {  // lookbehind: some start k in [pos - maxlen, pos] matches exactly up to pos
            size_t maxlen = in.y - 1;
            for (size_t k = pos >= maxlen ? pos - maxlen : 0; k <= pos && !found; ++k)
              found = run(sub, k, text.first(pos), e);
          }
          if (budget_ == 0) return false;
          ok = found != in.neg;
          ++pc;
          break;
        }
        case Op::Atomic: {
          size_t e;
          ok = run(p.subs[in.x], pos, text, e);
          if (ok) pos = e;
          ++pc;
          break;
        }
        case Op::Mark:
          stack.push_back({kRestore, in.x, all_slots[slot_base + in.x]});
          all_slots[slot_base + in.x] = pos;
          ++pc;
          break;
        case Op::Check:
          pc = pos == all_slots[slot_base + in.x] ? in.y : pc + 1;
          break;
      }
      if (ok) continue;
      // Backtrack to the most recent alternative, undoing slot writes on the way.
      while (true) {
        if (stack.size() == base) return false;
        Frame f = stack.back();
        stack.pop_back();
        if (f.pc == kRestore) {
          all_slots[slot_base + f.slot] = f.pos;
          continue;
        }
        pc = f.pc;
        pos = f.pos;
        break;
      }
    }
  }

  const Program& root_;
  size_t budget_;
};

}  // namespace
}  // namespace regex_detail

bool Regex::search(std::span<const uint32_t> text, size_t from, size_t& begin, size_t& end) const {
  using namespace regex_detail;
  if (!program_) return false;
  // Generous for real pre-tokenizer patterns (a few steps per character), small enough that a
  // catastrophic pattern gives up instead of hanging.
  Matcher m(*program_, std::max<size_t>(size_t(10) << 20, text.size() * 64));
  for (size_t start = from; start <= text.size(); ++start) {
    size_t e;
    if (m.run(*program_, start, text, e)) {
      begin = start;
      end = e;
      return true;
    }
    if (m.exhausted()) return false;
  }
  return false;
}

}  // namespace whale
