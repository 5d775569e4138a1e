//===- GPUMergeKernelModules.cpp - the amp-gpu-merge-kernel-modules pass ----===//

#include "ampc/Codegen/GPU/Passes.h"

#include "mlir/IR/SymbolTable.h"

namespace ampc {
#define GEN_PASS_DEF_AMPGPUMERGEKERNELMODULES
#include "ampc/Codegen/GPU/Passes.h.inc"
} // namespace ampc

using namespace mlir;
using namespace ampc;

namespace {

class GPUMergeKernelModulesPass
    : public ampc::impl::AMPGPUMergeKernelModulesBase<GPUMergeKernelModulesPass> {
public:
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<gpu::GPUModuleOp> kernelModules(module.getOps<gpu::GPUModuleOp>());
    if (kernelModules.size() < 2)
      return;
    gpu::GPUModuleOp target = kernelModules.front();
    SymbolTable targetSymbols(target);
    // (old module, old kernel) -> new kernel name in the target module.
    llvm::DenseMap<std::pair<StringAttr, StringAttr>, StringAttr> renamed;
    for (gpu::GPUModuleOp source : llvm::drop_begin(kernelModules)) {
      if (source.getTargetsAttr() != target.getTargetsAttr()) {
        source.emitError("ampc: kernel modules with different targets cannot be merged");
        return signalPassFailure();
      }
      for (Operation &op : llvm::make_early_inc_range(source.getBody()->without_terminator())) {
        auto symbol = dyn_cast<SymbolOpInterface>(&op);
        StringAttr oldName = symbol ? symbol.getNameAttr() : StringAttr();
        op.moveBefore(target.getBody(), target.getBody()->end());
        if (!symbol)
          continue;
        // insert() renames on a clash; the kernels keep unique names.
        targetSymbols.remove(&op);
        StringAttr newName = targetSymbols.insert(&op);
        renamed[{source.getSymNameAttr(), oldName}] = newName;
      }
      source.erase();
    }
    module.walk([&](gpu::LaunchFuncOp launch) {
      auto key = std::make_pair(launch.getKernelModuleName(), launch.getKernelName());
      auto it = renamed.find(key);
      if (it == renamed.end())
        return;
      launch.setKernelAttr(SymbolRefAttr::get(target.getSymNameAttr(),
                                              {FlatSymbolRefAttr::get(it->second)}));
    });
  }
};

} // namespace
