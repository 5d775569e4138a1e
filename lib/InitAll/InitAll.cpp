//===- InitAll.cpp - one registration point for ampc ------------------------===//

#include "ampc/InitAll.h"

#include "ampc/Conversion/Passes.h"
#include "ampc/Dialect/AMP/IR/AMP.h"
#include "ampc/Pipelines/Pipelines.h"
#include "ampc/Precision/Passes.h"

#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"

void ampc::registerAllDialects(mlir::DialectRegistry &registry) {
  registry.insert<amp::AMPDialect>();
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  // GPU modules are serialized to PTX through LLVM IR inside the pipeline.
  mlir::registerAllToLLVMIRTranslations(registry);
}

void ampc::registerAllPasses() {
  mlir::registerAllPasses();
  ampc::registerAMPTransformsPasses();
  ampc::registerAMPConversionPasses();
  ampc::registerPipelines();
}
