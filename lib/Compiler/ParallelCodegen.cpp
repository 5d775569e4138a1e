//===- ParallelCodegen.cpp - optimizing and compiling on every core ---------===//
//
// A CPU library's module is a few glue functions and hundreds of kernels
// (amp-cpu-outline-kernels): LLVM's optimizer and code generator handle
// one function at a time, so the module splits into parts that compile in
// parallel, as LLVM's own parallel code generation (ParallelCG) does for
// LTO, here with the optimization pipeline run in each part too, and parts
// balanced by cost (llvm::SplitModule keeps every function that shares the
// OpenMP runtime's source-location constants in one part).
//
//===----------------------------------------------------------------------===//

#include "ParallelCodegen.h"

#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/Bitcode/BitcodeReader.h"
#include "llvm/Bitcode/BitcodeWriter.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Parallel.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Transforms/Utils/Cloning.h"

#include <mutex>

using namespace mlir;

namespace {

/// A target machine like `machine`, for one thread (target machines are
/// not shared between threads), generating code at `level`.
std::unique_ptr<llvm::TargetMachine> cloneMachine(const llvm::TargetMachine &machine,
                                                  llvm::CodeGenOptLevel level) {
  return std::unique_ptr<llvm::TargetMachine>(machine.getTarget().createTargetMachine(
      machine.getTargetTriple(), machine.getTargetCPU(), machine.getTargetFeatureString(),
      machine.Options, machine.getRelocationModel(), machine.getCodeModel(), level));
}

/// Optimizes `module` and writes its object code to a new temporary file.
/// Returns the file, or the reason it failed.
llvm::Expected<std::string> compilePart(llvm::Module &module, llvm::TargetMachine &machine,
                                        unsigned optLevel) {
  module.setDataLayout(machine.createDataLayout());
  module.setTargetTriple(machine.getTargetTriple());
  auto optimize = makeOptimizingTransformer(optLevel, /*sizeLevel=*/0, &machine);
  if (llvm::Error err = optimize(&module))
    return std::move(err);
  llvm::SmallString<128> path;
  int fd;
  if (std::error_code ec = llvm::sys::fs::createTemporaryFile("ampc", "o", fd, path))
    return llvm::createStringError(ec, "cannot create a temporary object file");
  llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
  llvm::legacy::PassManager codegen;
  if (machine.addPassesToEmitFile(codegen, os, nullptr, llvm::CodeGenFileType::ObjectFile))
    return llvm::createStringError("the target cannot emit object files");
  codegen.run(module);
  os.flush();
  if (os.has_error())
    return llvm::createStringError("error writing the temporary object file");
  return path.str().str();
}

/// `module` split into a first part holding the functions marked optnone
/// (a library's glue, which compiles with -O0 code generation: one huge
/// basic block spends seconds in the greedy register allocator) and up to
/// `parts` parts of the other functions, of similar size (the largest
/// first, each to the smallest part). Local functions and mutable globals
/// become hidden globals so that other parts can reach them; constants are
/// copied into every part.
SmallVector<std::unique_ptr<llvm::Module>> partition(llvm::Module &module, unsigned parts) {
  SmallVector<llvm::Function *> functions;
  for (llvm::Function &function : module) {
    if (function.isDeclaration())
      continue;
    if (function.hasLocalLinkage()) {
      function.setLinkage(llvm::GlobalValue::ExternalLinkage);
      function.setVisibility(llvm::GlobalValue::HiddenVisibility);
    }
    functions.push_back(&function);
  }
  for (llvm::GlobalVariable &global : module.globals())
    if (global.hasLocalLinkage() && !global.isConstant()) {
      global.setLinkage(llvm::GlobalValue::ExternalLinkage);
      global.setVisibility(llvm::GlobalValue::HiddenVisibility);
    }
  llvm::stable_sort(functions, [](llvm::Function *a, llvm::Function *b) {
    return a->getInstructionCount() > b->getInstructionCount();
  });
  llvm::DenseMap<const llvm::GlobalValue *, unsigned> home;
  SmallVector<uint64_t> load(parts, 0);
  for (llvm::Function *function : functions) {
    if (function->hasOptNone()) {
      home[function] = 0;
      continue;
    }
    unsigned smallest = std::min_element(load.begin(), load.end()) - load.begin();
    home[function] = smallest + 1;
    load[smallest] += function->getInstructionCount();
  }
  SmallVector<std::unique_ptr<llvm::Module>> modules;
  for (unsigned i = 0; i <= parts; ++i) {
    llvm::ValueToValueMapTy map;
    modules.push_back(llvm::CloneModule(module, map, [&](const llvm::GlobalValue *value) {
      if (isa<llvm::Function>(value))
        return home.lookup(value) == i;
      // Constants of the module's own go everywhere; anything visible
      // outside it is defined once.
      return value->hasLocalLinkage() || i == 0;
    }));
  }
  return modules;
}

} // namespace

FailureOr<SmallVector<std::string>>
ampc::detail::compileToObjects(Location loc, std::unique_ptr<llvm::Module> module,
                               const llvm::TargetMachine &machine, unsigned optLevel,
                               unsigned parts) {
  // Each part goes through bitcode into a context of its own: LLVM
  // contexts are not shared between threads.
  SmallVector<SmallString<0>> bitcodes;
  if (parts <= 1) {
    bitcodes.emplace_back();
    llvm::raw_svector_ostream os(bitcodes.back());
    llvm::WriteBitcodeToFile(*module, os);
  } else {
    for (std::unique_ptr<llvm::Module> &part : partition(*module, parts)) {
      bitcodes.emplace_back();
      llvm::raw_svector_ostream os(bitcodes.back());
      llvm::WriteBitcodeToFile(*part, os);
    }
  }
  module.reset();
  SmallVector<std::string> objects(bitcodes.size());
  std::mutex errorsLock;
  std::string errors;
  llvm::parallelFor(0, bitcodes.size(), [&](size_t i) {
    llvm::LLVMContext context;
    auto fail = [&](const llvm::Twine &message) {
      std::lock_guard<std::mutex> lock(errorsLock);
      errors += ("part " + llvm::Twine(i) + ": " + message + "\n").str();
    };
    llvm::Expected<std::unique_ptr<llvm::Module>> part = llvm::parseBitcodeFile(
        llvm::MemoryBufferRef(llvm::StringRef(bitcodes[i].data(), bitcodes[i].size()), "part"),
        context);
    if (!part)
      return fail(llvm::toString(part.takeError()));
    // The first part of a split module is the glue (see partition).
    bool glue = bitcodes.size() > 1 && i == 0;
    std::unique_ptr<llvm::TargetMachine> partMachine =
        cloneMachine(machine, glue ? llvm::CodeGenOptLevel::None : machine.getOptLevel());
    llvm::Expected<std::string> object = compilePart(**part, *partMachine, glue ? 0 : optLevel);
    if (!object)
      return fail(llvm::toString(object.takeError()));
    objects[i] = *object;
  });
  if (!errors.empty()) {
    for (const std::string &object : objects)
      if (!object.empty())
        llvm::sys::fs::remove(object);
    return emitError(loc) << "ampc: compiling the LLVM module failed:\n" << errors;
  }
  return objects;
}
