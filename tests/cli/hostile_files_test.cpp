// Every hostile model file must give one clear error line and exit code 1 — never a crash, a
// hang or a sanitizer report. The corpus lives in tests/data/hostile/.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "run_process.h"

namespace fs = std::filesystem;
using whale::test::run_process;
using whale::test::whale_bin;

namespace {

std::vector<fs::path> files_in(const fs::path& dir) {
  std::vector<fs::path> v;
  if (fs::is_directory(dir))
    for (auto& e : fs::directory_iterator(dir))
      if (e.is_regular_file() && e.path().filename().string()[0] != '.') v.push_back(e.path());
  std::sort(v.begin(), v.end());
  return v;
}

void expect_one_clear_error(const std::vector<std::string>& argv, const std::string& what) {
  auto r = run_process(argv);
  EXPECT_EQ(r.signal, 0) << what << ": killed by signal " << r.signal << "\n" << r.err;
  EXPECT_EQ(r.exit_code, 1) << what << "\nstderr: " << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << what << "\nstderr: " << r.err;
  EXPECT_EQ(r.err.rfind("whale: ", 0), 0u) << what << "\nstderr: " << r.err;
  EXPECT_TRUE(r.out.empty()) << what << "\nstdout: " << r.out;
}

const fs::path kHostile = fs::path(WHALE_SOURCE_DIR) / "tests/data/hostile";

}  // namespace

TEST(HostileFiles, GgufCorpusGivesOneErrorLine) {
  auto files = files_in(kHostile / "gguf");
  ASSERT_GE(files.size(), 20u) << "hostile GGUF corpus missing";
  for (const auto& f : files) expect_one_clear_error({whale_bin(), "info", "--model", f}, f);
}

TEST(HostileFiles, SafetensorsCorpusGivesOneErrorLine) {
  auto files = files_in(kHostile / "safetensors");
  ASSERT_GE(files.size(), 15u) << "hostile safetensors corpus missing";
  fs::path dir = fs::temp_directory_path() / ("whale-hostile-st-" + std::to_string(getpid()));
  for (const auto& f : files) {
    fs::remove_all(dir);
    fs::create_directories(dir);
    fs::copy_file(kHostile / "config-llama-tiny.json", dir / "config.json");
    fs::copy_file(f, dir / "model.safetensors");
    expect_one_clear_error({whale_bin(), "info", "--model", dir}, f);
  }
  fs::remove_all(dir);
}

TEST(HostileFiles, BadModelPathsAndConfigs) {
  expect_one_clear_error({whale_bin(), "info", "--model", "/nonexistent/model.gguf"}, "missing");
  expect_one_clear_error({whale_bin(), "info"}, "no --model");
  fs::path dir = fs::temp_directory_path() / ("whale-hostile-cfg-" + std::to_string(getpid()));
  fs::create_directories(dir);
  expect_one_clear_error({whale_bin(), "info", "--model", dir}, "empty directory");
  const char* configs[] = {
      "{",                                                                 // malformed JSON
      "[]",                                                                // not an object
      R"({"architectures": ["GPT2LMHeadModel"], "vocab_size": 10})",       // unknown architecture
      R"({"architectures": ["LlamaForCausalLM"], "hidden_size": "big"})",  // wrong field type
      R"({"architectures": ["LlamaForCausalLM"], "hidden_size": -64, "num_hidden_layers": 2})",
  };
  for (const char* c : configs) {
    std::ofstream(dir / "config.json") << c;
    expect_one_clear_error({whale_bin(), "info", "--model", dir}, c);
  }
  fs::remove_all(dir);
}
