// Exact micro-cases of the DeepSeekMoE router and of the rope tables, computed by hand from the
// rules in DeepSeek's released modeling code.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "model/moe_routing.h"
#include "model/rope_table.h"
#include "model/weight_source.h"

namespace whale {
namespace {

struct Routed {
  std::vector<int32_t> ids;
  std::vector<float> w;
};

Routed route(const RouterSettings& s, const std::vector<float>& logits,
             const std::vector<float>& bias = {}) {
  Routed r{std::vector<int32_t>(size_t(s.top_k)), std::vector<float>(size_t(s.top_k))};
  route_token(s, logits.data(), bias.empty() ? nullptr : bias.data(), r.ids.data(), r.w.data());
  return r;
}

double sigmoid(double x) {
  return 1.0 / (1.0 + std::exp(-x));
}

TEST(Router, GreedySoftmaxV2ScalesOnlyWhenNotNormalized) {
  RouterSettings s;
  s.n_experts = 4;
  s.top_k = 2;
  s.routed_scaling_factor = 2.0;
  const std::vector<float> logits = {0.0f, 2.0f, 1.0f, -1.0f};
  const double z = 1 + std::exp(2.0) + std::exp(1.0) + std::exp(-1.0);
  Routed r = route(s, logits);
  EXPECT_EQ(r.ids, (std::vector<int32_t>{1, 2}));
  EXPECT_NEAR(r.w[0], 2.0 * std::exp(2.0) / z, 1e-6);
  EXPECT_NEAR(r.w[1], 2.0 * std::exp(1.0) / z, 1e-6);
  s.norm_topk_prob = true;  // V2: normalized, then NOT scaled
  r = route(s, logits);
  EXPECT_NEAR(r.w[0], std::exp(2.0) / (std::exp(2.0) + std::exp(1.0)), 1e-6);
  s.scale_after_norm = true;  // V3: normalized, then scaled
  r = route(s, logits);
  EXPECT_NEAR(r.w[0], 2.0 * std::exp(2.0) / (std::exp(2.0) + std::exp(1.0)), 1e-6);
  s.top_k = 1;  // top_k 1 never normalizes
  s.scale_after_norm = false;
  r = route(s, logits);
  EXPECT_NEAR(r.w[0], 2.0 * std::exp(2.0) / z, 1e-6);
}

TEST(Router, GroupLimitedGreedyDropsWholeGroups) {
  RouterSettings s;
  s.n_experts = 6;
  s.top_k = 2;
  s.method = RouterMethod::kGroupLimitedGreedy;
  s.n_group = 3;
  s.topk_group = 1;
  // group 0 = {0,1}, best 3.0; group 1 = {2,3}, best 2.9 but second-best overall is 2.8 in
  // group 1; only group 0 survives, so the picks are 0 and 1 even though 1 is small.
  const std::vector<float> logits = {3.0f, -4.0f, 2.9f, 2.8f, 0.0f, 0.0f};
  Routed r = route(s, logits);
  EXPECT_EQ(r.ids, (std::vector<int32_t>{0, 1}));
}

TEST(Router, NoauxTcBiasChoosesUnbiasedScoresWeigh) {
  RouterSettings s;
  s.n_experts = 4;
  s.top_k = 2;
  s.scoring = RouterScoring::kSigmoid;
  s.method = RouterMethod::kNoauxTc;
  s.n_group = 1;
  s.topk_group = 1;
  s.norm_topk_prob = true;
  s.scale_after_norm = true;
  s.routed_scaling_factor = 2.5;
  const std::vector<float> logits = {1.0f, 0.5f, 0.0f, -0.5f};
  const std::vector<float> bias = {0.0f, 0.0f, 0.0f, 1.0f};  // lifts expert 3 above 0 and 1
  Routed r = route(s, logits, bias);
  EXPECT_EQ(r.ids, (std::vector<int32_t>{3, 0}));
  const double a = sigmoid(-0.5), b = sigmoid(1.0);
  EXPECT_NEAR(r.w[0], 2.5 * a / (a + b), 1e-6);
  EXPECT_NEAR(r.w[1], 2.5 * b / (a + b), 1e-6);
}

TEST(Router, NoauxTcGroupScoreIsSumOfTwoBestAndDroppedGroupsScoreZero) {
  RouterSettings s;
  s.n_experts = 8;
  s.top_k = 2;
  s.scoring = RouterScoring::kSigmoid;
  s.method = RouterMethod::kNoauxTc;
  s.n_group = 2;
  s.topk_group = 1;
  // group 0: one strong expert (0.9) + weak ones; group 1: two medium (0.6, 0.6) -> group 1 wins
  auto logit = [](double p) { return float(std::log(p / (1 - p))); };
  std::vector<float> logits = {logit(0.9), logit(0.1), logit(0.1), logit(0.1),
                               logit(0.6), logit(0.6), logit(0.2), logit(0.2)};
  Routed r = route(s, logits);
  EXPECT_EQ(r.ids, (std::vector<int32_t>{4, 5}));
  // With negative biased scores in the kept group, a dropped group's expert (masked to 0.0,
  // not -inf, as in the HF reference) outranks them.
  std::vector<float> bias = {-0.95f, -0.95f, -0.95f, -0.95f, 2.0f, -0.7f, -0.7f, -0.7f};
  // biased: group 0 = {-0.05, -0.85, -0.85, -0.85}, group 1 = {2.6, -0.1, -0.5, -0.5}
  r = route(s, logits, bias);
  EXPECT_EQ(r.ids[0], 4);
  EXPECT_EQ(r.ids[1], 0);  // 0.0 (dropped group 0, lowest index) beats expert 5's -0.1
}

TEST(Router, SettingsRejectInconsistentConfigs) {
  ModelConfig c;
  c.arch = ModelArch::deepseek2;
  c.n_routed_experts = 8;
  c.num_experts_per_tok = 9;
  EXPECT_FALSE(router_settings(c).ok());
  c.num_experts_per_tok = 2;
  c.topk_method = "noaux_tc";
  c.n_group = 3;
  c.topk_group = 1;
  EXPECT_FALSE(router_settings(c).ok());  // 3 does not divide 8
  c.n_group = 8;
  EXPECT_FALSE(router_settings(c).ok());  // 1 expert per group
  c.n_group = 4;
  c.topk_group = 5;
  EXPECT_FALSE(router_settings(c).ok());
  c.topk_group = 2;
  c.architecture = "DeepseekV3ForCausalLM";
  auto s = router_settings(c);
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->scale_after_norm);
}

// A WeightSource that only answers the file-kind question rope tables ask.
class NoWeights final : public WeightSource {
 public:
  explicit NoWeights(ModelConfig c) : c_(std::move(c)) {}
  const ModelConfig& config() const override { return c_; }
  bool has(const std::string&) const override { return false; }
  Result<MatrixView> matrix(const std::string&, const std::vector<int64_t>&) override {
    return make_error("none");
  }
  Result<std::vector<MatrixView>> experts(const std::string&, int64_t, int64_t, int64_t) override {
    return make_error("none");
  }
  Result<const float*> vector(const std::string&, int64_t) override { return make_error("none"); }
  bool rope_rows_interleaved() const override { return false; }
  bool is_gguf() const override { return false; }

 private:
  ModelConfig c_;
};

TEST(RopeTable, DeepseekYarnMatchesTheFormula) {
  ModelConfig c;
  c.arch = ModelArch::deepseek2;
  c.qk_nope_head_dim = 128;
  c.qk_rope_head_dim = 64;
  c.rope_theta = 10000;
  c.rope_scaling_type = "yarn";
  c.rope_scaling_factor = 40;
  c.rope_original_max_position_embeddings = 4096;
  c.rope_beta_fast = 32;
  c.rope_beta_slow = 1;
  c.rope_mscale = 0.707;
  c.rope_mscale_all_dim = 0.707;
  NoWeights w(c);
  auto t = make_rope_table(c, w);
  ASSERT_TRUE(t.ok()) << t.error().message;
  ASSERT_EQ(t->inv_freq.size(), 32u);
  // correction range: floor(64 ln(4096/(32*2pi)) / (2 ln 1e4)) = 10, ceil(... 1 ...) = 23
  auto base = [](int i) { return std::pow(10000.0, -2.0 * i / 64.0); };
  EXPECT_DOUBLE_EQ(t->inv_freq[0], base(0));           // below low: extrapolated (original)
  EXPECT_DOUBLE_EQ(t->inv_freq[10], base(10));         // ramp 0 at low
  EXPECT_NEAR(t->inv_freq[31], base(31) / 40, 1e-18);  // past high: interpolated
  const double ramp = (16.0 - 10.0) / (23.0 - 10.0);
  EXPECT_NEAR(t->inv_freq[16], base(16) / 40 * ramp + base(16) * (1 - ramp), 1e-15);
  EXPECT_DOUBLE_EQ(t->mscale, 1.0);  // mscale == mscale_all_dim
  const double m = 0.1 * 0.707 * std::log(40.0) + 1;
  EXPECT_NEAR(mla_softmax_scale(c), m * m / std::sqrt(192.0), 1e-15);
  std::vector<float> cs(32), sn(32);
  t->cos_sin(0, cs.data(), sn.data());
  EXPECT_EQ(cs[5], 1.0f);
  EXPECT_EQ(sn[5], 0.0f);
}

TEST(RopeTable, Llama3AndLinearScaling) {
  ModelConfig c;
  c.arch = ModelArch::llama;
  c.hidden_size = 256;
  c.num_attention_heads = 2;  // head_dim 128
  c.rope_theta = 500000;
  c.rope_scaling_type = "llama3";
  c.rope_scaling_factor = 8;
  c.rope_low_freq_factor = 1;
  c.rope_high_freq_factor = 4;
  c.rope_original_max_position_embeddings = 8192;
  NoWeights w(c);
  auto t = make_rope_table(c, w);
  ASSERT_TRUE(t.ok()) << t.error().message;
  auto base = [](int i) { return std::pow(500000.0, -2.0 * i / 128.0); };
  EXPECT_DOUBLE_EQ(t->inv_freq[0], base(0));          // high frequency: unchanged
  EXPECT_NEAR(t->inv_freq[63], base(63) / 8, 1e-20);  // low frequency: divided by factor
  c.rope_scaling_type = "linear";
  c.rope_scaling_factor = 4;
  NoWeights w2(c);
  t = make_rope_table(c, w2);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->position_scale, 4.0);
  c.rope_scaling_type = "yarn";  // not a llama rope scaling whale implements
  NoWeights w3(c);
  EXPECT_FALSE(make_rope_table(c, w3).ok());
}

}  // namespace
}  // namespace whale
