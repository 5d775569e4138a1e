//===- PrecisionPolicy.cpp - op classes and classification ------------------===//

#include "ampc/Precision/PrecisionPolicy.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Operation.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>

using namespace mlir;
using namespace ampc;

StringRef ampc::stringifyOpClass(OpClass opClass) {
  switch (opClass) {
  case OpClass::Allow:
    return "allow";
  case OpClass::Deny:
    return "deny";
  case OpClass::Infer:
    return "infer";
  case OpClass::Clear:
    return "clear";
  case OpClass::Unknown:
    return "unknown";
  }
  llvm_unreachable("unknown op class");
}

std::optional<OpClass> ampc::symbolizeOpClass(StringRef name) {
  return llvm::StringSwitch<std::optional<OpClass>>(name)
      .Case("allow", OpClass::Allow)
      .Case("deny", OpClass::Deny)
      .Case("infer", OpClass::Infer)
      .Case("clear", OpClass::Clear)
      .Default(std::nullopt);
}

PrecisionPolicy PrecisionPolicy::getEmpty() { return PrecisionPolicy(); }

std::optional<std::string> ampc::checkOpPattern(StringRef pattern) {
  auto [dialect, op] = pattern.split('.');
  if (dialect.empty() || op.empty() || op.ends_with("."))
    return ("'" + pattern + "' is not an op name: expected 'dialect.op' such as "
            "'linalg.matmul' (globs like 'linalg.conv_*' allowed)")
        .str();
  return std::nullopt;
}

static bool isGlob(StringRef pattern) {
  return pattern.find_first_of("*?[") != StringRef::npos;
}

bool PrecisionPolicy::add(OpClass opClass, StringRef pattern) {
  assert(opClass != OpClass::Unknown && "cannot add to the unknown class");
  if (!isGlob(pattern)) {
    exact[pattern] = opClass;
    return true;
  }
  auto compiled = std::make_shared<CompiledGlob>(pattern.str());
  llvm::Expected<llvm::GlobPattern> glob = llvm::GlobPattern::create(compiled->pattern);
  if (!glob) {
    llvm::consumeError(glob.takeError());
    return false;
  }
  compiled->glob = std::move(*glob);
  llvm::erase_if(globs, [&](const GlobEntry &e) { return e.pattern() == pattern; });
  globs.push_back({std::move(compiled), opClass});
  return true;
}

bool PrecisionPolicy::add(OpClass opClass, StringRef pattern, PolicyEntryOrigin origin) {
  if (!add(opClass, pattern))
    return false;
  origins[pattern] = std::move(origin);
  return true;
}

bool PrecisionPolicy::remove(OpClass opClass, StringRef pattern) {
  if (!isGlob(pattern)) {
    auto it = exact.find(pattern);
    if (it == exact.end() || it->second != opClass)
      return false;
    exact.erase(it);
    return true;
  }
  size_t before = globs.size();
  llvm::erase_if(globs, [&](const GlobEntry &e) {
    return e.pattern() == pattern && e.opClass == opClass;
  });
  return globs.size() != before;
}

std::optional<OpClass> PrecisionPolicy::lookup(StringRef opName,
                                               std::string *matched) const {
  auto it = exact.find(opName);
  if (it != exact.end()) {
    if (matched)
      *matched = opName.str();
    return it->second;
  }
  const GlobEntry *best = nullptr;
  for (const GlobEntry &entry : globs)
    if (entry.compiled->glob.match(opName) &&
        (!best || entry.pattern().size() > best->pattern().size()))
      best = &entry;
  if (!best)
    return std::nullopt;
  if (matched)
    *matched = best->pattern();
  return best->opClass;
}

std::vector<std::string> PrecisionPolicy::getEntries(OpClass opClass) const {
  std::vector<std::string> entries;
  for (const auto &entry : exact)
    if (entry.second == opClass)
      entries.push_back(entry.first().str());
  for (const GlobEntry &entry : globs)
    if (entry.opClass == opClass)
      entries.push_back(entry.pattern());
  llvm::sort(entries);
  return entries;
}

void PrecisionPolicy::print(raw_ostream &os) const {
  os << "base: empty\n";
  for (OpClass opClass :
       {OpClass::Allow, OpClass::Deny, OpClass::Infer, OpClass::Clear}) {
    os << stringifyOpClass(opClass) << ":\n";
    for (const std::string &entry : getEntries(opClass))
      os << "  - '" << entry << "'\n";
  }
}

void PrecisionPolicy::warnUnknownNames(
    MLIRContext *context, StringRef origin,
    std::vector<PolicyDiagnostic> &diags) const {
  SmallVector<StringRef> registered;
  for (RegisteredOperationName name : context->getRegisteredOperations())
    registered.push_back(name.getStringRef());
  auto warn = [&](StringRef pattern, StringRef what) {
    PolicyDiagnostic diag;
    diag.severity = PolicyDiagnostic::Severity::Warning;
    diag.file = origin.str();
    // An entry from a file is reported where it was written.
    if (auto it = origins.find(pattern); it != origins.end()) {
      diag.file = it->second.file;
      diag.line = it->second.line;
      diag.column = it->second.column;
    }
    diag.message = (Twine("policy entry '") + pattern + "' " + what).str();
    diags.push_back(std::move(diag));
  };
  for (const auto &entry : exact)
    if (!RegisteredOperationName::lookup(entry.first(), context))
      warn(entry.first(), "names no registered operation");
  for (const GlobEntry &entry : globs)
    if (llvm::none_of(registered,
                      [&](StringRef name) { return entry.compiled->glob.match(name); }))
      warn(entry.pattern(), "matches no registered operation");
}

//===----------------------------------------------------------------------===//
// Classification
//===----------------------------------------------------------------------===//

/// How restrictive a class is when combining the classes of payload ops: the
/// most restrictive one decides.
static int restrictiveness(OpClass opClass) {
  switch (opClass) {
  case OpClass::Clear:
    return 0;
  case OpClass::Infer:
  case OpClass::Allow: // an allow op inside a payload adds nothing on its own
    return 1;
  case OpClass::Unknown:
    return 2;
  case OpClass::Deny:
    return 3;
  }
  llvm_unreachable("unknown op class");
}

/// The op that combines values into the reduction accumulator of output
/// `outputIndex` (the yielded value's producer), if any.
static Operation *getReductionCombiner(linalg::LinalgOp linalgOp,
                                       unsigned outputIndex) {
  Block *body = linalgOp.getBlock();
  if (!body)
    return nullptr;
  Value yielded = body->getTerminator()->getOperand(outputIndex);
  return yielded.getDefiningOp();
}

/// Whether the payload only sums products of its two inputs (`acc + a * b`,
/// inputs possibly extended): a contraction or convolution whatever the
/// maps, like the filter adjoint of a convolution, which reads the input
/// through the window and the output adjoint.
static bool isMultiplyAccumulate(linalg::LinalgOp linalgOp) {
  Block *body = linalgOp.getBlock();
  if (!body || linalgOp.getNumDpsInputs() != 2 || linalgOp.getNumDpsInits() != 1 ||
      linalgOp.getNumReductionLoops() == 0)
    return false;
  for (Operation &op : body->without_terminator())
    if (!isa<arith::MulFOp, arith::AddFOp, arith::ExtFOp>(op))
      return false;
  return linalg::detail::isContractionBody(*body, [](Operation *product, Operation *sum) {
    return isa<arith::MulFOp>(product) && isa<arith::AddFOp>(sum);
  });
}

static Classification classifyLinalgPayload(const PrecisionPolicy &policy,
                                            linalg::LinalgOp linalgOp) {
  if (linalg::isaContractionOpInterface(linalgOp))
    return {OpClass::Allow, "payload and iterators form a contraction"};
  if (linalg::isaConvolutionOpInterface(linalgOp, /*allowEmptyConvolvedDims=*/false))
    return {OpClass::Allow, "payload and iterators form a convolution"};
  if (isMultiplyAccumulate(linalgOp))
    return {OpClass::Allow, "payload sums products of its two inputs"};

  Block *body = linalgOp.getBlock();
  if (!body)
    return {OpClass::Unknown, "structured op without a payload"};

  // Reductions that add or multiply accumulate rounding error: keep f32.
  // Max/min combiners are exact in any precision and count as data movement.
  llvm::SmallPtrSet<Operation *, 2> exactCombiners;
  if (linalgOp.getNumReductionLoops() > 0) {
    for (unsigned i = 0, e = linalgOp.getNumDpsInits(); i < e; ++i) {
      Operation *combiner = getReductionCombiner(linalgOp, i);
      if (isa_and_nonnull<arith::AddFOp, arith::SubFOp>(combiner))
        return {OpClass::Deny, "sum reduction"};
      if (isa_and_nonnull<arith::MulFOp>(combiner))
        return {OpClass::Deny, "product reduction"};
      if (isa_and_nonnull<arith::MaximumFOp, arith::MinimumFOp,
                          arith::MaxNumFOp, arith::MinNumFOp>(combiner))
        exactCombiners.insert(combiner);
    }
  }

  OpClass worst = OpClass::Clear;
  std::string worstName;
  for (Operation &payloadOp : body->without_terminator()) {
    if (exactCombiners.contains(&payloadOp))
      continue;
    std::optional<OpClass> cls = policy.lookup(payloadOp.getName().getStringRef());
    OpClass opClass = cls.value_or(OpClass::Unknown);
    if (restrictiveness(opClass) > restrictiveness(worst)) {
      worst = opClass == OpClass::Allow ? OpClass::Infer : opClass;
      worstName = payloadOp.getName().getStringRef().str();
    }
  }
  switch (worst) {
  case OpClass::Deny:
    return {OpClass::Deny, "payload contains '" + worstName + "' (deny)"};
  case OpClass::Unknown:
    return {OpClass::Unknown,
            "payload contains '" + worstName + "', which the policy does not know"};
  case OpClass::Infer:
    return {OpClass::Infer, linalgOp.getNumReductionLoops() > 0
                                ? "max/min reduction with elementwise payload"
                                : "elementwise payload of infer ops"};
  case OpClass::Clear:
    return {OpClass::Clear, linalgOp.getNumReductionLoops() > 0
                                ? "max/min reduction"
                                : "payload only moves data"};
  case OpClass::Allow:
    break;
  }
  llvm_unreachable("payload class is never allow");
}

Classification PrecisionPolicy::classify(Operation *op) const {
  std::string matched;
  if (std::optional<OpClass> cls = lookup(op->getName().getStringRef(), &matched))
    return {*cls, (Twine(stringifyOpClass(*cls)) + " list entry '" + matched + "'").str()};
  if (auto linalgOp = dyn_cast<linalg::LinalgOp>(op))
    return classifyLinalgPayload(*this, linalgOp);
  return {OpClass::Unknown,
          (Twine("'") + op->getName().getStringRef() +
           "' is not in the precision policy")
              .str()};
}
