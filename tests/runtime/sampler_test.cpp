#include "runtime/sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <vector>

namespace whale {
namespace {

Sampler make(SamplingParams p, size_t vocab) {
  auto s = Sampler::create(std::move(p), vocab);
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
  return std::move(s).value();
}

std::vector<float> log_probs(std::vector<double> p) {
  std::vector<float> l;
  for (double x : p) l.push_back(float(std::log(x)));
  return l;
}

// (token -> p) of a distribution, for order-independent checks.
std::map<int32_t, double> as_map(std::span<const TokenProb> d) {
  std::map<int32_t, double> m;
  for (const auto& c : d) m[c.token] = c.p;
  return m;
}

std::vector<int32_t> tokens_of(std::span<const TokenProb> d) {
  std::vector<int32_t> t;
  for (const auto& c : d) t.push_back(c.token);
  return t;
}

TEST(Sampler, GreedyTakesArgmaxLowestIdOnTies) {
  SamplingParams p;
  p.temperature = 0;
  Sampler s = make(p, 5);
  std::vector<float> l = {1, 3, 2, 3, -1};
  EXPECT_EQ(s.sample(l).token, 1);
  auto d = s.distribution(l);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].p, 1.0);
  // top_k = 1 is greedy too, whatever the temperature.
  p.temperature = 5;
  p.top_k = 1;
  Sampler k1 = make(p, 5);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(k1.sample(l).token, 1);
}

TEST(Sampler, RepetitionPenaltyDividesPositiveMultipliesNegative) {
  SamplingParams p;
  p.repetition_penalty = 2;
  Sampler s = make(p, 4);
  s.accept(0);
  s.accept(1);
  s.accept(1);  // repetition ignores counts: applied once per token
  auto d = s.distribution(std::vector<float>{2, -2, 1, 0});
  ASSERT_EQ(d.size(), 4u);  // no truncation: id order
  EXPECT_FLOAT_EQ(d[0].logit, 1);
  EXPECT_FLOAT_EQ(d[1].logit, -4);
  EXPECT_FLOAT_EQ(d[2].logit, 1);
  EXPECT_FLOAT_EQ(d[3].logit, 0);
}

TEST(Sampler, PresenceAndFrequencyPenaltiesFollowOpenAI) {
  SamplingParams p;
  p.presence_penalty = 0.5f;
  p.frequency_penalty = 0.25f;
  Sampler s = make(p, 3);
  for (int32_t t : {0, 0, 1}) s.accept(t);
  auto d = s.distribution(std::vector<float>{1, 1, 1});
  EXPECT_FLOAT_EQ(d[0].logit, 1 - 0.5f - 2 * 0.25f);
  EXPECT_FLOAT_EQ(d[1].logit, 1 - 0.5f - 0.25f);
  EXPECT_FLOAT_EQ(d[2].logit, 1);
}

TEST(Sampler, PenaltyWindowForgetsOldTokens) {
  SamplingParams p;
  p.presence_penalty = 1;
  p.penalty_last_n = 2;
  Sampler s = make(p, 4);
  for (int32_t t : {0, 1, 2}) s.accept(t);  // 0 has left the window
  auto d = s.distribution(std::vector<float>{0, 0, 0, 0});
  EXPECT_FLOAT_EQ(d[0].logit, 0);
  EXPECT_FLOAT_EQ(d[1].logit, -1);
  EXPECT_FLOAT_EQ(d[2].logit, -1);
  EXPECT_FLOAT_EQ(d[3].logit, 0);
  s.accept(1);  // window {2, 1}: still one of each
  s.accept(1);  // window {1, 1}
  d = s.distribution(std::vector<float>{0, 0, 0, 0});
  EXPECT_FLOAT_EQ(d[1].logit, -1);
  EXPECT_FLOAT_EQ(d[2].logit, 0);

  // 0: penalties off; < 0: everything ever accepted.
  p.penalty_last_n = 0;
  Sampler off = make(p, 4);
  off.accept(3);
  EXPECT_FLOAT_EQ(off.distribution(std::vector<float>{0, 0, 0, 0})[3].logit, 0);
  p.penalty_last_n = -1;
  p.presence_penalty = 0;
  p.frequency_penalty = 0.001f;
  Sampler all = make(p, 4);
  for (int i = 0; i < 1000; ++i) all.accept(3);
  EXPECT_NEAR(all.distribution(std::vector<float>{0, 0, 0, 0})[3].logit, -1, 1e-5);
  all.reset();
  EXPECT_FLOAT_EQ(all.distribution(std::vector<float>{0, 0, 0, 0})[3].logit, 0);
}

TEST(Sampler, OutOfRangeAcceptIsIgnored) {
  SamplingParams p;
  p.presence_penalty = 1;
  Sampler s = make(p, 2);
  s.accept(-1);
  s.accept(2);
  s.accept(1 << 30);
  auto d = s.distribution(std::vector<float>{0, 0});
  EXPECT_FLOAT_EQ(d[0].logit, 0);
  EXPECT_FLOAT_EQ(d[1].logit, 0);
}

TEST(Sampler, TopKKeepsLargestWithLowerIdOnTies) {
  SamplingParams p;
  p.top_k = 2;
  Sampler s = make(p, 5);
  std::vector<float> l = {1, 5, 3, 5, 2};
  EXPECT_EQ(tokens_of(s.distribution(l)), (std::vector<int32_t>{1, 3}));
  p.top_k = 3;
  Sampler s3 = make(p, 5);
  auto d = s3.distribution(l);
  EXPECT_EQ(tokens_of(d), (std::vector<int32_t>{1, 3, 2}));
  double z = 2 * std::exp(5.0) + std::exp(3.0);
  EXPECT_NEAR(d[0].p, std::exp(5.0) / z, 1e-12);
  EXPECT_NEAR(d[2].p, std::exp(3.0) / z, 1e-12);
  p.top_k = 10;  // larger than the vocabulary: off
  Sampler big = make(p, 5);
  EXPECT_EQ(big.distribution(l).size(), 5u);
}

TEST(Sampler, TemperatureScalesLogits) {
  SamplingParams p;
  p.temperature = 0.5f;
  Sampler s = make(p, 2);
  auto d = s.distribution(std::vector<float>{0, float(std::log(3.0))});
  // p ∝ exp(l / T) = {1, 9}
  EXPECT_NEAR(d[0].p, 0.1, 1e-7);
  EXPECT_NEAR(d[1].p, 0.9, 1e-7);
  p.temperature = 2;
  Sampler hot = make(p, 2);
  d = hot.distribution(std::vector<float>{0, float(std::log(9.0))});
  EXPECT_NEAR(d[0].p, 0.25, 1e-7);
  EXPECT_NEAR(d[1].p, 0.75, 1e-7);
}

TEST(Sampler, TopPKeepsSmallestPrefixReachingMass) {
  // Ids deliberately not in probability order.
  std::vector<float> l = log_probs({0.15, 0.5, 0.05, 0.3});
  auto kept = [&](float top_p) {
    SamplingParams p;
    p.top_p = top_p;
    Sampler s = make(p, 4);
    return as_map(s.distribution(l));
  };
  auto one = kept(0.4f);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one.begin()->first, 1);
  EXPECT_DOUBLE_EQ(one[1], 1.0);
  auto two = kept(0.75f);
  ASSERT_EQ(two.size(), 2u);
  EXPECT_NEAR(two[1], 0.5 / 0.8, 1e-7);
  EXPECT_NEAR(two[3], 0.3 / 0.8, 1e-7);
  EXPECT_EQ(kept(0.85f).size(), 3u);
  EXPECT_EQ(kept(0.99f).size(), 4u);
  EXPECT_EQ(kept(1.0f).size(), 4u);
}

TEST(Sampler, MinPKeepsTokensAboveFractionOfBest) {
  std::vector<float> l = log_probs({0.15, 0.5, 0.05, 0.3});
  SamplingParams p;
  p.min_p = 0.2f;  // threshold 0.1
  Sampler s = make(p, 4);
  auto d = s.distribution(l);
  EXPECT_EQ(tokens_of(d), (std::vector<int32_t>{0, 1, 3}));  // id order: no sort needed
  EXPECT_NEAR(d[1].p, 0.5 / 0.95, 1e-7);
  p.min_p = 0.5f;  // threshold 0.25
  Sampler s2 = make(p, 4);
  EXPECT_EQ(tokens_of(s2.distribution(l)), (std::vector<int32_t>{1, 3}));
  p.min_p = 1;  // only the best
  Sampler s3 = make(p, 4);
  EXPECT_EQ(tokens_of(s3.distribution(l)), (std::vector<int32_t>{1}));
}

TEST(Sampler, TopPThenMinPAndTopKThenTemperature) {
  std::vector<float> l = log_probs({0.15, 0.5, 0.05, 0.3});
  SamplingParams p;
  p.top_p = 0.99f;  // would keep all four
  p.min_p = 0.2f;   // drops 0.05
  Sampler s = make(p, 4);
  EXPECT_EQ(tokens_of(s.distribution(l)), (std::vector<int32_t>{1, 3, 0}));
  // top_k before temperature, top_p after: T = 0.5 squares the ratios, so the top 3
  // {0.5, 0.3, 0.15} become {25, 9, 2.25} / 36.25 = {0.69, 0.25, 0.06}.
  p = {};
  p.top_k = 3;
  p.temperature = 0.5f;
  p.top_p = 0.65f;
  Sampler t = make(p, 4);
  EXPECT_EQ(tokens_of(t.distribution(l)), (std::vector<int32_t>{1}));
  p.top_p = 0.9f;
  Sampler t2 = make(p, 4);
  EXPECT_EQ(tokens_of(t2.distribution(l)), (std::vector<int32_t>{1, 3}));
  p.top_p = 0.95f;
  Sampler t3 = make(p, 4);
  EXPECT_EQ(tokens_of(t3.distribution(l)), (std::vector<int32_t>{1, 3, 0}));
  // At T = 1 the same top_p = 0.65 needs two tokens ({0.53, 0.32, 0.16}).
  p.temperature = 1;
  p.top_p = 0.65f;
  Sampler t4 = make(p, 4);
  EXPECT_EQ(tokens_of(t4.distribution(l)), (std::vector<int32_t>{1, 3}));
}

// Brute-force reference for a large vocabulary: the block-wise partial sort must keep exactly
// the sorted prefix a full sort gives.
TEST(Sampler, TopPMinPOnLargeVocabularyMatchesFullSort) {
  std::mt19937_64 gen(7);
  const size_t V = 50000;
  std::vector<float> l(V);
  for (auto& x : l) x = float(double(gen() >> 11) * 0x1.0p-53 * 12.0 - 6.0);
  l[123] = l[456];  // a tie
  for (float top_p : {0.05f, 0.5f, 0.9f, 0.999f}) {
    for (float min_p : {0.0f, 0.01f}) {
      SamplingParams p;
      p.top_p = top_p;
      p.min_p = min_p;
      p.temperature = 0.8f;
      Sampler s = make(p, V);
      auto d = s.distribution(l);

      std::vector<std::pair<double, int32_t>> ref;  // (p, id)
      double mx = *std::max_element(l.begin(), l.end()), z = 0;
      for (size_t i = 0; i < V; ++i) z += std::exp((double(l[i]) - mx) / double(0.8f));
      for (size_t i = 0; i < V; ++i)
        ref.push_back({std::exp((double(l[i]) - mx) / double(0.8f)) / z, int32_t(i)});
      std::sort(ref.begin(), ref.end(), [](auto a, auto b) {
        return a.first != b.first ? a.first > b.first : a.second < b.second;
      });
      std::vector<int32_t> want;
      double cum = 0, threshold = double(min_p) * ref[0].first;
      for (auto [pr, id] : ref) {
        if (pr < threshold) break;
        want.push_back(id);
        cum += pr;
        if (cum >= double(top_p)) break;
      }
      EXPECT_EQ(tokens_of(d), want) << top_p << " " << min_p;
      double sum = 0;
      for (auto& c : d) sum += c.p;
      EXPECT_NEAR(sum, 1.0, 1e-9);
    }
  }
}

// top_k against a full sort, with many exact ties (logits on a coarse grid) so the lower-id
// rule at the boundary is exercised; also through top_p on the kept set.
TEST(Sampler, TopKMatchesFullSortWithTies) {
  std::mt19937_64 gen(11);
  const size_t V = 3000;
  std::vector<float> l(V);
  for (auto& x : l) x = float(int(gen() % 40)) * 0.25f;
  std::vector<int32_t> order(V);
  for (size_t i = 0; i < V; ++i) order[i] = int32_t(i);
  std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
    return l[size_t(a)] != l[size_t(b)] ? l[size_t(a)] > l[size_t(b)] : a < b;
  });
  for (int32_t k : {2, 7, 75, 500, 2999}) {
    SamplingParams p;
    p.top_k = k;
    Sampler s = make(p, V);
    EXPECT_EQ(tokens_of(s.distribution(l)), std::vector<int32_t>(order.begin(), order.begin() + k))
        << k;
  }
}

// The draw is reproducible from the standard's mt19937_64 alone: u = top 53 bits / 2^53,
// token = first whose cumulative probability exceeds u (in id order when nothing is cut).
TEST(Sampler, DrawMatchesDocumentedRngUse) {
  SamplingParams p;
  p.seed = 12345;
  Sampler s = make(p, 2);
  std::mt19937_64 ref(12345);
  std::vector<float> l = {0, 0};
  for (int i = 0; i < 200; ++i) {
    double u = double(ref() >> 11) * 0x1.0p-53;
    EXPECT_EQ(s.sample(l).token, u < 0.5 ? 0 : 1) << i;
  }
}

TEST(Sampler, SameSeedSameTokensAndResetRestarts) {
  SamplingParams p;
  p.seed = 99;
  p.top_p = 0.9f;
  p.temperature = 1.3f;
  std::vector<float> l(300);
  for (size_t i = 0; i < l.size(); ++i) l[i] = float(std::sin(double(i) * 0.7) * 3);
  Sampler a = make(p, l.size()), b = make(p, l.size());
  std::vector<int32_t> ta, tb;
  for (int i = 0; i < 500; ++i) {
    ta.push_back(a.sample(l).token);
    tb.push_back(b.sample(l).token);
  }
  EXPECT_EQ(ta, tb);
  a.reset();
  for (int i = 0; i < 500; ++i) ASSERT_EQ(a.sample(l).token, ta[size_t(i)]);
  p.seed = 100;
  Sampler c = make(p, l.size());
  std::vector<int32_t> tc;
  for (int i = 0; i < 500; ++i) tc.push_back(c.sample(l).token);
  EXPECT_NE(ta, tc);
}

// Pearson chi-square of a fixed-seed run against the target distribution; the bound is the
// 0.1% critical value, so a correct sampler passes and a biased one (e.g. off by one bucket
// or ignoring temperature) fails by a wide margin. Deterministic: the seed is fixed.
double chi_square(Sampler& s, const std::vector<float>& logits, const std::vector<double>& want,
                  int draws) {
  std::vector<int> n(want.size(), 0);
  for (int i = 0; i < draws; ++i) n[size_t(s.sample(logits).token)]++;
  double chi = 0;
  for (size_t k = 0; k < want.size(); ++k) {
    double e = want[k] * draws;
    chi += (n[k] - e) * (n[k] - e) / e;
  }
  return chi;
}

TEST(Sampler, DrawFrequenciesMatchProbabilities) {
  SamplingParams p;
  p.seed = 2024;
  std::vector<double> want = {0.1, 0.2, 0.3, 0.4};
  Sampler s = make(p, 4);
  EXPECT_LT(chi_square(s, log_probs(want), want, 40000), 16.27);  // df 3, p = 0.001

  // Temperature 2: p ∝ sqrt(want).
  p.temperature = 2;
  Sampler hot = make(p, 4);
  std::vector<double> warm;
  double z = 0;
  for (double w : want) z += std::sqrt(w);
  for (double w : want) warm.push_back(std::sqrt(w) / z);
  EXPECT_LT(chi_square(hot, log_probs(want), warm, 40000), 16.27);
  // ...and the untempered distribution is clearly rejected for it.
  Sampler hot2 = make(p, 4);
  EXPECT_GT(chi_square(hot2, log_probs(want), want, 40000), 100.0);
}

TEST(Sampler, LogprobsAreOfTheRawDistribution) {
  SamplingParams p;
  p.temperature = 0;  // greedy, and penalties do not change the reported logprobs
  p.presence_penalty = 100;
  std::vector<float> l = log_probs({0.1, 0.4, 0.2, 0.3});
  Sampler s = make(p, 4);
  s.accept(1);
  auto r = s.sample(l, 3);
  EXPECT_EQ(r.token, 3);  // 1 is penalized away
  EXPECT_NEAR(r.logprob, std::log(0.3), 1e-6);
  ASSERT_EQ(r.top.size(), 3u);
  EXPECT_EQ(r.top[0].token, 1);
  EXPECT_NEAR(r.top[0].logprob, std::log(0.4), 1e-6);
  EXPECT_EQ(r.top[1].token, 3);
  EXPECT_EQ(r.top[2].token, 2);
  // No request: NaN and no alternatives; 0: the chosen token only.
  auto none = s.sample(l);
  EXPECT_TRUE(std::isnan(none.logprob));
  EXPECT_TRUE(none.top.empty());
  auto zero = s.sample(l, 0);
  EXPECT_FALSE(std::isnan(zero.logprob));
  EXPECT_TRUE(zero.top.empty());
  // More alternatives than the vocabulary: all of it; ties by lower id.
  Sampler t = make(SamplingParams{.temperature = 0}, 3);
  auto all = t.sample(std::vector<float>{1, 2, 1}, 50);
  ASSERT_EQ(all.top.size(), 3u);
  EXPECT_EQ(all.top[1].token, 0);
  EXPECT_EQ(all.top[2].token, 2);
}

TEST(Sampler, NanAndBannedTokensAreNeverChosen) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  SamplingParams p;
  p.seed = 1;
  p.logit_bias = {{2, -inf}};
  Sampler s = make(p, 4);
  std::vector<float> l = {nan, 0, 5, 0};
  for (int i = 0; i < 200; ++i) {
    int32_t t = s.sample(l, 2).token;
    EXPECT_TRUE(t == 1 || t == 3) << t;
  }
  // Positive bias moves the argmax.
  Sampler g = make(SamplingParams{.temperature = 0, .logit_bias = {{0, 10.0f}}}, 3);
  EXPECT_EQ(g.sample(std::vector<float>{1, 5, 2}).token, 0);
  // Everything banned: a token is still returned (lowest id), no crash.
  Sampler b = make(SamplingParams{.logit_bias = {{0, -inf}, {1, -inf}}}, 2);
  EXPECT_EQ(b.sample(std::vector<float>{1, 2}, 1).token, 0);
}

TEST(Sampler, IsEos) {
  Sampler s = make(SamplingParams{.eos_ids = {2, 5}}, 8);
  EXPECT_TRUE(s.is_eos(5));
  EXPECT_TRUE(s.is_eos(2));
  EXPECT_FALSE(s.is_eos(0));
}

TEST(Sampler, InvalidParamsAreErrors) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  auto err = [](SamplingParams p, size_t vocab = 10) {
    auto s = Sampler::create(p, vocab);
    return s.ok() ? std::string() : s.error().message;
  };
  EXPECT_NE(err({.temperature = -1}), "");
  EXPECT_NE(err({.temperature = nan}), "");
  EXPECT_NE(err({.top_p = 0}), "");
  EXPECT_NE(err({.top_p = 1.5f}), "");
  EXPECT_NE(err({.min_p = -0.1f}), "");
  EXPECT_NE(err({.min_p = nan}), "");
  EXPECT_NE(err({.repetition_penalty = 0}), "");
  EXPECT_NE(err({.presence_penalty = nan}), "");
  EXPECT_NE(err({.frequency_penalty = std::numeric_limits<float>::infinity()}), "");
  EXPECT_NE(err({.eos_ids = {10}}), "");
  EXPECT_NE(err({.logit_bias = {{-1, 1.0f}}}), "");
  EXPECT_NE(err({.logit_bias = {{1, nan}}}), "");
  EXPECT_NE(err({}, 0), "");
  EXPECT_EQ(err({.temperature = 0, .top_k = -1, .top_p = 1, .min_p = 1}), "");
  EXPECT_NE(err({.top_p = 2}).find("top_p"), std::string::npos);
}

}  // namespace
}  // namespace whale
