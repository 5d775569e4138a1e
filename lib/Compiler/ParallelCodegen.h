//===- ParallelCodegen.h - optimizing and compiling on every core -*- C++ -*-===//
//
// Internal to lib/Compiler.
//
//===----------------------------------------------------------------------===//

#ifndef AMPC_LIB_COMPILER_PARALLELCODEGEN_H
#define AMPC_LIB_COMPILER_PARALLELCODEGEN_H

#include "mlir/IR/Location.h"
#include "mlir/Support/LLVM.h"
#include "llvm/Target/TargetMachine.h"

#include <memory>
#include <string>

namespace llvm {
class Module;
} // namespace llvm

namespace ampc::detail {

/// Optimizes `module` at `optLevel` and compiles it to object files for
/// `machine`: the functions marked optnone (a library's glue) in one part
/// compiled without optimization, the others split into `parts` parts of
/// similar size (local functions made hidden globals, so that other parts
/// can call them), each part optimized and compiled on a thread of its own
/// in its own LLVMContext. Returns the
/// object files, temporaries that the caller removes. `parts` = 1 compiles
/// the module as it is.
mlir::FailureOr<llvm::SmallVector<std::string>>
compileToObjects(mlir::Location loc, std::unique_ptr<llvm::Module> module,
                 const llvm::TargetMachine &machine, unsigned optLevel, unsigned parts);

} // namespace ampc::detail

#endif // AMPC_LIB_COMPILER_PARALLELCODEGEN_H
