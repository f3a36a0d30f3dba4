// DeepSeekMoE router: which experts a token goes to and with what weights, as DeepSeek's
// released modeling code decides it:
//   scores     softmax (V2) or sigmoid (V3) of the router logits
//   greedy                 top_k of the scores
//   group_limited_greedy   group score = its best expert; experts outside the topk_group best
//                          groups get score 0.0; top_k of that
//   noaux_tc               the same on scores + e_score_correction_bias, group score = sum of
//                          the group's two best; the chosen experts are WEIGHED by their
//                          unbiased scores (the bias steers selection only)
//   weights    normalized (sum + 1e-20) when top_k > 1 and norm_topk_prob; V2 scales by
//              routed_scaling_factor only when not normalized, V3 always scales
// Equal scores resolve to the lowest expert index (torch.topk's order among exact ties is
// unspecified; real-valued router scores do not tie).
#pragma once

#include <cstdint>

#include "formats/model_config.h"
#include "platform/result.h"

namespace whale {

enum class RouterScoring { kSoftmax, kSigmoid };
enum class RouterMethod { kGreedy, kGroupLimitedGreedy, kNoauxTc };

struct RouterSettings {
  int64_t n_experts = 0;
  int64_t top_k = 0;
  RouterScoring scoring = RouterScoring::kSoftmax;
  RouterMethod method = RouterMethod::kGreedy;
  int64_t n_group = 1;
  int64_t topk_group = 1;
  bool norm_topk_prob = false;
  double routed_scaling_factor = 1.0;
  bool scale_after_norm = false;  // V3 rule (true) or V2 rule (false)
};

// Settings from a deepseek2 config; inconsistent values are an Error.
Result<RouterSettings> router_settings(const ModelConfig& c);

// Upper bound on n_routed_experts (DeepSeek-V3 has 256): the router keeps its scratch on the stack.
inline constexpr int64_t kMaxRoutedExperts = 1024;

// Routes one token. logits: n_experts router outputs; bias: n_experts values or nullptr (needed
// by noaux_tc). Writes top_k expert ids and weights.
void route_token(const RouterSettings& s, const float* logits, const float* bias,
                 int32_t* expert_ids, float* weights);

}  // namespace whale
