//===- Pipelines.h - named ampc pipelines -------------------------*- C++ -*-===//

#ifndef AMPC_PIPELINES_PIPELINES_H
#define AMPC_PIPELINES_PIPELINES_H

#include "ampc/Dialect/AMP/IR/AMP.h"
#include "ampc/Training/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

namespace ampc {

/// Options of amp-pipeline: one set for verify, autocast, master weights,
/// loss scaling and cleanup.
struct AMPPipelineOptions : public mlir::PassPipelineOptions<AMPPipelineOptions> {
  Option<amp::Precision> computeType{
      *this, "compute-type", llvm::cl::desc("Low precision: f16 or bf16"),
      llvm::cl::init(amp::Precision::f16),
      llvm::cl::values(clEnumValN(amp::Precision::f16, "f16", "IEEE half"),
                       clEnumValN(amp::Precision::f16, "fp16", "alias of f16"),
                       clEnumValN(amp::Precision::bf16, "bf16", "bfloat16"))};
  Option<amp::Precision> accumulateType{
      *this, "accumulate-type", llvm::cl::desc("Accumulator of low matmuls: f32 or the compute type"),
      llvm::cl::init(amp::Precision::f32),
      llvm::cl::values(clEnumValN(amp::Precision::f32, "f32", "single"),
                       clEnumValN(amp::Precision::f32, "fp32", "alias of f32"),
                       clEnumValN(amp::Precision::f16, "f16", "half"),
                       clEnumValN(amp::Precision::f16, "fp16", "alias of f16"),
                       clEnumValN(amp::Precision::bf16, "bf16", "bfloat16"))};
  ListOption<std::string> hyperparameters{
      *this, "hyperparameters",
      llvm::cl::desc("Optimizer hyperparameters made run-time step inputs (amp-hyperparameters)")};
  Option<bool> keepDisagreeingHyperparameters{
      *this, "keep-disagreeing-hyperparameters",
      llvm::cl::desc("A hyperparameter optimizer ops disagree on stays compiled in (a warning)"),
      llvm::cl::init(false)};
  Option<std::string> policy{*this, "policy", llvm::cl::desc("Policy file (YAML or JSON)")};
  Option<std::string> report{*this, "report", llvm::cl::desc("Write autocast's JSON decision record here")};
  enum class LossScalingChoice { Auto, None, Static, Dynamic };
  Option<LossScalingChoice> lossScaling{
      *this, "loss-scaling",
      llvm::cl::desc("none, static, dynamic, or auto (dynamic for f16, none for bf16)"),
      llvm::cl::init(LossScalingChoice::Auto),
      llvm::cl::values(clEnumValN(LossScalingChoice::Auto, "auto", "dynamic for f16, none for bf16"),
                       clEnumValN(LossScalingChoice::None, "none", "no loss scaling"),
                       clEnumValN(LossScalingChoice::Static, "static", "a fixed scale"),
                       clEnumValN(LossScalingChoice::Dynamic, "dynamic", "GradScaler's dynamic scale"))};
  Option<double> scale{*this, "scale", llvm::cl::desc("Static loss scale"), llvm::cl::init(65536.0)};
  Option<double> initScale{*this, "init-scale", llvm::cl::desc("Initial dynamic scale"),
                           llvm::cl::init(65536.0)};
  Option<double> growthFactor{*this, "growth-factor", llvm::cl::init(2.0)};
  Option<double> backoffFactor{*this, "backoff-factor", llvm::cl::init(0.5)};
  Option<int64_t> growthInterval{*this, "growth-interval", llvm::cl::init(2000)};
  Option<double> minScale{*this, "min-scale", llvm::cl::desc("Lower clamp of the dynamic scale (0: none)"),
                          llvm::cl::init(0.0)};
  Option<double> maxScale{*this, "max-scale", llvm::cl::desc("Upper clamp of the dynamic scale (0: none)"),
                          llvm::cl::init(0.0)};
  Option<double> clipGradNorm{*this, "clip-grad-norm",
                              llvm::cl::desc("Clip gradients to this global norm (0: off)"),
                              llvm::cl::init(0.0)};
  Option<double> clipGradNormType{*this, "clip-grad-norm-type",
                                  llvm::cl::desc("The norm of clip-grad-norm: 2, 1 or inf"),
                                  llvm::cl::init(2.0)};
  Option<double> clipGradValue{*this, "clip-grad-value",
                               llvm::cl::desc("Clamp gradients to [-V, V] (0: off)"),
                               llvm::cl::init(0.0)};
  Option<bool> reportFoundInf{*this, "report-found-inf",
                              llvm::cl::desc("Loss-scaled steps return a found_inf result"),
                              llvm::cl::init(true)};
  Option<bool> persistentCopies{*this, "persistent-copies",
                                llvm::cl::desc("Low-precision param copies as step state"),
                                llvm::cl::init(false)};

  Option<bool> gradAccumulation{
      *this, "grad-accumulation",
      llvm::cl::desc("Also emit <step>_accumulate and <step>_apply for k micro-batches per update"),
      llvm::cl::init(false)};

  enum class DataParallelChoice { None, MPI };
  Option<DataParallelChoice> dataParallel{
      *this, "data-parallel",
      llvm::cl::desc("none, or mpi: all-reduce gradients across MPI ranks in every step "
                     "(amp-data-parallel)"),
      llvm::cl::init(DataParallelChoice::None),
      llvm::cl::values(clEnumValN(DataParallelChoice::None, "none", "one process"),
                       clEnumValN(DataParallelChoice::MPI, "mpi", "MPI ranks (CPU)"))};
  Option<double> bucketCapMb{*this, "bucket-cap-mb",
                             llvm::cl::desc("Largest all-reduce bucket in MiB (data-parallel)"),
                             llvm::cl::init(25.0)};
  Option<std::string> mpiImplementation{
      *this, "mpi-implementation",
      llvm::cl::desc("The MPI ABI a data-parallel step calls: OpenMPI or MPICH"),
      llvm::cl::init("OpenMPI")};

  /// The loss-scaling mode, resolving `auto` from the compute type.
  LossScalingMode getLossScalingMode() const;
};

/// Adds amp-hyperparameters for `names` (nothing when empty).
void addHyperparametersPass(mlir::OpPassManager &pm, llvm::ArrayRef<std::string> names,
                            bool keepDisagreeing);
/// Adds amp-clip-gradients (nothing when both limits are 0).
void addClipGradientsPass(mlir::OpPassManager &pm, double maxNorm, double normType,
                          double maxValue);

/// amp-pipeline: verify -> autocast -> master-weights -> loss-scaling ->
/// [clip] -> [grad-accumulation] -> [data-parallel] -> cast-cleanup.
void buildAMPPipeline(mlir::OpPassManager &pm, const AMPPipelineOptions &options);

/// amp-ingest: brings ampc.torch's aten ops and TOSA (mixed with linalg or
/// not) into the linalg form autocast works on, then canonicalizes.
void buildIngestPipeline(mlir::OpPassManager &pm);

/// Registers every ampc pipeline with the global pass registry: amp-ingest,
/// amp-pipeline, and the lowerings of lib/Codegen (amp-lower-to-cpu,
/// amp-lower-to-cuda).
void registerPipelines();

} // namespace ampc

#endif // AMPC_PIPELINES_PIPELINES_H
