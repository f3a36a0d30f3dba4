// Reductions across the lanes of f32 vectors, shared by the kernels compiled per Highway target
// (gemm_f32.cpp, gemm_float_weights.cpp, logit_kernels.cpp). Include after hwy/highway.h.
//
// sums4: the lane sums of 4 vectors at once. Two interleave-and-add rounds leave each 128-bit
// block holding its partial [sum v0, sum v1, sum v2, sum v3], then the blocks are added by
// halving, (B0 + B2) + (B1 + B3) on AVX-512: about a third of the shuffles and adds of four
// separate full reductions. The tree is the same for every input position, so a product that
// reduces one accumulator with it (the others zero or repeated) gets the same bits as a tile.
#if defined(WHALE_KERNELS_LANE_REDUCTIONS_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef WHALE_KERNELS_LANE_REDUCTIONS_INL_H_
#undef WHALE_KERNELS_LANE_REDUCTIONS_INL_H_
#else
#define WHALE_KERNELS_LANE_REDUCTIONS_INL_H_
#endif

#include <algorithm>
#include <cstdint>

#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace whale {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

#if HWY_TARGET == HWY_SCALAR
HWY_INLINE void sums4(hn::Vec<hn::ScalableTag<float>> v0, hn::Vec<hn::ScalableTag<float>> v1,
                      hn::Vec<hn::ScalableTag<float>> v2, hn::Vec<hn::ScalableTag<float>> v3,
                      float* out) {
  out[0] = hn::GetLane(v0), out[1] = hn::GetLane(v1);
  out[2] = hn::GetLane(v2), out[3] = hn::GetLane(v3);
}
#else
// The sum of a vector's 128-bit blocks, by halving (AVX-512: 2 steps, AVX2: 1, 128-bit: none).
template <class D>
HWY_INLINE hn::Vec<hn::Full128<float>> sum_blocks(D, hn::Vec<D> v) {
  if constexpr (hn::MaxLanes(D()) <= 4) {
    return v;
  } else {
    const hn::Half<D> dh;
    return sum_blocks(dh, hn::Add(hn::LowerHalf(dh, v), hn::UpperHalf(dh, v)));
  }
}

HWY_INLINE void sums4(hn::Vec<hn::ScalableTag<float>> v0, hn::Vec<hn::ScalableTag<float>> v1,
                      hn::Vec<hn::ScalableTag<float>> v2, hn::Vec<hn::ScalableTag<float>> v3,
                      float* out) {
  const hn::ScalableTag<float> d;
  const hn::Repartition<uint64_t, decltype(d)> du;
  const auto t0 = hn::Add(hn::InterleaveLower(d, v0, v1), hn::InterleaveUpper(d, v0, v1));
  const auto t1 = hn::Add(hn::InterleaveLower(d, v2, v3), hn::InterleaveUpper(d, v2, v3));
  const auto w0 = hn::BitCast(du, t0), w1 = hn::BitCast(du, t1);
  const auto u = hn::Add(hn::BitCast(d, hn::InterleaveLower(du, w0, w1)),
                         hn::BitCast(d, hn::InterleaveUpper(du, w0, w1)));
  hn::StoreU(sum_blocks(d, u), hn::Full128<float>(), out);
}
#endif

// max(init, x[0..n)): vector max over whole vectors, then the scalar tail. x holds no NaN.
HWY_INLINE float max_of(const float* x, int64_t n, float init) {
  const hn::ScalableTag<float> d;
  const int64_t L = int64_t(hn::Lanes(d));
  float mx = init;
  int64_t i = 0;
  if (n >= L) {
    auto vmax = hn::LoadU(d, x);
    for (i = L; i + L <= n; i += L) vmax = hn::Max(vmax, hn::LoadU(d, x + i));
    mx = std::max(mx, hn::GetLane(hn::MaxOfLanes(d, vmax)));
  }
  for (; i < n; ++i) mx = std::max(mx, x[i]);
  return mx;
}

}  // namespace HWY_NAMESPACE
}  // namespace whale
HWY_AFTER_NAMESPACE();

#endif  // per-target include guard
