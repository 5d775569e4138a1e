//===- Pipeline.cpp - lowering mixed-precision steps for NVIDIA GPUs -------===//
//
// Host code that allocates device buffers, calls cuBLASLt for matmuls and
// launches kernels on one stream; kernels from every other structured op,
// lowered through NVVM to PTX (or cubin through ptxas) and embedded in the
// host module.
//
//===----------------------------------------------------------------------===//

#include "ampc/Codegen/GPU/Passes.h"

#include "ampc/Codegen/Common/Passes.h"
#include "ampc/Codegen/Common/PipelineSteps.h"

using namespace mlir;
using ampc::detail::addUpstream;

void ampc::buildCUDALoweringPipeline(OpPassManager &pm, const CUDALoweringOptions &options) {
  // A C entry point (_mlir_ciface_<name>) per function of the input, asked
  // for before the runtime's declarations join the module.
  addUpstream(pm, "func.func(llvm-request-c-wrappers)");
  // (The CUDA lowering keeps upstream fusion until measured on a GPU.)
  detail::addAMPToFusedLinalg(pm, /*keepContractions=*/false);
  // Scalars from 0-d tensors (step counters, the loss scale) are computed
  // where they are used: the tensors are in device memory.
  pm.addNestedPass<func::FuncOp>(createAMPGPUSinkScalars());
  // Full reductions (the mean loss) shared among threads.
  pm.addNestedPass<func::FuncOp>(createAMPGPUSplitReductions());
  addUpstream(pm, "canonicalize");
  detail::addBufferizationToOutParams(pm);
  addUpstream(pm, "buffer-deallocation-pipeline");
  // Copies into views (spread-out gradients, insert_slice) as loops, which
  // become kernels below; gpu.memcpy takes whole buffers only.
  pm.addNestedPass<func::FuncOp>(createAMPStridedCopiesToLoops({/*keepContiguous=*/false}));
  // Matmul-like ops to cuBLASLt (tensor cores), folding zero fills and
  // transposes that feed them.
  if (options.libraryGemm)
    pm.addPass(createAMPGPULibraryGemm());
  addUpstream(pm, "canonicalize");
  // May the caller pass one buffer set as both old and new state?
  pm.addNestedPass<func::FuncOp>(createAMPGPUInPlaceState());
  // Temporaries freed after their last use, not at the end of the step.
  pm.addNestedPass<func::FuncOp>(createAMPFreeAfterLastUse());
  // Reductions inside threads, not around kernels.
  pm.addNestedPass<func::FuncOp>(createAMPGPUParallelLoopsOuter());
  // Every other structured op: its parallel loops, tiled into blocks of 256
  // threads shaped by rank, the innermost loop on threadIdx.x so that
  // neighbouring threads touch neighbouring elements (coalesced accesses).
  addUpstream(pm, "func.func(convert-linalg-to-parallel-loops)");
  // Reduction accumulators in registers, not in global memory.
  pm.addNestedPass<func::FuncOp>(createAMPGPUPromoteAccumulators());
  // Elementwise loops: a vector of neighbouring elements per thread.
  pm.addNestedPass<func::FuncOp>(createAMPGPUVectorizeLoops());
  pm.addNestedPass<func::FuncOp>(createAMPGPUTileParallelLoops());
  addUpstream(pm, "func.func(gpu-map-parallel-loops{mapping-policy=innermost-first})");
  addUpstream(pm, "func.func(convert-parallel-loops-to-gpu)");
  // What is left on the host allocates, copies and launches: on the device.
  pm.addNestedPass<func::FuncOp>(createAMPGPUDeviceMemory());
  addUpstream(pm, "gpu-kernel-outlining");
  // One kernel module: one binary to load, one PTX or cubin file to emit.
  pm.addPass(createAMPGPUMergeKernelModules());
  // One stream, one synchronization at the end of each step.
  pm.addNestedPass<func::FuncOp>(createAMPGPUStreamOrder());
  addUpstream(pm, "nvvm-attach-target{chip=" + options.chip + " features=" + options.features +
                      " O=3}");
  // Host code to LLVM, with a C entry point per public function.
  addUpstream(pm, "convert-scf-to-cf");
  addUpstream(pm, "convert-func-to-llvm");
  addUpstream(pm, "expand-strided-metadata");
  addUpstream(pm, "lower-affine");
  addUpstream(pm, "convert-arith-to-llvm");
  addUpstream(pm, "convert-index-to-llvm");
  addUpstream(pm, "canonicalize");
  addUpstream(pm, "cse");
  // Kernels to NVVM.
  addUpstream(pm, "gpu.module(convert-gpu-to-nvvm)");
  addUpstream(pm, "gpu.module(canonicalize)");
  addUpstream(pm, "gpu.module(cse)");
  addUpstream(pm, "gpu.module(reconcile-unrealized-casts)");
  // Launches and memory ops to mgpu* runtime calls; kernels to PTX (isa) or
  // to cubin through ptxas.
  addUpstream(pm, "gpu-to-llvm");
  std::string toBinary = "gpu-module-to-binary{format=" + options.binaryFormat;
  if (!options.toolkitPath.empty())
    toBinary += " toolkit=" + options.toolkitPath;
  addUpstream(pm, toBinary + "}");
  addUpstream(pm, "convert-math-to-llvm");
  addUpstream(pm, "canonicalize");
  addUpstream(pm, "cse");
  addUpstream(pm, "reconcile-unrealized-casts");
}
