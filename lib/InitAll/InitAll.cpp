//===- InitAll.cpp - one registration point for ampc ------------------------===//

#include "ampc/InitAll.h"

#include "ampc/Autodiff/Passes.h"
#include "ampc/Codegen/CPU/Passes.h"
#include "ampc/Codegen/Common/Passes.h"
#include "ampc/Codegen/GPU/Passes.h"
#include "ampc/Conversion/Passes.h"
#include "ampc/Dialect/AMP/IR/AMP.h"
#include "ampc/Dialect/ATen/IR/ATen.h"
#include "ampc/Pipelines/Pipelines.h"
#include "ampc/Precision/Passes.h"
#include "ampc/Training/Passes.h"

#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"

void ampc::registerAllDialects(mlir::DialectRegistry &registry) {
  registry.insert<amp::AMPDialect, aten::ATenDialect>();
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  // GPU modules are serialized to PTX through LLVM IR inside the pipeline.
  mlir::registerAllToLLVMIRTranslations(registry);
}

void ampc::registerAllPasses() {
  mlir::registerAllPasses();
  ampc::registerPrecisionPasses();
  ampc::registerTrainingPasses();
  ampc::registerAutodiffPasses();
  ampc::registerAMPConversionPasses();
  ampc::registerCodegenCommonPasses();
  ampc::registerCodegenCPUPasses();
  ampc::registerCodegenGPUPasses();
  ampc::registerPipelines();
}
