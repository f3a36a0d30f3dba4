// Choosing the next token from a row of logits.
//
// The pipeline, in order (the semantics of Hugging Face transformers / vLLM / OpenAI):
//   1. logit_bias            logit[t] += bias[t]                      (OpenAI logit_bias)
//   2. repetition_penalty    for tokens in the penalty window: positive logits are divided
//                            by the penalty, negative ones multiplied (HF, llama.cpp)
//   3. presence / frequency  logit[t] -= presence * (count[t] > 0) + frequency * count[t]
//                            (OpenAI), count over the penalty window
//   4. greedy                temperature == 0 (or top_k == 1): argmax, lowest id on ties
//   5. top_k                 keep the k largest logits (ties: lower id first)
//   6. temperature           logit / T
//   7. softmax
//   8. top_p                 keep the smallest most-likely prefix whose mass reaches top_p
//   9. min_p                 keep tokens with p >= min_p * p_max
//  10. draw                  renormalize, then one uniform draw from the seeded RNG
// Note: llama.cpp applies temperature after truncation, so its top_p / min_p see T = 1; whale
// follows transformers/vLLM here (temperature changes which tokens top_p keeps).
//
// Determinism: the RNG is std::mt19937_64, whose output sequence the C++ standard fixes, and
// the uniform double is built from its top 53 bits here (std::*_distribution is
// implementation-defined). The candidates are walked either in token-id order (no truncation)
// or sorted by (logit desc, id asc), never in an order left by nth_element, so the same seed
// and logits give the same tokens with any standard library.
//
// No allocation per token: every buffer is sized to the vocabulary when the Sampler is made.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <random>
#include <span>
#include <utility>
#include <vector>

#include "platform/result.h"

namespace whale {

struct SamplingParams {
  float temperature = 1.0f;         // 0: greedy
  int32_t top_k = 0;                // <= 0: off
  float top_p = 1.0f;               // 1: off
  float min_p = 0.0f;               // 0: off
  float repetition_penalty = 1.0f;  // 1: off
  float presence_penalty = 0.0f;
  float frequency_penalty = 0.0f;
  // Tokens the penalties look at: the last N accepted; 0 turns penalties off, < 0 means
  // every token accepted so far.
  int64_t penalty_last_n = 64;
  uint64_t seed = 0;
  std::vector<int32_t> eos_ids{};  // tokens that end generation (see Sampler::is_eos)
  std::vector<std::pair<int32_t, float>> logit_bias{};  // (token, added logit); -inf bans
};

// Checks user-supplied parameters (the server passes request fields through here): one line
// per problem, e.g. "top_p must be in (0, 1] (got 1.5)".
Status validate_sampling_params(const SamplingParams& params, size_t vocab_size);

struct TokenLogprob {
  int32_t token;
  float logprob;
};

// A kept candidate of the final distribution (after every truncation step).
struct TokenProb {
  int32_t token;
  float logit;  // after bias, penalties and temperature
  double p;     // renormalized over the kept candidates
};

struct SampledToken {
  int32_t token = -1;
  // log p(token) under the model's own distribution: log-softmax of the raw logits over the
  // whole vocabulary, before bias, penalties, temperature and truncation (what OpenAI and
  // vLLM report). NaN unless logprobs were requested.
  float logprob = std::numeric_limits<float>::quiet_NaN();
  // The most likely tokens of that same distribution, best first (ties: lower id first).
  // Points into the Sampler; valid until its next call.
  std::span<const TokenLogprob> top;
};

class Sampler {
 public:
  // params must have passed validate_sampling_params (checked again: an Error here).
  static Result<Sampler> create(SamplingParams params, size_t vocab_size);

  // Picks the next token. top_logprobs < 0: no logprobs (fastest); >= 0: fill logprob and
  // that many alternatives. logits.size() must equal the vocabulary size.
  SampledToken sample(std::span<const float> logits, int top_logprobs = -1);

  // The distribution sample() draws from, in draw order: kept tokens with renormalized
  // probabilities. Greedy gives one token with p = 1. Valid until the next call.
  std::span<const TokenProb> distribution(std::span<const float> logits);

  // Records a token in the penalty window (call it for every generated token; callers that
  // want the prompt penalized too, as HF does, accept the prompt tokens first).
  void accept(int32_t token);
  // Forgets the penalty window and restarts the RNG from the seed.
  void reset();

  bool is_eos(int32_t token) const;
  const SamplingParams& params() const { return params_; }
  size_t vocab_size() const { return vocab_size_; }

 private:
  Sampler(SamplingParams params, size_t vocab_size);
  void load_logits(std::span<const float> logits);
  void select_top_k(size_t k);
  void truncate_by_top_p_min_p(double p_max, double threshold);
  double uniform01();
  void fill_logprobs(std::span<const float> logits, SampledToken& out, int top_n);

  SamplingParams params_;
  size_t vocab_size_;
  std::mt19937_64 rng_;

  std::vector<float> adjusted_;        // logits after NaN -> -inf, bias and penalties
  std::vector<TokenProb> candidates_;  // capacity vocab_size
  size_t kept_ = 0;                    // candidates_[0, kept_) is the distribution
  bool sorted_ = false;                // kept prefix sorted by (logit desc, id asc)

  // Penalty window: a ring of the last accepted tokens, per-token counts, and the list of
  // distinct tokens with a non-zero count (with each one's position, for O(1) removal).
  std::vector<int32_t> window_;
  size_t window_head_ = 0;  // oldest entry once the ring is full
  std::vector<int32_t> counts_;
  std::vector<int32_t> present_;
  std::vector<int32_t> present_pos_;

  std::vector<int32_t> logprob_ids_;  // capacity vocab_size
  std::vector<TokenLogprob> top_;
};

}  // namespace whale
