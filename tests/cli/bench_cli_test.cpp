// `whale bench` end to end on the default model: the JSON report, and -b (several sequences at
// once): its KV memory is one cache per sequence and the rates count every sequence's tokens.
// Speeds themselves are not asserted (bench/ compares them against llama.cpp).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "run_process.h"

using whale::test::ProcessResult;
using whale::test::run_process;
using whale::test::whale_bin;

namespace {

const std::string kModel = std::string(WHALE_SOURCE_DIR) + "/models/whale-kjv-tiny-f16.gguf";

nlohmann::json bench_json(const std::string& batch, const std::string& kv_type = "f32") {
  const ProcessResult r =
      run_process({whale_bin(), "bench", "--model", kModel, "-p", "8", "-n", "4", "-r", "1", "-t",
                   "2", "-b", batch, "--kv-type", kv_type, "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return nlohmann::json::parse(r.out, nullptr, false);
}

TEST(BenchCli, BatchRunsOneCachePerSequence) {
  const nlohmann::json one = bench_json("1"), three = bench_json("3");
  ASSERT_FALSE(one.is_discarded());
  ASSERT_FALSE(three.is_discarded());
  EXPECT_EQ(one["batch"], 1);
  EXPECT_EQ(three["batch"], 3);
  EXPECT_EQ(three["kv_cache_bytes"].get<int64_t>(), 3 * one["kv_cache_bytes"].get<int64_t>());
  for (const char* key : {"pp_tok_s", "tg_tok_s"}) {
    EXPECT_GT(three[key]["min"].get<double>(), 0.0) << key;
    EXPECT_LE(three[key]["min"].get<double>(), three[key]["max"].get<double>()) << key;
  }
}

TEST(BenchCli, HalfCachesTakeHalfTheMemory) {
  const nlohmann::json f32 = bench_json("1"), f16 = bench_json("1", "f16"),
                       bf16 = bench_json("1", "bf16");
  ASSERT_FALSE(f32.is_discarded());
  ASSERT_FALSE(f16.is_discarded());
  ASSERT_FALSE(bf16.is_discarded());
  EXPECT_EQ(2 * f16["kv_cache_bytes"].get<int64_t>(), f32["kv_cache_bytes"].get<int64_t>());
  EXPECT_EQ(2 * bf16["kv_cache_bytes"].get<int64_t>(), f32["kv_cache_bytes"].get<int64_t>());
  EXPECT_EQ(f32["kv_type"], "f32");
  EXPECT_EQ(f16["kv_type"], "f16");
  EXPECT_EQ(bf16["kv_type"], "bf16");
  const ProcessResult r = run_process(
      {whale_bin(), "bench", "--model", kModel, "-p", "4", "-n", "1", "--kv-type", "f8"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--kv-type: expected f32, f16 or bf16"), std::string::npos) << r.err;
}

// WHALE_SIMD caps the kernels (the report says at which target); an unknown name is an error.
TEST(BenchCli, SimdCapIsReportedAndChecked) {
#if !defined(__x86_64__)
  GTEST_SKIP() << "the targets named here are x86 ones";
#endif
  const ProcessResult capped =
      run_process({"/usr/bin/env", "WHALE_SIMD=SSE4", whale_bin(), "bench", "--model", kModel, "-p",
                   "4", "-n", "2", "-r", "1", "--json"});
  ASSERT_EQ(capped.exit_code, 0) << capped.err;
  const nlohmann::json j = nlohmann::json::parse(capped.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded());
  EXPECT_EQ(j["simd_target"], "SSE4");
  EXPECT_EQ(j["bf16_dot_products"], false);
  const ProcessResult bad = run_process({"/usr/bin/env", "WHALE_SIMD=AVX9", whale_bin(), "bench",
                                         "--model", kModel, "-p", "4", "-n", "1"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("WHALE_SIMD=AVX9 is not a target of this build"), std::string::npos)
      << bad.err;
}

TEST(BenchCli, BadBatchIsOneLineError) {
  for (const char* bad : {"0", "-2", "x"}) {
    const ProcessResult r =
        run_process({whale_bin(), "bench", "--model", kModel, "-p", "4", "-n", "1", "-b", bad});
    EXPECT_EQ(r.exit_code, 1) << bad;
    EXPECT_EQ(r.err.rfind("whale: ", 0), 0u) << r.err;
  }
}

}  // namespace
