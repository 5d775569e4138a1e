//===- PrecisionPolicy.h - allow/deny/infer/clear op classes ------*- C++ -*-===//
//
// The precision policy decides, per operation, whether it should run in low
// precision. It follows TensorFlow's AutoMixedPrecision classes:
//   allow - always worth running in f16/bf16 (matmuls, convolutions);
//   deny  - numerically sensitive, always f32 (exp, log, sums, softmax);
//   infer - follows its neighbours (add, mul, max, select);
//   clear - type-agnostic data movement (transpose, reshape, fill).
// Ops the policy does not know are `unknown` and treated as deny.
//
//===----------------------------------------------------------------------===//

#ifndef AMPC_PRECISION_PRECISIONPOLICY_H
#define AMPC_PRECISION_PRECISIONPOLICY_H

#include "mlir/Support/LLVM.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/GlobPattern.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mlir {
class MLIRContext;
class Operation;
} // namespace mlir

namespace llvm {
class MemoryBuffer;
} // namespace llvm

namespace ampc {

enum class OpClass { Allow, Deny, Infer, Clear, Unknown };

/// "allow", "deny", "infer", "clear" or "unknown".
llvm::StringRef stringifyOpClass(OpClass opClass);
/// Parses the four policy class names (not "unknown").
std::optional<OpClass> symbolizeOpClass(llvm::StringRef name);

/// What the policy says of one operation, and why.
struct Classification {
  OpClass opClass = OpClass::Unknown;
  /// Human-readable rule, e.g. "allow list entry 'linalg.conv_*'".
  std::string rule;
};

/// A message about a policy file or option, located in that file when it has
/// a position (line 0 means "no position", e.g. pass options).
struct PolicyDiagnostic {
  enum class Severity { Error, Warning };
  Severity severity = Severity::Error;
  std::string file;
  unsigned line = 0;
  unsigned column = 0;
  std::string message;
};

/// Where a policy entry was written: a policy file's line and column.
struct PolicyEntryOrigin {
  std::string file;
  unsigned line = 0;
  unsigned column = 0;
};

class PrecisionPolicy {
public:
  /// The built-in defaults, modelled on PyTorch autocast and TensorFlow AMP.
  static PrecisionPolicy getDefault();
  /// A policy with empty lists (every op unknown, linalg payloads still
  /// analysed).
  static PrecisionPolicy getEmpty();

  /// Puts `pattern` (an op name such as `linalg.matmul`, or a glob such as
  /// `linalg.conv_*`) in `opClass`, taking it out of any other class.
  /// Returns false if the glob is malformed.
  bool add(OpClass opClass, llvm::StringRef pattern);
  /// As above, remembering where the entry was written, so that later
  /// messages about it (an op name nothing registers) point there.
  bool add(OpClass opClass, llvm::StringRef pattern, PolicyEntryOrigin origin);
  /// Takes `pattern` out of `opClass`; false if it was not there.
  bool remove(OpClass opClass, llvm::StringRef pattern);

  /// The class an op *name* has in the lists: an exact entry wins over globs,
  /// a longer glob over a shorter one. `matched` receives the entry.
  std::optional<OpClass> lookup(llvm::StringRef opName,
                                std::string *matched = nullptr) const;

  /// Classifies an operation: by its name in the lists, else (for linalg
  /// structured ops) by payload and iterators: contractions and convolutions
  /// are allow; a sum/product reduction is deny; otherwise the most
  /// restrictive class among payload ops (deny > unknown > infer > clear).
  Classification classify(mlir::Operation *op) const;

  /// Applies a policy file (YAML or JSON; JSON is read by the same YAML
  /// parser) on top of this policy. Format:
  ///   base: default | empty          # optional, resets the lists first
  ///   allow: [linalg.foo, ...]       # shorthand for {add: [...]}
  ///   deny:  {add: [...], remove: [...]}
  /// Errors and warnings are appended to `diags` with file:line:col.
  mlir::LogicalResult applyFile(const llvm::MemoryBuffer &buffer,
                                std::vector<PolicyDiagnostic> &diags);
  /// Reads `path` and applies it; a missing file is an error.
  mlir::LogicalResult applyFile(llvm::StringRef path,
                                std::vector<PolicyDiagnostic> &diags);

  /// Warns (into `diags`) about entries that name no operation registered in
  /// `context`, so typos in policy files and options are visible.
  void warnUnknownNames(mlir::MLIRContext *context, llvm::StringRef origin,
                        std::vector<PolicyDiagnostic> &diags) const;

  /// Entries of a class, sorted, for reports and tests.
  std::vector<std::string> getEntries(OpClass opClass) const;

  /// Prints the lists as a policy file (YAML) that `applyFile` reads back.
  void print(llvm::raw_ostream &os) const;

private:
  /// A compiled glob points into its pattern's characters, so both live in
  /// one immutable allocation that copies of the policy share.
  struct CompiledGlob {
    explicit CompiledGlob(std::string text) : pattern(std::move(text)) {}
    const std::string pattern;
    llvm::GlobPattern glob;
  };
  struct GlobEntry {
    std::shared_ptr<const CompiledGlob> compiled;
    OpClass opClass;
    const std::string &pattern() const { return compiled->pattern; }
  };
  llvm::StringMap<OpClass> exact;
  std::vector<GlobEntry> globs;
  /// Entries read from files, by pattern.
  llvm::StringMap<PolicyEntryOrigin> origins;
};

/// Why `pattern` is not an op name or glob a policy can hold (`dialect.op`,
/// such as `linalg.matmul` or `linalg.conv_*`), or std::nullopt.
std::optional<std::string> checkOpPattern(llvm::StringRef pattern);

} // namespace ampc

#endif // AMPC_PRECISION_PRECISIONPOLICY_H
