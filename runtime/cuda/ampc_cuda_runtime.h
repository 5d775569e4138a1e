/*===- ampc_cuda_runtime.h - ampc's CUDA runtime, C API ----------*- C -*-===//
 *
 * Compiled CUDA steps call two families of functions from this library:
 *  - the mgpu* entry points that MLIR's gpu-to-llvm lowering emits (module
 *    load, launch, streams, events, memory), on the CUDA driver API;
 *  - ampc_cuda_gemm, the tensor-core GEMM behind every matmul-like op, on
 *    cuBLASLt.
 * Hosts (the Python package, C programs) use the functions below to manage
 * device memory, run and capture steps, and read errors.
 *
 * No function aborts. A failing CUDA or cuBLASLt call records a message
 * naming the call; functions returning int give 0 on success and -1 on
 * failure, and ampc_cuda_last_error() says why. Errors are sticky until
 * ampc_cuda_clear_error(), so a host checks once after a whole step.
 *
 * All work goes to one stream per process (the runtime's), in program
 * order: compiled steps never synchronize except at their end.
 *===----------------------------------------------------------------------===*/

#ifndef AMPC_CUDA_RUNTIME_H
#define AMPC_CUDA_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Element types of ampc_cuda_gemm operands. */
enum { AMPC_F32 = 0, AMPC_F16 = 1, AMPC_BF16 = 2 };

/* Loads the driver, picks device 0 (or $AMPC_CUDA_DEVICE) and creates the
 * stream. Called implicitly by every other function; idempotent. */
int ampc_cuda_init(void);
/* The first error since the last clear, or NULL. */
const char *ampc_cuda_last_error(void);
void ampc_cuda_clear_error(void);
/* The device's name, e.g. "NVIDIA H100 80GB HBM3" ("" on failure). */
const char *ampc_cuda_device_name(void);

void *ampc_cuda_malloc(size_t bytes);
int ampc_cuda_free(void *pointer);
/* Synchronous copies (they wait for the stream). */
int ampc_cuda_copy_to_device(void *device, const void *host, size_t bytes);
int ampc_cuda_copy_to_host(void *host, const void *device, size_t bytes);
int ampc_cuda_copy_on_device(void *destination, const void *source, size_t bytes);
int ampc_cuda_synchronize(void);

/* Whole-step CUDA graphs: everything enqueued between begin and end (one
 * or more step calls) is captured instead of run; end returns an executable
 * graph (NULL on failure) that graph_launch replays. */
int ampc_cuda_capture_begin(void);
void *ampc_cuda_capture_end(void);
int ampc_cuda_graph_launch(void *graph);
void ampc_cuda_graph_destroy(void *graph);

/* Device-side timing: an event recorded on the stream now. */
void *ampc_cuda_event_record(void);
/* Milliseconds between two recorded events (waits for the later one). */
float ampc_cuda_event_elapsed_ms(void *start, void *end);
void ampc_cuda_event_destroy(void *event);

/* Device memory in bytes: [0] held by ampc_cuda_malloc now, [1] its peak,
 * [2] used by steps' temporaries now (stream-ordered pool and graph
 * memory), [3] their peak. */
int ampc_cuda_memory_stats(uint64_t stats[4]);
void ampc_cuda_reset_peak_memory(void);

/* C[b] = op(A[b]) * op(B[b]) + beta * C[b] for row-major matrices with f32
 * accumulation on tensor cores (f16/bf16) or in plain FP32 (f32 inputs; no
 * TF32, as PyTorch's default). op(A) is MxK, op(B) KxN, C MxN; trans_a means
 * A is stored KxM. Leading dimensions and batch strides are in elements;
 * pointers are device addresses. A nonzero bias is the address of an
 * N-vector of C's type added to every row before C is rounded (cuBLASLt's
 * BIAS epilogue; not batched). Enqueued on the runtime's stream. */
void ampc_cuda_gemm(int32_t type_a, int32_t type_b, int32_t type_c, int32_t trans_a,
                    int32_t trans_b, int64_t batch, int64_t m, int64_t n, int64_t k,
                    int64_t a, int64_t lda, int64_t stride_a, int64_t b, int64_t ldb,
                    int64_t stride_b, int64_t c, int64_t ldc, int64_t stride_c, float beta,
                    int64_t bias);

#ifdef __cplusplus
}
#endif

#endif /* AMPC_CUDA_RUNTIME_H */
