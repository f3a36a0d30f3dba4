#include "runtime/sampler.h"

#include "kernels/logit_kernels.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace whale {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// The one order used for every sort and tie: larger logit first, then lower id.
inline bool better(const TokenProb& a, const TokenProb& b) {
  if (a.logit != b.logit) return a.logit > b.logit;
  return a.token < b.token;
}

// A ring larger than this is grown on demand instead of reserved up front (a window of a
// million tokens should not cost memory before the tokens exist).
constexpr int64_t kWindowReserve = 1 << 16;

}  // namespace

Status validate_sampling_params(const SamplingParams& p, size_t vocab_size) {
  auto bad = [](const char* what, double v) { return make_error(what, v); };
  if (!(p.temperature >= 0) || std::isinf(p.temperature))
    return bad("temperature must be a finite number >= 0 (got %g)", p.temperature);
  if (!(p.top_p > 0 && p.top_p <= 1)) return bad("top_p must be in (0, 1] (got %g)", p.top_p);
  if (!(p.min_p >= 0 && p.min_p <= 1)) return bad("min_p must be in [0, 1] (got %g)", p.min_p);
  if (!(p.repetition_penalty > 0) || std::isinf(p.repetition_penalty))
    return bad("repetition_penalty must be a finite number > 0 (got %g)", p.repetition_penalty);
  if (!std::isfinite(p.presence_penalty))
    return bad("presence_penalty must be a finite number (got %g)", p.presence_penalty);
  if (!std::isfinite(p.frequency_penalty))
    return bad("frequency_penalty must be a finite number (got %g)", p.frequency_penalty);
  if (vocab_size == 0 || vocab_size > size_t(std::numeric_limits<int32_t>::max()))
    return make_error("sampler: vocabulary size %zu is not usable", vocab_size);
  for (int32_t id : p.eos_ids)
    if (id < 0 || size_t(id) >= vocab_size)
      return make_error("end-of-sequence token %d is outside the vocabulary (0..%zu)", id,
                        vocab_size - 1);
  for (auto [id, bias] : p.logit_bias) {
    if (id < 0 || size_t(id) >= vocab_size)
      return make_error("logit_bias token %d is outside the vocabulary (0..%zu)", id,
                        vocab_size - 1);
    if (std::isnan(bias) || bias == std::numeric_limits<float>::infinity())
      return make_error("logit_bias for token %d must be a number or -inf (got %g)", id,
                        double(bias));
  }
  return Status::Ok();
}

Result<Sampler> Sampler::create(SamplingParams params, size_t vocab_size) {
  WHALE_TRY(validate_sampling_params(params, vocab_size));
  return Sampler(std::move(params), vocab_size);
}

Sampler::Sampler(SamplingParams params, size_t vocab_size)
    : params_(std::move(params)), vocab_size_(vocab_size), rng_(params_.seed) {
  candidates_.resize(vocab_size_);
  adjusted_.resize(vocab_size_);
  counts_.assign(vocab_size_, 0);
  present_pos_.assign(vocab_size_, -1);
  present_.reserve(vocab_size_);
  if (params_.penalty_last_n > 0)
    window_.reserve(size_t(std::min(params_.penalty_last_n, kWindowReserve)));
  logprob_ids_.resize(vocab_size_);
  top_.reserve(64);
}

bool Sampler::is_eos(int32_t token) const {
  return std::find(params_.eos_ids.begin(), params_.eos_ids.end(), token) != params_.eos_ids.end();
}

void Sampler::reset() {
  for (int32_t t : present_) {
    counts_[size_t(t)] = 0;
    present_pos_[size_t(t)] = -1;
  }
  present_.clear();
  window_.clear();
  window_head_ = 0;
  rng_.seed(params_.seed);
}

void Sampler::accept(int32_t token) {
  if (token < 0 || size_t(token) >= vocab_size_ || params_.penalty_last_n == 0) return;
  auto add = [&](int32_t t, int delta) {
    int32_t& c = counts_[size_t(t)];
    c += delta;
    if (c == delta && delta > 0) {  // 0 -> 1: now present
      present_pos_[size_t(t)] = int32_t(present_.size());
      present_.push_back(t);
    } else if (c == 0) {  // 1 -> 0: swap-remove from present_
      int32_t pos = present_pos_[size_t(t)];
      int32_t last = present_.back();
      present_[size_t(pos)] = last;
      present_pos_[size_t(last)] = pos;
      present_.pop_back();
      present_pos_[size_t(t)] = -1;
    }
  };
  if (params_.penalty_last_n > 0) {
    if (int64_t(window_.size()) < params_.penalty_last_n) {
      window_.push_back(token);
    } else {
      add(window_[window_head_], -1);
      window_[window_head_] = token;
      window_head_ = (window_head_ + 1) % window_.size();
    }
  }
  add(token, +1);
}

void Sampler::load_logits(std::span<const float> logits) {
  WHALE_CHECK(logits.size() == vocab_size_, "logits row does not match the vocabulary size");
  float* a = adjusted_.data();
  // A NaN logit (a broken model) would break the sort's ordering; it can never win.
  copy_logits_nan_to_neg_inf(logits.data(), a, int64_t(vocab_size_));
  for (auto [id, bias] : params_.logit_bias) a[size_t(id)] += bias;
  const float rep = params_.repetition_penalty;
  const float presence = params_.presence_penalty, frequency = params_.frequency_penalty;
  if (rep == 1.0f && presence == 0.0f && frequency == 0.0f) return;
  for (int32_t t : present_) {
    float& l = a[size_t(t)];
    if (rep != 1.0f) l = l > 0 ? l / rep : l * rep;
    l -= presence + frequency * float(counts_[size_t(t)]);
  }
}

// The k best of adjusted_ into candidates_[0, k), sorted. A bounded heap (worst of the k on
// top) costs one comparison for most of a 100k vocabulary instead of writing all of it.
void Sampler::select_top_k(size_t k) {
  auto worse_first = [](const TokenProb& a, const TokenProb& b) { return better(a, b); };
  auto begin = candidates_.begin();
  size_t n = 0;
  for (size_t i = 0; i < vocab_size_; ++i) {
    TokenProb c{int32_t(i), adjusted_[i], 0.0};
    if (n < k) {
      candidates_[n++] = c;
      std::push_heap(begin, begin + ptrdiff_t(n), worse_first);
    } else if (better(c, candidates_[0])) {
      std::pop_heap(begin, begin + ptrdiff_t(n), worse_first);
      candidates_[n - 1] = c;
      std::push_heap(begin, begin + ptrdiff_t(n), worse_first);
    }
  }
  std::sort_heap(begin, begin + ptrdiff_t(n), worse_first);
  kept_ = n;
  sorted_ = true;
}

std::span<const TokenProb> Sampler::distribution(std::span<const float> logits) {
  load_logits(logits);
  const float* a = adjusted_.data();

  auto single = [&](int32_t token) {
    candidates_[0] = {token, a[size_t(token)], 1.0};
    kept_ = 1;
    sorted_ = true;
    return std::span<const TokenProb>(candidates_.data(), 1);
  };
  // Greedy; also the answer when every token is banned (all -inf): the lowest id.
  auto argmax = [&] { return int32_t(index_of_max(a, int64_t(vocab_size_))); };
  if (params_.temperature == 0.0f || params_.top_k == 1) return single(argmax());

  // Temperature and softmax. p_i = r_i / sum with r_i = exp((l_i - max) / T), in double: a
  // 100k-token sum in float loses the small tail that top_p's cumulative sum depends on.
  const double inv_t = 1.0 / double(params_.temperature);
  const bool top_k = params_.top_k > 0 && size_t(params_.top_k) < vocab_size_;
  double sum = 0;
  float max_logit;
  if (top_k) {
    select_top_k(size_t(params_.top_k));
    max_logit = candidates_[0].logit;
    if (max_logit == kNegInf) return single(candidates_[0].token);
    for (size_t i = 0; i < kept_; ++i) {
      TokenProb& c = candidates_[i];
      c.p = std::exp((double(c.logit) - double(max_logit)) * inv_t);
      sum += c.p;
    }
  } else {
    max_logit = a[size_t(argmax())];
    if (max_logit == kNegInf) return single(argmax());
    // min_p drops every token with r_i < min_p (p_i < min_p * p_max, as p_max = 1 / sum)
    // here, so only survivors are written; the sum still covers the whole vocabulary.
    // The vocabulary-wide exp pass runs in f64 SIMD lanes (logit_kernels.h) into per-thread
    // scratch: sequences draw on the engine's threads, and a Sampler per sequence stays small.
    thread_local std::vector<double> ratios;
    if (ratios.size() < vocab_size_) ratios.resize(vocab_size_);
    sum = exp_scaled_f64(a, int64_t(vocab_size_), double(max_logit), inv_t, ratios.data());
    const double min_ratio = params_.min_p;
    size_t n = 0;
    for (size_t i = 0; i < vocab_size_; ++i) {
      const double r = ratios[i];
      if (r >= min_ratio && r > 0) candidates_[n++] = {int32_t(i), a[i], r};
    }
    kept_ = n;
    sorted_ = false;
  }
  for (size_t i = 0; i < kept_; ++i) candidates_[i].p /= sum;

  // Truncation orders by the logits before temperature: the same order as p, exactly (the
  // scaled float logits could round two different ones to a tie).
  if (params_.top_p < 1.0f || params_.min_p > 0.0f) {
    truncate_by_top_p_min_p(1.0 / sum, double(params_.min_p) / sum);
    double kept_sum = 0;
    for (size_t i = 0; i < kept_; ++i) kept_sum += candidates_[i].p;
    for (size_t i = 0; i < kept_; ++i) candidates_[i].p /= kept_sum;
  }
  for (size_t i = 0; i < kept_; ++i)
    candidates_[i].logit = float(double(candidates_[i].logit) * inv_t);
  return {candidates_.data(), kept_};
}

// top_p keeps a most-likely prefix; min_p keeps the tokens at or above a threshold, which is
// also a most-likely prefix. Their result is the shorter prefix, found by walking the sorted
// order while the cumulative mass is below top_p and p stays at or above the threshold.
// Sorting all 100k+ candidates would cost more than the rest of sampling, so only a most-likely
// set S = {p >= tau * p_max} is sorted, with tau lowered until S holds top_p of the mass (then
// the prefix lies inside S). With real model outputs the first tau almost always suffices.
void Sampler::truncate_by_top_p_min_p(double p_max, double threshold) {
  const double top_p = params_.top_p;
  const bool use_top_p = top_p < 1.0;
  if (!use_top_p && !sorted_) {
    // min_p alone: a filter that keeps the current (id) order, no sort needed.
    size_t out = 0;
    for (size_t i = 0; i < kept_; ++i)
      if (candidates_[i].p >= threshold) candidates_[out++] = candidates_[i];
    kept_ = out;
    return;
  }
  auto begin = candidates_.begin();
  if (!sorted_) {
    size_t front = 0;  // candidates_[0, front) all have p >= the current tau * p_max
    double front_mass = 0;
    for (double tau : {1e-3, 1e-6, 1e-10, 0.0}) {
      const double cut = tau * p_max;
      auto mid = std::partition(begin + ptrdiff_t(front), begin + ptrdiff_t(kept_),
                                [cut](const TokenProb& c) { return c.p >= cut; });
      size_t new_front = size_t(mid - begin);
      for (size_t i = front; i < new_front; ++i) front_mass += candidates_[i].p;
      front = new_front;
      if (front_mass >= top_p || cut <= threshold) break;  // the prefix ends inside the front
    }
    std::sort(begin, begin + ptrdiff_t(front), better);
    // Past the front every p is below the last cut; if the walk gets there (mass short of
    // top_p only by rounding), the tail is kept too, in sorted order.
    if (front < kept_) {
      double cum = 0;
      for (size_t i = 0; i < front; ++i) cum += candidates_[i].p;
      if (cum < top_p && candidates_[front].p >= threshold)
        std::sort(begin + ptrdiff_t(front), begin + ptrdiff_t(kept_), better);
      else
        kept_ = front;
    }
  }
  sorted_ = true;
  double cum = 0;
  for (size_t i = 0; i < kept_; ++i) {
    // The best token always stays (its p is p_max >= threshold, and cum starts at 0).
    if (candidates_[i].p < threshold) {
      kept_ = i;
      return;
    }
    cum += candidates_[i].p;
    if (use_top_p && cum >= top_p) {
      kept_ = i + 1;
      return;
    }
  }
}

double Sampler::uniform01() {
  // The top 53 bits of one 64-bit output: every double in [0, 1) on the 2^-53 grid, equally
  // likely, identical on every platform.
  return double(rng_() >> 11) * 0x1.0p-53;
}

void Sampler::fill_logprobs(std::span<const float> logits, SampledToken& out, int top_n) {
  float max_logit = kNegInf;
  for (float l : logits)
    if (l > max_logit) max_logit = l;  // NaN never compares greater
  double sum = 0;
  if (max_logit != kNegInf)
    for (float l : logits)
      if (!std::isnan(l)) sum += std::exp(double(l) - double(max_logit));
  const double log_z = max_logit == kNegInf ? 0.0 : double(max_logit) + std::log(sum);
  auto logprob_of = [&](int32_t t) {
    float l = logits[size_t(t)];
    return std::isnan(l) || l == kNegInf ? kNegInf : float(double(l) - log_z);
  };
  out.logprob = logprob_of(out.token);

  top_.clear();
  size_t n = std::min(size_t(std::max(top_n, 0)), vocab_size_);
  if (n == 0) return;
  std::iota(logprob_ids_.begin(), logprob_ids_.end(), 0);
  auto key = [&](int32_t t) {
    float l = logits[size_t(t)];
    return std::isnan(l) ? kNegInf : l;
  };
  std::partial_sort(logprob_ids_.begin(), logprob_ids_.begin() + ptrdiff_t(n), logprob_ids_.end(),
                    [&](int32_t a, int32_t b) {
                      float ka = key(a), kb = key(b);
                      return ka != kb ? ka > kb : a < b;
                    });
  for (size_t i = 0; i < n; ++i) top_.push_back({logprob_ids_[i], logprob_of(logprob_ids_[i])});
  out.top = {top_.data(), top_.size()};
}

SampledToken Sampler::sample(std::span<const float> logits, int top_logprobs) {
  std::span<const TokenProb> dist = distribution(logits);
  SampledToken out;
  if (dist.size() == 1) {
    out.token = dist[0].token;  // greedy (or a single survivor): no RNG draw consumed
  } else {
    const double u = uniform01();
    double cum = 0;
    out.token = dist.back().token;  // if rounding leaves cum just below u
    for (const TokenProb& c : dist) {
      cum += c.p;
      if (u < cum) {
        out.token = c.token;
        break;
      }
    }
  }
  if (top_logprobs >= 0) fill_logprobs(logits, out, top_logprobs);
  return out;
}

}  // namespace whale
