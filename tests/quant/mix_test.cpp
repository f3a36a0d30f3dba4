#include "quant/mix.h"

#include <gtest/gtest.h>

namespace whale {
namespace {

const std::vector<uint64_t> kMatrix = {4096, 4096};

TEST(Mix, OneDimensionalAndRouterStayF32) {
  for (Target t : {Target::f16, Target::q4_0, Target::q4_k_m, Target::q8_0}) {
    EXPECT_EQ(choose_type("blk.0.attn_norm.weight", {4096}, t, 32), TensorType::F32);
    EXPECT_EQ(choose_type("blk.0.attn_q.bias", {4096}, t, 32), TensorType::F32);
    EXPECT_EQ(choose_type("blk.3.ffn_gate_inp.weight", {2048, 64}, t, 32), TensorType::F32);
  }
}

TEST(Mix, PlainTargets) {
  EXPECT_EQ(choose_type("blk.0.attn_q.weight", kMatrix, Target::f16, 32), TensorType::F16);
  EXPECT_EQ(choose_type("blk.0.attn_q.weight", kMatrix, Target::bf16, 32), TensorType::BF16);
  EXPECT_EQ(choose_type("blk.0.attn_q.weight", kMatrix, Target::f32, 32), TensorType::F32);
  EXPECT_EQ(choose_type("blk.0.attn_q.weight", kMatrix, Target::q8_0, 32), TensorType::Q8_0);
  EXPECT_EQ(choose_type("output.weight", kMatrix, Target::q8_0, 32), TensorType::Q8_0);
  EXPECT_EQ(choose_type("blk.0.attn_q.weight", kMatrix, Target::q4_0, 32), TensorType::Q4_0);
  EXPECT_EQ(choose_type("output.weight", kMatrix, Target::q4_0, 32), TensorType::Q6_K);
  EXPECT_EQ(choose_type("blk.0.ffn_up.weight", kMatrix, Target::q6_k, 32), TensorType::Q6_K);
}

TEST(Mix, Q4KMRecipe) {
  const int n = 32;  // more-bits layers: 0-3, 28-31, and 4 + 3k + 2 = 6, 9, ..., 27
  auto more = [&](int i) { return i < 4 || i >= 28 || (i - 4) % 3 == 2; };
  for (int i = 0; i < n; ++i) {
    std::string p = "blk." + std::to_string(i) + ".";
    TensorType expect = more(i) ? TensorType::Q6_K : TensorType::Q4_K;
    EXPECT_EQ(choose_type(p + "attn_v.weight", kMatrix, Target::q4_k_m, n), expect) << i;
    EXPECT_EQ(choose_type(p + "ffn_down.weight", kMatrix, Target::q4_k_m, n), expect) << i;
    EXPECT_EQ(choose_type(p + "ffn_down_exps.weight", {2048, 1408, 64}, Target::q4_k_m, n), expect)
        << i;
    EXPECT_EQ(choose_type(p + "attn_kv_b.weight", {512, 4096}, Target::q4_k_m, n), expect) << i;
    EXPECT_EQ(choose_type(p + "attn_q.weight", kMatrix, Target::q4_k_m, n), TensorType::Q4_K);
    EXPECT_EQ(choose_type(p + "ffn_up.weight", kMatrix, Target::q4_k_m, n), TensorType::Q4_K);
  }
  EXPECT_EQ(choose_type("output.weight", kMatrix, Target::q4_k_m, n), TensorType::Q6_K);
  EXPECT_EQ(choose_type("token_embd.weight", kMatrix, Target::q4_k_m, n), TensorType::Q4_K);
  MixOptions tied;
  tied.tied_embeddings = true;
  EXPECT_EQ(choose_type("token_embd.weight", kMatrix, Target::q4_k_m, n, tied), TensorType::Q6_K);
}

TEST(Mix, Q5KMRecipeIsQ4KMsWithQ5K) {
  const int n = 27;
  for (int i = 0; i < n; ++i) {
    const std::string p = "blk." + std::to_string(i) + ".";
    for (const char* name :
         {"attn_v.weight", "ffn_down.weight", "attn_q.weight", "ffn_up.weight"}) {
      const TensorType q4 = choose_type(p + name, kMatrix, Target::q4_k_m, n);
      EXPECT_EQ(choose_type(p + name, kMatrix, Target::q5_k_m, n),
                q4 == TensorType::Q4_K ? TensorType::Q5_K : q4)
          << p << name;
    }
  }
  EXPECT_EQ(choose_type("output.weight", kMatrix, Target::q5_k_m, n), TensorType::Q6_K);
  // 1408-element rows: Q5_K falls back to Q5_1
  EXPECT_EQ(choose_type("blk.4.ffn_down_exps.weight", {1408, 2048, 64}, Target::q5_k_m, n),
            TensorType::Q5_1);
}

TEST(Mix, ShapeFallbacks) {
  // 1408 = 5.5 * 256: not a K-quant row, but a multiple of 32.
  EXPECT_EQ(choose_type("blk.5.ffn_up.weight", {1408, 2048}, Target::q4_k, 27), TensorType::Q5_0);
  EXPECT_EQ(choose_type("blk.5.ffn_up.weight", {1408, 2048}, Target::q6_k, 27), TensorType::Q8_0);
  EXPECT_EQ(choose_type("blk.0.ffn_down.weight", {1408, 2048}, Target::q4_k_m, 27),
            TensorType::Q8_0);
  EXPECT_EQ(choose_type("blk.5.ffn_up.weight", {100, 2048}, Target::q4_k, 27), TensorType::F16);
  EXPECT_EQ(choose_type("blk.5.ffn_up.weight", {100, 2048}, Target::q4_0, 27), TensorType::F16);
}

TEST(Mix, TargetNamesAndFileTypes) {
  EXPECT_EQ(target_from_name("Q4_K_M"), Target::q4_k_m);
  EXPECT_FALSE(target_from_name("q3_k").has_value());
  EXPECT_EQ(target_file_type(Target::q4_k_m), 15u);
  EXPECT_EQ(target_file_type(Target::q4_k), 14u);
  EXPECT_EQ(target_file_type(Target::q8_0), 7u);
  EXPECT_EQ(target_file_type(Target::bf16), 32u);
  EXPECT_EQ(target_names(), "f32 f16 bf16 q8_0 q4_0 q4_k q6_k q4_k_m q5_k_m");
  EXPECT_EQ(target_file_type(Target::q5_k_m), 17u);
}

}  // namespace
}  // namespace whale
