//===- ampc.cpp - the ampc ahead-of-time compiler driver --------------------===//
//
//   ampc IN.mlir -o OUT [--target=cpu] [--precision=fp32|fp16|bf16]
//        [--loss-scaling=auto|none|static|dynamic] [--policy=FILE]
//        [--emit=mlir|llvm|asm|obj|shared] [--opt-level=0..3 | -O<n>]
//        [--print-pipeline] [--time-passes] [--mlir-timing]
//        [--mlir-print-ir-after-all] [other MLIR debugging flags]
//
//===----------------------------------------------------------------------===//

#include "ampc/Compiler/Compiler.h"
#include "ampc/InitAll.h"
#include "ampc/Training/TrainingStep.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/Timing.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "llvm/Pass.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace ampc;
namespace cl = llvm::cl;

enum class PrecisionFlag { FP32, FP16, BF16 };

static cl::OptionCategory category("ampc options");
static cl::opt<std::string> inputFile(cl::Positional, cl::desc("<input.mlir>"), cl::Required,
                                      cl::cat(category));
static cl::opt<std::string> outputFile("o", cl::desc("Output file ('-' for stdout, text only)"),
                                       cl::value_desc("file"), cl::Required, cl::cat(category));
static cl::opt<Target> target("target", cl::desc("Target"), cl::init(Target::CPU),
                              cl::values(clEnumValN(Target::CPU, "cpu", "the host CPU"),
                                         clEnumValN(Target::CUDA, "cuda", "NVIDIA GPUs (cuBLASLt GEMMs + generated kernels)")),
                              cl::cat(category));
static cl::opt<PrecisionFlag> precision(
    "precision",
    cl::desc("Compute precision (default: fp16 for training steps, with dynamic loss scaling; "
             "bf16 for forward-only modules)"),
    cl::init(PrecisionFlag::FP16),
    cl::values(clEnumValN(PrecisionFlag::FP32, "fp32", "the unchanged FP32 step (baseline)"),
               clEnumValN(PrecisionFlag::FP32, "f32", "alias of fp32"),
               clEnumValN(PrecisionFlag::FP16, "fp16", "f16 compute, f32 masters"),
               clEnumValN(PrecisionFlag::FP16, "f16", "alias of fp16"),
               clEnumValN(PrecisionFlag::BF16, "bf16", "bf16 compute, f32 masters")),
    cl::cat(category));
static cl::opt<AMPPipelineOptions::LossScalingChoice> lossScaling(
    "loss-scaling", cl::desc("Loss scaling"),
    cl::init(AMPPipelineOptions::LossScalingChoice::Auto),
    cl::values(clEnumValN(AMPPipelineOptions::LossScalingChoice::Auto, "auto",
                          "dynamic for fp16, none for bf16"),
               clEnumValN(AMPPipelineOptions::LossScalingChoice::None, "none", "none"),
               clEnumValN(AMPPipelineOptions::LossScalingChoice::Static, "static", "a fixed scale"),
               clEnumValN(AMPPipelineOptions::LossScalingChoice::Dynamic, "dynamic",
                          "GradScaler's dynamic scale")),
    cl::cat(category));
static cl::opt<double> lossScale("loss-scale", cl::value_desc("S"),
                                 cl::desc("Static loss scale (implies --loss-scaling=static)"),
                                 cl::cat(category));
static cl::opt<double> lossScaleInit("loss-scale-init", cl::value_desc("S"),
                                     cl::desc("Initial dynamic scale (GradScaler init_scale, 65536)"),
                                     cl::cat(category));
static cl::opt<double> lossScaleGrowthFactor(
    "loss-scale-growth-factor", cl::value_desc("F"),
    cl::desc("Dynamic scale growth factor (GradScaler growth_factor, 2)"), cl::cat(category));
static cl::opt<double> lossScaleBackoff(
    "loss-scale-backoff", cl::value_desc("F"),
    cl::desc("Dynamic scale backoff factor (GradScaler backoff_factor, 0.5)"), cl::cat(category));
static cl::opt<int64_t> lossScaleGrowthInterval(
    "loss-scale-growth-interval", cl::value_desc("N"),
    cl::desc("Finite steps between growths (GradScaler growth_interval, 2000)"),
    cl::cat(category));
static cl::opt<double> lossScaleMin("loss-scale-min", cl::value_desc("S"),
                                    cl::desc("Lower clamp of the dynamic scale (0: none)"),
                                    cl::cat(category));
static cl::opt<double> lossScaleMax("loss-scale-max", cl::value_desc("S"),
                                    cl::desc("Upper clamp of the dynamic scale (0: none)"),
                                    cl::cat(category));
static cl::opt<double> clipGradNorm(
    "clip-grad-norm", cl::value_desc("MAX"),
    cl::desc("Clip the unscaled gradients to this global norm (torch.nn.utils.clip_grad_norm_)"),
    cl::cat(category));
static cl::opt<std::string> clipGradNormType("clip-grad-norm-type", cl::value_desc("2|1|inf"),
                                             cl::desc("The norm of --clip-grad-norm (default 2)"),
                                             cl::init("2"), cl::cat(category));
static cl::opt<double> clipGradValue(
    "clip-grad-value", cl::value_desc("V"),
    cl::desc("Clamp the unscaled gradients to [-V, V] (torch.nn.utils.clip_grad_value_)"),
    cl::cat(category));
static cl::list<std::string> hyperparameters(
    "hyperparameters", cl::value_desc("names"), cl::CommaSeparated,
    cl::desc("Optimizer hyperparameters the step takes as run-time inputs (default lr; any of "
             "lr, weight_decay, momentum, beta1, beta2, eps; 'none' for compiled constants)"),
    cl::cat(category));
static cl::opt<std::string> policy("policy", cl::desc("Precision policy file (YAML or JSON)"),
                                   cl::value_desc("file"), cl::cat(category));
static cl::opt<std::string> report("report", cl::desc("Write autocast's JSON decision record"),
                                   cl::value_desc("file"), cl::cat(category));
static cl::opt<bool> persistentCopies("persistent-copies",
                                      cl::desc("Keep low-precision param copies as step state"),
                                      cl::cat(category));
static cl::opt<bool> gradAccumulation("grad-accumulation",
                                      cl::desc("Also export <step>_accumulate and <step>_apply"),
                                      cl::cat(category));
enum class DataParallel { None, MPI };
static cl::opt<DataParallel> dataParallel(
    "data-parallel", cl::desc("Train on several processes (docs/distributed.md)"),
    cl::init(DataParallel::None),
    cl::values(clEnumValN(DataParallel::None, "none", "one process"),
               clEnumValN(DataParallel::MPI, "mpi",
                          "MPI ranks under mpirun: gradients all-reduced inside the step")),
    cl::cat(category));
static cl::opt<double> bucketCapMb("bucket-cap-mb",
                                   cl::desc("Largest all-reduce bucket in MiB (default 25, as "
                                            "DDP's bucket_cap_mb)"),
                                   cl::init(25.0), cl::cat(category));
static cl::opt<std::string> mpiImplementation(
    "mpi-implementation", cl::desc("The MPI ABI to call: OpenMPI (default, Debian's) or MPICH"),
    cl::init("OpenMPI"), cl::cat(category));
static cl::opt<std::string> train(
    "train", cl::ValueOptional, cl::value_desc("options"),
    cl::desc("Build the training step from a forward function first (amp-differentiate; "
             "e.g. --train=\"loss=cross-entropy optimizer=adam lr=1e-3\")"),
    cl::cat(category));
static cl::opt<Emit> emit("emit", cl::desc("What to write"), cl::init(Emit::Shared),
                          cl::values(clEnumValN(Emit::MLIR, "mlir", "mixed-precision MLIR"),
                                     clEnumValN(Emit::LLVM, "llvm", "LLVM IR"),
                                     clEnumValN(Emit::Assembly, "asm", "native assembly"),
                                     clEnumValN(Emit::Object, "obj", "an object file"),
                                     clEnumValN(Emit::Shared, "shared",
                                                "a shared library and its JSON manifest"),
                                     clEnumValN(Emit::PTX, "ptx", "PTX of the GPU kernels (--target=cuda)"),
                                     clEnumValN(Emit::Cubin, "cubin",
                                                "the GPU kernels as cubin (--target=cuda; needs ptxas)")),
                          cl::cat(category));
static cl::opt<unsigned> optLevel("opt-level", cl::desc("Optimization level 0-3 (also -O<n>)"),
                                  cl::init(2), cl::cat(category));
static cl::alias optLevelShort("O", cl::desc("Alias for --opt-level"), cl::aliasopt(optLevel),
                               cl::Prefix, cl::cat(category));
static cl::opt<std::string> cpu(
    "cpu", cl::value_desc("name"), cl::init("native"),
    cl::desc("CPU of the generated host code: native (this machine's CPU and every ISA "
             "extension it has, clang's -march=native) or an LLVM CPU name (x86-64, "
             "x86-64-v3, sapphirerapids, ...)"),
    cl::cat(category));
static cl::opt<std::string> cpuFeatures(
    "cpu-features", cl::value_desc("+f,-g"),
    cl::desc("ISA extensions to add (+) or remove (-) on top of --cpu, as clang's -mattr "
             "(e.g. +avx512bf16,-avx512fp16)"),
    cl::cat(category));
static cl::opt<CpuGemm> cpuGemm(
    "cpu-gemm", cl::desc("Matmuls and convolutions of --target=cpu"), cl::init(CpuGemm::OneDNN),
    cl::values(clEnumValN(CpuGemm::OneDNN, "onednn",
                          "oneDNN through ampc's CPU runtime (AMX, AVX512-BF16/FP16, AVX2 "
                          "kernels chosen at run time)"),
               clEnumValN(CpuGemm::Native, "native",
                          "generated register tiles (the reference; needs no runtime)")),
    cl::cat(category));
static cl::opt<std::string> cudaChip("cuda-chip", cl::desc("GPU architecture for --target=cuda"),
                                     cl::init("sm_90"), cl::cat(category));
static cl::opt<std::string> ptxFeatures("ptx-features", cl::desc("PTX ISA features for --target=cuda"),
                                        cl::init("+ptx80"), cl::cat(category));
static cl::opt<bool> printPipeline("print-pipeline", cl::desc("Print the pass pipelines"),
                                   cl::cat(category));

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  // libLLVM registers an undocumented --threads of its own; ampc's takes
  // the name (registered here, after the rename, not at static init).
  if (cl::Option *llvmThreads = cl::getRegisteredOptions().lookup("threads"))
    llvmThreads->setArgStr("llvm-threads");
  static cl::opt<unsigned> threadCount(
      "threads", cl::value_desc("N"), cl::init(0),
      cl::desc("Threads of a CPU library's parallel loops and oneDNN calls (0: all cores, or "
               "OMP_NUM_THREADS; the Python loader's set_threads changes it at run time)"),
      cl::cat(category));
  // The usual MLIR debugging flags, shown in --help under their own
  // heading: IR printing around passes, pass timing and statistics,
  // locations in printed IR, single-threaded compiles.
  // Registered first: the pipelines are built partly from registered
  // upstream passes, and --mlir-print-ir-after=<pass> names one.
  ampc::registerAllPasses();
  registerMLIRContextCLOptions();
  registerPassManagerCLOptions();
  registerDefaultTimingManagerCLOptions();
  registerAsmPrinterCLOptions();
  static cl::OptionCategory mlirCategory("MLIR debugging options");
  for (StringRef name : {"mlir-timing", "mlir-timing-display", "mlir-print-ir-after-all",
                         "mlir-print-ir-before-all", "mlir-print-ir-after", "mlir-print-ir-before",
                         "mlir-print-ir-after-change", "mlir-print-ir-after-failure",
                         "mlir-print-ir-module-scope", "mlir-print-debuginfo",
                         "mlir-pass-statistics", "mlir-disable-threading",
                         "mlir-elide-elementsattrs-if-larger"})
    if (cl::Option *option = cl::getRegisteredOptions().lookup(name))
      option->addCategory(mlirCategory);
  cl::HideUnrelatedOptions({&category, &mlirCategory});
  if (auto *option = cl::getRegisteredOptions().lookup("time-passes")) {
    option->setDescription("Time every pass (MLIR and LLVM)");
    option->addCategory(category);
  }
  cl::ParseCommandLineOptions(argc, argv, "ampc: ahead-of-time mixed-precision compiler\n");
  // llvm::cl lets the last of repeated options win; a compiler should not
  // guess which of --precision=fp16 --precision=bf16 was meant.
  for (auto &entry : cl::getRegisteredOptions()) {
    cl::Option *option = entry.second;
    if (option->getNumOccurrences() > 1 && llvm::is_contained(option->Categories, &category) &&
        option->getNumOccurrencesFlag() != cl::ZeroOrMore &&
        option->getNumOccurrencesFlag() != cl::OneOrMore) {
      llvm::errs() << "ampc: -" << (option->ArgStr.size() > 1 ? "-" : "") << option->ArgStr
                   << " is given " << option->getNumOccurrences() << " times; give it once\n";
      return 1;
    }
  }
  if (optLevel > 3) {
    llvm::errs() << "ampc: -O" << optLevel << " is not a valid optimization level (0-3)\n";
    return 1;
  }

  DialectRegistry registry;
  ampc::registerAllDialects(registry);
  registerAllToLLVMIRTranslations(registry);
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  // A diagnostic names the user's source line; the lowered op it was raised
  // on (say, a gpu.module of thousands of lines) would bury it.
  context.printOpOnDiagnostic(false);

  std::string error;
  std::unique_ptr<llvm::MemoryBuffer> input = openInputFile(inputFile, &error);
  if (!input) {
    llvm::errs() << "ampc: " << error << "\n";
    return 1;
  }
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(std::move(input), llvm::SMLoc());
  SourceMgrDiagnosticHandler diagnostics(sourceMgr, &context);
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sourceMgr, &context);
  if (!module)
    return 1;

  CompilerOptions options;
  options.target = target;
  // Without --precision: a training step gets fp16 with GradScaler's dynamic
  // scaling (PyTorch's CUDA autocast recipe); a forward-only module, which
  // has no loss to scale, gets bf16 (f32's range, nothing to scale).
  PrecisionFlag chosen = precision;
  if (!precision.getNumOccurrences() && !train.getNumOccurrences() &&
      llvm::none_of(module->getOps<func::FuncOp>(), isTrainingStep))
    chosen = PrecisionFlag::BF16;
  if (chosen == PrecisionFlag::FP16)
    options.precision = amp::Precision::f16;
  else if (chosen == PrecisionFlag::BF16)
    options.precision = amp::Precision::bf16;
  options.lossScaling = lossScaling;
  auto given = [](auto &flag) { return flag.getNumOccurrences() > 0; };
  if (given(lossScale))
    options.lossScale = lossScale;
  if (given(lossScaleInit))
    options.initScale = lossScaleInit;
  if (given(lossScaleGrowthFactor))
    options.growthFactor = lossScaleGrowthFactor;
  if (given(lossScaleBackoff))
    options.backoffFactor = lossScaleBackoff;
  if (given(lossScaleGrowthInterval))
    options.growthInterval = lossScaleGrowthInterval;
  if (given(lossScaleMin))
    options.minScale = lossScaleMin;
  if (given(lossScaleMax))
    options.maxScale = lossScaleMax;
  if (given(clipGradNorm)) {
    if (!(clipGradNorm > 0) || std::isinf(clipGradNorm)) {
      llvm::errs() << "ampc: --clip-grad-norm=" << llvm::format("%g", double(clipGradNorm))
                   << ": needs a finite value > 0\n";
      return 1;
    }
    options.clipGradNorm = clipGradNorm;
  }
  if (given(clipGradNormType)) {
    StringRef type = clipGradNormType;
    if (type == "inf")
      options.clipGradNormType = std::numeric_limits<double>::infinity();
    else if (type == "1" || type == "2")
      options.clipGradNormType = type == "1" ? 1.0 : 2.0;
    else {
      llvm::errs() << "ampc: --clip-grad-norm-type=" << type << ": expected 2, 1 or inf\n";
      return 1;
    }
    if (!given(clipGradNorm)) {
      llvm::errs() << "ampc: --clip-grad-norm-type needs --clip-grad-norm\n";
      return 1;
    }
  }
  if (given(clipGradValue)) {
    if (!(clipGradValue > 0) || std::isinf(clipGradValue)) {
      llvm::errs() << "ampc: --clip-grad-value=" << llvm::format("%g", double(clipGradValue))
                   << ": needs a finite value > 0\n";
      return 1;
    }
    options.clipGradValue = clipGradValue;
  }
  if (given(hyperparameters)) {
    options.hyperparameters.emplace();
    for (const std::string &name : hyperparameters)
      if (name != "none")
        options.hyperparameters->push_back(name);
  }
  options.policyFile = policy;
  options.reportFile = report;
  options.persistentCopies = persistentCopies;
  options.gradAccumulation = gradAccumulation;
  if ((given(bucketCapMb) || given(mpiImplementation)) && dataParallel != DataParallel::MPI) {
    llvm::errs() << "ampc: --" << (given(bucketCapMb) ? "bucket-cap-mb" : "mpi-implementation")
                 << " needs --data-parallel=mpi\n";
    return 1;
  }
  options.dataParallel = dataParallel == DataParallel::MPI;
  options.bucketCapMb = bucketCapMb;
  options.mpiImplementation = mpiImplementation;
  if (train.getNumOccurrences())
    options.trainOptions = train;
  options.emit = emit;
  options.optLevel = optLevel;
  options.printPipeline = printPipeline;
  options.cpu = cpu;
  options.cpuFeatures = cpuFeatures;
  options.cpuGemm = cpuGemm;
  options.threads = threadCount;
  options.cuda.chip = cudaChip;
  options.cuda.features = ptxFeatures;
  // LLVM already defines --time-passes (llvm::TimePassesIsEnabled); ampc
  // reads it and times its MLIR passes too.
  options.timePasses = llvm::TimePassesIsEnabled;
  options.outputPath = outputFile;
  for (int i = 0; i < argc; ++i)
    options.commandLine += (i ? " " : "") + std::string(argv[i]);
  return failed(compile(*module, inputFile, options)) ? 1 : 0;
}
