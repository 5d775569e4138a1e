//===- Compiler.cpp - the ampc ahead-of-time compiler -----------------------===//

#include "ampc/Compiler/Compiler.h"

#include <cfloat>
#include <cmath>

#include "HostTarget.h"
#include "ParallelCodegen.h"

#include "ampc/Codegen/CPU/Passes.h"
#include "ampc/Training/Passes.h"
#include "ampc/Dialect/AMP/IR/AMP.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/Timing.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/SHA256.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/Threading.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/Transforms/Utils/Cloning.h"
#include "llvm/Transforms/Utils/ModuleUtils.h"

#include <cstdlib>
#include <optional>

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

/// The usual MLIR flags of a tool that registered them (ampc's driver does:
/// --mlir-print-ir-after-all, ...).
static LogicalResult configurePassManager(Location loc, PassManager &pm) {
  if (failed(applyPassManagerCLOptions(pm)))
    return emitError(loc) << "ampc: bad pass manager options";
  return success();
}

/// Runs `pm` on `module`, timed as `name` under `parent`.
static LogicalResult runTimed(PassManager &pm, ModuleOp module, TimingScope &parent,
                              StringRef name) {
  TimingScope scope = parent.nest(name);
  pm.enableTiming(scope);
  return pm.run(module);
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

/// Whether `module` calls MLIR's runner utilities: the printing and timing
/// routines (vector.print, printMemref*, rtclock) benchmark harnesses leave
/// in model IR.
static bool callsRunnerUtils(const llvm::Module &module) {
  for (const llvm::Function &function : module.functions()) {
    if (!function.isDeclaration())
      continue;
    StringRef name = function.getName();
    if (name.starts_with("print") || name.starts_with("_mlir_ciface_printMemref") ||
        name == "rtclock")
      return true;
  }
  return false;
}

/// `fileName` in the lib folder next to the ampc binary (bin/../lib), where
/// an installed ampc keeps its runtimes; empty when it is not there.
static std::string libraryNextToAmpc(StringRef fileName) {
  std::string executable = llvm::sys::fs::getMainExecutable(nullptr, nullptr);
  if (executable.empty())
    return "";
  SmallString<256> path(llvm::sys::path::parent_path(llvm::sys::path::parent_path(executable)));
  llvm::sys::path::append(path, "lib", fileName);
  return llvm::sys::fs::exists(path) ? std::string(path) : "";
}

/// `fileName` next to ampc first, else `builtPath` (where the build put
/// it) when that exists; empty otherwise.
static std::string findRuntimeLibrary(StringRef fileName, StringRef builtPath) {
  std::string installed = libraryNextToAmpc(fileName);
  if (!installed.empty())
    return installed;
  return llvm::sys::fs::exists(builtPath) ? builtPath.str() : "";
}

/// The support library every ampc library links (runtime/cpu): next to the
/// ampc binary (bin/../lib) first, else where the build put it.
static std::string findSupportLibrary() {
  std::string installed = libraryNextToAmpc("libampc_cpu_support.a");
  return installed.empty() ? AMPC_CPU_SUPPORT_LIBRARY : installed;
}

/// The symbols a failed link reports as undefined, in the order it names them.
static SmallVector<std::string> undefinedSymbols(StringRef linkerOutput) {
  SmallVector<std::string> symbols;
  SmallVector<StringRef> lines;
  linkerOutput.split(lines, '\n');
  for (StringRef line : lines) {
    size_t at = line.find("undefined reference to `");
    if (at == StringRef::npos)
      continue;
    std::string symbol = line.substr(at + 24).take_until([](char c) { return c == '\''; }).str();
    if (!llvm::is_contained(symbols, symbol))
      symbols.push_back(symbol);
  }
  return symbols;
}

/// Links an object file into a shared library with the system's C compiler,
/// with ampc's support library, libm and `runtime` (a shared library) when
/// given: found next to the output first ($ORIGIN), then where it was at
/// link time. Undefined symbols are link errors (-z defs): a library that
/// could not be loaded is never written.
static LogicalResult linkShared(Location loc, ArrayRef<std::string> objects, StringRef output,
                                ArrayRef<std::string> runtimes, bool runnerUtils, bool profiler,
                                SmallVectorImpl<std::string> &undefined) {
  llvm::ErrorOr<std::string> cc = llvm::sys::findProgramByName("cc");
  if (!cc)
    return emitError(loc) << "ampc: no system C compiler ('cc') to link a shared "
                             "library; use --emit=obj and link it yourself";
  std::string support = findSupportLibrary();
  SmallVector<std::string> owned = {support};
  // The CPU check is kept even though no generated code calls it: the
  // loader does.
  // -Bsymbolic: the library's calls to its own functions bind inside it. A
  // step named like a libc function (`step`, glibc's regexp step()) would
  // otherwise call libc's.
  SmallVector<StringRef> args{*cc, "-shared", "-o", output};
  args.append(objects.begin(), objects.end());
  args.push_back("-Wl,-u,ampc_cpu_missing_feature");
  // The step profiler's entry points, also in a library without profile
  // points (Python's profile() then reports nothing rather than failing).
  if (profiler)
    args.push_back("-Wl,-u,ampc_profile_enable");
  args.append({owned[0], "-lm", "-Wl,-z,defs", "-Wl,-Bsymbolic"});
  if (!runtimes.empty()) {
    std::string rpath = "-Wl,-rpath,$ORIGIN";
    for (const std::string &runtime : runtimes) {
      StringRef dir = llvm::sys::path::parent_path(runtime);
      if (!StringRef(rpath).contains((":" + dir).str()))
        rpath += (":" + dir).str();
    }
    owned.append(runtimes.begin(), runtimes.end());
    owned.push_back(rpath);
    // `owned` does not grow from here: its strings stay where args point.
    for (size_t i = 1; i < owned.size(); ++i)
      args.push_back(owned[i]);
  }
  if (runnerUtils) {
    for (StringRef arg : {"-L" AMPC_LLVM_LIBRARY_DIR, "-lmlir_runner_utils",
                          "-lmlir_c_runner_utils", "-Wl,-rpath," AMPC_LLVM_LIBRARY_DIR})
      args.push_back(arg);
  }
  SmallString<128> logPath;
  if (std::error_code ec = llvm::sys::fs::createTemporaryFile("ampc-link", "log", logPath))
    return emitError(loc) << "ampc: cannot create a temporary file: " << ec.message();
  llvm::FileRemover removeLog(logPath);
  std::optional<StringRef> redirects[] = {std::nullopt, StringRef(logPath), StringRef(logPath)};
  std::string error;
  int rc = llvm::sys::ExecuteAndWait(*cc, args, std::nullopt, redirects, 0, 0, &error);
  if (rc == 0)
    return success();
  std::string log;
  if (llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buffer = llvm::MemoryBuffer::getFile(logPath))
    log = (*buffer)->getBuffer().trim().str();
  undefined = undefinedSymbols(log);
  if (!undefined.empty())
    return failure(); // The caller names them where the module declares them.
  return emitError(loc) << "ampc: linking '" << output << "' failed"
                        << (error.empty() ? "" : ": " + error) << (log.empty() ? "" : ":\n" + log);
}

namespace {
/// Where the CUDA toolkit's pieces are; either may be empty.
struct CudaToolkit {
  std::string ptxas;
  /// The directory holding nvvm/libdevice (what MLIR calls the toolkit path).
  std::string root;
};
} // namespace

static bool hasLibDevice(StringRef root) {
  SmallString<256> path(root);
  llvm::sys::path::append(path, "nvvm", "libdevice", "libdevice.10.bc");
  return llvm::sys::fs::exists(path);
}

/// The CUDA toolkit: ptxas on PATH, else under the first toolkit directory
/// ($CUDA_HOME, $CUDA_PATH, the directory above a ptxas found on PATH, with
/// symbolic links resolved, /usr/local/cuda). The toolkit directory must hold
/// libdevice: a ptxas on PATH may be a wrapper script outside the toolkit.
static CudaToolkit findCudaToolkit() {
  CudaToolkit toolkit;
  SmallVector<std::string> roots;
  for (const char *variable : {"CUDA_HOME", "CUDA_PATH"})
    if (const char *value = std::getenv(variable); value && *value)
      roots.push_back(value);
  if (llvm::ErrorOr<std::string> onPath = llvm::sys::findProgramByName("ptxas")) {
    toolkit.ptxas = *onPath;
    SmallString<256> real;
    if (!llvm::sys::fs::real_path(*onPath, real))
      roots.push_back(llvm::sys::path::parent_path(llvm::sys::path::parent_path(real)).str());
  }
  roots.push_back("/usr/local/cuda");
  for (const std::string &root : roots) {
    SmallString<256> ptxas(root);
    llvm::sys::path::append(ptxas, "bin", "ptxas");
    if (toolkit.ptxas.empty() && llvm::sys::fs::can_execute(ptxas))
      toolkit.ptxas = std::string(ptxas);
    if (toolkit.root.empty() && hasLibDevice(root))
      toolkit.root = root;
  }
  return toolkit;
}

/// The first libdevice function that PTX declares but does not define, as in
/// `.extern .func  (.param .b32 func_retval0) __nv_expf(`.
static std::optional<StringRef> firstLibDeviceCall(StringRef ptx) {
  SmallVector<StringRef> lines;
  ptx.split(lines, '\n');
  for (StringRef line : lines) {
    if (!line.trim().starts_with(".extern .func"))
      continue;
    size_t at = line.find("__nv_");
    if (at != StringRef::npos)
      return line.substr(at).take_until([](char c) { return c == '(' || c == ' ' || c == ';'; });
  }
  return std::nullopt;
}

/// The ampc CUDA runtime library next to the ampc binary (build tree:
/// bin/ampc and lib/libampc_cuda_runtime.so); "" when not built.
static std::string findCudaRuntime() {
  std::string executable = llvm::sys::fs::getMainExecutable(nullptr, nullptr);
  if (executable.empty())
    return "";
  SmallString<256> path(llvm::sys::path::parent_path(llvm::sys::path::parent_path(executable)));
  llvm::sys::path::append(path, "lib", "libampc_cuda_runtime.so");
  return llvm::sys::fs::exists(path) ? std::string(path) : "";
}

/// The ampc CPU runtime (oneDNN GEMMs and convolutions, the OpenMP thread
/// count) next to the ampc binary first, else where the build put it; and
/// the OpenMP runtime it and the generated parallel loops share.
static std::string findCpuRuntime() {
  return findRuntimeLibrary("libampc_cpu_runtime.so", AMPC_CPU_RUNTIME_LIBRARY);
}

/// Whether a CPU module calls into the CPU runtime or the OpenMP runtime.
static bool callsCpuRuntime(const llvm::Module &module) {
  for (const llvm::Function &function : module.functions()) {
    if (!function.isDeclaration())
      continue;
    StringRef name = function.getName();
    if (name.starts_with("ampc_cpu_gemm") || name.starts_with("ampc_cpu_conv2d") ||
        name.starts_with("ampc_cpu_set_threads") || name.starts_with("__kmpc_") ||
        name.starts_with("omp_"))
      return true;
  }
  return false;
}

/// Whether a CPU module calls MPI (a data-parallel step).
static bool callsMPI(const llvm::Module &module) {
  for (const llvm::Function &function : module.functions())
    if (function.isDeclaration() &&
        (function.getName().starts_with("MPI_") || function.getName().starts_with("ampc_mpi_")))
      return true;
  return false;
}

/// ampc's MPI runtime: next to ampc (bin/../lib) first, else where the build
/// put it; empty when ampc was built without MPI.
static std::string findMPIRuntime() {
#ifdef AMPC_MPI_RUNTIME_LIBRARY
  return findRuntimeLibrary("libampc_cpu_mpi.so", AMPC_MPI_RUNTIME_LIBRARY);
#else
  return "";
#endif
}

/// For every exported C entry point `_mlir_ciface_<f>(p0, ..., pn)`, a
/// `_mlir_packed_<f>(void **ps)` calling it with ps[0..n]: a caller that
/// cannot pass more than a few hundred arguments (ctypes stops at 1024; a
/// MobileNet step takes more) passes one array.
static void addPackedEntryPoints(llvm::Module &module, ArrayRef<std::string> names) {
  llvm::LLVMContext &context = module.getContext();
  auto *ptr = llvm::PointerType::getUnqual(context);
  for (const std::string &name : names) {
    llvm::Function *entry = module.getFunction("_mlir_ciface_" + name);
    if (!entry)
      continue;
    auto *packed = llvm::Function::Create(
        llvm::FunctionType::get(llvm::Type::getVoidTy(context), {ptr}, false),
        llvm::GlobalValue::ExternalLinkage, "_mlir_packed_" + name, module);
    llvm::IRBuilder<> builder(llvm::BasicBlock::Create(context, "entry", packed));
    SmallVector<llvm::Value *> args;
    for (unsigned i = 0, e = entry->arg_size(); i < e; ++i) {
      llvm::Value *slot = builder.CreateConstInBoundsGEP1_64(ptr, packed->getArg(0), i);
      args.push_back(builder.CreateLoad(ptr, slot));
    }
    builder.CreateCall(entry, args);
    builder.CreateRetVoid();
  }
}

/// A constructor that sets the library's thread count when it is loaded.
/// The functions a CPU library exports (the steps, their C wrappers and
/// packed entry points) hold glue once amp-cpu-outline-kernels has moved
/// every loop nest into a kernel of its own: allocations, calls into the
/// kernels and oneDNN, frees. They are compiled without optimization (and
/// with LLVM's fast instruction selector): a ResNet's step is one basic
/// block of thousands of instructions, where -O2's instruction selection
/// spends most of a compile, and its instructions run once per step.
///
/// Each step's body moves into its C wrapper (`_mlir_ciface_<name>`, what
/// the manifest and the packed entry point call), which reads the memref
/// descriptors where the body uses them: the wrapper had called the step
/// with every descriptor field as an argument, thousands of them, and that
/// one call cost more code generation than the whole step. The step
/// itself, which nothing in the library calls any more, is dropped.
static void compileGlueFast(llvm::Module &module) {
  for (llvm::Function &wrapper : module) {
    StringRef name = wrapper.getName();
    if (wrapper.isDeclaration() || !name.consume_front("_mlir_ciface_"))
      continue;
    llvm::Function *step = module.getFunction(name);
    if (!step || step->isDeclaration())
      continue;
    SmallVector<llvm::CallBase *> calls;
    for (llvm::User *user : step->users())
      if (auto *call = dyn_cast<llvm::CallBase>(user);
          call && call->getFunction() == &wrapper && call->getCalledFunction() == step)
        calls.push_back(call);
    for (llvm::CallBase *call : calls) {
      llvm::InlineFunctionInfo info;
      (void)llvm::InlineFunction(*call, info);
    }
  }
  SmallVector<llvm::Function *> dropped;
  for (llvm::Function &function : module) {
    if (function.isDeclaration() || function.hasLocalLinkage())
      continue;
    if (!function.getName().starts_with("_mlir_") && function.use_empty() &&
        module.getFunction(("_mlir_ciface_" + function.getName()).str()))
      dropped.push_back(&function);
    function.addFnAttr(llvm::Attribute::OptimizeNone);
    function.addFnAttr(llvm::Attribute::NoInline);
  }
  for (llvm::Function *function : dropped)
    function->eraseFromParent();
}

/// The manifest's "profile_points": amp-cpu-profile-points' dictionaries.
static llvm::json::Array profilePointsJson(ArrayAttr points) {
  llvm::json::Array array;
  for (auto point : points.getAsRange<DictionaryAttr>()) {
    llvm::json::Object entry;
    for (NamedAttribute field : point) {
      if (auto text = dyn_cast<StringAttr>(field.getValue()))
        entry[field.getName().getValue()] = text.getValue().str();
      else if (auto flag = dyn_cast<BoolAttr>(field.getValue()))
        entry[field.getName().getValue()] = flag.getValue();
    }
    array.push_back(std::move(entry));
  }
  return array;
}

/// The step profiler's table (see runtime/cpu/ampc_cpu_profile.c): two
/// zero-initialised counters per point, and their number.
static void addProfileTable(llvm::Module &module, uint64_t points) {
  llvm::Type *i64 = llvm::Type::getInt64Ty(module.getContext());
  auto *tableType = llvm::ArrayType::get(i64, 2 * points);
  auto *table = new llvm::GlobalVariable(module, tableType, /*isConstant=*/false,
                                         llvm::GlobalValue::ExternalLinkage,
                                         llvm::ConstantAggregateZero::get(tableType),
                                         "ampc_profile_totals");
  auto *count = new llvm::GlobalVariable(module, i64, /*isConstant=*/true,
                                         llvm::GlobalValue::ExternalLinkage,
                                         llvm::ConstantInt::get(i64, points),
                                         "ampc_profile_point_count");
  for (llvm::GlobalVariable *global : {table, count})
    global->setVisibility(llvm::GlobalValue::HiddenVisibility);
}

static void addThreadsConstructor(llvm::Module &module, unsigned threads) {
  llvm::LLVMContext &context = module.getContext();
  llvm::Type *i32 = llvm::Type::getInt32Ty(context);
  llvm::FunctionCallee setThreads = module.getOrInsertFunction(
      "ampc_cpu_set_threads", llvm::FunctionType::get(llvm::Type::getVoidTy(context), {i32}, false));
  auto *ctor = llvm::Function::Create(llvm::FunctionType::get(llvm::Type::getVoidTy(context), false),
                                      llvm::GlobalValue::InternalLinkage,
                                      "ampc_library_set_threads", module);
  llvm::IRBuilder<> builder(llvm::BasicBlock::Create(context, "entry", ctor));
  builder.CreateCall(setThreads, {builder.getInt32(threads)});
  builder.CreateRetVoid();
  llvm::appendToGlobalCtors(module, ctor, /*Priority=*/65535);
}

/// The kernels of a lowered CUDA module: the object of its one gpu.binary.
static FailureOr<StringRef> kernelObject(ModuleOp module) {
  SmallVector<gpu::BinaryOp> binaries(module.getOps<gpu::BinaryOp>());
  if (binaries.empty())
    return module.emitError("ampc: the module has no GPU kernels to emit");
  if (binaries.size() > 1)
    return module.emitError("ampc: expected one kernel binary, found ") << binaries.size();
  for (Attribute attr : binaries.front().getObjects())
    if (auto object = dyn_cast<gpu::ObjectAttr>(attr))
      return object.getObject().getValue();
  return module.emitError("ampc: the kernel binary holds no object");
}

/// Sets `ampc.state_pairs` on every training step (see amp-gpu-in-place-state).
static void markStatePairs(ModuleOp module) {
  for (auto func : module.getOps<func::FuncOp>()) {
    if (!func->hasAttr(amp::AMPDialect::kTrainingStepAttrName))
      continue;
    SmallVector<int64_t> stateArgs, stateResults;
    for (unsigned i = 0, e = func.getNumArguments(); i < e; ++i)
      if (std::optional<amp::Role> role = amp::getArgumentRole(func, i); role && amp::isMutableRole(*role))
        stateArgs.push_back(i);
    for (unsigned i = 0, e = func.getNumResults(); i < e; ++i)
      if (std::optional<amp::Role> role = amp::getResultRole(func, i); role && amp::isMutableRole(*role))
        stateResults.push_back(func.getNumArguments() + i);
    if (stateArgs.empty() || stateArgs.size() != stateResults.size())
      continue;
    SmallVector<int64_t> pairs;
    for (auto [arg, out] : llvm::zip(stateArgs, stateResults)) {
      pairs.push_back(arg);
      pairs.push_back(out);
    }
    func->setAttr("ampc.state_pairs", DenseI64ArrayAttr::get(module.getContext(), pairs));
  }
}

/// Sets `"in_place_state"` in the manifest's entry of every function: true
/// where amp-gpu-in-place-state accepted it (`ampc.in_place_state` on the
/// lowered function).
static void reportInPlaceState(ModuleOp module, llvm::json::Object &manifest) {
  for (llvm::json::Value &entry : *manifest.getArray("functions")) {
    llvm::json::Object *function = entry.getAsObject();
    std::optional<StringRef> name = function->getString("name");
    auto lowered = name ? module.lookupSymbol<LLVM::LLVMFuncOp>(*name) : nullptr;
    (*function)["in_place_state"] = lowered && lowered->hasAttr("ampc.in_place_state");
  }
}

LogicalResult ampc::checkOutputs(Location loc, StringRef inputPath,
                                 const CompilerOptions &options) {
  StringRef output = options.outputPath;
  if (output.empty())
    return emitError(loc) << "ampc: -o needs a file name";
  if (output == "-")
    return success();
  auto check = [&](StringRef path) -> LogicalResult {
    llvm::sys::fs::file_status status;
    if (llvm::sys::fs::status(path, status)) {
      // A new file: its folder must exist.
      StringRef dir = llvm::sys::path::parent_path(path);
      if (!dir.empty() && !llvm::sys::fs::is_directory(dir))
        return emitError(loc) << "ampc: cannot write '" << path << "': no folder '" << dir << "'";
      return success();
    }
    if (status.type() != llvm::sys::fs::file_type::regular_file)
      return emitError(loc) << "ampc: '" << path
                            << "' exists and is not a regular file (a folder or a device); "
                               "ampc writes regular files only";
    bool same = false;
    if (inputPath != "-" && !llvm::sys::fs::equivalent(path, inputPath, same) && same)
      return emitError(loc) << "ampc: '" << path << "' is the input file; choose another output";
    return success();
  };
  if (failed(check(output)))
    return failure();
  if (options.emit == Emit::Shared)
    return check((output + ".json").str());
  return success();
}

/// The GPU architecture and PTX features of a CUDA compile, as the NVPTX
/// target knows them (LLVM would only warn about unknown ones).
static LogicalResult checkCudaTarget(Location loc, const CUDALoweringOptions &cuda) {
  llvm::InitializeAllTargetInfos();
  llvm::InitializeAllTargetMCs();
  llvm::Triple triple("nvptx64-nvidia-cuda");
  std::string error;
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return emitError(loc) << "ampc: this LLVM has no NVPTX target: " << error;
  std::unique_ptr<llvm::MCSubtargetInfo> info(target->createMCSubtargetInfo(triple, "", ""));
  if (!info->isCPUStringValid(cuda.chip))
    return emitError(loc) << "ampc: --cuda-chip=" << cuda.chip
                          << ": not a GPU architecture the NVPTX target knows (sm_80, sm_90, ...)";
  SmallVector<StringRef> items;
  StringRef(cuda.features).split(items, ',', -1, /*KeepEmpty=*/false);
  for (StringRef item : items) {
    StringRef name = item.trim().drop_front();
    bool known = llvm::any_of(info->getAllProcessorFeatures(),
                              [&](const llvm::SubtargetFeatureKV &kv) { return name == kv.Key; });
    if ((!item.trim().starts_with("+") && !item.trim().starts_with("-")) || !known)
      return emitError(loc) << "ampc: --ptx-features=" << cuda.features << ": '" << item.trim()
                            << "' is not +FEATURE or -FEATURE with a PTX feature the NVPTX "
                               "target knows (such as +ptx80)";
  }
  return success();
}

/// The dynamic-scaler flags the command line gave.
static SmallVector<StringRef> givenDynamicScalerFlags(const CompilerOptions &options) {
  SmallVector<StringRef> flags;
  if (options.initScale)
    flags.push_back("--loss-scale-init");
  if (options.growthFactor)
    flags.push_back("--loss-scale-growth-factor");
  if (options.backoffFactor)
    flags.push_back("--loss-scale-backoff");
  if (options.growthInterval)
    flags.push_back("--loss-scale-growth-interval");
  if (options.minScale)
    flags.push_back("--loss-scale-min");
  if (options.maxScale)
    flags.push_back("--loss-scale-max");
  return flags;
}

/// The loss-scaling part of amp-pipeline's options from ampc's flags; each
/// knob must fit the mode it is for.
static LogicalResult configureLossScaling(Location loc, const CompilerOptions &options,
                                          AMPPipelineOptions &pipeline) {
  using Choice = AMPPipelineOptions::LossScalingChoice;
  pipeline.lossScaling = options.lossScaling;
  // A static scale given alone asks for static scaling.
  if (options.lossScale && options.lossScaling == Choice::Auto)
    pipeline.lossScaling = Choice::Static;
  LossScalingMode mode = pipeline.getLossScalingMode();
  StringRef modeName = mode == LossScalingMode::Dynamic  ? "dynamic"
                       : mode == LossScalingMode::Static ? "static"
                                                         : "none";
  if (options.lossScale && mode != LossScalingMode::Static)
    return emitError(loc) << "ampc: --loss-scale is the fixed scale of --loss-scaling=static; "
                             "this compile's loss scaling is "
                          << modeName;
  SmallVector<StringRef> dynamicFlags = givenDynamicScalerFlags(options);
  if (!dynamicFlags.empty() && mode != LossScalingMode::Dynamic)
    return emitError(loc) << "ampc: " << dynamicFlags.front()
                          << " is an option of dynamic loss scaling; this compile's loss "
                             "scaling is "
                          << modeName << " (--loss-scaling=dynamic, or fp16's default)";
  if (options.lossScale)
    pipeline.scale = *options.lossScale;
  if (options.initScale)
    pipeline.initScale = *options.initScale;
  if (options.growthFactor)
    pipeline.growthFactor = *options.growthFactor;
  if (options.backoffFactor)
    pipeline.backoffFactor = *options.backoffFactor;
  if (options.growthInterval)
    pipeline.growthInterval = *options.growthInterval;
  if (options.minScale)
    pipeline.minScale = *options.minScale;
  if (options.maxScale)
    pipeline.maxScale = *options.maxScale;
  // The pass checks the values; checking here too names the flags. Scales
  // are f32: finite values f32 holds.
  auto finiteF32 = [](double v) { return std::isfinite(v) && std::fabs(v) <= FLT_MAX; };
  if (!(pipeline.scale > 0) || !(pipeline.initScale > 0) || !(pipeline.growthFactor > 1) ||
      !(pipeline.backoffFactor > 0 && pipeline.backoffFactor < 1) ||
      pipeline.growthInterval <= 0 || !(pipeline.minScale >= 0) || !(pipeline.maxScale >= 0) ||
      (pipeline.maxScale > 0 && pipeline.maxScale < pipeline.minScale) ||
      !finiteF32(pipeline.scale) || !finiteF32(pipeline.initScale) ||
      !finiteF32(pipeline.growthFactor) || !finiteF32(pipeline.minScale) ||
      !finiteF32(pipeline.maxScale))
    return emitError(loc) << "ampc: invalid loss-scaling options: needs --loss-scale > 0, "
                             "--loss-scale-init > 0, --loss-scale-growth-factor > 1, 0 < "
                             "--loss-scale-backoff < 1, --loss-scale-growth-interval > 0, 0 <= "
                             "--loss-scale-min <= --loss-scale-max (0: no clamp), all finite "
                             "in f32";
  return success();
}

LogicalResult ampc::compile(ModuleOp module, StringRef inputPath,
                            const CompilerOptions &options) {
  MLIRContext *ctx = module.getContext();
  Location loc = module.getLoc();
  if (failed(checkOutputs(loc, inputPath, options)))
    return failure();
  // Elided weights are found before any pass runs, where the model holds
  // them.
  if (failed(amp::verifyResourcesPresent(module)))
    return failure();
  // FP32 compiles run no mixed-precision pass: options of those passes
  // would be silently ignored.
  if (!options.precision) {
    SmallVector<StringRef> given = givenDynamicScalerFlags(options);
    if (options.lossScale)
      given.insert(given.begin(), "--loss-scale");
    if (options.lossScaling != AMPPipelineOptions::LossScalingChoice::Auto)
      given.insert(given.begin(), "--loss-scaling");
    if (!given.empty())
      return emitError(loc) << "ampc: " << given.front()
                            << " needs --precision=fp16 or bf16 (an fp32 step is compiled as "
                               "it is)";
    if (options.persistentCopies)
      return emitError(loc) << "ampc: --persistent-copies needs --precision=fp16 or bf16 (an "
                               "fp32 step has no low-precision copies)";
  }
  if (options.target == Target::CUDA && failed(checkCudaTarget(loc, options.cuda)))
    return failure();
  bool kernelsOnly = options.emit == Emit::PTX || options.emit == Emit::Cubin;
  if (options.target == Target::CPU && kernelsOnly)
    return emitError(loc) << "ampc: --emit=" << (options.emit == Emit::PTX ? "ptx" : "cubin")
                          << " needs --target=cuda";
  // Kernels as cubin when ptxas is there (loaded as they are), else as PTX
  // (compiled by the driver when the library loads).
  CUDALoweringOptions cuda = options.cuda;
  bool withoutLibDevice = false;
  if (options.target == Target::CUDA) {
    CudaToolkit toolkit = findCudaToolkit();
    withoutLibDevice = toolkit.root.empty();
    if (options.emit == Emit::Cubin && toolkit.ptxas.empty())
      return emitError(loc) << "ampc: --emit=cubin needs ptxas from the CUDA toolkit (not on "
                               "PATH, in $CUDA_HOME/bin or /usr/local/cuda/bin); --emit=ptx "
                               "needs no toolkit";
    // Without libdevice a library keeps its kernels as PTX, so that calls
    // left unresolved are named below instead of failing inside ptxas.
    bool cubin = options.emit == Emit::Cubin ||
                 (!kernelsOnly && !toolkit.ptxas.empty() && !withoutLibDevice);
    cuda.binaryFormat = cubin ? "bin" : "isa";
    // libdevice, which math ops in kernels link.
    cuda.toolkitPath = toolkit.root;
  }
  if (options.target == Target::CUDA && options.threads)
    return emitError(loc) << "ampc: --threads is for --target=cpu";
  // The NCCL all-reduce would go at the same IR point; the CUDA lowering
  // does not have it yet (docs/distributed.md).
  bool allReduces = module.walk([](amp::AllReduceOp) { return WalkResult::interrupt(); })
                        .wasInterrupted();
  if (options.target == Target::CUDA && (options.dataParallel || allReduces))
    return emitError(loc) << "ampc: data parallelism (--data-parallel=mpi, amp.all_reduce) is "
                             "for --target=cpu for now; see docs/distributed.md for the NCCL plan";
  if (options.dataParallel && (!(options.bucketCapMb > 0) || !std::isfinite(options.bucketCapMb)))
    return emitError(loc) << "ampc: --bucket-cap-mb needs a positive, finite size in MiB";
  // The host CPU is checked before any work, whatever is emitted.
  FailureOr<detail::HostTarget> host = detail::createHostTarget(loc, options);
  if (failed(host))
    return failure();
  bool binary = options.emit == Emit::Object || options.emit == Emit::Shared ||
                options.emit == Emit::Cubin;
  if (binary && options.outputPath == "-")
    return emitError(loc) << "ampc: binary output needs -o FILE";

  // Run-time hyperparameters: lr by default on the CPU. The CUDA runtime
  // passes state, batch and loss only; it has not been run with more.
  std::vector<std::string> hyperparameters;
  if (options.hyperparameters)
    hyperparameters = *options.hyperparameters;
  else if (options.target == Target::CPU)
    hyperparameters = {"lr"};
  if (options.target == Target::CUDA && (options.clipGradNorm != 0.0 || options.clipGradValue != 0.0))
    return emitError(loc) << "ampc: --clip-grad-norm and --clip-grad-value are for --target=cpu "
                             "for now (not run on a GPU yet)";
  if (options.target == Target::CUDA && !hyperparameters.empty())
    return emitError(loc) << "ampc: --hyperparameters is for --target=cpu for now (the CUDA "
                             "runtime does not pass run-time hyperparameters yet); use "
                             "--hyperparameters=none";

  // 1. Mixed precision (or, for fp32, the contract check alone). TOSA and
  // ampc.torch (aten) models are brought to linalg first, like amp-opt
  // --amp-ingest.
  // One timing report for the whole compile: both pass pipelines, LLVM's
  // code generation and the link, in that order.
  DefaultTimingManager timing;
  applyDefaultTimingManagerCLOptions(timing);
  if (options.timePasses)
    timing.setEnabled(true);
  TimingScope compileTiming = timing.getRootScope();
  PassManager amp(ctx);
  if (failed(configurePassManager(loc, amp)))
    return failure();
  bool needsIngest = module.walk([](Operation *op) {
                           StringRef dialect = op->getDialect() ? op->getDialect()->getNamespace()
                                                                : StringRef();
                           return dialect == "tosa" || dialect == "aten" ? WalkResult::interrupt()
                                                                         : WalkResult::advance();
                         }).wasInterrupted();
  if (needsIngest)
    buildIngestPipeline(amp);
  if (options.trainOptions) {
    // Calls are inlined first: the backward is built over one block. Pins
    // on callees and regions are handed to their ops before inlining moves
    // or folds them away.
    std::string text = "amp-propagate-pins,inline,amp-differentiate{" + *options.trainOptions + "}";
    std::string errors;
    llvm::raw_string_ostream errorStream(errors);
    if (failed(parsePassPipeline(text, amp, errorStream)))
      return emitError(loc) << "ampc: --train=" << *options.trainOptions << ": "
                            << StringRef(errors).trim();
  }
  if (options.precision) {
    AMPPipelineOptions pipeline;
    pipeline.computeType = *options.precision;
    if (failed(configureLossScaling(loc, options, pipeline)))
      return failure();
    pipeline.hyperparameters = ArrayRef<std::string>(hyperparameters);
    pipeline.keepDisagreeingHyperparameters = !options.hyperparameters.has_value();
    pipeline.clipGradNorm = options.clipGradNorm;
    pipeline.clipGradNormType = options.clipGradNormType;
    pipeline.clipGradValue = options.clipGradValue;
    // The CUDA runtime reads state and loss only (not yet run with more).
    pipeline.reportFoundInf = options.target == Target::CPU;
    pipeline.policy = options.policyFile;
    pipeline.report = options.reportFile;
    pipeline.persistentCopies = options.persistentCopies;
    pipeline.gradAccumulation = options.gradAccumulation;
    if (options.dataParallel)
      pipeline.dataParallel = AMPPipelineOptions::DataParallelChoice::MPI;
    pipeline.bucketCapMb = options.bucketCapMb;
    pipeline.mpiImplementation = options.mpiImplementation;
    buildAMPPipeline(amp, pipeline);
  } else {
    amp.addPass(createAMPVerifyTrainingStep());
    addHyperparametersPass(amp, hyperparameters, !options.hyperparameters.has_value());
    addClipGradientsPass(amp, options.clipGradNorm, options.clipGradNormType,
                         options.clipGradValue);
    if (options.gradAccumulation)
      amp.addPass(createAMPGradAccumulation());
    if (options.dataParallel) {
      AMPDataParallelOptions parallel;
      parallel.bucketCapMb = options.bucketCapMb;
      parallel.mpiImplementation = options.mpiImplementation;
      amp.addPass(createAMPDataParallel(parallel));
    }
  }
  PassManager lower(ctx);
  if (failed(configurePassManager(loc, lower)))
    return failure();
  if (options.target == Target::CUDA)
    buildCUDALoweringPipeline(lower, cuda);
  else {
    CPULoweringOptions cpuLowering;
    cpuLowering.libraryGemm = options.cpuGemm == CpuGemm::OneDNN;
    // vcvtneps2bf16 where the target has it; integer ops (no libgcc
    // routine) where it does not.
    cpuLowering.nativeBF16Conversions = llvm::is_contained(host->checkedFeatures, "avx512bf16");
    cpuLowering.nativeF16Gemm = llvm::is_contained(host->checkedFeatures, "avx512fp16");
    buildCPULoweringPipeline(lower, cpuLowering);
  }
  if (options.printPipeline) {
    llvm::errs() << "ampc mixed precision: ";
    amp.printAsTextualPipeline(llvm::errs());
    llvm::errs() << "\nampc " << (options.target == Target::CUDA ? "cuda" : "cpu")
                 << " lowering: ";
    lower.printAsTextualPipeline(llvm::errs());
    llvm::errs() << "\n";
  }
  if (failed(runTimed(amp, module, compileTiming, "mixed precision")))
    return failure();
  if (options.emit == Emit::MLIR)
    return writeText(loc, options.outputPath, [&](raw_ostream &os) { module.print(os); });

  // The manifest describes the tensor-level signatures, before lowering.
  llvm::json::Object manifest;
  if (options.emit == Emit::Shared) {
    FailureOr<llvm::json::Object> built = buildManifest(module, inputPath, options);
    if (failed(built))
      return failure();
    manifest = std::move(*built);
  }

  // The state each training step updates, as (argument, out-parameter)
  // pairs for amp-gpu-in-place-state: the k-th state result is written to
  // out-parameter #arguments + k and replaces the k-th state argument.
  if (options.target == Target::CUDA)
    markStatePairs(module);

  // 2. Lower to the LLVM dialect (and, for CUDA, kernels to a gpu.binary),
  // then to LLVM IR.
  {
    // With no toolkit found, MLIR's NVVM serializer still looks for libdevice
    // in its default places and reports them missing without failing; the
    // calls left unresolved are reported below, by name.
    ScopedDiagnosticHandler quietLibDeviceSearch(ctx, [&](Diagnostic &diag) {
      std::string message = diag.str();
      return success(withoutLibDevice && diag.getSeverity() == DiagnosticSeverity::Error &&
                     (StringRef(message).starts_with("LibDevice path: ") ||
                      StringRef(message).starts_with("CUDA path: ")));
    });
    if (failed(runTimed(lower, module, compileTiming, "lowering")))
      return failure();
  }
  // What the step profiler times (amp-cpu-profile-points), by id.
  std::optional<uint64_t> profilePoints;
  if (auto points = module->getAttrOfType<ArrayAttr>(kProfilePointsAttrName)) {
    if (options.emit == Emit::Shared)
      manifest["profile_points"] = profilePointsJson(points);
    profilePoints = points.size();
    module->removeAttr(kProfilePointsAttrName);
  }
  if (options.target == Target::CUDA) {
    FailureOr<StringRef> kernels = kernelObject(module);
    if (failed(kernels))
      return failure();
    // Without the toolkit's libdevice, math functions stay unresolved.
    std::optional<StringRef> unresolved = firstLibDeviceCall(*kernels);
    if (unresolved && options.emit != Emit::Cubin) {
      // PTX alone may still be linked elsewhere; a library could not load.
      if (!kernelsOnly)
        return emitError(loc) << "ampc: the kernels call libdevice's '" << *unresolved
                              << "', but no CUDA toolkit with nvvm/libdevice was found; "
                                 "install it or set CUDA_HOME";
      emitWarning(loc) << "ampc: the PTX calls libdevice's '" << *unresolved
                       << "' (no CUDA toolkit with nvvm/libdevice found to link it)";
    }
    if (kernelsOnly)
      return writeText(loc, options.outputPath, [&](raw_ostream &os) { os << *kernels; });
  }
  // Name the first op the back end could not lower, where the user wrote it.
  WalkResult unsupported = module.walk([&](Operation *op) {
    if (op == module.getOperation() || isa<UnrealizedConversionCastOp, gpu::BinaryOp, gpu::LaunchFuncOp>(op) ||
        op->getDialect()->getNamespace() == "llvm" ||
        // OpenMP ops are translated to LLVM IR (runtime calls) as they are.
        op->getDialect()->getNamespace() == "omp")
      return WalkResult::advance();
    op->emitError("ampc: '") << op->getName() << "' is not supported by the "
                             << (options.target == Target::CUDA ? "CUDA" : "CPU")
                             << " back end";
    return WalkResult::interrupt();
  });
  if (unsupported.wasInterrupted())
    return failure();
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule = translateModuleToLLVMIR(module, llvmContext);
  if (!llvmModule)
    return emitError(loc) << "ampc: translation to LLVM IR failed";
  llvm::TargetMachine *machine = host->machine.get();
  llvmModule->setDataLayout(machine->createDataLayout());
  llvmModule->setTargetTriple(machine->getTargetTriple());
  // A library says what it is: the CPU and ISA extensions it was compiled
  // for (its loader refuses a CPU without them) and its manifest (its
  // loader refuses a manifest file that does not match).
  std::string embeddedManifest;
  if (options.target == Target::CPU) {
    SmallVector<std::string> names;
    if (llvm::json::Array *functions = manifest.getArray("functions"))
      for (llvm::json::Value &function : *functions)
        if (llvm::json::Object *entry = function.getAsObject())
          if (std::optional<StringRef> name = entry->getString("name")) {
            names.push_back(name->str());
            (*entry)["packed_symbol"] = ("_mlir_packed_" + *name).str();
          }
    addPackedEntryPoints(*llvmModule, names);
    compileGlueFast(*llvmModule);
  }
  if (options.emit == Emit::Shared) {
    if (options.target == Target::CUDA)
      reportInPlaceState(module, manifest);
    llvm::json::Array features;
    for (const std::string &feature : host->checkedFeatures)
      features.push_back(feature);
    manifest["cpu"] = llvm::json::Object{{"name", host->cpu}, {"features", std::move(features)}};
    embeddedManifest = llvm::formatv("{0}", llvm::json::Value(llvm::json::Object(manifest))).str();
    detail::embedLibraryIdentity(*llvmModule, *host, embeddedManifest);
  }
  if (options.target == Target::CPU && options.threads)
    addThreadsConstructor(*llvmModule, options.threads);
  if (profilePoints)
    addProfileTable(*llvmModule, *profilePoints);
  // A library compiles in parts on every core; other outputs are one module.
  if (options.emit != Emit::Shared) {
    auto optimize = makeOptimizingTransformer(options.optLevel, /*sizeLevel=*/0, machine);
    if (llvm::Error err = optimize(llvmModule.get()))
      return emitError(loc) << "ampc: LLVM optimization failed: " << llvm::toString(std::move(err));
  }

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
    bool runnerUtils = callsRunnerUtils(*llvmModule);
    bool cpuRuntime = options.target == Target::CPU && callsCpuRuntime(*llvmModule);
    bool mpi = options.target == Target::CPU && callsMPI(*llvmModule);
    // More parts than cores: they finish at about the same time.
    unsigned parts =
        options.target == Target::CPU ? 2 * llvm::hardware_concurrency().compute_thread_count() : 1;
    TimingScope codegenTiming = compileTiming.nest("LLVM code generation");
    FailureOr<SmallVector<std::string>> objects =
        detail::compileToObjects(loc, std::move(llvmModule), *machine, options.optLevel, parts);
    codegenTiming.stop();
    if (failed(objects))
      return failure();
    llvm::scope_exit removeObjects([&] {
      for (const std::string &object : *objects)
        llvm::sys::fs::remove(object);
    });
    SmallVector<std::string> runtimes;
    if (options.target == Target::CUDA) {
      std::string runtime = findCudaRuntime();
      if (runtime.empty())
        return emitError(loc) << "ampc: the ampc CUDA runtime was not built (no CUDA toolkit at "
                                 "build time), so a CUDA library cannot be linked; "
                                 "--emit=obj, --emit=ptx and --emit=cubin need no runtime";
      runtimes.push_back(runtime);
    } else if (cpuRuntime) {
      std::string runtime = findCpuRuntime();
      if (runtime.empty())
        return emitError(loc) << "ampc: the library calls ampc's CPU runtime "
                                 "(libampc_cpu_runtime.so), which is not next to ampc nor where "
                                 "it was built; --cpu-gemm=native needs no runtime";
      runtimes.push_back(runtime);
      // Generated parallel loops call libomp, the pool oneDNN runs on.
      runtimes.push_back(AMPC_LIBOMP_LIBRARY);
    }
    if (mpi) {
      std::string runtime = findMPIRuntime();
      if (runtime.empty())
        return emitError(loc) << "ampc: this data-parallel library needs ampc's MPI runtime "
                                 "(libampc_cpu_mpi.so), which was not built: ampc was configured "
                                 "without MPI (apt-get install libopenmpi-dev, then rebuild)";
#ifdef AMPC_MPI_IMPLEMENTATION
      // The step calls MPI with the ABI its module names; linked with
      // another MPI it would crash on the first call.
      if (const llvm::json::Object *parallel = manifest.getObject("data_parallel"))
        if (std::optional<StringRef> abi = parallel->getString("mpi_implementation");
            abi && *abi != AMPC_MPI_IMPLEMENTATION)
          return emitError(loc) << "ampc: the step calls MPI with " << *abi
                                << "'s ABI, but ampc's MPI runtime was built with "
                                << AMPC_MPI_IMPLEMENTATION << " (--mpi-implementation="
                                << AMPC_MPI_IMPLEMENTATION << "); --emit=obj builds for another MPI";
#endif
      runtimes.push_back(runtime);
#ifdef AMPC_MPI_LIBRARY
      // The step calls MPI_Allreduce itself (the upstream mpi lowering).
      runtimes.push_back(AMPC_MPI_LIBRARY);
#endif
    }
    FailureOr<AtomicOutput> library = AtomicOutput::create(loc, options.outputPath);
    if (failed(library))
      return failure();
    SmallVector<std::string> undefined;
    TimingScope linkTiming = compileTiming.nest("link");
    if (failed(linkShared(loc, *objects, library->tempPath(), runtimes, runnerUtils,
                          /*profiler=*/options.target == Target::CPU, undefined))) {
      // A function the model declares (a harness's timer, a kernel library)
      // that nothing it links defines: the library could not be loaded.
      for (const std::string &symbol : undefined) {
        auto declared = module.lookupSymbol<LLVM::LLVMFuncOp>(symbol);
        emitError(declared ? declared.getLoc() : loc)
            << "ampc: the library would need '" << symbol
            << "', which no library it links defines (libc, libm, ampc's support library"
            << (runtimes.empty() ? ""
                : options.target == Target::CUDA ? ", the ampc CUDA runtime"
                                                 : ", the ampc CPU runtime, libomp")
            << "); it would fail to load, so it is not written";
      }
      return failure();
    }
    // The manifest file also pins the library's bytes, so a truncated or
    // replaced library is refused before it is loaded.
    llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> linked =
        llvm::MemoryBuffer::getFile(library->tempPath(), /*IsText=*/false,
                                    /*RequiresNullTerminator=*/false);
    if (!linked)
      return emitError(loc) << "ampc: cannot read the linked library: " << linked.getError().message();
    std::array<uint8_t, 32> digest = llvm::SHA256::hash(
        llvm::arrayRefFromStringRef((*linked)->getBuffer()));
    manifest["library"] = llvm::json::Object{
        {"bytes", static_cast<int64_t>((*linked)->getBufferSize())},
        {"sha256", llvm::toHex(digest, /*LowerCase=*/true)}};
    // The pair appears together: the manifest is renamed into place first
    // and removed again if the library cannot follow it.
    std::string manifestPath = options.outputPath + ".json";
    if (failed(writeText(loc, manifestPath, [&](raw_ostream &os) {
          os << llvm::formatv("{0:2}", llvm::json::Value(std::move(manifest))) << "\n";
        })))
      return failure();
    if (failed(library->keep())) {
      llvm::sys::fs::remove(manifestPath);
      return failure();
    }
    return success();
  }
  case Emit::MLIR:
  case Emit::PTX:
  case Emit::Cubin:
    break;
  }
  llvm_unreachable("unhandled emit kind");
}
