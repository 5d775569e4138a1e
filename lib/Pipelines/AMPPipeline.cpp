//===- AMPPipeline.cpp - the amp-pipeline -----------------------------------===//

#include "ampc/Pipelines/Pipelines.h"
#include "ampc/Precision/Passes.h"
#include "ampc/Training/Passes.h"


using namespace mlir;

void ampc::addHyperparametersPass(OpPassManager &pm, ArrayRef<std::string> names,
                                  bool keepDisagreeing) {
  if (names.empty())
    return;
  AMPHyperparametersOptions hyper;
  hyper.inputs.assign(names.begin(), names.end());
  hyper.keepDisagreeing = keepDisagreeing;
  pm.addPass(createAMPHyperparameters(hyper));
}

void ampc::addClipGradientsPass(OpPassManager &pm, double maxNorm, double normType,
                                double maxValue) {
  if (maxNorm == 0.0 && maxValue == 0.0)
    return;
  AMPClipGradientsOptions clip;
  clip.maxNorm = maxNorm;
  clip.normType = normType;
  clip.maxValue = maxValue;
  pm.addPass(createAMPClipGradients(clip));
}

void ampc::buildAMPPipeline(OpPassManager &pm, const AMPPipelineOptions &options) {
  // Check the contract first, so every later pass may rely on it.
  pm.addPass(createAMPVerifyTrainingStep());
  // Scheduled hyperparameters become inputs before any pass clones the step.
  addHyperparametersPass(pm, SmallVector<std::string>(options.hyperparameters.begin(),
                                                       options.hyperparameters.end()),
                         options.keepDisagreeingHyperparameters);
  // Paint the graph with the policy; inserts amp.cast at boundaries.
  AMPAutocastOptions autocast;
  autocast.computeType = options.computeType;
  autocast.accumulateType = options.accumulateType;
  autocast.policyFile = options.policy;
  autocast.reportFile = options.report;
  pm.addPass(createAMPAutocast(autocast));
  // One compute copy per f32 master param (optionally as step state).
  pm.addPass(createAMPMasterWeights({options.persistentCopies}));
  // Loss scaling after the copies exist, so skipped steps keep them too.
  AMPLossScalingOptions scaling;
  scaling.mode = options.getLossScalingMode();
  scaling.scale = options.scale;
  scaling.initScale = options.initScale;
  scaling.growthFactor = options.growthFactor;
  scaling.backoffFactor = options.backoffFactor;
  scaling.growthInterval = options.growthInterval;
  scaling.minScale = options.minScale;
  scaling.reportFoundInf = options.reportFoundInf;
  scaling.maxScale = options.maxScale;
  // auto means "scale the training step if there is one": a forward-only
  // module is not a mistake then.
  scaling.warnWithoutStep = options.lossScaling != AMPPipelineOptions::LossScalingChoice::Auto;
  pm.addPass(createAMPLossScaling(scaling));
  // Clipping reads the unscaled gradients, as clip_grad_norm_ after
  // scaler.unscale_ in a PyTorch loop.
  addClipGradientsPass(pm, options.clipGradNorm, options.clipGradNormType, options.clipGradValue);
  // Split into accumulate/apply steps once the step is complete.
  if (options.gradAccumulation)
    pm.addPass(createAMPGradAccumulation());
  // Gradients summed across ranks where they are complete: after the
  // split, so that accumulating micro-batches communicate nothing.
  if (options.dataParallel == AMPPipelineOptions::DataParallelChoice::MPI) {
    AMPDataParallelOptions parallel;
    parallel.bucketCapMb = options.bucketCapMb;
    parallel.mpiImplementation = options.mpiImplementation;
    pm.addPass(createAMPDataParallel(parallel));
  }
  // Fold what the passes above left: constant weights, round trips.
  pm.addPass(createAMPCastCleanup());
}

ampc::LossScalingMode ampc::AMPPipelineOptions::getLossScalingMode() const {
  switch (lossScaling) {
  case LossScalingChoice::None:
    return LossScalingMode::None;
  case LossScalingChoice::Static:
    return LossScalingMode::Static;
  case LossScalingChoice::Dynamic:
    return LossScalingMode::Dynamic;
  case LossScalingChoice::Auto:
    break;
  }
  // f16 needs a scaler; bf16 has f32's exponent range and does not.
  return computeType == amp::Precision::f16 ? LossScalingMode::Dynamic
                                            : LossScalingMode::None;
}
