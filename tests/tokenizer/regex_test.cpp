// Regex engine: each construct, with expectations checked against Oniguruma (npm tokenizers).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tokenizer/regex.h"
#include "tokenizer/unicode.h"

namespace whale {
namespace {

std::vector<uint32_t> cps(const std::string& s) {
  std::vector<uint32_t> out;
  for (size_t i = 0; i < s.size();) out.push_back(unicode::decode_utf8(s, i));
  return out;
}

// All non-overlapping matches, as Oniguruma's find_iter reports them.
std::vector<std::string> all(const std::string& pattern, const std::string& text) {
  auto re = Regex::compile(pattern);
  EXPECT_TRUE(re.ok()) << pattern << ": " << (re.ok() ? "" : re.error().message);
  if (!re.ok()) return {};
  auto t = cps(text);
  std::vector<std::string> out;
  size_t from = 0, b, e;
  while (from <= t.size() && re->search(t, from, b, e)) {
    std::string m;
    for (size_t k = b; k < e; ++k) unicode::append_utf8(m, t[k]);
    out.push_back(m);
    from = e > b ? e : e + 1;
  }
  return out;
}

using V = std::vector<std::string>;

TEST(Regex, LiteralsAndAlternationPreferFirstBranch) {
  EXPECT_EQ(all("ab|a", "abab a"), (V{"ab", "ab", "a"}));
  EXPECT_EQ(all("a|ab", "ab"), (V{"a"}));  // leftmost-first, not longest
}

TEST(Regex, GreedyLazyPossessive) {
  EXPECT_EQ(all("a+", "aaa baa"), (V{"aaa", "aa"}));
  EXPECT_EQ(all("a+?", "aaa"), (V{"a", "a", "a"}));
  EXPECT_EQ(all("a*+a", "aaa"), V{});  // possessive never gives back
  EXPECT_EQ(all("(?>a*)b", "aab"), (V{"aab"}));
  EXPECT_EQ(all("a??b", "ab b"), (V{"ab", "b"}));
}

TEST(Regex, CountedRepeats) {
  EXPECT_EQ(all("\\p{N}{1,3}", "1234567"), (V{"123", "456", "7"}));
  EXPECT_EQ(all("a{2}", "aaaaa"), (V{"aa", "aa"}));
  EXPECT_EQ(all("a{2,}", "a aa aaaa"), (V{"aa", "aaaa"}));
  EXPECT_EQ(all("a{,2}", "aaa"), (V{"aa", "a", ""}));
  EXPECT_EQ(all("a{2}+", "aaaaa"), (V{"aaaa"}));  // Ruby syntax: repeat of a repeat
  EXPECT_EQ(all("x{", "x{"), (V{"x{"}));          // not a quantifier: literal
}

TEST(Regex, UnicodeProperties) {
  EXPECT_EQ(all("\\p{L}+", "héllo wörld 中文"), (V{"héllo", "wörld", "中文"}));
  EXPECT_EQ(all("\\p{Lu}+", "aBCd"), (V{"BC"}));
  EXPECT_EQ(all("\\p{N}+", "a٣4b½"), (V{"٣4", "½"}));
  EXPECT_EQ(all("\\P{L}+", "ab12cd"), (V{"12"}));
  EXPECT_EQ(all("\\p{^L}+", "ab12"), (V{"12"}));
  EXPECT_EQ(all("\\p{Letter}+", "ab"), (V{"ab"}));
  EXPECT_EQ(all("[\\p{P}\\p{S}]+", "a!?+b"), (V{"!?+"}));
  EXPECT_EQ(all("\\p{M}+", "e\xCC\x81"), (V{"\xCC\x81"}));
}

TEST(Regex, ShorthandClasses) {
  EXPECT_EQ(all("\\s+",
                "a \t\n\xC2\x85"
                "b\xC2\xA0"
                "c\x1C"
                "d"),
            (V{" \t\n\xC2\x85", "\xC2\xA0"}));
  EXPECT_EQ(all("\\d+", "a٣4b"), (V{"٣4"}));
  EXPECT_EQ(all("\\w+", "é_a-b"), (V{"é_a", "b"}));
  EXPECT_EQ(all("\\h+", "0aFgz"), (V{"0aF"}));
  EXPECT_EQ(all("\\S+", "ab  c"), (V{"ab", "c"}));
}

TEST(Regex, CharacterClasses) {
  EXPECT_EQ(all("[^\\r\\n\\p{L}\\p{N}]?\\p{L}+", " hello,world"), (V{" hello", ",world"}));
  EXPECT_EQ(all("[一-龥぀-ゟ゠-ヿ]+", "abc中文ひらがなカタカナ한국"),
            (V{"中文ひらがなカタカナ"}));
  EXPECT_EQ(all("[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+", "x.foo -bar"),
            (V{".foo", "-bar"}));
  EXPECT_EQ(all("[a-c[x-z]]+", "abxyzd"), (V{"abxyz"}));
  EXPECT_EQ(all("[]a]+", "]a]b"), (V{"]a]"}));
  EXPECT_EQ(all("[\\x41-\\x43]+", "ABCD"), (V{"ABC"}));
}

TEST(Regex, CaseInsensitiveUsesUnicodeFolding) {
  EXPECT_EQ(all("(?i:'s|'ll)", "'s'S'\xC5\xBF'LL'lL"), (V{"'s", "'S", "'\xC5\xBF", "'LL", "'lL"}));
  EXPECT_EQ(all("(?i:k)", "kK\xE2\x84\xAA"), (V{"k", "K", "\xE2\x84\xAA"}));  // Kelvin sign
  EXPECT_EQ(all("a(?i)b|c", "aB C ac"), (V{"aB", "ac"}));                     // = a(?i:b|c)
  EXPECT_EQ(all("(?i:[a-c])+", "AbC"), (V{"AbC"}));
}

TEST(Regex, Lookaround) {
  EXPECT_EQ(all("\\s+(?!\\S)|\\s+", "a   b"), (V{"  ", " "}));
  EXPECT_EQ(all("\\s+(?!\\S)", "a   "), (V{"   "}));
  EXPECT_EQ(all("a(?=b)", "ab ac"), (V{"a"}));
  EXPECT_EQ(all("(?<=a)b", "abab cb"), (V{"b", "b"}));
  EXPECT_EQ(all("(?<!a)b", "ab cb"), (V{"b"}));
}

TEST(Regex, Anchors) {
  EXPECT_EQ(all("a$", "a\na"), (V{"a", "a"}));
  EXPECT_EQ(all("^a", "a\nba"), (V{"a"}));
  EXPECT_EQ(all("\\s+$", "a  \nb  "), (V{"  ", "  "}));
  EXPECT_EQ(all("\\Aa", "aa"), (V{"a"}));
  EXPECT_EQ(all("a\\z", "aa"), (V{"a"}));
  EXPECT_EQ(all("\\bx", "x xx"), (V{"x", "x"}));
  EXPECT_EQ(all(".", "a\r\n"), (V{"a", "\r"}));
}

TEST(Regex, EmptyLoopsTerminate) {
  EXPECT_EQ(all("(a*)*b", "aab"), (V{"aab"}));
  EXPECT_EQ(all("(a|)+b", "ab"), (V{"ab"}));
  EXPECT_EQ(all("(?:)*", "ab").size(), 3u);
}

TEST(Regex, CatastrophicPatternGivesUpInsteadOfHanging) {
  auto re = Regex::compile("(a*)*(a*)*(a*)*c");
  ASSERT_TRUE(re.ok());
  auto t = cps(std::string(60, 'a'));
  size_t b, e;
  EXPECT_FALSE(re->search(t, 0, b, e));  // bounded by the step budget
}

TEST(Regex, UnsupportedConstructsAreRefusedClearly) {
  for (const char* p :
       {"\\p{Han}", "[[:alpha:]]", "[a-z&&[^c]]", "(a)\\1", "\\R", "(?<=a+)b", "(?x)a", "a)", "(a",
        "[a", "*a", "a{3,2}", "\\", "\\p{L", "[z-a]", "a{99999}", "\\xZZ", "(?P<n>a)", "\xff"}) {
    auto re = Regex::compile(p);
    ASSERT_FALSE(re.ok()) << p;
    EXPECT_EQ(re.error().message.find('\n'), std::string::npos);
    EXPECT_EQ(re.error().message.rfind("regex: ", 0), 0u) << re.error().message;
  }
}

TEST(Regex, LiteralPattern) {
  Regex r = Regex::literal("a.b");
  auto t = cps("xa.bya-b");
  size_t b, e;
  ASSERT_TRUE(r.search(t, 0, b, e));
  EXPECT_EQ(b, 1u);
  EXPECT_EQ(e, 4u);
  EXPECT_FALSE(r.search(t, 4, b, e));
}

}  // namespace
}  // namespace whale
