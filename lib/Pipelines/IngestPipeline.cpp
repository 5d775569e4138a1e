//===- IngestPipeline.cpp - the amp-ingest pipeline -------------------------===//

#include "ampc/Pipelines/Pipelines.h"

#include "mlir/Conversion/TosaToArith/TosaToArith.h"
#include "mlir/Conversion/TosaToLinalg/TosaToLinalg.h"
#include "mlir/Conversion/TosaToTensor/TosaToTensor.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void ampc::buildIngestPipeline(OpPassManager &pm) {
  // Constants and shapes first: the other TOSA lowerings expect them lowered.
  pm.addNestedPass<func::FuncOp>(createTosaToArithPass());
  // Reshapes, slices and pads become tensor ops (clear in the policy).
  pm.addNestedPass<func::FuncOp>(createTosaToTensorPass());
  // matmul/conv/pooling become named linalg ops that the allow list names.
  pm.addNestedPass<func::FuncOp>(tosa::createTosaToLinalgNamed());
  // The rest (elementwise, reductions) becomes linalg.generic, classified by
  // payload.
  pm.addNestedPass<func::FuncOp>(tosa::createTosaToLinalg());
  // Fold the shape computations and duplicates the lowerings leave behind.
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

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
}
