/*===- ampc_cpu_runtime.h - ampc's CPU runtime, C API ------------*- C -*-===//
 *
 * The CPU twin of ampc_cuda_runtime.h: compiled CPU libraries call these
 * for every matmul-like op and 2-D convolution amp-cpu-library-gemm routes
 * here. Both run on oneDNN (the library PyTorch's CPU autocast uses), which
 * picks AMX, AVX512-BF16, AVX512-FP16, AVX-512 or AVX2 kernels for the CPU it
 * runs on: one library runs at each CPU's speed. Accumulation is f32.
 *
 * Primitives are created once per shape, types, strides and post-ops and
 * cached, so repeated steps create nothing. No function aborts: a
 * combination oneDNN cannot run on this CPU (bf16 without AVX-512, f16
 * without AVX512-FP16) runs through an f32 primitive on converted copies,
 * and anything oneDNN refuses altogether falls back to a reference loop;
 * ampc_cpu_stats counts both.
 *
 * Threads: oneDNN and the library's own parallel loops share one OpenMP
 * runtime (LLVM's libomp). ampc_cpu_set_threads sets how many threads both
 * use (0: all cores).
 *===----------------------------------------------------------------------===*/

#ifndef AMPC_CPU_RUNTIME_H
#define AMPC_CPU_RUNTIME_H

#include <stdint.h>

#ifndef AMPC_CPU_RUNTIME_EXPORT
#define AMPC_CPU_RUNTIME_EXPORT
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Element types (the same codes as the CUDA runtime's). */
enum { AMPC_CPU_F32 = 0, AMPC_CPU_F16 = 1, AMPC_CPU_BF16 = 2 };

/* Post-ops applied after the bias, before the result is written. */
enum { AMPC_CPU_POST_NONE = 0, AMPC_CPU_POST_RELU = 1 };

/* C[b] = beta * C[b] + op(A[b]) op(B[b]) (+ bias along N, then post-op),
 * for b < batch: A is M x K (transA: stored K x M), B is K x N (transB:
 * stored N x K), C is M x N; ld* are row strides and stride* batch strides,
 * in elements. beta is 0 or 1. bias (NULL: none) has N elements of
 * biasType. Types: f32 x f32 -> f32; f16/bf16 x the same -> that type or
 * f32. */
AMPC_CPU_RUNTIME_EXPORT void ampc_cpu_gemm(int32_t typeA, int32_t typeB, int32_t typeC, int32_t transA, int32_t transB,
                   int64_t batch, int64_t m, int64_t n, int64_t k, const void *a, int64_t lda,
                   int64_t strideA, const void *b, int64_t ldb, int64_t strideB, void *c,
                   int64_t ldc, int64_t strideC, float beta, const void *bias, int32_t biasType,
                   int32_t postOp);

/* Kinds of ampc_cpu_conv2d. */
enum {
  /* y = conv(x, w): x is the source, w the weights, y the destination. */
  AMPC_CPU_CONV_FORWARD = 0,
  /* x = conv_backward_data(y, w): y is the destination's gradient, w the
   * forward's weights, x (written) the source's gradient. */
  AMPC_CPU_CONV_BACKWARD_DATA = 1,
  /* w = conv_backward_weights(x, y): x the forward's source, y the
   * destination's gradient, w (written) the weights' gradient. */
  AMPC_CPU_CONV_BACKWARD_WEIGHTS = 2,
};

/* A 2-D convolution of the forward shape
 *   y[n, g*K + k, oh, ow] = sum_{c, kh, kw} x[n, g*C + c, oh*sh + kh*dh - pt, ow*sw + kw*dw - pl]
 *                                           * w[g, k, c, kh, kw]
 * with the operand each kind writes given above. Every tensor is passed by
 * pointer and element strides per logical dimension, in the order
 * x: (N, G*C, H, W), w: (G, K, C, KH, KW), y: (N, G*K, OH, OW), so any
 * layout (NCHW, NHWC, HWCF, ...) reads in place. dh, dw are dilations (1:
 * dense); pb, pr the bottom/right padding (may be negative: rows the
 * forward never reads). The written operand gets beta * itself + the
 * result (beta 0 or 1), then (forward only) bias along the output channels
 * and the post-op. */
AMPC_CPU_RUNTIME_EXPORT void ampc_cpu_conv2d(int32_t kind, int32_t typeX, int32_t typeW, int32_t typeY, int64_t n,
                     int64_t groups, int64_t c, int64_t h, int64_t w, int64_t k, int64_t kh,
                     int64_t kw, int64_t oh, int64_t ow, const void *x, int64_t xn, int64_t xc,
                     int64_t xh, int64_t xw, const void *wt, int64_t wg, int64_t wk, int64_t wc,
                     int64_t wh, int64_t ww, const void *y, int64_t yn, int64_t yc, int64_t yh,
                     int64_t yw, int64_t sh, int64_t sw, int64_t dh, int64_t dw, int64_t pt,
                     int64_t pl, int64_t pb, int64_t pr, float beta, const void *bias,
                     int32_t biasType, int32_t postOp);

/* Threads oneDNN and parallel loops use (0: all cores). */
AMPC_CPU_RUNTIME_EXPORT void ampc_cpu_set_threads(int32_t threads);
AMPC_CPU_RUNTIME_EXPORT int32_t ampc_cpu_get_threads(void);

/* Counters since start: calls, calls that ran on converted f32 copies,
 * calls that ran the reference loop, primitives created, primitives reused. */
AMPC_CPU_RUNTIME_EXPORT void ampc_cpu_stats(int64_t out[5]);

/* The oneDNN version, e.g. "2.6.3". */
AMPC_CPU_RUNTIME_EXPORT const char *ampc_cpu_onednn_version(void);

#ifdef __cplusplus
}
#endif

#endif /* AMPC_CPU_RUNTIME_H */
