// Vectorizable float math (exp, log, erf, tanh, sigmoid, activations) as templates over float or clang vectors.
//
// Internal to the kernel library. Every function is a branch-free (selects only), table-free, libm-free
// template over T = float or a clang ext_vector of float, so that it can be used either on explicit vectors
// or inside plain loops that LLVM's loop vectorizer widens after inlining. Polynomials are Cephes' (exp, log)
// or Chebyshev fits made with mpmath (erf, tanh); accuracy is measured in /work/scratch/cpu_misc.
#ifndef DLC_CPU_KERNELS_VECTOR_MATH_H_
#define DLC_CPU_KERNELS_VECTOR_MATH_H_

#include <stdint.h>
#include <string.h>

#include "kernels.h"

#define DLC_INLINE static inline __attribute__((always_inline))

// The bitcode is compiled without target features, so clang warns that vector arguments "change the ABI";
// every function taking or returning a vector is always_inline, so no such call survives to have an ABI.
#pragma clang diagnostic ignored "-Wpsabi"

namespace dlc_k {

typedef float f4 __attribute__((ext_vector_type(4)));
typedef float f8 __attribute__((ext_vector_type(8)));
typedef float f16 __attribute__((ext_vector_type(16)));
typedef int32_t i4 __attribute__((ext_vector_type(4)));
typedef int32_t i8 __attribute__((ext_vector_type(8)));
typedef int32_t i16 __attribute__((ext_vector_type(16)));

// The 32-bit integer type with T's shape (for bit manipulation of the exponent field).
template <class T> struct IntOf;
template <> struct IntOf<float> { typedef int32_t type; };
template <> struct IntOf<f4> { typedef i4 type; };
template <> struct IntOf<f8> { typedef i8 type; };
template <> struct IntOf<f16> { typedef i16 type; };
template <class T> struct Lanes { static constexpr int value = sizeof(T) / sizeof(float); };

template <class T> DLC_INLINE typename IntOf<T>::type bits(T x) { return __builtin_bit_cast(typename IntOf<T>::type, x); }
template <class T> DLC_INLINE T from_bits(typename IntOf<T>::type i) { return __builtin_bit_cast(T, i); }
DLC_INLINE float to_float(int32_t x) { return (float)x; }
DLC_INLINE f4 to_float(i4 x) { return __builtin_convertvector(x, f4); }
DLC_INLINE f8 to_float(i8 x) { return __builtin_convertvector(x, f8); }
DLC_INLINE f16 to_float(i16 x) { return __builtin_convertvector(x, f16); }

// Unaligned vector loads/stores (memcpy: no alignment or aliasing assumptions; becomes one instruction).
template <class V> DLC_INLINE V load(const float* p) { V v; memcpy(&v, p, sizeof(V)); return v; }
template <class V> DLC_INLINE void store(float* p, V v) { memcpy(p, &v, sizeof(V)); }
template <class T> DLC_INLINE T splat(float x) { return (T)x; }
// max/min as compare+select (maxps semantics: the second operand wins when unordered).
template <class T> DLC_INLINE T vmax(T a, T b) { return a > b ? a : b; }
template <class T> DLC_INLINE T vmin(T a, T b) { return a < b ? a : b; }
// Horizontal reductions as a fixed tree of halvings (the same order on every target).
DLC_INLINE float hmax(float v) { return v; }
DLC_INLINE float hsum(float v) { return v; }
DLC_INLINE float hmax(f4 v) { return vmax(vmax(v[0], v[2]), vmax(v[1], v[3])); }
DLC_INLINE float hsum(f4 v) { return (v[0] + v[2]) + (v[1] + v[3]); }
DLC_INLINE float hmax(f8 v) { return hmax(vmax(v.lo, v.hi)); }
DLC_INLINE float hsum(f8 v) { return hsum(v.lo + v.hi); }
DLC_INLINE float hmax(f16 v) { return hmax(vmax(v.lo, v.hi)); }
DLC_INLINE float hsum(f16 v) { return hsum(v.lo + v.hi); }

// Row reductions with two 16-lane accumulators (split into narrower registers on AVX2/SSE). The summation
// order depends only on n, never on how work was split over threads.
DLC_INLINE float reduce_sum(const float* x, int64_t n) {
  f16 a0 = 0.0f, a1 = 0.0f;
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    a0 += load<f16>(x + i);
    a1 += load<f16>(x + i + 16);
  }
  if (i + 16 <= n) { a0 += load<f16>(x + i); i += 16; }
  float s = hsum(a0 + a1);
  for (; i < n; i++) s += x[i];
  return s;
}
DLC_INLINE float reduce_max(const float* x, int64_t n) {
  f16 a0 = -__builtin_inff(), a1 = -__builtin_inff();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    a0 = vmax(load<f16>(x + i), a0);
    a1 = vmax(load<f16>(x + i + 16), a1);
  }
  if (i + 16 <= n) { a0 = vmax(load<f16>(x + i), a0); i += 16; }
  float m = hmax(vmax(a0, a1));
  for (; i < n; i++) m = x[i] > m ? x[i] : m;
  return m;
}

// Splits [0, n) into `jobs` contiguous, nearly equal ranges; returns range i's start.
DLC_INLINE int64_t split_point(int64_t n, int64_t jobs, int64_t i) { return n * i / jobs; }  // n * jobs << 2^63
// How many jobs to use for `work` units of cost, at least `grain` per job, at most threads and `items`.
DLC_INLINE int64_t job_count(const dlc_cpu_call* call, int64_t items, int64_t work, int64_t grain) {
  int64_t j = work / grain;
  if (j > call->threads) j = call->threads;
  if (j > items) j = items;
  return j < 1 ? 1 : j;
}

// |r| with x's sign.
template <class T> DLC_INLINE T copysign_(T r, T x) {
  return from_bits<T>((bits(r) & 0x7fffffff) | (bits(x) & (int32_t)0x80000000));
}

// e^x: x = n ln2 + r, |r| <= ln2/2, e^r by Cephes' degree-7 polynomial; 2^n applied as two factors so that
// results near FLT_MAX and denormal results (down to x ~ -103.97) round once. ~1 ulp.
template <class T> DLC_INLINE T exp_(T x) {
  T xc = x < 88.8f ? x : splat<T>(88.8f);  // NaN -> 88.8 here, restored below; +inf overflows to inf
  xc = xc > -104.0f ? xc : splat<T>(-104.0f);
  // n = round(x / ln2) by the 1.5 * 2^23 trick (roundeven would be a libm call without SSE4.1); the sum's
  // low mantissa bits hold n.
  T big = xc * 1.44269504088896341f + 12582912.0f;
  T n = big - 12582912.0f;
  T r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  T p = splat<T>(1.9875691500e-4f);
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.0f;
  auto ni = bits(big) - 0x4b400000;
  auto n1 = ni >> 1;
  auto n2 = ni - n1;
  T y = p * from_bits<T>((n1 + 127) << 23) * from_bits<T>((n2 + 127) << 23);
  return x != x ? x : y;
}

// ln x: x = m 2^e with m in [sqrt(1/2), sqrt(2)), ln(m) by Cephes' polynomial in f = m - 1. Denormals are
// scaled up first; 0 -> -inf, x < 0 -> NaN, inf -> inf, NaN -> NaN.
template <class T> DLC_INLINE T log_(T x) {
  auto tiny = x < 1.17549435e-38f;
  T xs = tiny ? x * 8388608.0f : x;
  T ef = tiny ? splat<T>(-23.0f) : splat<T>(0.0f);
  auto b = bits(xs);
  ef = ef + to_float(((b >> 23) & 0xff) - 126);
  T m = from_bits<T>((b & 0x007fffff) | 0x3f000000);  // [0.5, 1)
  auto small = m < 0.707106781186547524f;
  ef = small ? ef - 1.0f : ef;
  T f = small ? m + m - 1.0f : m - 1.0f;
  T z = f * f;
  T p = splat<T>(7.0376836292e-2f);
  p = p * f - 1.1514610310e-1f;
  p = p * f + 1.1676998740e-1f;
  p = p * f - 1.2420140846e-1f;
  p = p * f + 1.4249322787e-1f;
  p = p * f - 1.6668057665e-1f;
  p = p * f + 2.0000714765e-1f;
  p = p * f - 2.4999993993e-1f;
  p = p * f + 3.3333331174e-1f;
  T y = p * f * z + ef * -2.12194440e-4f - 0.5f * z;
  T r = (f + y) + ef * 0.693359375f;
  r = x > 0.0f ? r : (x == 0.0f ? splat<T>(-__builtin_inff()) : splat<T>(__builtin_nanf("")));
  return x < __builtin_inff() ? r : x;
}

// erf: |x| < 1: x P(x^2) (degree 6, rel. error ~1e-9); 1 <= |x| <= 4: 1 - e^{-x^2} R(1/|x|) with
// R(t) ~ erfc(1/t) e^{1/t^2} (degree 8, abs. error 2e-8); beyond 4 the result rounds to +-1.
template <class T> DLC_INLINE T erf_(T x) {
  T a = __builtin_elementwise_abs(x);
  T u = x * x;
  T ps = splat<T>(7.875875063e-05f);
  ps = ps * u - 8.016864287e-04f;
  ps = ps * u + 5.189087423e-03f;
  ps = ps * u - 2.685421201e-02f;
  ps = ps * u + 1.128359472e-01f;
  ps = ps * u - 3.761262667e-01f;
  ps = ps * u + 1.128379166e+00f;
  ps = ps * a;
  T al = a > 4.0f ? splat<T>(4.0f) : a;  // NaN stays NaN
  al = al < 1.0f ? splat<T>(1.0f) : al;
  T t = 1.0f / al;
  T pr = splat<T>(-5.934022494e-03f);
  pr = pr * t + 1.094513345e-02f;
  pr = pr * t + 6.135414961e-02f;
  pr = pr * t - 2.865356076e-01f;
  pr = pr * t + 5.290705746e-01f;
  pr = pr * t - 4.859395076e-01f;
  pr = pr * t + 4.583790914e-02f;
  pr = pr * t + 5.584799205e-01f;
  pr = pr * t + 3.050177486e-04f;
  T pl = 1.0f - exp_(-(al * al)) * pr;
  return copysign_(a < 1.0f ? ps : pl, x);
}

// tanh: |x| < 0.625: x + x^3 P(x^2) (degree 4, rel. error 4e-8); otherwise 1 - 2 / (e^{2|x|} + 1), which
// saturates to 1 (e^{2|x|} = inf) without NaN.
template <class T> DLC_INLINE T tanh_(T x) {
  T a = __builtin_elementwise_abs(x);
  T u = x * x;
  T p = splat<T>(-6.096714166e-03f);
  p = p * u + 2.099717900e-02f;
  p = p * u - 5.385090958e-02f;
  p = p * u + 1.333276974e-01f;
  p = p * u - 3.333332894e-01f;
  T ps = a + a * u * p;
  T pl = 1.0f - 2.0f / (exp_(a + a) + 1.0f);
  return copysign_(a < 0.625f ? ps : pl, x);
}

// 1 / (1 + e^-x) from e = e^{-|x|} <= 1 (never overflows): s = 1/(1+e) for x >= 0, e s for x < 0, which
// keeps relative accuracy for very negative x.
template <class T> DLC_INLINE T sigmoid_(T x) {
  T e = exp_(-__builtin_elementwise_abs(x));
  T s = 1.0f / (1.0f + e);
  return x >= 0.0f ? s : e * s;
}

// x * g(x) for an activation that tends to 0 as x -> -inf: -inf * 0 would be NaN, the limit is 0.
template <class T> DLC_INLINE T neg_inf_to_zero(T x, T y) { return x == -__builtin_inff() ? splat<T>(0.0f) : y; }

// The fused epilogues' activations (kernels.h DLC_ACT_*), as ONNX defines them (NaN propagates).
template <class T> DLC_INLINE T activate_(int32_t act, T x, float alpha, float beta) {
  switch (act) {
    case DLC_ACT_RELU: return x <= 0.0f ? splat<T>(0.0f) : x;
    case DLC_ACT_LEAKY_RELU: return x < 0.0f ? x * alpha : x;
    case DLC_ACT_CLIP: {
      T y = x < alpha ? splat<T>(alpha) : x;
      return y > beta ? splat<T>(beta) : y;
    }
    case DLC_ACT_SIGMOID: return sigmoid_(x);
    case DLC_ACT_HARD_SIGMOID: {
      T y = x * alpha + beta;
      y = y > 1.0f ? splat<T>(1.0f) : y;
      return y < 0.0f ? splat<T>(0.0f) : y;
    }
    case DLC_ACT_HARD_SWISH: {
      T y = x * (1.0f / 6.0f) + 0.5f;
      y = y > 1.0f ? splat<T>(1.0f) : y;
      y = y < 0.0f ? splat<T>(0.0f) : y;
      return x * y;
    }
    case DLC_ACT_SILU: return neg_inf_to_zero(x, x * sigmoid_(x));
    case DLC_ACT_GELU: return neg_inf_to_zero(x, 0.5f * x * (1.0f + erf_(x * 0.707106781186547524f)));
    case DLC_ACT_TANH: return tanh_(x);
    default: return x;
  }
}

}  // namespace dlc_k

#endif  // DLC_CPU_KERNELS_VECTOR_MATH_H_
