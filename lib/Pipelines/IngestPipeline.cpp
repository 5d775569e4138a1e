//===- IngestPipeline.cpp - the amp-ingest pipeline -------------------------===//

#include "ampc/Pipelines/Pipelines.h"

#include "ampc/Conversion/Passes.h"

#include "mlir/Conversion/TosaToArith/TosaToArith.h"
#include "mlir/Conversion/TosaToLinalg/TosaToLinalg.h"
#include "mlir/Conversion/TosaToTensor/TosaToTensor.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void ampc::buildIngestPipeline(OpPassManager &pm) {
  // ampc.torch's aten ops become linalg with PyTorch's semantics.
  pm.addPass(createConvertATenToLinalg());
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
