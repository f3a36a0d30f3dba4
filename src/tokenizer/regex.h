// A small backtracking regex engine over Unicode code points, covering the Oniguruma (Ruby
// syntax) subset that tokenizer.json pre-tokenizers use: literals and escapes, classes with
// ranges / \p{..} / \s \d \w \h and negation, ., ^ $ \A \z \Z \b \B, groups (capturing groups are
// treated as non-capturing), (?i:..) (?-i:..) (?i), lookahead (?=..) (?!..), bounded lookbehind
// (?<=..) (?<!..), atomic (?>..), quantifiers ? * + {n} {n,} {,m} {n,m} with lazy (?) and
// possessive (+) forms. Semantics are Oniguruma's: leftmost match, alternatives tried in order,
// greedy quantifiers backtrack. Anything else (scripts like \p{Han}, POSIX brackets, class
// intersection, backreferences, ...) is refused at compile time with a clear error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "platform/result.h"

namespace whale {

namespace regex_detail {
struct Program;
}

class Regex {
 public:
  static Result<Regex> compile(std::string_view pattern);
  // A regex matching `literal` exactly (tokenizer.json's {"String": ...} split patterns).
  static Regex literal(std::string_view literal);

  // Leftmost match starting at or after `from`; [begin, end) in code point indices.
  // Returns false when there is none. Matching is bounded by a step budget so that a
  // pathological pattern cannot hang the process; exhausting it counts as "no match here".
  bool search(std::span<const uint32_t> text, size_t from, size_t& begin, size_t& end) const;

  const std::string& pattern() const { return pattern_; }

 private:
  std::shared_ptr<const regex_detail::Program> program_;
  std::string pattern_;
};

}  // namespace whale
