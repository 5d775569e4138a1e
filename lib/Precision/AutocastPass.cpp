//===- AutocastPass.cpp - the amp-autocast pass -----------------------------===//

#include "ampc/Precision/Autocast.h"
#include "ampc/Precision/Passes.h"
#include "ampc/Precision/PolicyLoading.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/ToolOutputFile.h"

namespace ampc {
#define GEN_PASS_DEF_AMPAUTOCAST
#include "ampc/Precision/Passes.h.inc"
} // namespace ampc

using namespace mlir;
using namespace ampc;

namespace {
struct AutocastPass : public ampc::impl::AMPAutocastBase<AutocastPass> {
  using AMPAutocastBase::AMPAutocastBase;

  FailureOr<PrecisionPolicy> buildPolicy() {
    Location loc = getOperation().getLoc();
    FailureOr<PrecisionPolicy> loaded = loadPolicy(loc, policyFile);
    if (failed(loaded))
      return failure();
    PrecisionPolicy policy = std::move(*loaded);
    std::vector<PolicyDiagnostic> diags;
    auto apply = [&](OpClass opClass, ArrayRef<std::string> names, bool isAdd,
                     StringRef optionName) {
      for (const std::string &name : names) {
        PolicyDiagnostic diag;
        diag.file = ("amp-autocast option '" + optionName + "'").str();
        if (std::optional<std::string> problem = checkOpPattern(name)) {
          diag.message = *problem;
          diags.push_back(diag);
        } else if (isAdd && !policy.add(opClass, name)) {
          diag.message = "malformed glob pattern '" + name + "'";
          diags.push_back(diag);
        } else if (!isAdd && !policy.remove(opClass, name)) {
          diag.severity = PolicyDiagnostic::Severity::Warning;
          diag.message = "'" + name + "' is not in the " +
                         stringifyOpClass(opClass).str() + " list; nothing removed";
          diags.push_back(diag);
        }
      }
    };
    apply(OpClass::Allow, allowAdd, true, "allow-add");
    apply(OpClass::Deny, denyAdd, true, "deny-add");
    apply(OpClass::Infer, inferAdd, true, "infer-add");
    apply(OpClass::Clear, clearAdd, true, "clear-add");
    apply(OpClass::Allow, allowRemove, false, "allow-remove");
    apply(OpClass::Deny, denyRemove, false, "deny-remove");
    apply(OpClass::Infer, inferRemove, false, "infer-remove");
    apply(OpClass::Clear, clearRemove, false, "clear-remove");
    // Typos in option lists are worth a warning too.
    PrecisionPolicy fromOptions = PrecisionPolicy::getEmpty();
    for (auto [opClass, names] :
         {std::make_pair(OpClass::Allow, &allowAdd), std::make_pair(OpClass::Deny, &denyAdd),
          std::make_pair(OpClass::Infer, &inferAdd), std::make_pair(OpClass::Clear, &clearAdd)})
      for (const std::string &name : *names)
        if (!checkOpPattern(name))
          (void)fromOptions.add(opClass, name);
    fromOptions.warnUnknownNames(&getContext(), "amp-autocast options", diags);
    if (failed(emitPolicyDiagnostics(loc, diags)))
      return failure();
    return policy;
  }

  void runOnOperation() override {
    AutocastOptions options;
    options.computeType = computeType;
    options.accumulateType = accumulateType;
    options.keepIOTypes = keepIOTypes;
    options.recordDecisions = !reportFile.empty();
    if (accumulateType != amp::Precision::f32 && accumulateType != computeType) {
      emitError(getOperation().getLoc())
          << "amp-autocast: accumulate-type must be f32 or the compute type ("
          << amp::stringifyPrecision(computeType) << "), got "
          << amp::stringifyPrecision(accumulateType);
      return signalPassFailure();
    }
    FailureOr<PrecisionPolicy> policy = buildPolicy();
    if (failed(policy))
      return signalPassFailure();

    AutocastResult result;
    for (auto func : getOperation().getOps<FunctionOpInterface>())
      if (failed(autocastFunction(func, *policy, options, result)))
        return signalPassFailure();

    auto count = [&](OpClass c) { return result.classCounts[static_cast<unsigned>(c)]; };
    numAllow += count(OpClass::Allow);
    numDeny += count(OpClass::Deny);
    numInfer += count(OpClass::Infer);
    numClear += count(OpClass::Clear);
    numUnknown += count(OpClass::Unknown);
    numLowered += result.numLowered;
    numCastsInserted += result.numCastsInserted;

    if (!reportFile.empty()) {
      std::string error;
      std::unique_ptr<llvm::ToolOutputFile> out = openOutputFile(reportFile, &error);
      if (!out) {
        emitError(getOperation().getLoc())
            << "amp-autocast: cannot write report '" << reportFile << "': " << error;
        return signalPassFailure();
      }
      writeAutocastReport(out->os(), result, options);
      out->keep();
    }
  }
};
} // namespace
