// Logit-row passes for the sampler (logit_kernels.h), compiled once per Highway target.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/logit_kernels.cpp"
#include "hwy/foreach_target.h"  // must precede highway.h
// clang-format off
#include "hwy/highway.h"
// clang-format on
#include "hwy/contrib/math/math-inl.h"
#include "kernels/lane_reductions-inl.h"

#include <cmath>
#include <limits>

#include "kernels/logit_kernels.h"

HWY_BEFORE_NAMESPACE();
namespace whale {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

void CopyLogits(const float* src, float* dst, int64_t n) {
  const hn::ScalableTag<float> d;
  const int64_t L = int64_t(hn::Lanes(d));
  const auto neg_inf = hn::Set(d, -std::numeric_limits<float>::infinity());
  int64_t i = 0;
  for (; i + L <= n; i += L) {
    const auto v = hn::LoadU(d, src + i);
    hn::StoreU(hn::IfThenElse(hn::IsNaN(v), neg_inf, v), d, dst + i);
  }
  for (; i < n; ++i) dst[i] = std::isnan(src[i]) ? -std::numeric_limits<float>::infinity() : src[i];
}

int64_t IndexOfMax(const float* x, int64_t n) {
  if (n <= 0) return 0;
  const hn::ScalableTag<float> d;
  const int64_t L = int64_t(hn::Lanes(d));
  // The maximum first (vector max), then the first index holding it: two passes over data that
  // stays in L2, cheaper than carrying indices through the first pass.
  const float best = max_of(x, n, x[0]);
  const auto target = hn::Set(d, best);
  int64_t i = 0;
  for (; i + L <= n; i += L) {
    const intptr_t lane = hn::FindFirstTrue(d, hn::Eq(hn::LoadU(d, x + i), target));
    if (lane >= 0) return i + int64_t(lane);
  }
  for (; i < n; ++i)
    if (x[i] == best) return i;
  return 0;
}

#if HWY_HAVE_FLOAT64
double ExpScaled(const float* x, int64_t n, double shift, double scale, double* out) {
  const hn::ScalableTag<double> dd;
  const hn::Rebind<float, decltype(dd)> df;  // as many floats as doubles per vector
  const int64_t L = int64_t(hn::Lanes(dd));
  const auto vshift = hn::Set(dd, shift), vscale = hn::Set(dd, scale);
  const auto floor = hn::Set(dd, -745.0);
  auto vsum = hn::Zero(dd);
  int64_t i = 0;
  for (; i + L <= n; i += L) {
    const auto arg = hn::Mul(hn::Sub(hn::PromoteTo(dd, hn::LoadU(df, x + i)), vshift), vscale);
    // -inf (banned tokens) and arguments past the underflow give exactly 0, as std::exp does.
    const auto r = hn::IfThenElseZero(hn::Ge(arg, floor), hn::Exp(dd, hn::Max(arg, floor)));
    hn::StoreU(r, dd, out + i);
    vsum = hn::Add(vsum, r);
  }
  double sum = hn::GetLane(hn::SumOfLanes(dd, vsum));
  for (; i < n; ++i) {
    const double arg = (double(x[i]) - shift) * scale;
    out[i] = arg >= -745.0 ? std::exp(arg) : 0.0;
    sum += out[i];
  }
  return sum;
}
#else
double ExpScaled(const float* x, int64_t n, double shift, double scale, double* out) {
  return exp_scaled_f64_reference(x, n, shift, scale, out);
}
#endif

}  // namespace HWY_NAMESPACE
}  // namespace whale
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace whale {

HWY_EXPORT(CopyLogits);
HWY_EXPORT(IndexOfMax);
HWY_EXPORT(ExpScaled);

void copy_logits_nan_to_neg_inf(const float* src, float* dst, int64_t n) {
  HWY_DYNAMIC_DISPATCH(CopyLogits)(src, dst, n);
}

int64_t index_of_max(const float* x, int64_t n) {
  return HWY_DYNAMIC_DISPATCH(IndexOfMax)(x, n);
}

int64_t index_of_max_reference(const float* x, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; ++i)
    if (x[i] > x[best]) best = i;
  return best;
}

double exp_scaled_f64(const float* x, int64_t n, double shift, double scale, double* out) {
  return HWY_DYNAMIC_DISPATCH(ExpScaled)(x, n, shift, scale, out);
}

double exp_scaled_f64_reference(const float* x, int64_t n, double shift, double scale,
                                double* out) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    out[i] = std::exp((double(x[i]) - shift) * scale);
    sum += out[i];
  }
  return sum;
}

}  // namespace whale
#endif  // HWY_ONCE
