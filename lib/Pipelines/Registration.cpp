//===- Registration.cpp - registering ampc's pipelines ----------------------===//

#include "ampc/Pipelines/Pipelines.h"

#include "mlir/Pass/PassRegistry.h"

using namespace mlir;

void ampc::registerPipelines() {
  PassPipelineRegistration<>(
      "amp-ingest",
      "Lower TOSA to linalg/tensor/arith and canonicalize, so TOSA models "
      "take the same mixed-precision path as linalg ones",
      buildIngestPipeline);
  PassPipelineRegistration<AMPPipelineOptions>(
      "amp-pipeline",
      "Mixed precision for training steps: verify the contract, autocast, "
      "FP32 master weights, loss scaling and cast cleanup, with one set of options",
      buildAMPPipeline);
  PassPipelineRegistration<>(
      "amp-lower-to-cpu",
      "Lower a (mixed-precision) module to the LLVM dialect for CPUs, with C "
      "entry points whose results are caller-provided out-params",
      buildCPULoweringPipeline);
  PassPipelineRegistration<>(
      "amp-lower-to-nvvm",
      "Lower a (mixed-precision) module to GPU kernels and PTX for NVIDIA GPUs "
      "(sm_90, PTX 8.0); structured ops become naive kernels for now",
      [](OpPassManager &pm) { buildNVVMLoweringPipeline(pm, NVVMLoweringOptions()); });
}
