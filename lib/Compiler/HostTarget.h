//===- HostTarget.h - the CPU ampc's host code is compiled for ---*- C++ -*-===//
//
// Internal to lib/Compiler.
//
//===----------------------------------------------------------------------===//

#ifndef AMPC_LIB_COMPILER_HOSTTARGET_H
#define AMPC_LIB_COMPILER_HOSTTARGET_H

#include "ampc/Compiler/Compiler.h"
#include "mlir/IR/Location.h"
#include "llvm/Target/TargetMachine.h"

#include <memory>
#include <string>
#include <vector>

namespace llvm {
class Module;
} // namespace llvm

namespace ampc::detail {

struct HostTarget {
  std::unique_ptr<llvm::TargetMachine> machine;
  /// The LLVM CPU name the code is compiled (and tuned) for.
  std::string cpu;
  /// The ISA extensions the code may use that a loader can check (see
  /// runtime/cpu/ampc_cpu_support.h), sorted.
  std::vector<std::string> checkedFeatures;
};

/// The target machine for `options.cpu` / `options.cpuFeatures` on the
/// host's triple; a bad CPU name or feature is a located error.
mlir::FailureOr<HostTarget> createHostTarget(mlir::Location loc, const CompilerOptions &options);

/// Adds the exported constants every library carries: ampc_cpu_name,
/// ampc_cpu_features (comma-separated) and ampc_manifest.
void embedLibraryIdentity(llvm::Module &module, const HostTarget &target,
                          llvm::StringRef manifest);

} // namespace ampc::detail

#endif // AMPC_LIB_COMPILER_HOSTTARGET_H
