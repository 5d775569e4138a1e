//===- NVVMPipeline.cpp - lowering mixed-precision steps to PTX -------------===//
//
// The first stage of the CUDA back end: every structured op becomes a GPU
// kernel (16x16 thread blocks over its parallel loops), lowered through the
// NVVM dialect to PTX by LLVM's NVPTX target, which needs no CUDA toolkit.
// Matmuls are still naive kernels here; routing them to cuBLASLt tensor-core
// GEMMs, the runtime and on-device state are the next stages.
//
//===----------------------------------------------------------------------===//

#include "ampc/Pipelines/Pipelines.h"

#include "PipelineSteps.h"
#include "mlir/Dialect/GPU/Pipelines/Passes.h"

using namespace mlir;
using ampc::detail::addUpstream;

void ampc::buildNVVMLoweringPipeline(OpPassManager &pm, const NVVMLoweringOptions &options) {
  detail::addAMPToFusedLinalg(pm);
  // Buffers, with results as out-params as on the CPU.
  detail::addBufferizationToOutParams(pm);
  addUpstream(pm, "buffer-deallocation-pipeline");
  // Parallel loops of each structured op, tiled into 16x16 blocks and mapped
  // to blocks and threads, then outlined into kernels.
  addUpstream(pm, "func.func(convert-linalg-to-parallel-loops)");
  addUpstream(pm, "func.func(scf-parallel-loop-tiling{parallel-loop-tile-sizes=16,16})");
  addUpstream(pm, "func.func(gpu-map-parallel-loops)");
  addUpstream(pm, "func.func(convert-parallel-loops-to-gpu)");
  addUpstream(pm, "gpu-kernel-outlining");
  addUpstream(pm, ("nvvm-attach-target{chip=" + options.chip + " features=" +
                   options.features + "}"));
  // NVVM, LLVM, and PTX text in gpu.binary ops (format isa: no ptxas needed).
  gpu::GPUToNVVMPipelineOptions nvvm;
  nvvm.cubinChip = options.chip;
  nvvm.cubinFeatures = options.features;
  nvvm.cubinFormat = "isa";
  gpu::buildLowerToNVVMPassPipeline(pm, nvvm);
}
