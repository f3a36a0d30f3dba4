#include "runtime/reasoning.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace whale {
namespace {

struct Split {
  std::string reasoning, content;
  bool operator==(const Split&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Split& s) {
  return os << "{reasoning '" << s.reasoning << "', content '" << s.content << "'}";
}

Split run(bool starts_in_reasoning, const std::vector<std::string>& pieces) {
  ReasoningSplitter r(starts_in_reasoning);
  Split s;
  for (const auto& p : pieces) r.push(p, s.reasoning, s.content);
  r.finish(s.reasoning, s.content);
  return s;
}

// The same result for the whole text at once, for every 2- and 3-way cut, and byte by byte.
void expect_split(bool starts_in_reasoning, const std::string& text, const Split& want) {
  EXPECT_EQ(run(starts_in_reasoning, {text}), want) << text;
  for (size_t i = 0; i <= text.size(); ++i)
    for (size_t j = i; j <= text.size(); ++j)
      ASSERT_EQ(
          run(starts_in_reasoning, {text.substr(0, i), text.substr(i, j - i), text.substr(j)}),
          want)
          << text << " cut at " << i << "," << j;
  std::vector<std::string> bytes;
  for (char c : text) bytes.push_back(std::string(1, c));
  EXPECT_EQ(run(starts_in_reasoning, bytes), want) << text << " byte by byte";
}

TEST(ReasoningSplitter, ModelOpensTheBlock) {
  expect_split(false, "<think>\nLet me see.\n</think>\n\nThe answer is 4.",
               {"Let me see.", "The answer is 4."});
  expect_split(false, "\n<think>a</think>b", {"a", "b"});  // whitespace before the tag
}

TEST(ReasoningSplitter, PromptAlreadyOpenedTheBlock) {
  expect_split(true, "Let me see.\n</think>\n\nThe answer is 4.",
               {"Let me see.", "The answer is 4."});
  expect_split(true, "\nthinking <b>bold</b> </thin still thinking",
               {"thinking <b>bold</b> </thin still thinking", ""});
}

TEST(ReasoningSplitter, NoReasoningMeansAllContent) {
  expect_split(false, "Hello <think> is just text", {"", "Hello <think> is just text"});
  expect_split(false, "<thinking>not the tag</thinking>", {"", "<thinking>not the tag</thinking>"});
  expect_split(false, "  <b>x</b>", {"", "  <b>x</b>"});
  expect_split(false, "", {"", ""});
  expect_split(false, "<thi", {"", "<thi"});  // ended mid-tag: what the model said
}

TEST(ReasoningSplitter, TagsInsideContentStayContent) {
  expect_split(false, "<think>r</think>c <think>x</think>", {"r", "c <think>x</think>"});
}

TEST(ReasoningSplitter, UnterminatedReasoningStaysReasoning) {
  expect_split(false, "<think>\nstill going ", {"still going ", ""});
  expect_split(true, "a </", {"a </", ""});
}

TEST(ReasoningSplitter, WhitespaceInsideIsKept) {
  expect_split(false, "<think> a\n\n b </think> c \n d \n", {"a\n\n b", "c \n d \n"});
  expect_split(true, "</think>only content", {"", "only content"});
}

TEST(ReasoningSplitter, StateQueries) {
  ReasoningSplitter r(false);
  std::string a, b;
  EXPECT_FALSE(r.had_reasoning());
  r.push("<th", a, b);
  EXPECT_FALSE(r.in_reasoning());
  r.push("ink>x", a, b);
  EXPECT_TRUE(r.in_reasoning());
  EXPECT_TRUE(r.had_reasoning());
  EXPECT_EQ(a, "x");
  r.push("</think>y", a, b);
  EXPECT_FALSE(r.in_reasoning());
  EXPECT_EQ(b, "y");
}

TEST(ReasoningSplitter, Utf8InReasoningNotSplit) {
  ReasoningSplitter r(true);
  std::string a, b;
  r.push("caf\xC3", a, b);
  EXPECT_EQ(a, "caf");
  r.push("\xA9</think>ok", a, b);
  EXPECT_EQ(a, "caf\xC3\xA9");
  EXPECT_EQ(b, "ok");
}

TEST(ReasoningSplitter, PromptOpensReasoning) {
  EXPECT_TRUE(prompt_opens_reasoning("<|Assistant|><think>\n"));
  EXPECT_TRUE(prompt_opens_reasoning("<think>"));
  EXPECT_FALSE(prompt_opens_reasoning("<|Assistant|>"));
  EXPECT_FALSE(prompt_opens_reasoning("<think>x</think>"));
  EXPECT_FALSE(prompt_opens_reasoning(""));
}

// Random pieces of random R1-like outputs: streaming equals one-shot. Fixed seed.
TEST(ReasoningSplitter, RandomSplitsMatchOneShot) {
  std::mt19937 gen(4242);
  const std::string units[] = {"<think>", "</think>", "a", " ", "\n", "<", "/", "th", "\xC3\xA9"};
  for (int iter = 0; iter < 3000; ++iter) {
    std::string text;
    int n = int(gen() % 12);
    for (int i = 0; i < n; ++i) text += units[gen() % 9];
    bool opened = gen() % 2;
    Split want = run(opened, {text});
    std::vector<std::string> pieces;
    for (size_t pos = 0; pos < text.size();) {
      size_t len = std::min(text.size() - pos, size_t(gen() % 4));
      pieces.push_back(text.substr(pos, len));
      pos += len;
    }
    ASSERT_EQ(run(opened, pieces), want) << "iteration " << iter << ": " << text;
  }
}

}  // namespace
}  // namespace whale
