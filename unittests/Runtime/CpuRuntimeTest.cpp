//===- CpuRuntimeTest.cpp - ampc_cpu_runtime.h against reference loops ----===//
//
// Every call is compared with a double-precision loop over the same
// (rounded) inputs. The tests pass whichever kernels oneDNN picks on the
// machine (AMX, AVX512-BF16, AVX-512, AVX2), and on the converted and
// reference fallbacks.
//
//===----------------------------------------------------------------------===//

#include "ampc_cpu_runtime.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

namespace {

uint16_t toBf16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  return (uint16_t)((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
}

float fromBf16(uint16_t b) {
  uint32_t bits = (uint32_t)b << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t toHalf(float f) {
  // Values in these tests are normal and in range: round to nearest even.
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  uint32_t sign = (bits >> 16) & 0x8000u, magnitude = bits & 0x7fffffffu;
  if (magnitude < 0x38800000u)
    return (uint16_t)sign; // tiny: zero
  uint32_t rounded = magnitude + 0xfffu + ((magnitude >> 13) & 1u) - (112u << 23);
  return (uint16_t)(sign | (rounded >> 13));
}

float fromHalf(uint16_t h) {
  uint32_t sign = (h & 0x8000u) << 16, exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
  uint32_t bits = exponent == 0 ? sign : sign | ((exponent + 112) << 23) | (mantissa << 13);
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

/// A buffer of `n` elements of `type`, filled with values in [-1, 1]
/// (rounded to the type), and their f32 values.
struct Buffer {
  int32_t type;
  std::vector<float> f32;
  std::vector<uint16_t> half;
  Buffer(int32_t type, size_t n, std::mt19937 &rng, bool zero = false) : type(type), f32(n) {
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    if (type != AMPC_CPU_F32)
      half.resize(n);
    for (size_t i = 0; i < n; ++i) {
      float v = zero ? 0.0f : dist(rng);
      if (type == AMPC_CPU_BF16) {
        half[i] = toBf16(v);
        v = fromBf16(half[i]);
      } else if (type == AMPC_CPU_F16) {
        half[i] = toHalf(v);
        v = fromHalf(half[i]);
      }
      f32[i] = v;
    }
  }
  void *data() { return type == AMPC_CPU_F32 ? (void *)f32.data() : (void *)half.data(); }
  float at(size_t i) const {
    return type == AMPC_CPU_F32 ? f32[i] : type == AMPC_CPU_BF16 ? fromBf16(half[i]) : fromHalf(half[i]);
  }
};

/// |got - want| within an absolute/relative bound for sums of `terms`
/// products of values in [-1, 1], plus the output type's rounding.
void expectClose(float got, double want, int terms, int32_t outType, const char *what, size_t at) {
  double rounding = outType == AMPC_CPU_BF16 ? 1.0 / 128 : outType == AMPC_CPU_F16 ? 1.0 / 1024 : 0.0;
  double tolerance = 1e-5 * terms + 2 * rounding * std::fabs(want) + 1e-6;
  ASSERT_NEAR(got, want, tolerance) << what << " at " << at;
}

std::vector<int64_t> stats() {
  std::vector<int64_t> s(5);
  ampc_cpu_stats(s.data());
  return s;
}

struct GemmCase {
  int32_t typeA, typeC;
  bool transA, transB;
  int64_t batch, m, n, k;
  int64_t padA = 0, padB = 0, padC = 0; // extra row length (non-contiguous views)
  float beta = 0.0f;
  bool bias = false;
  int32_t biasType = AMPC_CPU_F32;
  int32_t postOp = AMPC_CPU_POST_NONE;
};

void checkGemm(const GemmCase &t, unsigned seed = 1) {
  std::mt19937 rng(seed);
  int64_t rowsA = t.transA ? t.k : t.m, colsA = t.transA ? t.m : t.k;
  int64_t rowsB = t.transB ? t.n : t.k, colsB = t.transB ? t.k : t.n;
  int64_t lda = colsA + t.padA, ldb = colsB + t.padB, ldc = t.n + t.padC;
  Buffer a(t.typeA, t.batch * rowsA * lda, rng), b(t.typeA, t.batch * rowsB * ldb, rng);
  Buffer c(t.typeC, t.batch * t.m * ldc, rng);
  Buffer bias(t.biasType, t.n, rng);
  std::vector<float> before = c.f32;
  ampc_cpu_gemm(t.typeA, t.typeA, t.typeC, t.transA, t.transB, t.batch, t.m, t.n, t.k, a.data(),
                lda, rowsA * lda, b.data(), ldb, rowsB * ldb, c.data(), ldc, t.m * ldc, t.beta,
                t.bias ? bias.data() : nullptr, t.biasType, t.postOp);
  for (int64_t bi = 0; bi < t.batch; ++bi)
    for (int64_t i = 0; i < t.m; ++i)
      for (int64_t j = 0; j < t.n; ++j) {
        double sum = 0;
        for (int64_t l = 0; l < t.k; ++l) {
          double x = a.f32[bi * rowsA * lda + (t.transA ? l * lda + i : i * lda + l)];
          double y = b.f32[bi * rowsB * ldb + (t.transB ? j * ldb + l : l * ldb + j)];
          sum += x * y;
        }
        size_t at = bi * t.m * ldc + i * ldc + j;
        if (t.beta != 0.0f)
          sum += before[at];
        if (t.bias)
          sum += bias.f32[j];
        if (t.postOp == AMPC_CPU_POST_RELU)
          sum = std::max(sum, 0.0);
        expectClose(c.at(at), sum, (int)t.k + 2, t.typeC, "C", at);
      }
  // The padding between rows of C is never written.
  for (int64_t bi = 0; bi < t.batch; ++bi)
    for (int64_t i = 0; i < t.m; ++i)
      for (int64_t j = t.n; j < ldc; ++j) {
        size_t at = bi * t.m * ldc + i * ldc + j;
        ASSERT_EQ(c.at(at), before[at]) << "padding of C written at " << at;
      }
}

TEST(CpuRuntimeGemm, F32) { checkGemm({AMPC_CPU_F32, AMPC_CPU_F32, false, false, 1, 33, 29, 47}); }

TEST(CpuRuntimeGemm, TransposedOperands) {
  checkGemm({AMPC_CPU_F32, AMPC_CPU_F32, true, false, 1, 17, 23, 31});
  checkGemm({AMPC_CPU_F32, AMPC_CPU_F32, false, true, 1, 17, 23, 31});
  checkGemm({AMPC_CPU_F32, AMPC_CPU_F32, true, true, 1, 17, 23, 31});
}

TEST(CpuRuntimeGemm, NonContiguousViewsAndBatches) {
  GemmCase t{AMPC_CPU_F32, AMPC_CPU_F32, false, true, 3, 9, 13, 21};
  t.padA = 5;
  t.padB = 3;
  t.padC = 7;
  checkGemm(t);
}

TEST(CpuRuntimeGemm, Bf16InputsF32AndBf16Outputs) {
  checkGemm({AMPC_CPU_BF16, AMPC_CPU_F32, false, false, 1, 64, 48, 96});
  checkGemm({AMPC_CPU_BF16, AMPC_CPU_BF16, true, false, 2, 32, 16, 40});
}

TEST(CpuRuntimeGemm, F16InputsF32AndF16Outputs) {
  checkGemm({AMPC_CPU_F16, AMPC_CPU_F32, false, false, 1, 64, 48, 96});
  GemmCase t{AMPC_CPU_F16, AMPC_CPU_F16, true, true, 2, 32, 16, 40};
  t.padC = 4;
  checkGemm(t);
}

TEST(CpuRuntimeGemm, BetaOneAccumulates) {
  GemmCase t{AMPC_CPU_F32, AMPC_CPU_F32, false, false, 1, 16, 16, 16};
  t.beta = 1.0f;
  checkGemm(t);
  t.typeA = AMPC_CPU_F16; // the converted path reads C first
  checkGemm(t);
}

TEST(CpuRuntimeGemm, BiasAndReluPostOps) {
  GemmCase t{AMPC_CPU_F32, AMPC_CPU_F32, false, false, 1, 24, 40, 32};
  t.bias = true;
  t.postOp = AMPC_CPU_POST_RELU;
  checkGemm(t);
  GemmCase low{AMPC_CPU_BF16, AMPC_CPU_BF16, false, false, 1, 24, 40, 32};
  low.bias = true;
  low.biasType = AMPC_CPU_BF16;
  low.postOp = AMPC_CPU_POST_RELU;
  checkGemm(low);
  low.typeA = low.typeC = low.biasType = AMPC_CPU_F16;
  checkGemm(low);
}

TEST(CpuRuntimeGemm, RepeatedShapesReusePrimitives) {
  GemmCase t{AMPC_CPU_F32, AMPC_CPU_F32, false, false, 1, 37, 41, 43};
  checkGemm(t, 1);
  std::vector<int64_t> first = stats();
  checkGemm(t, 2);
  std::vector<int64_t> second = stats();
  EXPECT_EQ(second[0], first[0] + 1);   // one more call
  EXPECT_EQ(second[3], first[3]);       // nothing created
  EXPECT_EQ(second[4], first[4] + 1);   // one primitive reused
}

// Regression: oneDNN sizes a primitive's work split for the threads there
// are when it is created; after set_threads(2), a primitive made for one
// thread ran on one (a ResNet-18 step 35% slower).
TEST(CpuRuntimeGemm, PrimitivesAreMadePerThreadCount) {
  int32_t threads = ampc_cpu_get_threads();
  GemmCase t{AMPC_CPU_F32, AMPC_CPU_F32, false, false, 1, 29, 31, 37};
  ampc_cpu_set_threads(1);
  checkGemm(t, 1);
  std::vector<int64_t> first = stats();
  ampc_cpu_set_threads(2);
  checkGemm(t, 2);
  std::vector<int64_t> second = stats();
  ampc_cpu_set_threads(1);
  checkGemm(t, 3);
  std::vector<int64_t> third = stats();
  ampc_cpu_set_threads(threads);
  EXPECT_EQ(second[3], first[3] + 1); // a new primitive for two threads
  EXPECT_EQ(third[3], second[3]);     // the one-thread primitive again
  EXPECT_EQ(third[4], second[4] + 1);
}

// Regression: the primitive of a converted call (f16 inputs on a CPU without
// f16 kernels run on dense f32 copies) must not be found by an f32 call with
// the caller's (transposed) strides, nor the other way round.
TEST(CpuRuntimeGemm, CacheIsKeyedByTheViewsRun) {
  // (Padded rows: the converted copies are dense, the caller's views not.)
  GemmCase f32{AMPC_CPU_F32, AMPC_CPU_F32, true, false, 1, 64, 32, 48};
  f32.padA = 3;
  GemmCase f16 = f32;
  f16.typeA = AMPC_CPU_F16;
  for (int round = 0; round < 2; ++round) {
    checkGemm(f16, 5 + round);
    checkGemm(f32, 3 + round);
  }
}

//===----------------------------------------------------------------------===//
// Convolutions
//===----------------------------------------------------------------------===//

struct ConvCase {
  int32_t kind, typeIn, typeOut;
  int64_t n, groups, c, h, w, k, kh, kw, sh, sw, dh, dw, pt, pl;
  bool nhwc = false; // x and y as NHWC, w as (KH, KW, C, K) per group
  float beta = 0.0f;
  int64_t oh() const { return (h + 2 * pt - (kh - 1) * dh - 1) / sh + 1; }
  int64_t ow() const { return (w + 2 * pl - (kw - 1) * dw - 1) / sw + 1; }
};

void checkConv(const ConvCase &t, unsigned seed = 1) {
  std::mt19937 rng(seed);
  int64_t oh = t.oh(), ow = t.ow(), gc = t.groups * t.c, gk = t.groups * t.k;
  // Element strides per logical dimension.
  int64_t xs[4], ws[5], ys[4];
  if (t.nhwc) {
    xs[0] = t.h * t.w * gc, xs[1] = 1, xs[2] = t.w * gc, xs[3] = gc;
    ys[0] = oh * ow * gk, ys[1] = 1, ys[2] = ow * gk, ys[3] = gk;
    // (G, KH, KW, C, K)
    ws[0] = t.kh * t.kw * t.c * t.k, ws[1] = 1, ws[2] = t.k, ws[3] = t.kw * t.c * t.k, ws[4] = t.c * t.k;
  } else {
    xs[0] = gc * t.h * t.w, xs[1] = t.h * t.w, xs[2] = t.w, xs[3] = 1;
    ys[0] = gk * oh * ow, ys[1] = oh * ow, ys[2] = ow, ys[3] = 1;
    ws[0] = t.k * t.c * t.kh * t.kw, ws[1] = t.c * t.kh * t.kw, ws[2] = t.kh * t.kw, ws[3] = t.kw, ws[4] = 1;
  }
  bool writesX = t.kind == AMPC_CPU_CONV_BACKWARD_DATA, writesW = t.kind == AMPC_CPU_CONV_BACKWARD_WEIGHTS,
       writesY = t.kind == AMPC_CPU_CONV_FORWARD;
  Buffer x(writesX ? t.typeOut : t.typeIn, t.n * gc * t.h * t.w, rng);
  Buffer wt(writesW ? t.typeOut : t.typeIn, t.groups * t.k * t.c * t.kh * t.kw, rng);
  Buffer y(writesY ? t.typeOut : t.typeIn, t.n * gk * oh * ow, rng);
  Buffer &out = writesX ? x : writesW ? wt : y;
  std::vector<float> before = out.f32;
  std::vector<double> want(out.f32.size(), 0.0);
  for (int64_t n = 0; n < t.n; ++n)
    for (int64_t g = 0; g < t.groups; ++g)
      for (int64_t k = 0; k < t.k; ++k)
        for (int64_t i = 0; i < oh; ++i)
          for (int64_t j = 0; j < ow; ++j)
            for (int64_t c = 0; c < t.c; ++c)
              for (int64_t a = 0; a < t.kh; ++a)
                for (int64_t b = 0; b < t.kw; ++b) {
                  int64_t ih = i * t.sh + a * t.dh - t.pt, iw = j * t.sw + b * t.dw - t.pl;
                  if (ih < 0 || ih >= t.h || iw < 0 || iw >= t.w)
                    continue;
                  int64_t xi = n * xs[0] + (g * t.c + c) * xs[1] + ih * xs[2] + iw * xs[3];
                  int64_t wi = g * ws[0] + k * ws[1] + c * ws[2] + a * ws[3] + b * ws[4];
                  int64_t yi = n * ys[0] + (g * t.k + k) * ys[1] + i * ys[2] + j * ys[3];
                  if (writesY)
                    want[yi] += (double)x.f32[xi] * wt.f32[wi];
                  else if (writesX)
                    want[xi] += (double)y.f32[yi] * wt.f32[wi];
                  else
                    want[wi] += (double)x.f32[xi] * y.f32[yi];
                }
  int64_t pb = (oh - 1) * t.sh + (t.kh - 1) * t.dh + 1 - t.h - t.pt;
  int64_t pr = (ow - 1) * t.sw + (t.kw - 1) * t.dw + 1 - t.w - t.pl;
  ampc_cpu_conv2d(t.kind, x.type, wt.type, y.type, t.n, t.groups, t.c, t.h, t.w, t.k, t.kh, t.kw, oh,
                  ow, x.data(), xs[0], xs[1], xs[2], xs[3], wt.data(), ws[0], ws[1], ws[2], ws[3],
                  ws[4], y.data(), ys[0], ys[1], ys[2], ys[3], t.sh, t.sw, t.dh, t.dw, t.pt, t.pl, pb,
                  pr, t.beta, nullptr, AMPC_CPU_F32, AMPC_CPU_POST_NONE);
  int terms = (int)(writesY ? t.c * t.kh * t.kw : writesX ? t.k * t.kh * t.kw : t.n * oh * ow);
  for (size_t i = 0; i < want.size(); ++i)
    expectClose(out.at(i), want[i] + (t.beta != 0.0f ? before[i] : 0.0), terms + 1, t.typeOut,
                "conv output", i);
}

TEST(CpuRuntimeConv, ForwardStridedPaddedDilated) {
  checkConv({AMPC_CPU_CONV_FORWARD, AMPC_CPU_F32, AMPC_CPU_F32, 2, 1, 3, 11, 9, 5, 3, 3, 2, 1, 1, 2, 1, 2});
}

TEST(CpuRuntimeConv, ForwardNhwcAndDepthwise) {
  ConvCase nhwc{AMPC_CPU_CONV_FORWARD, AMPC_CPU_F32, AMPC_CPU_F32, 2, 1, 4, 8, 8, 6, 3, 3, 1, 1, 1, 1, 1, 1};
  nhwc.nhwc = true;
  checkConv(nhwc);
  ConvCase depthwise{AMPC_CPU_CONV_FORWARD, AMPC_CPU_F32, AMPC_CPU_F32, 1, 8, 1, 7, 7, 1, 3, 3, 1, 1, 1, 1, 0, 0};
  depthwise.nhwc = true;
  checkConv(depthwise);
}

TEST(CpuRuntimeConv, BackwardDataAndWeights) {
  checkConv({AMPC_CPU_CONV_BACKWARD_DATA, AMPC_CPU_F32, AMPC_CPU_F32, 2, 1, 3, 10, 10, 4, 3, 3, 2, 2, 1, 1, 1, 1});
  // An image whose last row and column no window reads (bottom padding -1).
  checkConv({AMPC_CPU_CONV_BACKWARD_WEIGHTS, AMPC_CPU_F32, AMPC_CPU_F32, 2, 1, 3, 10, 10, 4, 3, 3, 2, 2, 1, 1, 0, 0});
  checkConv({AMPC_CPU_CONV_BACKWARD_DATA, AMPC_CPU_F32, AMPC_CPU_F32, 2, 1, 3, 10, 10, 4, 3, 3, 2, 2, 1, 1, 0, 0});
}

TEST(CpuRuntimeConv, LowPrecision) {
  checkConv({AMPC_CPU_CONV_FORWARD, AMPC_CPU_BF16, AMPC_CPU_F32, 2, 1, 8, 8, 8, 16, 3, 3, 1, 1, 1, 1, 1, 1});
  checkConv({AMPC_CPU_CONV_FORWARD, AMPC_CPU_BF16, AMPC_CPU_BF16, 2, 1, 8, 8, 8, 16, 3, 3, 2, 2, 1, 1, 1, 1});
  checkConv({AMPC_CPU_CONV_BACKWARD_WEIGHTS, AMPC_CPU_BF16, AMPC_CPU_F32, 2, 1, 8, 8, 8, 16, 3, 3, 1, 1, 1, 1, 1, 1});
  checkConv({AMPC_CPU_CONV_BACKWARD_DATA, AMPC_CPU_F16, AMPC_CPU_F32, 2, 1, 8, 8, 8, 16, 3, 3, 2, 2, 1, 1, 1, 1});
}

// Regression: a bf16 backward pass writing an f32 gradient ran on f32 copies
// of its inputs (its forward hint asked oneDNN for a bf16/f32 mix that has no
// kernel), a third of a bf16 ResNet-18 step. Where this CPU runs the bf16
// forward natively, both backward passes run natively too.
TEST(CpuRuntimeConv, Bf16BackwardRunsNativeWhereTheForwardDoes) {
  ConvCase forward{AMPC_CPU_CONV_FORWARD, AMPC_CPU_BF16, AMPC_CPU_F32, 2, 1, 16, 8, 8, 16, 3, 3, 1, 1, 1, 1, 1, 1};
  std::vector<int64_t> before = stats();
  checkConv(forward);
  if (stats()[1] != before[1])
    GTEST_SKIP() << "this CPU has no bf16 convolution kernel (the forward ran on f32 copies)";
  for (int32_t kind : {AMPC_CPU_CONV_BACKWARD_WEIGHTS, AMPC_CPU_CONV_BACKWARD_DATA}) {
    ConvCase backward = forward;
    backward.kind = kind;
    before = stats();
    checkConv(backward);
    EXPECT_EQ(stats()[1], before[1]) << "backward kind " << kind << " ran on converted f32 copies";
  }
}

TEST(CpuRuntimeConv, BetaOneAccumulates) {
  ConvCase t{AMPC_CPU_CONV_BACKWARD_WEIGHTS, AMPC_CPU_F32, AMPC_CPU_F32, 2, 1, 3, 8, 8, 4, 3, 3, 1, 1, 1, 1, 1, 1};
  t.beta = 1.0f;
  checkConv(t);
  t.kind = AMPC_CPU_CONV_FORWARD;
  checkConv(t);
}

TEST(CpuRuntime, Threads) {
  int32_t all = ampc_cpu_get_threads();
  EXPECT_GE(all, 1);
  ampc_cpu_set_threads(1);
  EXPECT_EQ(ampc_cpu_get_threads(), 1);
  ampc_cpu_set_threads(0);
  EXPECT_GE(ampc_cpu_get_threads(), 1);
  EXPECT_STRNE(ampc_cpu_onednn_version(), "");
}

} // namespace
