//===- CPUProfilePoints.cpp - the amp-cpu-profile-points pass ---------------===//
//
// Surrounds each kernel and runtime call of a step with the support
// library's profiler calls, and records what each point is (for the
// manifest and Python's profile report): the callee, what it computes and
// where in the model it came from.
//
//===----------------------------------------------------------------------===//

#include "ampc/Codegen/CPU/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/StringExtras.h"

namespace ampc {
#define GEN_PASS_DEF_AMPCPUPROFILEPOINTS
#include "ampc/Codegen/CPU/Passes.h.inc"
} // namespace ampc

using namespace mlir;
using namespace ampc;

namespace {

constexpr StringLiteral kBegin = "ampc_profile_begin";
constexpr StringLiteral kEnd = "ampc_profile_end";

/// Where an op came from: the first file location that a name wraps
/// (ampc.torch stamps each op with its module path, `loc("layer1.0.conv1"(
/// "resnet.py":92:13))`), else the first name (a parameter's, on the casts
/// and updates built from it) and the first file location; and whether
/// amp-differentiate marked it as part of a backward (fused
/// `{amp.adjoint_of = ...}`).
struct Origin {
  std::string source, module;
  bool backward = false;
};

std::string fileLine(FileLineColLoc file) {
  return (file.getFilename().getValue() + ":" + Twine(file.getLine())).str();
}

Origin originOf(Location loc) {
  Origin origin, fallback;
  loc->walk([&](Location nested) {
    if (auto name = dyn_cast<NameLoc>(nested)) {
      auto file = dyn_cast<FileLineColLoc>(name.getChildLoc());
      if (file && origin.source.empty()) {
        origin.source = fileLine(file);
        origin.module = name.getName().getValue().str();
      }
      if (fallback.module.empty())
        fallback.module = name.getName().getValue().str();
    }
    if (auto file = dyn_cast<FileLineColLoc>(nested); file && fallback.source.empty())
      fallback.source = fileLine(file);
    if (auto fused = dyn_cast<FusedLoc>(nested))
      if (auto meta = dyn_cast_or_null<DictionaryAttr>(fused.getMetadata()))
        if (meta.get("amp.adjoint_of"))
          origin.backward = true;
    return WalkResult::advance();
  });
  if (origin.source.empty()) {
    origin.source = fallback.source;
    origin.module = fallback.module;
  }
  return origin;
}

/// A linalg.generic by what its body computes: "elementwise(mulf, addf)",
/// "reduction(addf)" (the first few ops, dialect prefix dropped).
std::string describeGeneric(linalg::GenericOp generic) {
  llvm::SetVector<StringRef> names;
  for (Operation &op : generic.getBody()->without_terminator())
    names.insert(op.getName().stripDialect());
  constexpr size_t kShown = 4;
  SmallVector<StringRef> shown(names.begin(), names.begin() + std::min(names.size(), kShown));
  std::string what = generic.getNumReductionLoops() ? "reduction(" : "elementwise(";
  what += llvm::join(shown, ", ");
  if (names.size() > kShown)
    what += ", ...";
  return what + ")";
}

/// What a kernel computes: its top-level ops, generics by their bodies.
std::string describeKernel(func::FuncOp kernel) {
  SmallVector<std::string> parts;
  for (Operation &op : kernel.getBody().front().without_terminator()) {
    if (op.hasTrait<OpTrait::ConstantLike>())
      continue;
    if (auto generic = dyn_cast<linalg::GenericOp>(op))
      parts.push_back(describeGeneric(generic));
    else
      parts.push_back(op.getName().getStringRef().str());
  }
  return llvm::join(parts, "; ");
}

/// Declares `name` in `module` (once).
func::FuncOp declare(ModuleOp module, StringRef name, FunctionType type) {
  if (auto existing = module.lookupSymbol<func::FuncOp>(name))
    return existing;
  OpBuilder b(module.getBodyRegion());
  auto func = func::FuncOp::create(b, module.getLoc(), name, type);
  func.setPrivate();
  return func;
}

struct AMPCPUProfilePointsPass
    : public ampc::impl::AMPCPUProfilePointsBase<AMPCPUProfilePointsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    // Instrumented already: a second table would reuse the ids.
    if (module->hasAttr(kProfilePointsAttrName))
      return;
    MLIRContext *ctx = &getContext();
    Type i64 = IntegerType::get(ctx, 64);
    func::FuncOp begin = declare(module, kBegin, FunctionType::get(ctx, {}, {i64}));
    func::FuncOp end = declare(module, kEnd, FunctionType::get(ctx, {i64, i64}, {}));
    SymbolTable symbols(module);
    SmallVector<Attribute> points;
    for (func::FuncOp func : module.getOps<func::FuncOp>()) {
      if (func.isDeclaration() || func.isPrivate())
        continue;
      for (Operation &op : llvm::make_early_inc_range(func.getBody().getOps())) {
        auto call = dyn_cast<func::CallOp>(op);
        if (!call)
          continue;
        auto callee = symbols.lookup<func::FuncOp>(call.getCallee());
        bool kernel = callee && callee->hasAttr(kKernelAttrName);
        bool runtime = call.getCallee().starts_with("ampc_cpu_");
        if (!kernel && !runtime)
          continue;
        OpBuilder b(call);
        Location loc = call.getLoc();
        Value start = func::CallOp::create(b, loc, begin, ValueRange{}).getResult(0);
        b.setInsertionPointAfter(call);
        Value id = arith::ConstantOp::create(b, loc, b.getI64IntegerAttr(points.size()));
        func::CallOp::create(b, loc, end, ValueRange{id, start});
        // The call's own location: a kernel shared by several sites
        // (duplicate-function-elimination) keeps only the first one's.
        Origin origin = originOf(loc);
        NamedAttrList entry;
        entry.append("function", b.getStringAttr(func.getSymName()));
        entry.append("callee", b.getStringAttr(call.getCallee()));
        entry.append("what", b.getStringAttr(kernel ? describeKernel(callee) : call.getCallee()));
        entry.append("source", b.getStringAttr(origin.source));
        entry.append("module", b.getStringAttr(origin.module));
        entry.append("backward", b.getBoolAttr(origin.backward));
        points.push_back(entry.getDictionary(ctx));
        ++numPoints;
      }
    }
    module->setAttr(kProfilePointsAttrName, ArrayAttr::get(ctx, points));
  }
};

} // namespace
