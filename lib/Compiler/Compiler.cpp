//===- Compiler.cpp - the ampc ahead-of-time compiler -----------------------===//

#include "ampc/Compiler/Compiler.h"

#include "ampc/Transforms/Passes.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Host.h"

using namespace mlir;
using namespace ampc;

namespace {
/// Writes a file so that it appears whole or not at all: into a temporary
/// next to the destination, renamed over it on success.
class AtomicOutput {
public:
  static FailureOr<AtomicOutput> create(Location loc, StringRef path) {
    llvm::Expected<llvm::sys::fs::TempFile> temp =
        llvm::sys::fs::TempFile::create(path + ".tmp-%%%%%%");
    if (!temp) {
      std::string message = llvm::toString(temp.takeError());
      return emitError(loc) << "ampc: cannot write '" << path << "': " << message;
    }
    return AtomicOutput(std::move(*temp), path, loc);
  }
  StringRef tempPath() const { return temp->TmpName; }
  int fd() const { return temp->FD; }
  LogicalResult keep() {
    if (llvm::Error err = temp->keep(path))
      return emitError(loc) << "ampc: cannot write '" << path
                            << "': " << llvm::toString(std::move(err));
    temp.reset();
    return success();
  }
  AtomicOutput(AtomicOutput &&) = default;
  ~AtomicOutput() {
    if (temp)
      llvm::consumeError(temp->discard());
  }

private:
  AtomicOutput(llvm::sys::fs::TempFile temp, StringRef path, Location loc)
      : temp(std::move(temp)), path(path.str()), loc(loc) {}
  std::optional<llvm::sys::fs::TempFile> temp;
  std::string path;
  Location loc;
};
} // namespace

/// Writes `text` to `path` ("-": stdout) atomically.
static LogicalResult writeText(Location loc, StringRef path,
                               llvm::function_ref<void(raw_ostream &)> write) {
  if (path == "-") {
    write(llvm::outs());
    llvm::outs().flush();
    return success();
  }
  FailureOr<AtomicOutput> out = AtomicOutput::create(loc, path);
  if (failed(out))
    return failure();
  {
    llvm::raw_fd_ostream os(out->fd(), /*shouldClose=*/false);
    write(os);
    os.flush();
    if (os.has_error())
      return emitError(loc) << "ampc: error writing '" << path << "'";
  }
  return out->keep();
}

static void configurePassManager(PassManager &pm, const CompilerOptions &options) {
  if (options.timePasses)
    pm.enableTiming();
}

static std::unique_ptr<llvm::TargetMachine> createHostTargetMachine(Location loc,
                                                                    unsigned optLevel) {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  std::string triple = llvm::sys::getDefaultTargetTriple();
  std::string error;
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(llvm::Triple(triple), error);
  if (!target) {
    emitError(loc) << "ampc: no LLVM target for '" << triple << "': " << error;
    return nullptr;
  }
  llvm::CodeGenOptLevel level = optLevel == 0   ? llvm::CodeGenOptLevel::None
                                : optLevel == 1 ? llvm::CodeGenOptLevel::Less
                                : optLevel == 2 ? llvm::CodeGenOptLevel::Default
                                                : llvm::CodeGenOptLevel::Aggressive;
  std::unique_ptr<llvm::TargetMachine> machine(target->createTargetMachine(
      llvm::Triple(triple), llvm::sys::getHostCPUName(), /*Features=*/"",
      llvm::TargetOptions(), llvm::Reloc::PIC_, std::nullopt, level));
  if (!machine)
    emitError(loc) << "ampc: cannot create a target machine for '" << triple << "'";
  return machine;
}

/// Native code for the lowered module, as assembly or an object file.
static LogicalResult emitNative(Location loc, llvm::Module &module,
                                llvm::TargetMachine &machine, llvm::CodeGenFileType type,
                                llvm::raw_pwrite_stream &os) {
  llvm::legacy::PassManager codegen;
  if (machine.addPassesToEmitFile(codegen, os, nullptr, type))
    return emitError(loc) << "ampc: the target cannot emit this file type";
  codegen.run(module);
  os.flush();
  return success();
}

/// The same into `path`, atomically.
static LogicalResult emitNativeFile(Location loc, llvm::Module &module,
                                    llvm::TargetMachine &machine, llvm::CodeGenFileType type,
                                    StringRef path) {
  FailureOr<AtomicOutput> out = AtomicOutput::create(loc, path);
  if (failed(out))
    return failure();
  {
    llvm::raw_fd_ostream os(out->fd(), /*shouldClose=*/false);
    if (failed(emitNative(loc, module, machine, type, os)))
      return failure();
    if (os.has_error())
      return emitError(loc) << "ampc: error writing '" << path << "'";
  }
  return out->keep();
}

/// Links an object file into a shared library with the system's C compiler.
static LogicalResult linkShared(Location loc, StringRef object, StringRef output) {
  llvm::ErrorOr<std::string> cc = llvm::sys::findProgramByName("cc");
  if (!cc)
    return emitError(loc) << "ampc: no system C compiler ('cc') to link a shared "
                             "library; use --emit=obj and link it yourself";
  SmallVector<StringRef> args{*cc, "-shared", "-o", output, object, "-lm"};
  std::string error;
  int rc = llvm::sys::ExecuteAndWait(*cc, args, std::nullopt, {}, 0, 0, &error);
  if (rc != 0)
    return emitError(loc) << "ampc: linking '" << output << "' failed"
                          << (error.empty() ? "" : ": " + error);
  return success();
}

/// Device code for NVIDIA GPUs: every kernel's PTX, one gpu.module after the
/// other, from LLVM's NVPTX target.
static LogicalResult emitPTX(ModuleOp module, const CompilerOptions &options) {
  PassManager pm(module.getContext());
  configurePassManager(pm, options);
  buildNVVMLoweringPipeline(pm, options.cuda);
  if (options.printPipeline) {
    llvm::errs() << "ampc nvvm lowering: ";
    pm.printAsTextualPipeline(llvm::errs());
    llvm::errs() << "\n";
  }
  if (failed(pm.run(module)))
    return failure();
  std::string ptx;
  llvm::raw_string_ostream os(ptx);
  module.walk([&](gpu::BinaryOp binary) {
    for (Attribute attr : binary.getObjects())
      if (auto object = dyn_cast<gpu::ObjectAttr>(attr))
        os << "// ampc: gpu.module @" << binary.getSymName() << "\n" << object.getObject().getValue() << "\n";
  });
  if (ptx.empty())
    return module.emitError("ampc: the module has no GPU kernels to emit");
  return writeText(module.getLoc(), options.outputPath, [&](raw_ostream &out) { out << ptx; });
}

LogicalResult ampc::compile(ModuleOp module, StringRef inputPath,
                            const CompilerOptions &options) {
  MLIRContext *ctx = module.getContext();
  Location loc = module.getLoc();
  if (options.target == Target::CUDA && options.emit != Emit::PTX && options.emit != Emit::MLIR)
    return emitError(loc) << "ampc: --target=cuda emits --emit=ptx or --emit=mlir so far; "
                             "CUDA shared libraries need the CUDA runtime, which is not there yet";
  if (options.target == Target::CPU && options.emit == Emit::PTX)
    return emitError(loc) << "ampc: --emit=ptx needs --target=cuda";
  bool binary = options.emit == Emit::Object || options.emit == Emit::Shared;
  if (binary && options.outputPath == "-")
    return emitError(loc) << "ampc: binary output needs -o FILE";

  // 1. Mixed precision (or, for fp32, the contract check alone). TOSA models
  // are brought to linalg first, like amp-opt --amp-ingest.
  PassManager amp(ctx);
  configurePassManager(amp, options);
  bool hasTosa = module.walk([](Operation *op) {
                         return op->getDialect() &&
                                        op->getDialect()->getNamespace() == "tosa"
                                    ? WalkResult::interrupt()
                                    : WalkResult::advance();
                       }).wasInterrupted();
  if (hasTosa)
    buildIngestPipeline(amp);
  if (options.precision) {
    AMPPipelineOptions pipeline;
    pipeline.computeType = *options.precision;
    pipeline.lossScaling = options.lossScaling;
    pipeline.policy = options.policyFile;
    pipeline.report = options.reportFile;
    pipeline.persistentCopies = options.persistentCopies;
    pipeline.gradAccumulation = options.gradAccumulation;
    buildAMPPipeline(amp, pipeline);
  } else {
    amp.addPass(createAMPVerifyTrainingStep());
    if (options.gradAccumulation)
      amp.addPass(createAMPGradAccumulation());
  }
  PassManager lower(ctx);
  configurePassManager(lower, options);
  buildCPULoweringPipeline(lower);
  if (options.printPipeline) {
    llvm::errs() << "ampc mixed precision: ";
    amp.printAsTextualPipeline(llvm::errs());
    llvm::errs() << "\nampc cpu lowering: ";
    lower.printAsTextualPipeline(llvm::errs());
    llvm::errs() << "\n";
  }
  if (failed(amp.run(module)))
    return failure();
  if (options.emit == Emit::MLIR)
    return writeText(loc, options.outputPath, [&](raw_ostream &os) { module.print(os); });

  if (options.emit == Emit::PTX)
    return emitPTX(module, options);

  // The manifest describes the tensor-level signatures, before lowering.
  std::string manifest;
  if (options.emit == Emit::Shared) {
    FailureOr<std::string> built = buildManifest(module, inputPath, options);
    if (failed(built))
      return failure();
    manifest = std::move(*built);
  }

  // 2. Lower to the LLVM dialect, then to LLVM IR.
  if (failed(lower.run(module)))
    return failure();
  // Name the first op the CPU back end could not lower, where the user wrote it.
  WalkResult unsupported = module.walk([&](Operation *op) {
    if (op == module.getOperation() || isa<UnrealizedConversionCastOp>(op) ||
        op->getDialect()->getNamespace() == "llvm")
      return WalkResult::advance();
    op->emitError("ampc: '") << op->getName() << "' is not supported by the CPU back end";
    return WalkResult::interrupt();
  });
  if (unsupported.wasInterrupted())
    return failure();
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule = translateModuleToLLVMIR(module, llvmContext);
  if (!llvmModule)
    return emitError(loc) << "ampc: translation to LLVM IR failed";
  std::unique_ptr<llvm::TargetMachine> machine = createHostTargetMachine(loc, options.optLevel);
  if (!machine)
    return failure();
  llvmModule->setDataLayout(machine->createDataLayout());
  llvmModule->setTargetTriple(machine->getTargetTriple());
  auto optimize = makeOptimizingTransformer(options.optLevel, /*sizeLevel=*/0, machine.get());
  if (llvm::Error err = optimize(llvmModule.get()))
    return emitError(loc) << "ampc: LLVM optimization failed: " << llvm::toString(std::move(err));

  switch (options.emit) {
  case Emit::LLVM:
    return writeText(loc, options.outputPath, [&](raw_ostream &os) { llvmModule->print(os, nullptr); });
  case Emit::Assembly:
    // Binary output to stdout was refused above; assembly may go there.
    if (options.outputPath == "-")
      return emitNative(loc, *llvmModule, *machine, llvm::CodeGenFileType::AssemblyFile,
                        llvm::outs());
    return emitNativeFile(loc, *llvmModule, *machine, llvm::CodeGenFileType::AssemblyFile,
                          options.outputPath);
  case Emit::Object:
    return emitNativeFile(loc, *llvmModule, *machine, llvm::CodeGenFileType::ObjectFile,
                          options.outputPath);
  case Emit::Shared: {
    SmallString<128> objectPath;
    int objectFd;
    if (std::error_code ec = llvm::sys::fs::createTemporaryFile("ampc", "o", objectFd, objectPath))
      return emitError(loc) << "ampc: cannot create a temporary object file: " << ec.message();
    llvm::FileRemover removeObject(objectPath);
    {
      // Owns (and closes) the descriptor before the linker reads the file.
      llvm::raw_fd_ostream object(objectFd, /*shouldClose=*/true);
      if (failed(emitNative(loc, *llvmModule, *machine, llvm::CodeGenFileType::ObjectFile, object)))
        return failure();
      if (object.has_error())
        return emitError(loc) << "ampc: error writing the temporary object file";
    }
    FailureOr<AtomicOutput> library = AtomicOutput::create(loc, options.outputPath);
    if (failed(library) || failed(linkShared(loc, objectPath, library->tempPath())))
      return failure();
    // Manifest first: a library never appears without its manifest.
    if (failed(writeText(loc, options.outputPath + ".json",
                         [&](raw_ostream &os) { os << manifest; })))
      return failure();
    return library->keep();
  }
  case Emit::MLIR:
  case Emit::PTX:
    break;
  }
  llvm_unreachable("unhandled emit kind");
}
