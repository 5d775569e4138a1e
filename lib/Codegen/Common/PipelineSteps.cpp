//===- PipelineSteps.cpp - steps shared by ampc's lowering pipelines --------===//

#include "ampc/Codegen/Common/PipelineSteps.h"

#include "ampc/Codegen/Common/Passes.h"
#include "ampc/Conversion/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/ErrorHandling.h"

using namespace mlir;

void ampc::detail::addUpstream(OpPassManager &pm, StringRef spec) {
  if (failed(parsePassPipeline(spec, pm)))
    llvm::report_fatal_error(llvm::Twine("ampc: bad built-in pass spec: ") + spec);
}

void ampc::detail::addAMPToFusedLinalg(OpPassManager &pm, bool keepContractions) {
  // amp ops become arith/linalg/tensor.
  pm.addPass(createConvertAMPToStandard());
  // Elementwise arith on tensors (casts, selects) becomes linalg so that it
  // bufferizes and fuses like the rest.
  addUpstream(pm, "func.func(convert-elementwise-to-linalg)");
  // Fuse producer/consumer elementwise generics: fewer passes over memory
  // (with keepContractions, GEMMs and convolutions stay as they are, for
  // the libraries).
  if (keepContractions)
    pm.addNestedPass<func::FuncOp>(createAMPFuseElementwise());
  else
    addUpstream(pm, "func.func(linalg-fuse-elementwise-ops)");
}

void ampc::detail::addBufferizationToOutParams(OpPassManager &pm) {
  // The caller's arrays are never written: bufferization copies an argument
  // before writing to it.
  pm.addPass(createAMPReadOnlyArguments());
  // Each result bufferizes into its own out-parameter.
  pm.addPass(createAMPDistinctResults());
  // Tensors to buffers across function boundaries, writing in place where
  // the analysis proves it safe.
  addUpstream(pm, "one-shot-bufferize{bufferize-function-boundaries "
                  "function-boundary-type-conversion=identity-layout-map}");
  // Results become caller-provided out-params: the C ABI then needs no
  // ownership transfer, and the runtime hands in its own arrays.
  addUpstream(pm, "buffer-results-to-out-params{modify-public-functions hoist-static-allocs}");
}
