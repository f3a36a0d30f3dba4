#include "runtime/stop_strings.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace whale {
namespace {

struct Outcome {
  std::string text;
  bool stopped;
  std::string matched;
  bool operator==(const Outcome&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Outcome& o) {
  return os << "{'" << o.text << "', " << o.stopped << ", '" << o.matched << "'}";
}

// Feeds `pieces` one by one, checking after each that no released text is ever taken back
// and that no released chunk ends inside a UTF-8 character.
Outcome stream(const std::vector<std::string>& stops, const std::vector<std::string>& pieces) {
  StopMatcher m(stops);
  Outcome o{"", false, ""};
  for (const auto& p : pieces) {
    std::string out;
    m.push(p, out);
    EXPECT_EQ(incomplete_utf8_tail(o.text + out), 0u) << "released half a character";
    o.text += out;
    if (m.stopped()) break;
  }
  if (!m.stopped()) m.finish(o.text);
  o.stopped = m.stopped();
  o.matched = m.matched();
  return o;
}

// The non-streaming meaning: the occurrence that ends first (then: starts first) is the cut.
Outcome reference(const std::vector<std::string>& stops, const std::string& text) {
  for (size_t end = 1; end <= text.size(); ++end) {
    size_t best = std::string::npos;
    std::string which;
    for (const auto& s : stops) {
      if (s.empty() || s.size() > end) continue;
      size_t pos = end - s.size();
      if (text.compare(pos, s.size(), s) == 0 && pos < best) {
        best = pos;
        which = s;
      }
    }
    if (best != std::string::npos) return {text.substr(0, best), true, which};
  }
  return {text, false, ""};
}

// Every way of cutting `text` into up to three pieces gives the one-shot answer.
void expect_all_splits(const std::vector<std::string>& stops, const std::string& text) {
  Outcome want = reference(stops, text);
  EXPECT_EQ(stream(stops, {text}), want) << text;
  for (size_t i = 0; i <= text.size(); ++i)
    for (size_t j = i; j <= text.size(); ++j)
      ASSERT_EQ(stream(stops, {text.substr(0, i), text.substr(i, j - i), text.substr(j)}), want)
          << text << " cut at " << i << "," << j;
  std::vector<std::string> bytes;
  for (char c : text) bytes.push_back(std::string(1, c));
  EXPECT_EQ(stream(stops, bytes), want) << text << " byte by byte";
}

TEST(StopMatcher, CutsAtFirstMatchAcrossAnySplit) {
  expect_all_splits({"</end>"}, "hello </end> world");
  expect_all_splits({"</end>"}, "no stop here </en");
  expect_all_splits({"###", "\n\nUser:"}, "answer\n\nUser: more ### text");
  expect_all_splits({"###", "\n\nUser:"}, "a ## b # c\n\nUse");
}

TEST(StopMatcher, OverlappingPrefixesAndSelfOverlap) {
  // "aab" after "aaab": the hold-back must keep the right suffix, not restart too late.
  expect_all_splits({"aab"}, "xaaab");
  expect_all_splits({"abab"}, "abababx");
  expect_all_splits({"ab", "abc"}, "xxabc");  // "ab" ends first
  expect_all_splits({"abc", "bcd"}, "abcd");  // "abc" ends first
  expect_all_splits({"abcd", "c"}, "abcd");   // "c" ends first although "abcd" starts earlier
  expect_all_splits({"bcd", "abc"}, "zbcdabc");
}

TEST(StopMatcher, MatchThatEndsFirstWins) {
  EXPECT_EQ(stream({"abcd", "b"}, {"abcd"}), (Outcome{"a", true, "b"}));
  EXPECT_EQ(stream({"abc", "bc"}, {"xabcx"}), (Outcome{"x", true, "abc"}));
  EXPECT_EQ(stream({"bc", "abc"}, {"xabcx"}), (Outcome{"x", true, "abc"}));
  EXPECT_EQ(stream({"abc", "ab"}, {"xabcx"}), (Outcome{"x", true, "ab"}));
  EXPECT_EQ(stream({"abc", "ab"}, {"xa", "bcx"}), (Outcome{"x", true, "ab"}));
}

TEST(StopMatcher, HoldsBackOnlyWhatCouldStillMatch) {
  StopMatcher m({"STOP"});
  std::string out;
  m.push("abcST", out);
  EXPECT_EQ(out, "abc");
  EXPECT_EQ(m.held(), 2u);
  m.push("x", out);  // "STx" can no longer become "STOP"
  EXPECT_EQ(out, "abcSTx");
  EXPECT_EQ(m.held(), 0u);
  m.push("STO", out);
  m.push("P tail", out);
  EXPECT_TRUE(m.stopped());
  EXPECT_EQ(out, "abcSTx");
  m.push("more", out);  // ignored after the match
  m.finish(out);
  EXPECT_EQ(out, "abcSTx");
}

TEST(StopMatcher, Utf8NeverSplit) {
  // "é" = C3 A9, "€" = E2 82 AC, "😀" = F0 9F 98 80: fed byte by byte, released whole.
  expect_all_splits({"\xE2\x82\xAC!"}, "caf\xC3\xA9 \xF0\x9F\x98\x80 5\xE2\x82\xAC! rest");
  expect_all_splits({"zzz"}, "caf\xC3\xA9 \xF0\x9F\x98\x80 5\xE2\x82\xAC");
  // A stop string that starts with a multi-byte character.
  expect_all_splits({"\xC3\xA9t\xC3\xA9"}, "l'\xC3\xA9t\xC3\xA9 \xC3\xA9");
  StopMatcher m;
  std::string out;
  m.push("\xF0\x9F", out);
  EXPECT_EQ(out, "");
  m.push("\x98\x80x", out);
  EXPECT_EQ(out, "\xF0\x9F\x98\x80x");
}

TEST(StopMatcher, NoStopsOrEmptyStopsPassThrough) {
  expect_all_splits({}, "plain text");
  expect_all_splits({""}, "plain text");
  EXPECT_FALSE(stream({""}, {"abc"}).stopped);
}

TEST(StopMatcher, IncompleteUtf8Tail) {
  EXPECT_EQ(incomplete_utf8_tail(""), 0u);
  EXPECT_EQ(incomplete_utf8_tail("abc"), 0u);
  EXPECT_EQ(incomplete_utf8_tail("a\xC3"), 1u);
  EXPECT_EQ(incomplete_utf8_tail("a\xC3\xA9"), 0u);
  EXPECT_EQ(incomplete_utf8_tail("\xE2\x82"), 2u);
  EXPECT_EQ(incomplete_utf8_tail("\xF0\x9F\x98"), 3u);
  EXPECT_EQ(incomplete_utf8_tail("\xF0\x9F\x98\x80"), 0u);
  EXPECT_EQ(incomplete_utf8_tail("\x80\x80"), 0u);  // stray continuation bytes: nothing to wait on
}

// Random texts over a small alphabet (so stop strings occur and overlap often), random stop
// sets, random splits: streaming always equals the one-shot cut. Fixed seed.
TEST(StopMatcher, RandomSplitsMatchReference) {
  std::mt19937 gen(31337);
  const std::string alphabet[] = {"a", "b", "c", "\n", "\xC3\xA9", "\xE2\x82\xAC"};
  auto rand_text = [&](int max_units) {
    std::string s;
    int n = int(gen() % unsigned(max_units + 1));
    for (int i = 0; i < n; ++i) s += alphabet[gen() % 6];
    return s;
  };
  for (int iter = 0; iter < 3000; ++iter) {
    std::vector<std::string> stops;
    int n_stops = int(gen() % 4);
    for (int i = 0; i < n_stops; ++i) stops.push_back(rand_text(4));
    std::string text = rand_text(30);
    std::vector<std::string> pieces;
    for (size_t pos = 0; pos < text.size();) {
      size_t len = std::min(text.size() - pos, size_t(gen() % 5));
      pieces.push_back(text.substr(pos, len));
      pos += len;
    }
    ASSERT_EQ(stream(stops, pieces), reference(stops, text)) << "iteration " << iter;
  }
}

}  // namespace
}  // namespace whale
