// Passes over a row of logits (a vocabulary of up to ~150k entries) for the sampler: each
// draw reads the whole row, so at a DeepSeek vocabulary the scalar loops cost ~1 ms per token
// per sequence, as much as a decode step's share of a small model. SIMD per CPU through
// Highway's dynamic dispatch; the *_reference versions are the tests' oracle.
#pragma once

#include <cstdint>

namespace whale {

// dst[i] = src[i], except NaN -> -inf (a broken model's NaN must never win or break an order).
void copy_logits_nan_to_neg_inf(const float* src, float* dst, int64_t n);

// The index of the largest value, the lowest such index on ties (so 0 when all are equal, e.g.
// all -inf); 0 when n <= 0. Values must not be NaN.
int64_t index_of_max(const float* x, int64_t n);
int64_t index_of_max_reference(const float* x, int64_t n);

// out[i] = exp((double(x[i]) - shift) * scale) in f64 (0 where the argument is below -745,
// as the true value underflows), and returns sum_i out[i] (f64 lanes).
double exp_scaled_f64(const float* x, int64_t n, double shift, double scale, double* out);
double exp_scaled_f64_reference(const float* x, int64_t n, double shift, double scale, double* out);

}  // namespace whale
