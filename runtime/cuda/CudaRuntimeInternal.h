//===- CudaRuntimeInternal.h - shared by the runtime's sources ----*- C++ -*-===//

#ifndef AMPC_RUNTIME_CUDA_CUDARUNTIMEINTERNAL_H
#define AMPC_RUNTIME_CUDA_CUDARUNTIMEINTERNAL_H

#include "ampc_cuda_runtime.h"

#include <cuda.h>

namespace ampc::cuda {

/// Records the first error (printf-style); later ones are dropped.
void recordError(const char *format, ...) __attribute__((format(printf, 1, 2)));
/// Records `call` failing with `result`; true on success.
bool check(CUresult result, const char *call);
/// True once the driver, the device's context and the stream are ready
/// (initializing them on first use) and current on this thread.
bool ready();
/// True when an error was recorded since the last clear.
bool failed();
/// The runtime's stream, or nullptr when not ready.
CUstream stream();

} // namespace ampc::cuda

#endif // AMPC_RUNTIME_CUDA_CUDARUNTIMEINTERNAL_H
