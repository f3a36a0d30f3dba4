// `whale run` and `whale perplexity` end to end on a tiny random DeepSeek-V3 checkpoint
// (tools/gen/make_tiny_hf.py, fixed seed): exit codes, max-tokens, seeds, stop strings, chat on
// stdin. The model's text is noise; what is checked is the command's behaviour.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>

#include "run_process.h"

namespace fs = std::filesystem;
using whale::test::ProcessResult;
using whale::test::run_process;
using whale::test::whale_bin;

namespace {

class RunCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("whale-run-cli-" + std::to_string(getpid()));
    fs::create_directories(dir_);
    model_ = (dir_ / "tiny-v3").string();
    auto r = run_process({"/usr/bin/python3",
                          std::string(WHALE_SOURCE_DIR) + "/tools/gen/make_tiny_hf.py",
                          "deepseek-v3", model_});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }

  static ProcessResult whale(std::vector<std::string> args, const std::string& input = "") {
    args.insert(args.begin(), whale_bin());
    return run_process(args, input);
  }
  // `whale run` on the tiny model with extra arguments; expects success.
  static std::string run_ok(std::vector<std::string> extra, const std::string& input = "") {
    std::vector<std::string> args = {"run", "--model", model_};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = whale(args, input);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  }
  // The count in --verbose's "generation: N tokens".
  static int generated_tokens(std::vector<std::string> extra) {
    std::vector<std::string> args = {"run", "--model", model_, "--verbose"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = whale(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::smatch m;
    if (!std::regex_search(r.err, m, std::regex("generation: (\\d+) tokens"))) {
      ADD_FAILURE() << "no generation stats in: " << r.err;
      return -1;
    }
    return std::stoi(m[1]);
  }
  static void expect_one_error(std::vector<std::string> args) {
    auto r = whale(args);
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(r.err.rfind("whale: ", 0), 0u) << r.err;
  }

  static fs::path dir_;
  static std::string model_;
};

fs::path RunCli::dir_;
std::string RunCli::model_;

TEST_F(RunCli, StopsAtMaxTokens) {
  EXPECT_EQ(generated_tokens({"-p", "hello", "--max-tokens", "0"}), 0);
  // An end-of-sequence token may come first; never more than asked.
  for (const char* n : {"1", "7", "40"}) {
    int got = generated_tokens({"-p", "hello", "--max-tokens", n, "--seed", "5"});
    EXPECT_GE(got, 0);
    EXPECT_LE(got, std::stoi(n));
  }
  // Greedy on this fixed model meets no end-of-sequence token within 12 steps: exactly 12.
  EXPECT_EQ(generated_tokens({"--raw", "-p", "hello", "--max-tokens", "12", "--temp", "0"}), 12);
}

TEST_F(RunCli, SameSeedSameOutputDifferentSeedDifferent) {
  auto a = run_ok({"-p", "hello", "--max-tokens", "30", "--temp", "1", "--seed", "42"});
  auto b = run_ok({"-p", "hello", "--max-tokens", "30", "--temp", "1", "--seed", "42"});
  auto c = run_ok({"-p", "hello", "--max-tokens", "30", "--temp", "1", "--seed", "43"});
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_FALSE(a.empty());
  // The thread count does not change the tokens (each thread owns whole output rows).
  for (const char* t : {"1", "3"})
    EXPECT_EQ(run_ok({"-p", "hello", "--max-tokens", "30", "--temp", "1", "--seed", "42",
                      "--threads", t}),
              a)
        << t << " threads";
}

TEST_F(RunCli, GreedyIgnoresSeedAndEqualsTopK1) {
  auto g1 = run_ok({"--raw", "-p", "abc", "--max-tokens", "20", "--temp", "0", "--seed", "1"});
  auto g2 = run_ok({"--raw", "-p", "abc", "--max-tokens", "20", "--temp", "0", "--seed", "2"});
  auto k1 = run_ok({"--raw", "-p", "abc", "--max-tokens", "20", "--top-k", "1", "--seed", "3"});
  EXPECT_EQ(g1, g2);
  EXPECT_EQ(g1, k1);
}

TEST_F(RunCli, StopStringCutsTheOutput) {
  const std::vector<std::string> base = {"--raw", "-p", "abc", "--max-tokens", "30", "--temp", "0"};
  std::string full = run_ok(base);
  ASSERT_GT(full.size(), 4u);
  // Stop at the first printable ASCII character after the first one.
  size_t p = 1;
  while (p < full.size() && !(full[p] > ' ' && full[p] < 127)) ++p;
  ASSERT_LT(p, full.size()) << "no ASCII character in the greedy output: " << full;
  std::string stop(1, full[p]);
  auto args = base;
  args.insert(args.end(), {"--stop", stop});
  EXPECT_EQ(run_ok(args), full.substr(0, full.find(stop)) + "\n");
}

TEST_F(RunCli, ChatOnStdinKeepsGoingTurnByTurn) {
  auto r = whale({"run", "--model", model_, "--max-tokens", "4", "--seed", "9", "--verbose"},
                 "first question\n\nsecond question\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("generation:"), std::string::npos) << r.err;
  // Both turns ran (one answer line each; the empty line is skipped).
  EXPECT_GE(std::count(r.out.begin(), r.out.end(), '\n'), 2) << r.out;
  // Same input and seed: same transcript.
  auto r2 = whale({"run", "--model", model_, "--max-tokens", "4", "--seed", "9"},
                  "first question\n\nsecond question\n");
  EXPECT_EQ(r.out, r2.out);
}

// A template that opens the reasoning block in the prompt (as DeepSeek-R1's does): the whole
// answer is reasoning, shown between <think> markers when stdout is not a terminal.
TEST_F(RunCli, ReasoningOpenedByTheTemplateIsMarked) {
  fs::path r1 = dir_ / "tiny-r1";
  fs::remove_all(r1);
  fs::copy(model_, r1);
  {
    std::ofstream f(r1 / "chat_template.jinja");
    f << "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
         "{% if add_generation_prompt %}assistant: <think>\n{% endif %}";
  }
  auto r = whale({"run", "--model", r1.string(), "-p", "hi", "--max-tokens", "10", "--temp", "0"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  ASSERT_GT(r.out.size(), 20u) << r.out;
  EXPECT_EQ(r.out.substr(0, 8), "<think>\n") << r.out;
  EXPECT_EQ(r.out.substr(r.out.size() - 10), "\n</think>\n") << r.out;
  // Without the template's <think>, the same tokens are plain content.
  auto plain = run_ok({"-p", "hi", "--max-tokens", "10", "--temp", "0"});
  EXPECT_EQ(plain.find("<think>"), std::string::npos) << plain;
}

TEST_F(RunCli, BadArgumentsGiveOneErrorLine) {
  const std::string m = model_;
  expect_one_error({"run", "-p"});  // an option without its value
  expect_one_error({"run", "--model", "/nonexistent/model", "-p", "x"});
  expect_one_error({"run", "--model", m, "-p", "x", "--temp", "-1"});
  expect_one_error({"run", "--model", m, "-p", "x", "--temp", "hot"});
  expect_one_error({"run", "--model", m, "-p", "x", "--top-p", "0"});
  expect_one_error({"run", "--model", m, "-p", "x", "--min-p", "2"});
  expect_one_error({"run", "--model", m, "-p", "x", "--top-k", "-3"});
  expect_one_error({"run", "--model", m, "-p", "x", "--max-tokens", "1e3"});
  expect_one_error({"run", "--model", m, "-p", "x", "--seed", "-1"});
  expect_one_error({"run", "--model", m, "-p", "x", "--ctx", "0"});
  expect_one_error({"run", "--model", m, "-p", "x", "--threads", "0"});
  expect_one_error({"run", "--model", m, "-p", "x", "--stop", ""});
  expect_one_error({"run", "--model", m, "-p", "x", "--unknown"});
  expect_one_error({"run", "--model", m, "--raw"});  // --raw needs -p
  expect_one_error({"run", "--model", m, "-p", "x", "extra"});
  // A prompt that does not fit the context.
  expect_one_error({"run", "--model", m, "--raw", "-p", std::string(200, 'x'), "--ctx", "8"});
}

TEST_F(RunCli, PerplexityRunsAndRejectsBadInput) {
  fs::path text = dir_ / "text.txt";
  {
    std::ofstream f(text);
    for (int i = 0; i < 20; ++i) f << "the quick brown fox jumps over the lazy dog " << i << "\n";
  }
  auto r = whale({"perplexity", "--model", model_, "--file", text.string(), "--ctx", "32"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::regex_search(r.out, std::regex("^perplexity: [0-9.]+ \\+/- [0-9.]+ \\(")))
      << r.out;
  auto again = whale({"perplexity", "--model", model_, "--file", text.string(), "--ctx", "32"});
  EXPECT_EQ(r.out, again.out);
  expect_one_error({"perplexity", "--model", model_});
  expect_one_error({"perplexity", "--model", model_, "--file", "/nonexistent.txt"});
  expect_one_error({"perplexity", "--model", model_, "--file", text.string(), "--ctx", "3"});
  expect_one_error({"perplexity", "--model", model_, "--file", text.string(), "--ctx", "100000"});
  expect_one_error({"perplexity", "--model", "/nonexistent", "--file", text.string()});
}

}  // namespace
