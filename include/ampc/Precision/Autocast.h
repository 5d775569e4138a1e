//===- Autocast.h - mixed-precision painting and rewriting --------*- C++ -*-===//

#ifndef AMPC_PRECISION_AUTOCAST_H
#define AMPC_PRECISION_AUTOCAST_H

#include "ampc/Dialect/AMP/IR/AMP.h"
#include "ampc/Precision/PrecisionPolicy.h"
#include "mlir/Interfaces/FunctionInterfaces.h"

#include <string>
#include <vector>

namespace ampc {

struct AutocastOptions {
  amp::Precision computeType = amp::Precision::f16;
  /// Accumulator precision of low-precision ops with reduction loops: f32 or
  /// the compute type.
  amp::Precision accumulateType = amp::Precision::f32;
  /// Keep function argument/result types as they are.
  bool keepIOTypes = true;
  /// Build the per-op decision list (locations and rules as strings); the
  /// counts are kept either way.
  bool recordDecisions = true;
};

/// What autocast decided for one op, for reports and remarks.
struct AutocastDecision {
  std::string function;
  std::string location;
  std::string opName;
  OpClass opClass = OpClass::Unknown;
  bool pinned = false;
  amp::Precision precision = amp::Precision::f32;
  std::string rule;
  /// Whether the op computes gradients: it depends on the training step's
  /// amp.grad_seed, or amp-differentiate built it.
  bool backward = false;
  /// Set for ops amp-differentiate built as the backward of a forward op:
  /// that op's name (its location is `location`).
  std::string adjointOf;
  /// Shapes of the op's results.
  std::vector<std::vector<int64_t>> resultShapes;
};

struct AutocastResult {
  std::vector<AutocastDecision> decisions;
  /// Classified ops per class, indexed by OpClass.
  unsigned classCounts[5] = {0, 0, 0, 0, 0};
  unsigned numLowered = 0;
  unsigned numCastsInserted = 0;
};

/// Paints `func` with `policy` and rewrites it to mixed precision, appending
/// one decision per classified op to `result`. Emits a remark for each op the
/// policy does not know. Fails (with a diagnostic) only on IR it cannot
/// rewrite.
mlir::LogicalResult autocastFunction(mlir::FunctionOpInterface func,
                                     const PrecisionPolicy &policy,
                                     const AutocastOptions &options,
                                     AutocastResult &result);

/// Writes `result` as the JSON decision record (see docs/autocast.md).
void writeAutocastReport(llvm::raw_ostream &os, const AutocastResult &result,
                         const AutocastOptions &options);

} // namespace ampc

#endif // AMPC_PRECISION_AUTOCAST_H
