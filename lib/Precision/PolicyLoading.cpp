//===- PolicyLoading.cpp - policies from files, reported through MLIR -------===//

#include "ampc/Precision/PolicyLoading.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"

using namespace mlir;
using namespace ampc;

LogicalResult ampc::emitPolicyDiagnostics(Location fallback, ArrayRef<PolicyDiagnostic> diags) {
  bool hadError = false;
  for (const PolicyDiagnostic &diag : diags) {
    // Without a position in the policy file, say where the message comes
    // from and locate it at the module being compiled.
    Location loc = diag.line ? Location(FileLineColLoc::get(fallback->getContext(), diag.file,
                                                            diag.line, diag.column))
                             : fallback;
    std::string prefix = diag.line ? "" : diag.file + ": ";
    if (diag.severity == PolicyDiagnostic::Severity::Error) {
      emitError(loc) << prefix << diag.message;
      hadError = true;
    } else {
      emitWarning(loc) << prefix << diag.message;
    }
  }
  return failure(hadError);
}

FailureOr<PrecisionPolicy> ampc::loadPolicy(Location loc, StringRef file) {
  PrecisionPolicy policy = PrecisionPolicy::getDefault();
  if (file.empty())
    return policy;
  std::vector<PolicyDiagnostic> diags;
  bool ok = succeeded(policy.applyFile(file, diags));
  if (ok)
    policy.warnUnknownNames(loc->getContext(), file, diags);
  if (failed(emitPolicyDiagnostics(loc, diags)) || !ok)
    return failure();
  return policy;
}
