//===- CudaRuntimeTest.cpp - the ampc CUDA runtime's C API ------------------===//
//
// Without a GPU (CI) every entry point must fail cleanly: a recorded message
// naming the cause, null handles, no crash. With one, a cuBLASLt GEMM is
// checked against a CPU reference.
//
//===----------------------------------------------------------------------===//

#include "ampc_cuda_runtime.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

extern "C" {
void *mgpuStreamCreate();
void *mgpuMemAlloc(uint64_t bytes, void *stream, bool hostShared);
void mgpuLaunchKernel(void *function, intptr_t gx, intptr_t gy, intptr_t gz, intptr_t bx,
                      intptr_t by, intptr_t bz, int32_t smem, void *stream, void **params,
                      void **extra, size_t count);
}

namespace {

bool haveGpu() {
  ampc_cuda_clear_error();
  bool ok = ampc_cuda_init() == 0;
  ampc_cuda_clear_error();
  return ok;
}

TEST(CudaRuntime, WithoutAGpuEveryCallFailsCleanly) {
  if (haveGpu())
    GTEST_SKIP() << "a GPU is present";
  EXPECT_EQ(ampc_cuda_init(), -1);
  const char *error = ampc_cuda_last_error();
  ASSERT_NE(error, nullptr);
  EXPECT_NE(std::string(error).find("ampc cuda runtime: "), std::string::npos) << error;
  EXPECT_EQ(ampc_cuda_malloc(64), nullptr);
  EXPECT_EQ(mgpuStreamCreate(), nullptr);
  EXPECT_EQ(mgpuMemAlloc(64, nullptr, false), nullptr);
  // Launching a kernel that never loaded, or a GEMM, only records errors.
  mgpuLaunchKernel(nullptr, 1, 1, 1, 1, 1, 1, 0, nullptr, nullptr, nullptr, 0);
  ampc_cuda_gemm(AMPC_BF16, AMPC_BF16, AMPC_F32, 0, 0, 1, 4, 4, 4, 0, 4, 0, 0, 4, 0, 0, 4, 0,
                 0.0f, 0);
  EXPECT_EQ(ampc_cuda_synchronize(), -1);
  EXPECT_EQ(ampc_cuda_capture_end(), nullptr);
  uint64_t stats[4];
  EXPECT_EQ(ampc_cuda_memory_stats(stats), -1);
  EXPECT_STREQ(ampc_cuda_device_name(), "");
}

TEST(CudaRuntime, ErrorsAreStickyUntilCleared) {
  ampc_cuda_clear_error();
  EXPECT_EQ(ampc_cuda_last_error(), nullptr);
  // Freeing a pointer the runtime did not allocate is an error with or
  // without a GPU (without one, the missing driver is reported first).
  int dummy = 0;
  EXPECT_EQ(ampc_cuda_free(&dummy), -1);
  const char *first = ampc_cuda_last_error();
  ASSERT_NE(first, nullptr);
  std::string message = first;
  EXPECT_EQ(ampc_cuda_free(&dummy), -1);
  EXPECT_EQ(std::string(ampc_cuda_last_error()), message);
  ampc_cuda_clear_error();
  EXPECT_EQ(ampc_cuda_last_error(), nullptr);
}

/// bf16 bits of a float (round to nearest even) and back.
uint16_t toBF16(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, 4);
  bits += 0x7FFF + ((bits >> 16) & 1);
  return static_cast<uint16_t>(bits >> 16);
}
float fromBF16(uint16_t value) {
  uint32_t bits = static_cast<uint32_t>(value) << 16;
  float out;
  std::memcpy(&out, &bits, 4);
  return out;
}

/// `count` standard-normal values as bf16 bits.
std::vector<uint16_t> randomBF16(size_t count, std::mt19937 &rng) {
  std::normal_distribution<float> normal;
  std::vector<uint16_t> values(count);
  for (uint16_t &v : values)
    v = toBF16(normal(rng));
  return values;
}

TEST(CudaRuntime, TransposedBF16GemmMatchesReference) {
  if (!haveGpu())
    GTEST_SKIP() << "no GPU";
  // C[MxN] = A^T B with A stored KxM, bf16 inputs, f32 output.
  const int64_t m = 96, n = 80, k = 64;
  std::mt19937 rng(7);
  std::vector<uint16_t> a = randomBF16(k * m, rng), b = randomBF16(k * n, rng);
  void *da = ampc_cuda_malloc(a.size() * 2), *db = ampc_cuda_malloc(b.size() * 2),
       *dc = ampc_cuda_malloc(m * n * 4);
  ASSERT_TRUE(da && db && dc) << ampc_cuda_last_error();
  ASSERT_EQ(ampc_cuda_copy_to_device(da, a.data(), a.size() * 2), 0);
  ASSERT_EQ(ampc_cuda_copy_to_device(db, b.data(), b.size() * 2), 0);
  ampc_cuda_gemm(AMPC_BF16, AMPC_BF16, AMPC_F32, /*trans_a=*/1, /*trans_b=*/0, 1, m, n, k,
                 reinterpret_cast<int64_t>(da), m, 0, reinterpret_cast<int64_t>(db), n, 0,
                 reinterpret_cast<int64_t>(dc), n, 0, 0.0f, 0);
  std::vector<float> c(m * n);
  ASSERT_EQ(ampc_cuda_copy_to_host(c.data(), dc, c.size() * 4), 0) << ampc_cuda_last_error();
  double errorNorm = 0, referenceNorm = 0;
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double reference = 0;
      for (int64_t p = 0; p < k; ++p)
        reference += double(fromBF16(a[p * m + i])) * fromBF16(b[p * n + j]);
      errorNorm += (c[i * n + j] - reference) * (c[i * n + j] - reference);
      referenceNorm += reference * reference;
    }
  EXPECT_LT(std::sqrt(errorNorm / referenceNorm), 1e-5);
  ampc_cuda_free(da);
  ampc_cuda_free(db);
  ampc_cuda_free(dc);
  EXPECT_EQ(ampc_cuda_last_error(), nullptr);
}

/// C = A B + bias (the BIAS epilogue; bias along N) with bf16 inputs and a
/// C and bias of type `outType`, against a double-precision reference
/// rounded once to that type.
void checkBiasEpilogue(int32_t outType) {
  const int64_t m = 64, n = 48, k = 32;
  std::mt19937 rng(11);
  std::normal_distribution<float> normal;
  std::vector<uint16_t> a = randomBF16(m * k, rng), b = randomBF16(k * n, rng);
  std::vector<float> bias(n);
  for (float &v : bias)
    v = outType == AMPC_BF16 ? fromBF16(toBF16(normal(rng))) : normal(rng);
  size_t outBytes = outType == AMPC_BF16 ? 2 : 4;
  std::vector<uint16_t> biasBF16(n);
  for (int64_t j = 0; j < n; ++j)
    biasBF16[j] = toBF16(bias[j]);
  void *da = ampc_cuda_malloc(a.size() * 2), *db = ampc_cuda_malloc(b.size() * 2),
       *dc = ampc_cuda_malloc(m * n * outBytes), *dbias = ampc_cuda_malloc(n * outBytes);
  ASSERT_TRUE(da && db && dc && dbias) << ampc_cuda_last_error();
  ASSERT_EQ(ampc_cuda_copy_to_device(da, a.data(), a.size() * 2), 0);
  ASSERT_EQ(ampc_cuda_copy_to_device(db, b.data(), b.size() * 2), 0);
  ASSERT_EQ(ampc_cuda_copy_to_device(dbias,
                                     outType == AMPC_BF16 ? static_cast<void *>(biasBF16.data())
                                                          : static_cast<void *>(bias.data()),
                                     n * outBytes),
            0);
  ampc_cuda_gemm(AMPC_BF16, AMPC_BF16, outType, 0, 0, 1, m, n, k, reinterpret_cast<int64_t>(da),
                 k, 0, reinterpret_cast<int64_t>(db), n, 0, reinterpret_cast<int64_t>(dc), n, 0,
                 0.0f, reinterpret_cast<int64_t>(dbias));
  std::vector<float> c(m * n);
  if (outType == AMPC_BF16) {
    std::vector<uint16_t> raw(m * n);
    ASSERT_EQ(ampc_cuda_copy_to_host(raw.data(), dc, raw.size() * 2), 0) << ampc_cuda_last_error();
    for (size_t i = 0; i < raw.size(); ++i)
      c[i] = fromBF16(raw[i]);
  } else {
    ASSERT_EQ(ampc_cuda_copy_to_host(c.data(), dc, c.size() * 4), 0) << ampc_cuda_last_error();
  }
  double worst = 0;
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double reference = bias[j];
      for (int64_t p = 0; p < k; ++p)
        reference += double(fromBF16(a[i * k + p])) * fromBF16(b[p * n + j]);
      worst = std::max(worst, std::abs(c[i * n + j] - reference) / (1.0 + std::abs(reference)));
    }
  // One rounding to bf16 (2^-8 relative), or f32 accumulation.
  EXPECT_LT(worst, outType == AMPC_BF16 ? 8e-3 : 1e-5);
  ampc_cuda_free(da);
  ampc_cuda_free(db);
  ampc_cuda_free(dc);
  ampc_cuda_free(dbias);
  EXPECT_EQ(ampc_cuda_last_error(), nullptr) << ampc_cuda_last_error();
}

TEST(CudaRuntime, BiasEpilogueBF16Output) {
  if (!haveGpu())
    GTEST_SKIP() << "no GPU";
  checkBiasEpilogue(AMPC_BF16);
}

TEST(CudaRuntime, BiasEpilogueF32Output) {
  if (!haveGpu())
    GTEST_SKIP() << "no GPU";
  checkBiasEpilogue(AMPC_F32);
}

} // namespace
