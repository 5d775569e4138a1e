//===- Autocast.cpp - mixed-precision painting and rewriting ----------------===//
//
// The painting follows TensorFlow's AutoMixedPrecision graph rewrite (grappler
// auto_mixed_precision.cc), on SSA def-use edges between ops that compute on
// f32 data:
//   1. allow ops are low precision;
//   2. deny propagates forward through infer/clear ops that lead to a deny or
//      infer op;
//   3. infer/clear ops both downstream and upstream of allow ops go low;
//   4. low precision spreads through connected clear ops.
// Every traversal marks what it visits, so painting is linear in the graph.
//
//===----------------------------------------------------------------------===//

#include "ampc/Precision/Autocast.h"

#include "mlir/Analysis/SliceAnalysis.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
#include "llvm/Support/JSON.h"

using namespace mlir;
using namespace ampc;
using amp::Precision;

static bool isF32Typed(Type type) {
  if (auto tensor = dyn_cast<RankedTensorType>(type))
    return tensor.getElementType().isF32();
  return type.isF32();
}

/// A float type (or tensor of floats) other than f32: such ops are already
/// mixed precision and autocast leaves them alone.
static bool isOtherFloatTyped(Type type) {
  Type elt = getElementTypeOrSelf(type);
  return isa<FloatType>(elt) && !elt.isF32();
}

/// Ops autocast may repaint: they compute f32 results from f32 operands.
/// Sources (constants, tensor.empty) are not candidates: their low users get
/// casts, which amp-cast-cleanup folds.
static bool isCandidate(Operation *op) {
  // amp ops (casts, the gradient seed, optimizers, loss scaling) define their
  // own precision: optimizer math is f32 whatever the policy says.
  if (isa_and_nonnull<amp::AMPDialect>(op->getDialect()) ||
      op->hasTrait<OpTrait::IsTerminator>())
    return false;
  bool hasF32Result = false, hasF32Operand = false;
  for (Type type : op->getResultTypes()) {
    if (isOtherFloatTyped(type))
      return false;
    hasF32Result |= isF32Typed(type);
  }
  for (Type type : op->getOperandTypes()) {
    if (isOtherFloatTyped(type))
      return false;
    hasF32Operand |= isF32Typed(type);
  }
  return hasF32Result && hasF32Operand;
}

/// Regions autocast knows how to retype.
static bool hasRetypableRegions(Operation *op) {
  return op->getNumRegions() == 0 || isa<linalg::LinalgOp, tensor::PadOp>(op);
}

/// Inits that ops with reduction loops accumulate rounding error into
/// (sums, dot products, convolutions). Max/min reductions are exact in any
/// precision, so their inits are not accumulators.
static bool isAccumulatorInit(OpOperand &operand) {
  auto linalgOp = dyn_cast<linalg::LinalgOp>(operand.getOwner());
  if (!linalgOp || linalgOp.getNumReductionLoops() == 0 ||
      !linalgOp.isDpsInit(&operand))
    return false;
  Block *body = linalgOp.getBlock();
  if (!body)
    return true;
  OpResult tied = linalgOp.getTiedOpResult(&operand);
  Value yielded = body->getTerminator()->getOperand(tied.getResultNumber());
  return !isa_and_nonnull<arith::MaximumFOp, arith::MinimumFOp, arith::MaxNumFOp,
                          arith::MinNumFOp>(yielded.getDefiningOp());
}

/// The forward op `loc` says an op is the backward of
/// (`fused<{amp.adjoint_of = "<op>"}>[loc]`, set by amp-differentiate), and
/// that op's location.
static std::pair<StringRef, Location> adjointOrigin(Location loc) {
  if (auto fused = dyn_cast<FusedLoc>(loc))
    if (auto meta = dyn_cast_or_null<DictionaryAttr>(fused.getMetadata()))
      if (auto of = meta.getAs<StringAttr>(amp::AMPDialect::kAdjointOfAttrName))
        if (fused.getLocations().size() == 1)
          return {of.getValue(), fused.getLocations().front()};
  return {StringRef(), loc};
}

static std::string locationString(Location loc) {
  loc = adjointOrigin(loc).second;
  std::string str;
  llvm::raw_string_ostream os(str);
  if (auto fileLoc = dyn_cast<FileLineColLoc>(loc))
    os << fileLoc.getFilename().getValue() << ":" << fileLoc.getLine() << ":"
       << fileLoc.getColumn();
  else
    loc.print(os);
  return str;
}

namespace {

/// Why a node ended where it did, beyond its policy class.
enum class PaintReason {
  Class,           // its class (or pin) decided
  DenyPropagated,  // downstream of a deny op
  BetweenAllow,    // infer/clear between low-precision ops
  ClearPropagated, // clear op next to low-precision ops
};

struct Node {
  Operation *op;
  OpClass opClass;
  std::string rule;
  std::optional<Precision> pin;
  SmallVector<unsigned, 4> preds, succs;
  bool deny = false, allow = false;
  /// Its results stay in an f32 accumulator even when it runs low.
  bool outputsF32Accumulator = false;
  PaintReason reason = PaintReason::Class;
  unsigned denyRoot = 0;
};

class Autocaster {
public:
  Autocaster(FunctionOpInterface func, const PrecisionPolicy &policy,
             const AutocastOptions &options)
      : func(func), policy(policy), options(options) {}

  LogicalResult run(AutocastResult &result);

private:
  void buildGraph();
  void paint();
  Precision precisionOf(const Node &node) const {
    return node.pin.value_or(options.computeType);
  }
  /// Whether `operand` of a low op takes the op's precision (accumulators
  /// kept in f32 do not).
  bool followsOpPrecision(OpOperand &operand, Type originalType) const {
    if (!isF32Typed(originalType))
      return false;
    // The gradient seed stays f32 in the generics that read it: loss scaling
    // multiplies it by S (65536 by default, above f16's largest value), and
    // a generic's payload computes in f32 anyway. Only what the payload
    // stores is rounded, as PyTorch rounds an f32 loss gradient where it
    // enters an f16 op.
    if (operand.get().getDefiningOp<amp::GradSeedOp>() && isa<linalg::GenericOp>(operand.getOwner()))
      return false;
    return !(options.accumulateType == Precision::f32 &&
             isAccumulatorInit(operand));
  }
  Value getCast(Value value, Type type);
  LogicalResult retypeRegions(Operation *op);
  void adjustSignature();
  void record(AutocastResult &result);

  template <typename EnterFn, typename VisitFn>
  void traverse(unsigned root, bool followInputs, bool followOutputs,
                EnterFn enter, VisitFn visit);

  FunctionOpInterface func;
  const PrecisionPolicy &policy;
  const AutocastOptions &options;
  std::vector<Node> nodes;
  DenseMap<Operation *, unsigned> nodeIndex;
  std::vector<unsigned> seen;
  unsigned generation = 0;
  DenseMap<Value, Type> originalTypes;
  DenseMap<std::pair<Value, Type>, Value> castCache;
  llvm::SetVector<Operation *> insertedCasts;
  /// Ops whose amp.precision pin decided some node.
  llvm::SmallPtrSet<Operation *, 8> usedPins;
};
} // namespace

template <typename EnterFn, typename VisitFn>
void Autocaster::traverse(unsigned root, bool followInputs, bool followOutputs,
                          EnterFn enter, VisitFn visit) {
  ++generation;
  SmallVector<unsigned, 32> stack{root};
  seen[root] = generation;
  auto push = [&](unsigned from, unsigned next) {
    if (seen[next] != generation && enter(from, next)) {
      seen[next] = generation;
      stack.push_back(next);
    }
  };
  while (!stack.empty()) {
    unsigned idx = stack.pop_back_val();
    visit(idx);
    if (followInputs)
      for (unsigned pred : nodes[idx].preds)
        push(idx, pred);
    if (followOutputs)
      for (unsigned succ : nodes[idx].succs)
        push(idx, succ);
  }
}

void Autocaster::buildGraph() {
  // Payloads of structured ops are classified with their op, not on their own.
  func->walk<WalkOrder::PreOrder>([&](Operation *op) {
    if (op == func.getOperation())
      return WalkResult::advance();
    if (isCandidate(op)) {
      Node node{op, OpClass::Unknown, {}, {}, {}, {}};
      Operation *pinSource = nullptr;
      if (std::optional<Precision> pin = amp::getEffectivePrecision(op, &pinSource)) {
        node.pin = pin;
        node.opClass = *pin == Precision::f32 ? OpClass::Deny : OpClass::Allow;
        node.rule = ("pinned to " + amp::stringifyPrecision(*pin) + " by amp.precision")
                        .str();
        if (pinSource != op)
          node.rule += " on '" + pinSource->getName().getStringRef().str() + "' at " +
                       locationString(pinSource->getLoc());
        usedPins.insert(pinSource);
      } else {
        Classification cls = policy.classify(op);
        node.opClass = cls.opClass;
        node.rule = std::move(cls.rule);
        if (node.opClass == OpClass::Unknown)
          op->emitRemark() << "amp-autocast: " << node.rule
                           << "; kept in f32";
        else if (!hasRetypableRegions(op) && node.opClass != OpClass::Deny) {
          node.opClass = OpClass::Deny;
          node.rule += "; has regions autocast does not retype";
        }
      }
      nodeIndex[op] = nodes.size();
      nodes.push_back(std::move(node));
    }
    if (isa<linalg::LinalgOp, tensor::PadOp>(op))
      return WalkResult::skip();
    return WalkResult::advance();
  });

  // A pin that no op autocast decides falls under is a mistake worth a word:
  // on an op autocast never retypes (no f32 operand and result), on a
  // payload op (classified with its linalg op), or on a region with nothing
  // to decide.
  func->walk([&](Operation *op) {
    if (!amp::getPinnedPrecision(op) || usedPins.contains(op))
      return;
    op->emitWarning() << "amp-autocast: the amp.precision pin on '" << op->getName()
                      << "' affects nothing: autocast decides the precision of ops with f32 "
                         "operands and results (a linalg op's payload goes with the linalg "
                         "op), and no such op is "
                      << (op->getNumRegions() ? "inside it" : "here");
  });

  for (unsigned idx = 0, e = nodes.size(); idx < e; ++idx) {
    Operation *op = nodes[idx].op;
    for (OpOperand &operand : op->getOpOperands()) {
      Operation *def = operand.get().getDefiningOp();
      if (!def || !isF32Typed(operand.get().getType()))
        continue;
      auto it = nodeIndex.find(def);
      if (it == nodeIndex.end())
        continue;
      // An f32 accumulator does not tie its producer's precision to the op.
      if (options.accumulateType == Precision::f32 && isAccumulatorInit(operand))
        continue;
      nodes[idx].preds.push_back(it->second);
      nodes[it->second].succs.push_back(idx);
    }
    if (options.accumulateType == Precision::f32)
      if (auto dps = dyn_cast<DestinationStyleOpInterface>(op))
        nodes[idx].outputsF32Accumulator =
            dps.getNumDpsInits() > 0 &&
            llvm::all_of(dps.getDpsInitsMutable(),
                         [](OpOperand &init) { return isAccumulatorInit(init); });
  }
  seen.assign(nodes.size(), 0);
}

void Autocaster::paint() {
  auto isDenyClass = [&](unsigned i) {
    return nodes[i].opClass == OpClass::Deny ||
           nodes[i].opClass == OpClass::Unknown;
  };
  auto is = [&](unsigned i, OpClass c) { return nodes[i].opClass == c; };
  unsigned n = nodes.size();

  // 2. Deny forward through clear/infer ops that lead to deny/infer ops.
  std::vector<bool> upstreamOfDenyOrInfer(n, false);
  for (unsigned root = 0; root < n; ++root) {
    if (!isDenyClass(root) && !is(root, OpClass::Infer))
      continue;
    traverse(
        root, /*followInputs=*/true, /*followOutputs=*/false,
        [&](unsigned, unsigned i) {
          return !upstreamOfDenyOrInfer[i] && is(i, OpClass::Clear) &&
                 !nodes[i].pin;
        },
        [&](unsigned i) { upstreamOfDenyOrInfer[i] = true; });
  }
  for (unsigned root = 0; root < n; ++root) {
    if (nodes[root].deny || !isDenyClass(root))
      continue;
    traverse(
        root, /*followInputs=*/false, /*followOutputs=*/true,
        [&](unsigned, unsigned i) {
          return !nodes[i].deny && upstreamOfDenyOrInfer[i] && !nodes[i].pin;
        },
        [&](unsigned i) {
          nodes[i].deny = true;
          if (i != root && !isDenyClass(i)) {
            nodes[i].reason = PaintReason::DenyPropagated;
            nodes[i].denyRoot = root;
          }
        });
  }

  // 1. Allow ops.
  for (Node &node : nodes)
    if (node.opClass == OpClass::Allow && !node.deny)
      node.allow = true;

  // 3. Infer/clear ops between low-precision ops.
  auto followsNeighbours = [&](unsigned i) {
    return !nodes[i].pin && !nodes[i].deny &&
           (is(i, OpClass::Clear) || is(i, OpClass::Infer));
  };
  std::vector<bool> downstreamOfAllow(n, false);
  for (unsigned root = 0; root < n; ++root) {
    if (!is(root, OpClass::Allow) || !nodes[root].allow)
      continue;
    traverse(
        root, false, true,
        [&](unsigned, unsigned i) { return !downstreamOfAllow[i] && followsNeighbours(i); },
        [&](unsigned i) { downstreamOfAllow[i] = true; });
  }
  std::vector<bool> upstreamOfAllow(n, false);
  for (unsigned root = 0; root < n; ++root) {
    if (!is(root, OpClass::Allow) || !nodes[root].allow || upstreamOfAllow[root])
      continue;
    traverse(
        root, true, false,
        [&](unsigned, unsigned i) { return !upstreamOfAllow[i] && downstreamOfAllow[i]; },
        [&](unsigned i) {
          upstreamOfAllow[i] = true;
          if (!nodes[i].allow) {
            nodes[i].allow = true;
            nodes[i].reason = PaintReason::BetweenAllow;
          }
        });
  }

  // 4. Low precision spreads through connected clear ops. Unlike TF, whose
  // allow ops output f16, an op accumulating in f32 outputs f32: spreading
  // downstream of it would only add a rounding, so that edge is not followed.
  std::vector<bool> clearPropagated(n, false);
  for (unsigned root = 0; root < n; ++root) {
    if (!nodes[root].allow || clearPropagated[root])
      continue;
    traverse(
        root, true, true,
        [&](unsigned from, unsigned i) {
          bool downstream = llvm::is_contained(nodes[from].succs, i);
          if (downstream && nodes[from].outputsF32Accumulator)
            return false;
          return !clearPropagated[i] && !nodes[i].allow && !nodes[i].deny &&
                 !nodes[i].pin && is(i, OpClass::Clear);
        },
        [&](unsigned i) { clearPropagated[i] = true; });
  }
  for (unsigned i = 0; i < n; ++i)
    if (clearPropagated[i] && !nodes[i].allow) {
      nodes[i].allow = true;
      nodes[i].reason = PaintReason::ClearPropagated;
    }
}

Value Autocaster::getCast(Value value, Type type) {
  auto key = std::make_pair(value, type);
  auto it = castCache.find(key);
  if (it != castCache.end())
    return it->second;
  OpBuilder builder(value.getContext());
  if (auto arg = dyn_cast<BlockArgument>(value))
    builder.setInsertionPointToStart(arg.getOwner());
  else
    builder.setInsertionPointAfter(value.getDefiningOp());
  auto cast = amp::CastOp::create(builder, value.getLoc(), type, value);
  insertedCasts.insert(cast);
  castCache[key] = cast.getResult();
  return cast.getResult();
}

/// Makes the payload of a structured op agree with its retyped operands.
LogicalResult Autocaster::retypeRegions(Operation *op) {
  if (auto pad = dyn_cast<tensor::PadOp>(op)) {
    auto yield = cast<tensor::YieldOp>(pad.getRegion().front().getTerminator());
    Type elt = pad.getResultType().getElementType();
    if (yield.getValue().getType() != elt) {
      OpBuilder builder(yield);
      yield.getValueMutable().assign(
          amp::CastOp::create(builder, yield.getLoc(), elt, yield.getValue()));
    }
    return success();
  }
  auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
  if (!linalgOp)
    return success();

  if (!isa<linalg::GenericOp, linalg::MapOp, linalg::ReduceOp>(op)) {
    // Named ops: rebuild the implicit payload from the op's own region
    // builder, exactly as the parser would for the new types.
    auto regionBuilder = linalgOp.getRegionBuilder();
    if (!regionBuilder)
      return op->emitError("amp-autocast: cannot rebuild the payload of '")
             << op->getName() << "'";
    Region &region = op->getRegion(0);
    region.dropAllReferences();
    region.getBlocks().clear();
    Block *block = new Block();
    region.push_back(block);
    for (Value operand : op->getOperands())
      block->addArgument(getElementTypeOrSelf(operand.getType()), op->getLoc());
    ImplicitLocOpBuilder builder(op->getLoc(), op->getContext());
    builder.setInsertionPointToStart(block);
    bool failed = false;
    regionBuilder(builder, *block, op->getAttrs(), [&]() {
      failed = true;
      return op->emitError("amp-autocast: rebuilding the payload failed");
    });
    return failure(failed);
  }

  // Explicit payloads: arguments arrive in the storage type and are widened
  // to f32 on entry; results are narrowed before the yield. The payload itself
  // keeps computing in f32, as PyTorch's low-precision kernels do.
  Block *body = linalgOp.getBlock();
  OpBuilder builder(op->getContext());
  builder.setInsertionPointToStart(body);
  for (OpOperand &operand : op->getOpOperands()) {
    BlockArgument arg = linalgOp.getMatchingBlockArgument(&operand);
    if (!arg)
      continue;
    Type newElt = getElementTypeOrSelf(operand.get().getType());
    Type oldElt = arg.getType();
    if (newElt == oldElt)
      continue;
    arg.setType(newElt);
    if (arg.use_empty())
      continue;
    auto ext = arith::ExtFOp::create(builder, arg.getLoc(), oldElt, arg);
    arg.replaceAllUsesExcept(ext.getResult(), ext);
  }
  Operation *terminator = body->getTerminator();
  builder.setInsertionPoint(terminator);
  for (auto [index, result] : llvm::enumerate(op->getResults())) {
    Type newElt = getElementTypeOrSelf(result.getType());
    Value yielded = terminator->getOperand(index);
    if (yielded.getType() == newElt)
      continue;
    // A value moved unchanged from a retyped argument needs no round trip.
    auto ext = yielded.getDefiningOp<arith::ExtFOp>();
    if (ext && ext->getBlock() == body && ext.getIn().getType() == newElt) {
      terminator->setOperand(index, ext.getIn());
      if (ext->use_empty())
        ext->erase();
      continue;
    }
    terminator->setOperand(
        index, arith::TruncFOp::create(builder, yielded.getLoc(), newElt, yielded));
  }
  return success();
}

void Autocaster::adjustSignature() {
  auto funcOp = dyn_cast<func::FuncOp>(func.getOperation());
  if (!funcOp || funcOp.isDeclaration())
    return;
  if (auto module = funcOp->getParentOfType<ModuleOp>())
    if (!SymbolTable::symbolKnownUseEmpty(funcOp, module)) {
      funcOp.emitWarning("amp-autocast: keep-io-types=false ignored for '")
          << funcOp.getSymName() << "', which has callers in the module";
      return;
    }
  Block &entry = funcOp.getBody().front();
  // Arguments whose every use is one amp.cast to a single type take that type.
  for (BlockArgument arg : entry.getArguments()) {
    if (arg.use_empty() || !isF32Typed(arg.getType()))
      continue;
    Type target;
    bool onlyCasts = llvm::all_of(arg.getUsers(), [&](Operation *user) {
      auto cast = dyn_cast<amp::CastOp>(user);
      if (!cast || (target && target != cast.getType()))
        return false;
      target = cast.getType();
      return true;
    });
    if (!onlyCasts)
      continue;
    for (Operation *user : llvm::make_early_inc_range(arg.getUsers())) {
      user->getResult(0).replaceAllUsesWith(arg);
      insertedCasts.remove(user);
      user->erase();
    }
    arg.setType(target);
  }
  // Results computed in low precision are returned as they are.
  funcOp.walk([&](func::ReturnOp ret) {
    for (OpOperand &operand : ret->getOpOperands()) {
      auto cast = operand.get().getDefiningOp<amp::CastOp>();
      if (cast && insertedCasts.contains(cast))
        operand.set(cast.getInput());
    }
  });
  auto ret = cast<func::ReturnOp>(entry.getTerminator());
  funcOp.setFunctionType(FunctionType::get(
      funcOp.getContext(), entry.getArgumentTypes(), ret.getOperandTypes()));
  for (Operation *cast : llvm::make_early_inc_range(insertedCasts))
    if (cast->use_empty()) {
      insertedCasts.remove(cast);
      cast->erase();
    }
}

void Autocaster::record(AutocastResult &result) {
  std::string funcName;
  if (auto sym = dyn_cast<SymbolOpInterface>(func.getOperation()))
    funcName = sym.getName().str();
  // The backward of a hand-written step: what depends on its gradient seed.
  llvm::SetVector<Operation *> backward;
  func->walk([&](amp::GradSeedOp seed) { getForwardSlice(seed.getOperation(), &backward); });
  for (const Node &node : nodes) {
    AutocastDecision decision;
    decision.function = funcName;
    decision.location = locationString(node.op->getLoc());
    decision.opName = node.op->getName().getStringRef().str();
    decision.opClass = node.opClass;
    decision.pinned = node.pin.has_value();
    decision.precision = node.allow ? precisionOf(node) : Precision::f32;
    decision.adjointOf = adjointOrigin(node.op->getLoc()).first.str();
    decision.backward = !decision.adjointOf.empty() || backward.contains(node.op);
    for (Type type : node.op->getResultTypes())
      if (auto shaped = dyn_cast<ShapedType>(type); shaped && shaped.hasRank())
        decision.resultShapes.emplace_back(shaped.getShape().begin(), shaped.getShape().end());
      else
        decision.resultShapes.emplace_back();
    switch (node.reason) {
    case PaintReason::Class:
      decision.rule = node.rule;
      if (!node.allow && !node.pin &&
          (node.opClass == OpClass::Infer || node.opClass == OpClass::Clear))
        decision.rule += "; no low-precision neighbours to follow, stays f32";
      if (node.opClass == OpClass::Unknown)
        decision.rule += "; treated as deny";
      break;
    case PaintReason::DenyPropagated: {
      const Node &root = nodes[node.denyRoot];
      decision.rule = node.rule + "; downstream of deny op '" +
                      root.op->getName().getStringRef().str() + "' at " +
                      locationString(root.op->getLoc()) + ", stays f32";
      break;
    }
    case PaintReason::BetweenAllow:
      decision.rule = node.rule + "; between low-precision ops";
      break;
    case PaintReason::ClearPropagated:
      decision.rule = node.rule + "; follows neighbouring low-precision ops";
      break;
    }
    result.decisions.push_back(std::move(decision));
  }
}

LogicalResult Autocaster::run(AutocastResult &result) {
  buildGraph();
  paint();

  // Retype results of low ops (accumulators kept in f32 keep theirs).
  for (Node &node : nodes) {
    if (!node.allow)
      continue;
    Type elt = amp::getFloatType(func->getContext(), precisionOf(node));
    auto dps = dyn_cast<DestinationStyleOpInterface>(node.op);
    for (OpResult res : node.op->getResults()) {
      if (!isF32Typed(res.getType()))
        continue;
      if (dps && !followsOpPrecision(*dps.getTiedOpOperand(res), res.getType()))
        continue;
      originalTypes[res] = res.getType();
      res.setType(amp::withElementType(res.getType(), elt));
    }
    ++result.numLowered;
  }

  // Give every operand the type its user expects, casting where it differs.
  SmallVector<Operation *> ops;
  func->walk([&](Operation *op) {
    if (op != func.getOperation())
      ops.push_back(op);
  });
  for (Operation *op : ops) {
    auto nodeIt = nodeIndex.find(op);
    bool low = nodeIt != nodeIndex.end() && nodes[nodeIt->second].allow;
    Type lowElt;
    if (low)
      lowElt = amp::getFloatType(op->getContext(),
                                 precisionOf(nodes[nodeIt->second]));
    for (OpOperand &operand : op->getOpOperands()) {
      Value value = operand.get();
      auto origIt = originalTypes.find(value);
      Type original = origIt == originalTypes.end() ? value.getType() : origIt->second;
      Type expected = original;
      if (low && followsOpPrecision(operand, original))
        expected = amp::withElementType(original, lowElt);
      if (expected != value.getType())
        operand.set(getCast(value, expected));
    }
  }

  for (Node &node : nodes)
    if (node.allow && failed(retypeRegions(node.op)))
      return failure();

  if (!options.keepIOTypes)
    adjustSignature();

  result.numCastsInserted += insertedCasts.size();
  for (const Node &node : nodes)
    ++result.classCounts[static_cast<unsigned>(node.opClass)];
  if (options.recordDecisions)
    record(result);
  return success();
}

LogicalResult ampc::autocastFunction(FunctionOpInterface func,
                                     const PrecisionPolicy &policy,
                                     const AutocastOptions &options,
                                     AutocastResult &result) {
  if (func.isExternal())
    return success();
  return Autocaster(func, policy, options).run(result);
}

void ampc::writeAutocastReport(raw_ostream &os, const AutocastResult &result,
                               const AutocastOptions &options) {
  const unsigned *counts = result.classCounts;
  llvm::json::OStream json(os, /*IndentSize=*/2);
  json.object([&] {
    json.attribute("pass", "amp-autocast");
    json.attribute("compute_type", amp::stringifyPrecision(options.computeType));
    json.attribute("accumulate_type",
                   amp::stringifyPrecision(options.accumulateType));
    json.attributeObject("summary", [&] {
      json.attribute("ops", static_cast<int64_t>(result.decisions.size()));
      json.attribute("lowered", static_cast<int64_t>(result.numLowered));
      json.attribute("casts_inserted", static_cast<int64_t>(result.numCastsInserted));
      for (OpClass c : {OpClass::Allow, OpClass::Deny, OpClass::Infer,
                        OpClass::Clear, OpClass::Unknown})
        json.attribute(stringifyOpClass(c),
                       static_cast<int64_t>(counts[static_cast<unsigned>(c)]));
    });
    json.attributeArray("ops", [&] {
      for (const AutocastDecision &d : result.decisions)
        json.object([&] {
          json.attribute("function", d.function);
          json.attribute("loc", d.location);
          json.attribute("op", d.opName);
          json.attribute("class", stringifyOpClass(d.opClass));
          json.attribute("pinned", d.pinned);
          json.attribute("precision", amp::stringifyPrecision(d.precision));
          json.attribute("rule", d.rule);
          json.attribute("pass", d.backward ? "backward" : "forward");
          if (!d.adjointOf.empty())
            json.attribute("adjoint_of", d.adjointOf);
          json.attributeArray("shapes", [&] {
            for (const std::vector<int64_t> &shape : d.resultShapes)
              json.array([&] {
                for (int64_t size : shape)
                  json.value(size);
              });
          });
        });
    });
  });
  os << "\n";
}
