//===- MasterWeights.cpp - the amp-master-weights pass ----------------------===//

#include "ampc/Training/Passes.h"
#include "ampc/Training/TrainingStep.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/MapVector.h"

namespace ampc {
#define GEN_PASS_DEF_AMPMASTERWEIGHTS
#include "ampc/Training/Passes.h.inc"
} // namespace ampc

using namespace mlir;
using namespace ampc;
using amp::Role;

namespace {
struct MasterWeightsPass : public ampc::impl::AMPMasterWeightsBase<MasterWeightsPass> {
  using AMPMasterWeightsBase::AMPMasterWeightsBase;

  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>()) {
      if (!isTrainingStep(func))
        continue;
      FailureOr<TrainingStep> step = verifyTrainingStep(func);
      if (failed(step))
        return signalPassFailure();
      processStep(*step);
    }
  }

  void processStep(TrainingStep &step) {
    func::FuncOp func = step.func;
    DenseMap<Value, Operation *> optimizerOf;
    for (Operation *opt : step.optimizers)
      optimizerOf[getOptimizerParam(opt)] = opt;
    SmallVector<BlockArgument> params;
    for (BlockArgument arg : func.getArguments())
      if (amp::getArgumentRole(func, arg.getArgNumber()) == Role::param)
        params.push_back(arg);

    for (BlockArgument param : params) {
      // One cast per low type, right after the definition (the entry block's
      // start), shared by every user.
      llvm::MapVector<Type, amp::CastOp> copies;
      for (Operation *user : llvm::make_early_inc_range(param.getUsers())) {
        auto cast = dyn_cast<amp::CastOp>(user);
        if (!cast)
          continue;
        auto [it, inserted] = copies.try_emplace(cast.getType(), cast);
        if (inserted) {
          cast->moveBefore(&param.getOwner()->front());
          continue;
        }
        cast.replaceAllUsesWith(it->second.getResult());
        cast.erase();
        ++numMerged;
      }
      numCopies += copies.size();
      if (!persistentCopies)
        continue;
      if (copies.size() > 1) {
        emitWarning(param.getLoc())
            << "param #" << param.getArgNumber() << " is used in " << copies.size()
            << " low precisions; only its first copy is kept as step state";
      }
      if (copies.empty())
        continue;
      amp::CastOp cast = copies.front().second;
      Operation *opt = optimizerOf.lookup(param);
      BlockArgument copy =
          addStateArgument(step, cast.getType(), Role::param_copy, cast.getLoc());
      // Which param it copies, for whoever starts or reloads the state.
      OpBuilder attrs(step.func.getContext());
      step.func.setArgAttr(copy.getArgNumber(), amp::AMPDialect::kCopyOfAttrName,
                           attrs.getI64IntegerAttr(param.getArgNumber()));
      if (auto name = step.func.getArgAttrOfType<StringAttr>(param.getArgNumber(),
                                                             amp::AMPDialect::kNameAttrName))
        step.func.setArgAttr(copy.getArgNumber(), amp::AMPDialect::kNameAttrName,
                             attrs.getStringAttr(name.getValue() + ".copy"));
      cast.replaceAllUsesWith(copy);
      cast.erase();
      // Refresh the copy from the updated master.
      OpBuilder builder(opt->getContext());
      builder.setInsertionPointAfter(opt);
      auto refreshed = amp::CastOp::create(builder, opt->getLoc(), copy.getType(),
                                           opt->getResult(0));
      setStateResult(step, copy, refreshed);
    }
  }
};
} // namespace
