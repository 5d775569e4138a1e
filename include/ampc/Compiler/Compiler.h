//===- Compiler.h - the ampc ahead-of-time compiler ---------------*- C++ -*-===//
//
// Library code behind the `ampc` tool: mixed-precision passes, lowering, and
// emission of MLIR, LLVM IR, assembly, object files or shared libraries with
// a JSON manifest of their entry points.
//
//===----------------------------------------------------------------------===//

#ifndef AMPC_COMPILER_COMPILER_H
#define AMPC_COMPILER_COMPILER_H

#include "ampc/Codegen/CPU/Passes.h"
#include "ampc/Codegen/GPU/Passes.h"
#include "ampc/Pipelines/Pipelines.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/JSON.h"

#include <optional>
#include <string>

namespace ampc {

enum class Target { CPU, CUDA };
enum class CpuGemm { OneDNN, Native };
enum class Emit { MLIR, LLVM, Assembly, Object, Shared, PTX, Cubin };

struct CompilerOptions {
  Target target = Target::CPU;
  /// std::nullopt: FP32, the unchanged step (the baseline).
  std::optional<amp::Precision> precision;
  AMPPipelineOptions::LossScalingChoice lossScaling =
      AMPPipelineOptions::LossScalingChoice::Auto;
  /// Loss-scaler knobs (ampc --loss-scale*); unset: the pass defaults,
  /// which are GradScaler's.
  std::optional<double> lossScale, initScale, growthFactor, backoffFactor, minScale, maxScale;
  std::optional<int64_t> growthInterval;
  /// Optimizer hyperparameters that become run-time inputs of the step
  /// (amp-hyperparameters): "lr", "weight_decay", "momentum", "beta1", ...
  /// Unset: lr on the CPU; none on CUDA, whose runtime does not pass them yet.
  std::optional<std::vector<std::string>> hyperparameters;
  /// Gradient clipping (amp-clip-gradients); 0: off.
  double clipGradNorm = 0.0, clipGradNormType = 2.0, clipGradValue = 0.0;
  std::string policyFile;
  std::string reportFile;
  bool persistentCopies = false;
  bool gradAccumulation = false;
  /// Data parallelism over MPI ranks (amp-data-parallel; CPU only).
  bool dataParallel = false;
  double bucketCapMb = 25.0;
  std::string mpiImplementation = "OpenMPI";
  /// Set: build the training step from a forward function first, with these
  /// amp-differentiate options ("" for the defaults).
  std::optional<std::string> trainOptions;
  Emit emit = Emit::Shared;
  unsigned optLevel = 2;
  /// The CPU the generated host code is for: "native" (this machine's CPU
  /// and every ISA extension it has, as clang's -march=native) or an LLVM CPU
  /// name ("x86-64-v3", "sapphirerapids"), with `cpuFeatures` ("+avx2,-fma",
  /// clang's -mattr) applied on top.
  std::string cpu = "native";
  std::string cpuFeatures;
  /// CPU matmuls and convolutions: oneDNN (runtime/cpu) or generated tiles.
  CpuGemm cpuGemm = CpuGemm::OneDNN;
  /// Threads of a CPU library (0: all cores / OMP_NUM_THREADS).
  unsigned threads = 0;
  /// CUDA target: the GPU architecture and PTX ISA features.
  CUDALoweringOptions cuda;
  bool printPipeline = false;
  bool timePasses = false;
  /// Where the output goes; "-" is stdout (text outputs only).
  std::string outputPath;
  /// Command line recorded in the manifest, for reproducible builds.
  std::string commandLine;
};

/// Compiles `module` (parsed from `inputPath`) as the options say. Every
/// failure is a located diagnostic; nothing is written unless compilation
/// succeeds, and outputs appear atomically.
mlir::LogicalResult compile(mlir::ModuleOp module, llvm::StringRef inputPath,
                            const CompilerOptions &options);

/// Whether `options` name outputs ampc may write: a regular file or a new
/// one ("-", stdout, for text only), never the input; for shared libraries
/// the manifest next to it too. Checked before any work.
mlir::LogicalResult checkOutputs(mlir::Location loc, llvm::StringRef inputPath,
                                 const CompilerOptions &options);

/// The manifest of a module's entry points (public functions with bodies):
/// argument/result order, roles, shapes, element types, initial values.
/// `module` must still have tensor-level signatures.
mlir::FailureOr<llvm::json::Object> buildManifest(mlir::ModuleOp module,
                                                  llvm::StringRef inputPath,
                                                  const CompilerOptions &options);

} // namespace ampc

#endif // AMPC_COMPILER_COMPILER_H
