//===- CPUCollectivesToMPI.cpp - the amp-cpu-collectives-to-mpi pass --------===//

#include "ampc/Codegen/CPU/Passes.h"
#include "ampc/Dialect/AMP/IR/AMP.h"

#include "mlir/Conversion/LLVMCommon/TypeConverter.h"
#include "mlir/Conversion/MPIToLLVM/MPIToLLVM.h"
#include "mlir/Dialect/DLTI/DLTI.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Transforms/DialectConversion.h"

namespace ampc {
#define GEN_PASS_DEF_AMPCPUCOLLECTIVESTOMPI
#include "ampc/Codegen/CPU/Passes.h.inc"
} // namespace ampc

using namespace mlir;
using namespace ampc;

static mpi::MPI_ReductionOpEnum toMPI(amp::ReduceKind kind) {
  switch (kind) {
  case amp::ReduceKind::sum:
    return mpi::MPI_ReductionOpEnum::MPI_SUM;
  case amp::ReduceKind::max:
    return mpi::MPI_ReductionOpEnum::MPI_MAX;
  case amp::ReduceKind::min:
    return mpi::MPI_ReductionOpEnum::MPI_MIN;
  }
  llvm_unreachable("unknown reduce kind");
}

/// MLIR 22's OpenMPI lowering names the predefined reduction ops
/// `ompi_mpi_sum`, ...; OpenMPI's mpi.h defines MPI_SUM as &ompi_mpi_op_sum.
/// Renames every such global (known by its `ompi_predefined_op_t` type).
static LogicalResult fixOpenMPIOpSymbols(ModuleOp module) {
  SymbolTable symbols(module);
  for (auto global : llvm::make_early_inc_range(module.getOps<LLVM::GlobalOp>())) {
    auto type = dyn_cast<LLVM::LLVMStructType>(global.getGlobalType());
    StringRef name = global.getSymName();
    if (!type || !type.isIdentified() || type.getName() != "ompi_predefined_op_t" ||
        !name.starts_with("ompi_mpi_") || name.starts_with("ompi_mpi_op_"))
      continue;
    auto fixed = StringAttr::get(module.getContext(),
                                 "ompi_mpi_op_" + name.drop_front(strlen("ompi_mpi_")));
    if (failed(SymbolTable::replaceAllSymbolUses(global, fixed, module)))
      return global.emitError("amp-cpu-collectives-to-mpi: cannot rename ")
             << name << " to " << fixed << " (OpenMPI's name for the reduction op)";
    if (symbols.lookup(fixed)) {
      global.erase();
      continue;
    }
    symbols.setSymbolName(global, fixed);
  }
  return success();
}

namespace {
struct CPUCollectivesToMPIPass
    : public ampc::impl::AMPCPUCollectivesToMPIBase<CPUCollectivesToMPIPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<amp::AllReduceInPlaceOp> buckets;
    module.walk([&](amp::AllReduceInPlaceOp op) { buckets.push_back(op); });
    if (buckets.empty())
      return markAllAnalysesPreserved();
    auto map = dyn_cast_or_null<DLTIQueryInterface>(module->getAttr(DLTIDialect::kMapAttrName));
    if (!map || failed(map.query(StringAttr::get(&getContext(), "MPI:Implementation")))) {
      buckets.front().emitError(
          "amp-cpu-collectives-to-mpi: the module does not say which MPI to call: add "
          "dlti.map = #dlti.map<\"MPI:Implementation\" = \"OpenMPI\"> (or \"MPICH\") to it, "
          "as amp-data-parallel does");
      return signalPassFailure();
    }
    auto commType = mpi::CommType::get(&getContext());
    for (amp::AllReduceInPlaceOp op : buckets) {
      OpBuilder b(op);
      Value comm = mpi::CommWorldOp::create(b, op.getLoc(), commType);
      mpi::AllReduceOp::create(b, op.getLoc(), TypeRange{}, op.getBuffer(), op.getBuffer(),
                               toMPI(op.getKind()), comm);
      op.erase();
      ++numCalls;
    }
    // To LLVM now, with the upstream patterns, so that OpenMPI's symbols
    // can be put right; memrefs meet the calls through casts that the
    // memref lowering later resolves.
    LLVMTypeConverter converter(&getContext());
    RewritePatternSet patterns(&getContext());
    mpi::populateMPIToLLVMConversionPatterns(converter, patterns);
    ConversionTarget target(getContext());
    target.addIllegalDialect<mpi::MPIDialect>();
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    if (failed(applyPartialConversion(module, target, std::move(patterns))))
      return signalPassFailure();
    if (auto name = dyn_cast<StringAttr>(
            *map.query(StringAttr::get(&getContext(), "MPI:Implementation")));
        name && name.getValue() == "OpenMPI" && failed(fixOpenMPIOpSymbols(module)))
      return signalPassFailure();
  }
};
} // namespace
