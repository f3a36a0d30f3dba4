#include "model/moe_routing.h"

#include <algorithm>
#include <cmath>

namespace whale {

namespace {

// Index of the largest value among those not yet taken (lowest index on ties); marks it taken.
int64_t take_max(const double* v, bool* taken, int64_t n) {
  int64_t best = -1;
  for (int64_t i = 0; i < n; ++i)
    if (!taken[i] && (best < 0 || v[i] > v[best])) best = i;
  taken[best] = true;
  return best;
}

// Zeroes the scores of experts whose group is not among the topk_group best groups.
void mask_groups(const RouterSettings& s, double* scores, bool sum_top2) {
  const int64_t per_group = s.n_experts / s.n_group;
  double group_score[kMaxRoutedExperts];
  bool taken[kMaxRoutedExperts];
  for (int64_t g = 0; g < s.n_group; ++g) {
    const double* v = scores + g * per_group;
    double best = v[0], second = -INFINITY;
    for (int64_t i = 1; i < per_group; ++i) {
      if (v[i] > best) {
        second = best;
        best = v[i];
      } else if (v[i] > second) {
        second = v[i];
      }
    }
    group_score[g] = sum_top2 ? best + second : best;
    taken[g] = false;
  }
  for (int64_t k = 0; k < s.topk_group; ++k) take_max(group_score, taken, s.n_group);
  for (int64_t g = 0; g < s.n_group; ++g)
    if (!taken[g])
      for (int64_t i = 0; i < per_group; ++i) scores[g * per_group + i] = 0.0;
}

}  // namespace

Result<RouterSettings> router_settings(const ModelConfig& c) {
  RouterSettings s;
  s.n_experts = c.n_routed_experts;
  s.top_k = c.num_experts_per_tok;
  s.scoring = c.scoring_func == "sigmoid" ? RouterScoring::kSigmoid : RouterScoring::kSoftmax;
  if (c.topk_method == "group_limited_greedy") s.method = RouterMethod::kGroupLimitedGreedy;
  if (c.topk_method == "noaux_tc") s.method = RouterMethod::kNoauxTc;
  s.n_group = std::max<int64_t>(c.n_group, 1);
  s.topk_group = std::max<int64_t>(c.topk_group, 1);
  s.norm_topk_prob = c.norm_topk_prob;
  s.routed_scaling_factor = c.routed_scaling_factor;
  s.scale_after_norm = c.architecture == "DeepseekV3ForCausalLM";
  if (s.n_experts < 1 || s.n_experts > kMaxRoutedExperts)
    return make_error("n_routed_experts %lld is outside [1, %lld]", (long long)s.n_experts,
                      (long long)kMaxRoutedExperts);
  if (s.top_k < 1 || s.top_k > s.n_experts)
    return make_error("num_experts_per_tok %lld is outside [1, n_routed_experts %lld]",
                      (long long)s.top_k, (long long)s.n_experts);
  if (s.method != RouterMethod::kGreedy) {
    if (s.n_experts % s.n_group % s.n_group != 0)
      return make_error("n_group %lld does not divide n_routed_experts %lld", (long long)s.n_group,
                        (long long)s.n_experts);
    if (s.topk_group > s.n_group)
      return make_error("topk_group %lld exceeds n_group %lld", (long long)s.topk_group,
                        (long long)s.n_group);
    if (s.method == RouterMethod::kNoauxTc && s.n_experts / s.n_group < 2)
      return make_error("noaux_tc routing needs at least 2 experts per group");
  }
  return s;
}

void route_token(const RouterSettings& s, const float* logits, const float* bias,
                 int32_t* expert_ids, float* weights) {
  const int64_t n = s.n_experts;
  double scores[kMaxRoutedExperts];  // unbiased scores
  double choice[kMaxRoutedExperts];  // what selection looks at
  bool taken[kMaxRoutedExperts];
  if (s.scoring == RouterScoring::kSoftmax) {
    double mx = -INFINITY, sum = 0.0;
    for (int64_t i = 0; i < n; ++i) mx = std::max(mx, double(logits[i]));
    for (int64_t i = 0; i < n; ++i) sum += scores[i] = std::exp(double(logits[i]) - mx);
    for (int64_t i = 0; i < n; ++i) scores[i] /= sum;
  } else {
    for (int64_t i = 0; i < n; ++i) scores[i] = 1.0 / (1.0 + std::exp(-double(logits[i])));
  }
  for (int64_t i = 0; i < n; ++i) {
    choice[i] = scores[i];
    if (s.method == RouterMethod::kNoauxTc && bias) choice[i] += double(bias[i]);
    taken[i] = false;
  }
  if (s.method != RouterMethod::kGreedy)
    mask_groups(s, choice, /*sum_top2=*/s.method == RouterMethod::kNoauxTc);
  double picked[kMaxRoutedExperts];
  double sum = 0.0;
  const int64_t k = s.top_k;
  for (int64_t j = 0; j < k; ++j) {
    const int64_t e = take_max(choice, taken, n);
    expert_ids[j] = int32_t(e);
    // greedy / group-limited weigh by the (masked) selection score, noaux_tc by the unbiased one
    picked[j] = s.method == RouterMethod::kNoauxTc ? scores[e] : choice[e];
    sum += picked[j];
  }
  const bool normalize = k > 1 && s.norm_topk_prob;
  for (int64_t j = 0; j < k; ++j) {
    double w = normalize ? picked[j] / (sum + 1e-20) : picked[j];
    if (s.scale_after_norm || !normalize) w *= s.routed_scaling_factor;
    weights[j] = float(w);
  }
}

}  // namespace whale
