// Raw Unicode data tables (generated into unicode_tables.cpp by tools/unicode/gen_tables.py).
// Use the lookups in unicode.h; these arrays are their backing store.
#pragma once

#include <cstddef>
#include <cstdint>

namespace whale::unicode_data {

struct CategoryRange {
  uint32_t first, last;
  uint8_t category;  // index into GeneralCategory (unicode.h)
};
struct CodeRange {
  uint32_t first, last;
};
struct CombiningRange {
  uint32_t first, last;
  uint8_t ccc;
};
struct Decomposition {
  uint32_t cp, a, b;  // cp -> a b (b == 0: singleton)
};
struct Composition {
  uint32_t first, second, composite;
};
struct CaseFold {
  uint32_t cp, folded;
};

extern const CategoryRange kCategoryRanges[];
extern const size_t kCategoryRangeCount;
extern const CodeRange kWhiteSpace[];
extern const size_t kWhiteSpaceCount;
extern const CombiningRange kCombiningClass[];
extern const size_t kCombiningClassCount;
extern const Decomposition kDecompositions[];
extern const size_t kDecompositionCount;
extern const Composition kCompositions[];
extern const size_t kCompositionCount;
extern const CaseFold kCaseFolds[];
extern const size_t kCaseFoldCount;

}  // namespace whale::unicode_data
