//===- PolicyLoading.h - policies from files, reported through MLIR -*- C++ -*-===//
//
// What amp-autocast and amp-check-precision share: the built-in defaults
// with a policy file applied, every message located in that file (or at
// the module when it has no position).
//
//===----------------------------------------------------------------------===//

#ifndef AMPC_PRECISION_POLICYLOADING_H
#define AMPC_PRECISION_POLICYLOADING_H

#include "ampc/Precision/PrecisionPolicy.h"
#include "mlir/IR/Location.h"

namespace ampc {

/// Emits `diags` as MLIR diagnostics: at their place in the policy file when
/// they have one, else at `fallback` with the origin as a prefix. Returns
/// failure if any of them is an error.
mlir::LogicalResult emitPolicyDiagnostics(mlir::Location fallback,
                                          llvm::ArrayRef<PolicyDiagnostic> diags);

/// The built-in default policy with `file` applied ("" for none), warning
/// about entries that name no registered op. Fails after emitting the
/// file's errors.
mlir::FailureOr<PrecisionPolicy> loadPolicy(mlir::Location loc, llvm::StringRef file);

} // namespace ampc

#endif // AMPC_PRECISION_POLICYLOADING_H
