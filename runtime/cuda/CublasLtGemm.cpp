//===- CublasLtGemm.cpp - tensor-core GEMMs through cuBLASLt ---------------===//
//
// ampc_cuda_gemm takes row-major operands; cuBLASLt is column-major, so a
// row-major C = op(A) op(B) is computed as the column-major C^T =
// op(B)^T op(A)^T: B becomes cuBLASLt's first operand and A its second,
// with no data movement. Descriptors, layouts and the chosen algorithm are
// cached per problem (shape, types, transposes, alignment, beta == 0, bias
// or not), so
// a step's steady state makes one cublasLtMatmul call per GEMM and nothing
// else.
//
//===----------------------------------------------------------------------===//

#include "CudaRuntimeInternal.h"

#include <cublasLt.h>

#include <array>
#include <map>
#include <mutex>

namespace {

using Key = std::array<int64_t, 16>;

struct Plan {
  cublasLtMatmulDesc_t operation = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
  cublasLtMatmulAlgo_t algorithm;
};

struct Gemm {
  std::mutex mutex;
  bool initialized = false;
  cublasLtHandle_t handle = nullptr;
  CUdeviceptr workspace = 0;
  size_t workspaceBytes = 32u << 20; // cuBLAS's recommendation for Hopper
  std::map<Key, Plan> plans;
};

Gemm &gemm() {
  static Gemm instance;
  return instance;
}

bool check(cublasStatus_t status, const char *call) {
  if (status == CUBLAS_STATUS_SUCCESS)
    return true;
  ampc::cuda::recordError("ampc cuda runtime: %s failed: %s (%s)", call,
                          cublasLtGetStatusName(status), cublasLtGetStatusString(status));
  return false;
}

cudaDataType_t dataType(int32_t type) {
  switch (type) {
  case AMPC_F16:
    return CUDA_R_16F;
  case AMPC_BF16:
    return CUDA_R_16BF;
  default:
    return CUDA_R_32F;
  }
}

int64_t alignmentOf(int64_t address) {
  int64_t alignment = 256;
  while (alignment > 1 && address % alignment)
    alignment /= 2;
  return alignment;
}

bool layout(cublasLtMatrixLayout_t *out, int32_t type, int64_t rows, int64_t columns, int64_t ld,
            int64_t batch, int64_t stride) {
  if (!check(cublasLtMatrixLayoutCreate(out, dataType(type), rows, columns, ld),
             "cublasLtMatrixLayoutCreate"))
    return false;
  if (batch == 1)
    return true;
  int32_t count = static_cast<int32_t>(batch);
  return check(cublasLtMatrixLayoutSetAttribute(*out, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count,
                                                sizeof(count)),
               "cublasLtMatrixLayoutSetAttribute") &&
         check(cublasLtMatrixLayoutSetAttribute(*out, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET,
                                                &stride, sizeof(stride)),
               "cublasLtMatrixLayoutSetAttribute");
}

/// Creates the handle and workspace once; false (with the reason recorded)
/// when CUDA is not usable.
bool initialize(Gemm &g) {
  if (g.initialized)
    return true;
  if (!ampc::cuda::ready())
    return false;
  if (!check(cublasLtCreate(&g.handle), "cublasLtCreate"))
    return false;
  // Counted in ampc_cuda_memory_stats like every other allocation.
  void *workspace = ampc_cuda_malloc(g.workspaceBytes);
  if (!workspace)
    return false;
  g.workspace = reinterpret_cast<CUdeviceptr>(workspace);
  g.initialized = true;
  return true;
}

} // namespace

extern "C" void ampc_cuda_gemm(int32_t typeA, int32_t typeB, int32_t typeC, int32_t transA,
                               int32_t transB, int64_t batch, int64_t m, int64_t n, int64_t k,
                               int64_t a, int64_t lda, int64_t strideA, int64_t b, int64_t ldb,
                               int64_t strideB, int64_t c, int64_t ldc, int64_t strideC,
                               float beta, int64_t bias) {
  Gemm &g = gemm();
  std::lock_guard<std::mutex> lock(g.mutex);
  if (ampc::cuda::failed() || !initialize(g))
    return; // An earlier failure: its message stays the one reported.
  if (m == 0 || n == 0)
    return;
  if (bias && batch != 1) {
    ampc::cuda::recordError("ampc cuda runtime: ampc_cuda_gemm: a bias needs batch 1, not %lld",
                            (long long)batch);
    return;
  }
  Key key{typeA, typeB, typeC, transA, transB, batch, m, n, k, lda, ldb, ldc,
          alignmentOf(a) * 1000 + alignmentOf(b), alignmentOf(c), beta == 0.0f, bias != 0};
  auto found = g.plans.find(key);
  if (found == g.plans.end()) {
    Plan plan;
    cublasComputeType_t compute = CUBLAS_COMPUTE_32F;
    cublasOperation_t opFirst = transB ? CUBLAS_OP_T : CUBLAS_OP_N;
    cublasOperation_t opSecond = transA ? CUBLAS_OP_T : CUBLAS_OP_N;
    // Column-major view: first operand B (N x K after op), second A.
    if (!check(cublasLtMatmulDescCreate(&plan.operation, compute, CUDA_R_32F),
               "cublasLtMatmulDescCreate") ||
        !check(cublasLtMatmulDescSetAttribute(plan.operation, CUBLASLT_MATMUL_DESC_TRANSA,
                                              &opFirst, sizeof(opFirst)),
               "cublasLtMatmulDescSetAttribute") ||
        !check(cublasLtMatmulDescSetAttribute(plan.operation, CUBLASLT_MATMUL_DESC_TRANSB,
                                              &opSecond, sizeof(opSecond)),
               "cublasLtMatmulDescSetAttribute") ||
        !layout(&plan.a, typeB, transB ? k : n, transB ? n : k, ldb, batch, strideB) ||
        !layout(&plan.b, typeA, transA ? m : k, transA ? k : m, lda, batch, strideA) ||
        !layout(&plan.c, typeC, n, m, ldc, batch, strideC))
      return;
    // The bias runs along N: the rows of the column-major C^T.
    if (bias) {
      cublasLtEpilogue_t epilogue = CUBLASLT_EPILOGUE_BIAS;
      if (!check(cublasLtMatmulDescSetAttribute(plan.operation, CUBLASLT_MATMUL_DESC_EPILOGUE,
                                                &epilogue, sizeof(epilogue)),
                 "cublasLtMatmulDescSetAttribute"))
        return;
    }
    cublasLtMatmulPreference_t preference = nullptr;
    if (!check(cublasLtMatmulPreferenceCreate(&preference), "cublasLtMatmulPreferenceCreate"))
      return;
    uint32_t alignA = alignmentOf(b), alignB = alignmentOf(a), alignC = alignmentOf(c);
    cublasLtMatmulPreferenceSetAttribute(preference, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                         &g.workspaceBytes, sizeof(g.workspaceBytes));
    cublasLtMatmulPreferenceSetAttribute(preference, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES,
                                         &alignA, sizeof(alignA));
    cublasLtMatmulPreferenceSetAttribute(preference, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
                                         &alignB, sizeof(alignB));
    cublasLtMatmulPreferenceSetAttribute(preference, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES,
                                         &alignC, sizeof(alignC));
    cublasLtMatmulPreferenceSetAttribute(preference, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES,
                                         &alignC, sizeof(alignC));
    cublasLtMatmulHeuristicResult_t result = {};
    int count = 0;
    bool ok = check(cublasLtMatmulAlgoGetHeuristic(g.handle, plan.operation, plan.a, plan.b,
                                                   plan.c, plan.c, preference, 1, &result, &count),
                    "cublasLtMatmulAlgoGetHeuristic");
    cublasLtMatmulPreferenceDestroy(preference);
    if (!ok)
      return;
    if (count == 0) {
      ampc::cuda::recordError("ampc cuda runtime: cuBLASLt has no algorithm for a %lldx%lldx%lld "
                              "GEMM (types %d,%d->%d, batch %lld%s)",
                              (long long)m, (long long)n, (long long)k, typeA, typeB, typeC,
                              (long long)batch, bias ? ", bias epilogue" : "");
      return;
    }
    plan.algorithm = result.algo;
    found = g.plans.emplace(key, plan).first;
  }
  const Plan &plan = found->second;
  if (bias) {
    // The pointer is per call; the rest of the plan is shared.
    void *pointer = reinterpret_cast<void *>(bias);
    if (!check(cublasLtMatmulDescSetAttribute(plan.operation, CUBLASLT_MATMUL_DESC_BIAS_POINTER,
                                              &pointer, sizeof(pointer)),
               "cublasLtMatmulDescSetAttribute"))
      return;
  }
  float alpha = 1.0f;
  check(cublasLtMatmul(g.handle, plan.operation, &alpha, reinterpret_cast<void *>(b), plan.a,
                       reinterpret_cast<void *>(a), plan.b, &beta, reinterpret_cast<void *>(c),
                       plan.c, reinterpret_cast<void *>(c), plan.c, &plan.algorithm,
                       reinterpret_cast<void *>(g.workspace), g.workspaceBytes,
                       reinterpret_cast<cudaStream_t>(ampc::cuda::stream())),
        "cublasLtMatmul");
}
