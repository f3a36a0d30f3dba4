#include "tokenizer/unicode.h"

#include <algorithm>
#include <array>
#include <map>
#include <memory>
#include <vector>

#include "tokenizer/unicode_tables.h"

namespace whale::unicode {
namespace ud = whale::unicode_data;

namespace {

// The BMP is looked up through a flat table built once from the ranges (64 KiB): the hot path
// of pre-tokenization asks for the category of every character.
struct BmpTables {
  std::array<uint8_t, 0x10000> category{};
  std::array<uint8_t, 0x10000> flags{};  // bit 0: White_Space, bit 1: may change under NFC
};

template <typename R>
const R* find_range(const R* table, size_t n, uint32_t cp) {
  const R* end = table + n;
  const R* it =
      std::upper_bound(table, end, cp, [](uint32_t c, const R& r) { return c < r.first; });
  if (it == table) return nullptr;
  --it;
  return cp <= it->last ? it : nullptr;
}

const ud::Decomposition* find_decomposition(uint32_t cp) {
  const auto* end = ud::kDecompositions + ud::kDecompositionCount;
  const auto* it =
      std::lower_bound(ud::kDecompositions, end, cp,
                       [](const ud::Decomposition& d, uint32_t c) { return d.cp < c; });
  return it != end && it->cp == cp ? it : nullptr;
}

constexpr uint32_t kHangulS = 0xAC00, kHangulL = 0x1100, kHangulV = 0x1161, kHangulT = 0x11A7;
constexpr uint32_t kHangulLCount = 19, kHangulVCount = 21, kHangulTCount = 28;
constexpr uint32_t kHangulN = kHangulVCount * kHangulTCount,
                   kHangulSCount = kHangulLCount * kHangulN;

// Characters that can make NFC differ from the input: anything with a canonical decomposition,
// a nonzero combining class, or that composes with a preceding character.
bool nfc_sensitive_slow(uint32_t cp) {
  if (cp >= kHangulS && cp < kHangulS + kHangulSCount) return false;  // already composed
  if (cp >= kHangulV && cp < kHangulV + kHangulVCount) return true;
  if (cp > kHangulT && cp < kHangulT + kHangulTCount) return true;
  if (find_decomposition(cp) || combining_class(cp) != 0) return true;
  for (size_t i = 0; i < ud::kCompositionCount; ++i)
    if (ud::kCompositions[i].second == cp) return true;
  return false;
}

const BmpTables& bmp() {
  static const std::unique_ptr<BmpTables> t = [] {
    auto b = std::make_unique<BmpTables>();
    for (size_t i = 0; i < ud::kCategoryRangeCount; ++i) {
      const auto& r = ud::kCategoryRanges[i];
      for (uint32_t c = r.first; c <= r.last && c < 0x10000; ++c) b->category[c] = r.category;
    }
    for (size_t i = 0; i < ud::kWhiteSpaceCount; ++i)
      for (uint32_t c = ud::kWhiteSpace[i].first; c <= ud::kWhiteSpace[i].last && c < 0x10000; ++c)
        b->flags[c] |= 1;
    std::vector<bool> second(0x10000);
    for (size_t i = 0; i < ud::kCompositionCount; ++i)
      if (ud::kCompositions[i].second < 0x10000) second[ud::kCompositions[i].second] = true;
    for (size_t i = 0; i < ud::kDecompositionCount; ++i)
      if (ud::kDecompositions[i].cp < 0x10000) b->flags[ud::kDecompositions[i].cp] |= 2;
    for (size_t i = 0; i < ud::kCombiningClassCount; ++i)
      for (uint32_t c = ud::kCombiningClass[i].first;
           c <= ud::kCombiningClass[i].last && c < 0x10000; ++c)
        b->flags[c] |= 2;
    for (uint32_t c = 0; c < 0x10000; ++c)
      if (second[c] || (c >= kHangulV && c < kHangulV + kHangulVCount) ||
          (c > kHangulT && c < kHangulT + kHangulTCount))
        b->flags[c] |= 2;
    return b;
  }();
  return *t;
}

struct FoldIndex {
  std::map<uint32_t, std::vector<uint32_t>> sources;  // folded -> code points folding to it
};
const FoldIndex& fold_index() {
  static const FoldIndex idx = [] {
    FoldIndex f;
    for (size_t i = 0; i < ud::kCaseFoldCount; ++i)
      f.sources[ud::kCaseFolds[i].folded].push_back(ud::kCaseFolds[i].cp);
    return f;
  }();
  return idx;
}

}  // namespace

GeneralCategory category(uint32_t cp) {
  if (cp < 0x10000) return GeneralCategory(bmp().category[cp]);
  const auto* r = find_range(ud::kCategoryRanges, ud::kCategoryRangeCount, cp);
  return r ? GeneralCategory(r->category) : Cn;
}

bool is_white_space(uint32_t cp) {
  return cp < 0x10000 && (bmp().flags[cp] & 1);
}

uint8_t combining_class(uint32_t cp) {
  const auto* r = find_range(ud::kCombiningClass, ud::kCombiningClassCount, cp);
  return r ? r->ccc : 0;
}

uint32_t case_fold(uint32_t cp) {
  const auto* end = ud::kCaseFolds + ud::kCaseFoldCount;
  const auto* it = std::lower_bound(ud::kCaseFolds, end, cp,
                                    [](const ud::CaseFold& f, uint32_t c) { return f.cp < c; });
  return it != end && it->cp == cp ? it->folded : cp;
}

size_t case_variants(uint32_t folded, const uint32_t** out) {
  const auto& m = fold_index().sources;
  auto it = m.find(folded);
  if (it == m.end()) return 0;
  *out = it->second.data();
  return it->second.size();
}

// ---- UTF-8

size_t valid_utf8_length(std::string_view s, size_t pos) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data()) + pos;
  size_t left = s.size() - pos;
  uint8_t b = p[0];
  if (b < 0x80) return 1;
  size_t n;
  uint8_t lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (b >= 0xC2 && b <= 0xDF) {
    n = 2;
  } else if (b >= 0xE0 && b <= 0xEF) {
    n = 3;
    if (b == 0xE0) lo = 0xA0;
    if (b == 0xED) hi = 0x9F;  // no surrogates
  } else if (b >= 0xF0 && b <= 0xF4) {
    n = 4;
    if (b == 0xF0) lo = 0x90;
    if (b == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (left < n) return 0;
  if (p[1] < lo || p[1] > hi) return 0;
  for (size_t i = 2; i < n; ++i)
    if ((p[i] & 0xC0) != 0x80) return 0;
  return n;
}

// Length of the maximal subpart of an ill-formed sequence at pos (>= 1): the longest prefix of a
// well-formed sequence that is present, so that it is replaced by one U+FFFD.
static size_t maximal_subpart(std::string_view s, size_t pos) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data()) + pos;
  size_t left = s.size() - pos;
  uint8_t b = p[0];
  size_t n;
  uint8_t lo = 0x80, hi = 0xBF;
  if (b >= 0xC2 && b <= 0xDF)
    n = 2;
  else if (b >= 0xE0 && b <= 0xEF)
    n = 3, lo = b == 0xE0 ? 0xA0 : 0x80, hi = b == 0xED ? 0x9F : 0xBF;
  else if (b >= 0xF0 && b <= 0xF4)
    n = 4, lo = b == 0xF0 ? 0x90 : 0x80, hi = b == 0xF4 ? 0x8F : 0xBF;
  else
    return 1;
  size_t i = 1;
  if (i < left && i < n && p[1] >= lo && p[1] <= hi) {
    ++i;
    while (i < left && i < n && (p[i] & 0xC0) == 0x80) ++i;
  }
  return i;
}

uint32_t decode_utf8(std::string_view s, size_t& pos) {
  size_t n = valid_utf8_length(s, pos);
  const auto* p = reinterpret_cast<const uint8_t*>(s.data()) + pos;
  switch (n) {
    case 1:
      pos += 1;
      return p[0];
    case 2:
      pos += 2;
      return (uint32_t(p[0] & 0x1F) << 6) | (p[1] & 0x3F);
    case 3:
      pos += 3;
      return (uint32_t(p[0] & 0x0F) << 12) | (uint32_t(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
    case 4:
      pos += 4;
      return (uint32_t(p[0] & 0x07) << 18) | (uint32_t(p[1] & 0x3F) << 12) |
             (uint32_t(p[2] & 0x3F) << 6) | (p[3] & 0x3F);
    default:
      pos += maximal_subpart(s, pos);
      return kReplacement;
  }
}

bool is_valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    if (static_cast<uint8_t>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    size_t n = valid_utf8_length(s, i);
    if (!n) return false;
    i += n;
  }
  return true;
}

std::string to_valid_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    size_t n = valid_utf8_length(s, i);
    if (n) {
      out.append(s.substr(i, n));
      i += n;
    } else {
      append_utf8(out, kReplacement);
      i += maximal_subpart(s, i);
    }
  }
  return out;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xC0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += char(0xE0 | (cp >> 12));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  } else {
    out += char(0xF0 | (cp >> 18));
    out += char(0x80 | ((cp >> 12) & 0x3F));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  }
}

size_t incomplete_utf8_tail(std::string_view s) {
  size_t n = s.size();
  for (size_t start = n; start-- > 0 && n - start <= 3;) {
    auto b = uint8_t(s[start]);
    if ((b & 0xC0) == 0x80) continue;  // continuation byte: keep looking for the lead
    size_t need = b >= 0xC2 && b <= 0xDF   ? 2
                  : b >= 0xE0 && b <= 0xEF ? 3
                  : b >= 0xF0 && b <= 0xF4 ? 4
                                           : 0;
    if (need <= n - start) return 0;
    // Present bytes must be a valid prefix: same checks as a full sequence.
    return maximal_subpart(s, start) == n - start ? n - start : 0;
  }
  return 0;
}

// ---- NFC

static void decompose(uint32_t cp, std::vector<uint32_t>& out) {
  if (cp >= kHangulS && cp < kHangulS + kHangulSCount) {
    uint32_t s = cp - kHangulS;
    out.push_back(kHangulL + s / kHangulN);
    out.push_back(kHangulV + (s % kHangulN) / kHangulTCount);
    if (s % kHangulTCount) out.push_back(kHangulT + s % kHangulTCount);
    return;
  }
  if (const auto* d = find_decomposition(cp)) {
    decompose(d->a, out);
    if (d->b) decompose(d->b, out);
    return;
  }
  out.push_back(cp);
}

static uint32_t compose_pair(uint32_t a, uint32_t b) {
  if (a >= kHangulL && a < kHangulL + kHangulLCount && b >= kHangulV &&
      b < kHangulV + kHangulVCount)
    return kHangulS + ((a - kHangulL) * kHangulVCount + (b - kHangulV)) * kHangulTCount;
  if (a >= kHangulS && a < kHangulS + kHangulSCount && (a - kHangulS) % kHangulTCount == 0 &&
      b > kHangulT && b < kHangulT + kHangulTCount)
    return a + (b - kHangulT);
  const auto* end = ud::kCompositions + ud::kCompositionCount;
  const auto* it =
      std::lower_bound(ud::kCompositions, end, std::pair(a, b),
                       [](const ud::Composition& c, std::pair<uint32_t, uint32_t> k) {
                         return c.first != k.first ? c.first < k.first : c.second < k.second;
                       });
  return it != end && it->first == a && it->second == b ? it->composite : 0;
}

bool is_nfc_quick(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    if (static_cast<uint8_t>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    uint32_t cp = decode_utf8(s, i);
    if (cp < 0x10000 ? (bmp().flags[cp] & 2) != 0 : nfc_sensitive_slow(cp)) return false;
  }
  return true;
}

std::string to_nfc(std::string_view s) {
  if (is_nfc_quick(s)) return std::string(s);
  std::vector<uint32_t> cps;
  cps.reserve(s.size());
  for (size_t i = 0; i < s.size();) decompose(decode_utf8(s, i), cps);
  // Canonical ordering: stable sort of each run of non-starters by combining class.
  for (size_t i = 0; i < cps.size();) {
    if (combining_class(cps[i]) == 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < cps.size() && combining_class(cps[j]) != 0) ++j;
    std::stable_sort(cps.begin() + i, cps.begin() + j, [](uint32_t a, uint32_t b) {
      return combining_class(a) < combining_class(b);
    });
    i = j;
  }
  // Canonical composition.
  std::vector<uint32_t> out;
  out.reserve(cps.size());
  size_t starter = SIZE_MAX;  // index in out of the last starter
  int last_ccc = -1;
  for (uint32_t cp : cps) {
    int ccc = combining_class(cp);
    if (starter != SIZE_MAX && (last_ccc < ccc || (last_ccc == 0 && out.size() == starter + 1))) {
      // not blocked: no character between starter and cp has ccc >= cp's (or it is adjacent)
      if (uint32_t c = compose_pair(out[starter], cp)) {
        out[starter] = c;
        continue;
      }
    }
    if (ccc == 0) {
      starter = out.size();
      last_ccc = 0;
    } else {
      last_ccc = ccc;
    }
    out.push_back(cp);
  }
  std::string r;
  r.reserve(s.size());
  for (uint32_t cp : out) append_utf8(r, cp);
  return r;
}

}  // namespace whale::unicode
