//===- CudaRuntime.cpp - mgpu* entry points and host API on the driver -----===//
//
// The CUDA driver is opened with dlopen at first use, so this library loads
// (and reports "no CUDA driver") on machines without one, such as CI.
//
//===----------------------------------------------------------------------===//

#include "CudaRuntimeInternal.h"

#include <dlfcn.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <unordered_map>
#include <algorithm>
#include <cstdarg>

namespace {

// Expands a driver function's name through cuda.h's versioning macros
// (cuMemAlloc -> cuMemAlloc_v2) so dlsym finds the same entry the header
// declares.
#define AMPC_STRINGIFY_IMPL(x) #x
#define AMPC_STRINGIFY(x) AMPC_STRINGIFY_IMPL(x)

#define AMPC_DRIVER_FUNCTIONS(X)                                                                   \
  X(cuInit)                                                                                        \
  X(cuGetErrorName)                                                                                \
  X(cuGetErrorString)                                                                              \
  X(cuDeviceGet)                                                                                   \
  X(cuDeviceGetCount)                                                                              \
  X(cuDeviceGetName)                                                                               \
  X(cuDevicePrimaryCtxRetain)                                                                      \
  X(cuCtxSetCurrent)                                                                               \
  X(cuModuleLoadData)                                                                              \
  X(cuModuleLoadDataEx)                                                                            \
  X(cuModuleUnload)                                                                                \
  X(cuModuleGetFunction)                                                                           \
  X(cuLaunchKernel)                                                                                \
  X(cuStreamCreate)                                                                                \
  X(cuStreamDestroy)                                                                               \
  X(cuStreamSynchronize)                                                                           \
  X(cuStreamWaitEvent)                                                                             \
  X(cuStreamIsCapturing)                                                                           \
  X(cuStreamBeginCapture)                                                                          \
  X(cuStreamEndCapture)                                                                            \
  X(cuGraphInstantiateWithFlags)                                                                   \
  X(cuGraphLaunch)                                                                                 \
  X(cuGraphExecDestroy)                                                                            \
  X(cuGraphDestroy)                                                                                \
  X(cuEventCreate)                                                                                 \
  X(cuEventDestroy)                                                                                \
  X(cuEventSynchronize)                                                                            \
  X(cuEventRecord)                                                                                 \
  X(cuEventElapsedTime)                                                                            \
  X(cuMemAlloc)                                                                                    \
  X(cuMemFree)                                                                                     \
  X(cuMemAllocAsync)                                                                               \
  X(cuMemFreeAsync)                                                                                \
  X(cuMemcpyAsync)                                                                                 \
  X(cuMemsetD32Async)                                                                              \
  X(cuMemsetD16Async)                                                                              \
  X(cuDeviceGetDefaultMemPool)                                                                     \
  X(cuMemPoolSetAttribute)                                                                         \
  X(cuMemPoolGetAttribute)                                                                          \
  X(cuDeviceGetGraphMemAttribute)                                                                  \
  X(cuDeviceSetGraphMemAttribute)

struct Driver {
#define AMPC_DECLARE(name) decltype(&::name) name = nullptr;
  AMPC_DRIVER_FUNCTIONS(AMPC_DECLARE)
#undef AMPC_DECLARE
};

struct State {
  std::once_flag once;
  bool ready = false;
  Driver cu;
  CUdevice device = 0;
  CUcontext context = nullptr;
  CUstream stream = nullptr;
  CUmemoryPool pool = nullptr;
  char deviceName[256] = "";

  std::mutex errorMutex;
  std::string error;
  std::string initError;
  std::atomic<bool> hasError{false};

  std::mutex memoryMutex;
  std::unordered_map<CUdeviceptr, uint64_t> sizes;
  uint64_t allocated = 0, peakAllocated = 0;
};

State &state() {
  static State instance;
  return instance;
}

void initialize(State &s) {
  const char *names[] = {"libcuda.so.1", "libcuda.so"};
  void *handle = nullptr;
  for (const char *name : names)
    if ((handle = dlopen(name, RTLD_NOW | RTLD_GLOBAL)))
      break;
  if (!handle) {
    ampc::cuda::recordError("ampc cuda runtime: no CUDA driver (libcuda.so.1 not found: %s)",
                            dlerror());
    return;
  }
#define AMPC_LOAD(name)                                                                            \
  s.cu.name = reinterpret_cast<decltype(&::name)>(dlsym(handle, AMPC_STRINGIFY(name)));            \
  if (!s.cu.name) {                                                                                \
    ampc::cuda::recordError("ampc cuda runtime: the CUDA driver lacks %s (too old?)",              \
                            AMPC_STRINGIFY(name));                                                 \
    return;                                                                                        \
  }
  AMPC_DRIVER_FUNCTIONS(AMPC_LOAD)
#undef AMPC_LOAD
  Driver &cu = s.cu;
  int ordinal = 0;
  if (const char *env = std::getenv("AMPC_CUDA_DEVICE"))
    ordinal = std::atoi(env);
  int count = 0;
  if (!ampc::cuda::check(cu.cuInit(0), "cuInit") ||
      !ampc::cuda::check(cu.cuDeviceGetCount(&count), "cuDeviceGetCount"))
    return;
  if (ordinal < 0 || ordinal >= count) {
    ampc::cuda::recordError("ampc cuda runtime: device %d requested, %d present", ordinal, count);
    return;
  }
  if (!ampc::cuda::check(cu.cuDeviceGet(&s.device, ordinal), "cuDeviceGet") ||
      !ampc::cuda::check(cu.cuDeviceGetName(s.deviceName, sizeof(s.deviceName), s.device),
                         "cuDeviceGetName") ||
      // The primary context: the one the CUDA runtime and cuBLASLt use too.
      !ampc::cuda::check(cu.cuDevicePrimaryCtxRetain(&s.context, s.device),
                         "cuDevicePrimaryCtxRetain") ||
      !ampc::cuda::check(cu.cuCtxSetCurrent(s.context), "cuCtxSetCurrent") ||
      !ampc::cuda::check(cu.cuStreamCreate(&s.stream, CU_STREAM_NON_BLOCKING), "cuStreamCreate") ||
      !ampc::cuda::check(cu.cuDeviceGetDefaultMemPool(&s.pool, s.device),
                         "cuDeviceGetDefaultMemPool"))
    return;
  // Keep freed temporaries in the pool between steps instead of returning
  // them to the driver at every synchronization: steps reuse them.
  cuuint64_t threshold = UINT64_MAX;
  if (!ampc::cuda::check(
          cu.cuMemPoolSetAttribute(s.pool, CU_MEMPOOL_ATTR_RELEASE_THRESHOLD, &threshold),
          "cuMemPoolSetAttribute"))
    return;
  s.ready = true;
}

/// The driver when ready, else nullptr (the reason is recorded). Makes the
/// context current on the calling thread.
Driver *driver() {
  State &s = state();
  std::call_once(s.once, [&] {
    initialize(s);
    if (!s.ready) {
      std::lock_guard<std::mutex> lock(s.errorMutex);
      s.initError = s.error;
    }
  });
  if (!s.ready) {
    // Every call reports why, also after the host cleared the first report.
    ampc::cuda::recordError("%s", s.initError.c_str());
    return nullptr;
  }
  s.cu.cuCtxSetCurrent(s.context);
  return &s.cu;
}

bool capturing() {
  State &s = state();
  CUstreamCaptureStatus status = CU_STREAM_CAPTURE_STATUS_NONE;
  s.cu.cuStreamIsCapturing(s.stream, &status);
  return status != CU_STREAM_CAPTURE_STATUS_NONE;
}

} // namespace

void ampc::cuda::recordError(const char *format, ...) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.errorMutex);
  if (s.hasError)
    return; // The first error is the cause; later ones follow from it.
  char buffer[1024];
  va_list args;
  va_start(args, format);
  std::vsnprintf(buffer, sizeof(buffer), format, args);
  va_end(args);
  s.error = buffer;
  s.hasError = true;
}

bool ampc::cuda::check(CUresult result, const char *call) {
  if (result == CUDA_SUCCESS)
    return true;
  State &s = state();
  const char *name = nullptr, *text = nullptr;
  if (s.cu.cuGetErrorName)
    s.cu.cuGetErrorName(result, &name);
  if (s.cu.cuGetErrorString)
    s.cu.cuGetErrorString(result, &text);
  recordError("ampc cuda runtime: %s failed: %s (%s)", call, name ? name : "unknown error",
              text ? text : "no description");
  return false;
}

bool ampc::cuda::ready() { return driver() != nullptr; }

CUstream ampc::cuda::stream() { return driver() ? state().stream : nullptr; }

bool ampc::cuda::failed() { return state().hasError; }

//===----------------------------------------------------------------------===//
// The mgpu* entry points called by code from MLIR's gpu-to-llvm lowering.
//===----------------------------------------------------------------------===//

extern "C" {

CUmodule mgpuModuleLoad(void *data, size_t /*size*/) {
  Driver *cu = driver();
  CUmodule module = nullptr;
  if (cu)
    ampc::cuda::check(cu->cuModuleLoadData(&module, data), "cuModuleLoadData");
  return module;
}

CUmodule mgpuModuleLoadJIT(void *data, int optLevel) {
  Driver *cu = driver();
  CUmodule module = nullptr;
  if (!cu)
    return nullptr;
  char log[8192] = "";
  CUjit_option options[] = {CU_JIT_OPTIMIZATION_LEVEL, CU_JIT_ERROR_LOG_BUFFER,
                            CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
  void *values[] = {reinterpret_cast<void *>(static_cast<intptr_t>(optLevel)), log,
                    reinterpret_cast<void *>(sizeof(log))};
  CUresult result = cu->cuModuleLoadDataEx(&module, data, 3, options, values);
  if (result != CUDA_SUCCESS) {
    ampc::cuda::check(result, "cuModuleLoadDataEx (PTX JIT)");
    if (log[0])
      std::fprintf(stderr, "ampc cuda runtime: PTX JIT log:\n%s\n", log);
  }
  return module;
}

void mgpuModuleUnload(CUmodule module) {
  // Runs from a global destructor, possibly after the driver shut down at
  // process exit: never report from here.
  if (module && state().ready)
    state().cu.cuModuleUnload(module);
}

CUfunction mgpuModuleGetFunction(CUmodule module, const char *name) {
  Driver *cu = driver();
  CUfunction function = nullptr;
  if (!cu)
    return nullptr;
  if (!module) {
    ampc::cuda::recordError("ampc cuda runtime: kernel %s: its module did not load", name);
    return nullptr;
  }
  std::string call = std::string("cuModuleGetFunction(") + name + ")";
  ampc::cuda::check(cu->cuModuleGetFunction(&function, module, name), call.c_str());
  return function;
}

void mgpuLaunchKernel(CUfunction function, intptr_t gridX, intptr_t gridY, intptr_t gridZ,
                      intptr_t blockX, intptr_t blockY, intptr_t blockZ, int32_t smem,
                      CUstream stream, void **params, void **extra, size_t /*paramsCount*/) {
  Driver *cu = driver();
  if (!cu)
    return;
  if (!function) {
    ampc::cuda::recordError("ampc cuda runtime: launch of a kernel that did not load");
    return;
  }
  ampc::cuda::check(cu->cuLaunchKernel(function, gridX, gridY, gridZ, blockX, blockY, blockZ,
                                       smem, stream, params, extra),
                    "cuLaunchKernel");
}

// Every step runs on the runtime's one stream: "creating" a stream hands it
// out, destroying it is a no-op. One stream keeps compiled launches and the
// cuBLASLt GEMMs between them in program order without events.
CUstream mgpuStreamCreate() { return ampc::cuda::stream(); }

void mgpuStreamDestroy(CUstream stream) {
  Driver *cu = driver();
  if (cu && stream && stream != state().stream)
    ampc::cuda::check(cu->cuStreamDestroy(stream), "cuStreamDestroy");
}

void mgpuStreamSynchronize(CUstream stream) {
  Driver *cu = driver();
  // While a graph is being captured the step's final wait is part of the
  // host's replay, not of the graph.
  if (cu && !(stream == state().stream && capturing()))
    ampc::cuda::check(cu->cuStreamSynchronize(stream), "cuStreamSynchronize");
}

void mgpuStreamWaitEvent(CUstream stream, CUevent event) {
  if (Driver *cu = driver())
    ampc::cuda::check(cu->cuStreamWaitEvent(stream, event, 0), "cuStreamWaitEvent");
}

CUevent mgpuEventCreate() {
  Driver *cu = driver();
  CUevent event = nullptr;
  if (cu)
    ampc::cuda::check(cu->cuEventCreate(&event, CU_EVENT_DISABLE_TIMING), "cuEventCreate");
  return event;
}

void mgpuEventDestroy(CUevent event) {
  if (Driver *cu = driver())
    ampc::cuda::check(cu->cuEventDestroy(event), "cuEventDestroy");
}

void mgpuEventSynchronize(CUevent event) {
  if (Driver *cu = driver())
    ampc::cuda::check(cu->cuEventSynchronize(event), "cuEventSynchronize");
}

void mgpuEventRecord(CUevent event, CUstream stream) {
  if (Driver *cu = driver())
    ampc::cuda::check(cu->cuEventRecord(event, stream), "cuEventRecord");
}

void *mgpuMemAlloc(uint64_t bytes, CUstream stream, bool hostShared) {
  Driver *cu = driver();
  if (!cu || bytes == 0)
    return nullptr;
  if (hostShared) {
    ampc::cuda::recordError("ampc cuda runtime: host-shared allocations are not supported");
    return nullptr;
  }
  CUdeviceptr pointer = 0;
  // Stream-ordered: no device synchronization, reused from the pool, and
  // legal inside graph capture.
  ampc::cuda::check(cu->cuMemAllocAsync(&pointer, bytes, stream ? stream : state().stream),
                    "cuMemAllocAsync");
  return reinterpret_cast<void *>(pointer);
}

void mgpuMemFree(void *pointer, CUstream stream) {
  Driver *cu = driver();
  if (cu && pointer)
    ampc::cuda::check(cu->cuMemFreeAsync(reinterpret_cast<CUdeviceptr>(pointer),
                                         stream ? stream : state().stream),
                      "cuMemFreeAsync");
}

void mgpuMemcpy(void *destination, void *source, size_t bytes, CUstream stream) {
  Driver *cu = driver();
  if (cu && bytes)
    ampc::cuda::check(cu->cuMemcpyAsync(reinterpret_cast<CUdeviceptr>(destination),
                                        reinterpret_cast<CUdeviceptr>(source), bytes,
                                        stream ? stream : state().stream),
                      "cuMemcpyAsync");
}

void mgpuMemset32(void *destination, unsigned int value, size_t count, CUstream stream) {
  if (Driver *cu = driver())
    ampc::cuda::check(cu->cuMemsetD32Async(reinterpret_cast<CUdeviceptr>(destination), value,
                                           count, stream ? stream : state().stream),
                      "cuMemsetD32Async");
}

void mgpuMemset16(void *destination, unsigned short value, size_t count, CUstream stream) {
  if (Driver *cu = driver())
    ampc::cuda::check(cu->cuMemsetD16Async(reinterpret_cast<CUdeviceptr>(destination), value,
                                           count, stream ? stream : state().stream),
                      "cuMemsetD16Async");
}

void mgpuSetDefaultDevice(int32_t /*device*/) {
  // The device is chosen once, at initialization ($AMPC_CUDA_DEVICE).
}

//===----------------------------------------------------------------------===//
// The host API (ampc_cuda_runtime.h).
//===----------------------------------------------------------------------===//

int ampc_cuda_init(void) { return driver() ? 0 : -1; }

const char *ampc_cuda_last_error(void) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.errorMutex);
  return s.hasError ? s.error.c_str() : nullptr;
}

void ampc_cuda_clear_error(void) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.errorMutex);
  s.hasError = false;
  s.error.clear();
}

const char *ampc_cuda_device_name(void) { return driver() ? state().deviceName : ""; }

void *ampc_cuda_malloc(size_t bytes) {
  Driver *cu = driver();
  if (!cu)
    return nullptr;
  CUdeviceptr pointer = 0;
  if (!ampc::cuda::check(cu->cuMemAlloc(&pointer, bytes ? bytes : 1), "cuMemAlloc"))
    return nullptr;
  State &s = state();
  std::lock_guard<std::mutex> lock(s.memoryMutex);
  s.sizes[pointer] = bytes;
  s.allocated += bytes;
  s.peakAllocated = std::max(s.peakAllocated, s.allocated);
  return reinterpret_cast<void *>(pointer);
}

int ampc_cuda_free(void *pointer) {
  Driver *cu = driver();
  if (!cu)
    return -1;
  if (!pointer)
    return 0;
  State &s = state();
  CUdeviceptr address = reinterpret_cast<CUdeviceptr>(pointer);
  {
    std::lock_guard<std::mutex> lock(s.memoryMutex);
    auto it = s.sizes.find(address);
    if (it == s.sizes.end()) {
      ampc::cuda::recordError("ampc cuda runtime: ampc_cuda_free of %p, which ampc_cuda_malloc "
                              "did not return",
                              pointer);
      return -1;
    }
    s.allocated -= it->second;
    s.sizes.erase(it);
  }
  // cuMemFree waits for work using the memory to finish.
  return ampc::cuda::check(cu->cuMemFree(address), "cuMemFree") ? 0 : -1;
}

static int copy(void *destination, const void *source, size_t bytes, const char *what) {
  Driver *cu = driver();
  if (!cu)
    return -1;
  State &s = state();
  if (bytes && !ampc::cuda::check(cu->cuMemcpyAsync(reinterpret_cast<CUdeviceptr>(destination),
                                                    reinterpret_cast<CUdeviceptr>(source),
                                                    bytes, s.stream),
                                  what))
    return -1;
  return ampc::cuda::check(cu->cuStreamSynchronize(s.stream), "cuStreamSynchronize") ? 0 : -1;
}

int ampc_cuda_copy_to_device(void *device, const void *host, size_t bytes) {
  return copy(device, host, bytes, "cuMemcpyAsync (host to device)");
}

int ampc_cuda_copy_to_host(void *host, const void *device, size_t bytes) {
  return copy(host, device, bytes, "cuMemcpyAsync (device to host)");
}

int ampc_cuda_copy_on_device(void *destination, const void *source, size_t bytes) {
  return copy(destination, source, bytes, "cuMemcpyAsync (device to device)");
}

int ampc_cuda_synchronize(void) {
  Driver *cu = driver();
  if (!cu)
    return -1;
  if (!ampc::cuda::check(cu->cuStreamSynchronize(state().stream), "cuStreamSynchronize"))
    return -1;
  return ampc::cuda::failed() ? -1 : 0;
}

int ampc_cuda_capture_begin(void) {
  Driver *cu = driver();
  if (!cu)
    return -1;
  // Thread-local mode: other threads' unrelated CUDA calls stay legal.
  return ampc::cuda::check(cu->cuStreamBeginCapture(state().stream,
                                                    CU_STREAM_CAPTURE_MODE_THREAD_LOCAL),
                           "cuStreamBeginCapture")
             ? 0
             : -1;
}

void *ampc_cuda_capture_end(void) {
  Driver *cu = driver();
  if (!cu)
    return nullptr;
  CUgraph graph = nullptr;
  if (!ampc::cuda::check(cu->cuStreamEndCapture(state().stream, &graph), "cuStreamEndCapture"))
    return nullptr;
  CUgraphExec exec = nullptr;
  bool ok = ampc::cuda::check(
      cu->cuGraphInstantiateWithFlags(&exec, graph, CUDA_GRAPH_INSTANTIATE_FLAG_AUTO_FREE_ON_LAUNCH),
      "cuGraphInstantiateWithFlags");
  cu->cuGraphDestroy(graph);
  return ok ? exec : nullptr;
}

int ampc_cuda_graph_launch(void *graph) {
  Driver *cu = driver();
  if (!cu || !graph)
    return -1;
  return ampc::cuda::check(cu->cuGraphLaunch(static_cast<CUgraphExec>(graph), state().stream),
                           "cuGraphLaunch")
             ? 0
             : -1;
}

void ampc_cuda_graph_destroy(void *graph) {
  Driver *cu = driver();
  if (cu && graph)
    ampc::cuda::check(cu->cuGraphExecDestroy(static_cast<CUgraphExec>(graph)),
                      "cuGraphExecDestroy");
}

void *ampc_cuda_event_record(void) {
  Driver *cu = driver();
  if (!cu)
    return nullptr;
  CUevent event = nullptr;
  if (!ampc::cuda::check(cu->cuEventCreate(&event, CU_EVENT_DEFAULT), "cuEventCreate"))
    return nullptr;
  if (!ampc::cuda::check(cu->cuEventRecord(event, state().stream), "cuEventRecord")) {
    cu->cuEventDestroy(event);
    return nullptr;
  }
  return event;
}

float ampc_cuda_event_elapsed_ms(void *start, void *end) {
  Driver *cu = driver();
  float ms = -1.0f;
  if (!cu || !start || !end)
    return ms;
  if (ampc::cuda::check(cu->cuEventSynchronize(static_cast<CUevent>(end)), "cuEventSynchronize"))
    ampc::cuda::check(
        cu->cuEventElapsedTime(&ms, static_cast<CUevent>(start), static_cast<CUevent>(end)),
        "cuEventElapsedTime");
  return ms;
}

void ampc_cuda_event_destroy(void *event) {
  Driver *cu = driver();
  if (cu && event)
    cu->cuEventDestroy(static_cast<CUevent>(event));
}

int ampc_cuda_memory_stats(uint64_t stats[4]) {
  Driver *cu = driver();
  if (!cu)
    return -1;
  State &s = state();
  {
    std::lock_guard<std::mutex> lock(s.memoryMutex);
    stats[0] = s.allocated;
    stats[1] = s.peakAllocated;
  }
  cuuint64_t used = 0, peak = 0;
  if (!ampc::cuda::check(cu->cuMemPoolGetAttribute(s.pool, CU_MEMPOOL_ATTR_USED_MEM_CURRENT, &used),
                         "cuMemPoolGetAttribute") ||
      !ampc::cuda::check(cu->cuMemPoolGetAttribute(s.pool, CU_MEMPOOL_ATTR_USED_MEM_HIGH, &peak),
                         "cuMemPoolGetAttribute"))
    return -1;
  // Temporaries of graph-launched steps live in graph memory, not the pool.
  cuuint64_t graphUsed = 0, graphPeak = 0;
  if (!ampc::cuda::check(cu->cuDeviceGetGraphMemAttribute(s.device, CU_GRAPH_MEM_ATTR_USED_MEM_CURRENT,
                                                          &graphUsed),
                         "cuDeviceGetGraphMemAttribute") ||
      !ampc::cuda::check(cu->cuDeviceGetGraphMemAttribute(s.device, CU_GRAPH_MEM_ATTR_USED_MEM_HIGH,
                                                          &graphPeak),
                         "cuDeviceGetGraphMemAttribute"))
    return -1;
  stats[2] = used + graphUsed;
  stats[3] = peak + graphPeak;
  return 0;
}

void ampc_cuda_reset_peak_memory(void) {
  Driver *cu = driver();
  if (!cu)
    return;
  State &s = state();
  {
    std::lock_guard<std::mutex> lock(s.memoryMutex);
    s.peakAllocated = s.allocated;
  }
  cuuint64_t zero = 0;
  cu->cuMemPoolSetAttribute(s.pool, CU_MEMPOOL_ATTR_USED_MEM_HIGH, &zero);
  cu->cuDeviceSetGraphMemAttribute(s.device, CU_GRAPH_MEM_ATTR_USED_MEM_HIGH, &zero);
}

} // extern "C"
