//===- Manifest.cpp - JSON manifests of compiled entry points ---------------===//

#include "ampc/Compiler/Compiler.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/Support/JSON.h"

using namespace mlir;
using namespace ampc;

/// numpy's name for an element type ("bfloat16" has no numpy dtype; the
/// runtime stores it as uint16 bit patterns).
static std::optional<StringRef> dtypeName(Type type) {
  Type elt = getElementTypeOrSelf(type);
  if (elt.isF32())
    return StringRef("float32");
  if (elt.isF16())
    return StringRef("float16");
  if (elt.isBF16())
    return StringRef("bfloat16");
  if (elt.isF64())
    return StringRef("float64");
  if (elt.isInteger(64))
    return StringRef("int64");
  if (elt.isInteger(32))
    return StringRef("int32");
  if (elt.isInteger(1))
    return StringRef("bool");
  return std::nullopt;
}

static StringRef precisionName(const CompilerOptions &options) {
  if (!options.precision)
    return "fp32";
  return *options.precision == amp::Precision::f16 ? "fp16" : "bf16";
}

static llvm::json::Value describe(func::FuncOp func, Type type, DictionaryAttr attrs,
                                  unsigned index, bool &ok) {
  llvm::json::Object entry{{"index", index}};
  if (auto role = attrs ? attrs.getAs<StringAttr>(amp::AMPDialect::kRoleAttrName) : nullptr)
    entry["role"] = role.getValue().str();
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!tensor) {
    func.emitError("ampc: entry point '") << func.getSymName() << "' takes or returns "
                                          << type << "; only ranked tensors are supported";
    ok = false;
    return std::move(entry);
  }
  if (!tensor.hasStaticShape()) {
    func.emitError("ampc: entry point '") << func.getSymName() << "' has the dynamic shape "
                                          << type << "; the runtime needs static shapes";
    ok = false;
  }
  std::optional<StringRef> dtype = dtypeName(type);
  if (!dtype) {
    func.emitError("ampc: unsupported element type in ") << type;
    ok = false;
  }
  entry["shape"] = llvm::json::Array(tensor.getShape());
  entry["dtype"] = dtype ? dtype->str() : "";
  if (Attribute init = attrs ? attrs.get(amp::AMPDialect::kInitAttrName) : nullptr) {
    if (auto f = dyn_cast<FloatAttr>(init))
      entry["init"] = f.getValueAsDouble();
    else if (auto i = dyn_cast<IntegerAttr>(init))
      entry["init"] = i.getInt();
  }
  return std::move(entry);
}

FailureOr<llvm::json::Object> ampc::buildManifest(ModuleOp module, StringRef inputPath,
                                                  const CompilerOptions &options) {
  bool ok = true;
  llvm::json::Array functions;
  for (auto func : module.getOps<func::FuncOp>()) {
    if (func.isDeclaration() || func.isPrivate())
      continue;
    llvm::json::Array args, results;
    for (unsigned i = 0, e = func.getNumArguments(); i < e; ++i)
      args.push_back(describe(func, func.getArgumentTypes()[i], func.getArgAttrDict(i), i, ok));
    for (unsigned i = 0, e = func.getNumResults(); i < e; ++i)
      results.push_back(describe(func, func.getResultTypes()[i], func.getResultAttrDict(i), i, ok));
    llvm::json::Object entry{
        {"name", func.getSymName().str()},
        {"symbol", ("_mlir_ciface_" + func.getSymName()).str()},
        {"training_step", func->hasAttr(amp::AMPDialect::kTrainingStepAttrName)},
        {"arguments", std::move(args)},
        {"results", std::move(results)}};
    if (auto init = func->getAttrOfType<FlatSymbolRefAttr>(
            amp::AMPDialect::kInitialParamsAttrName))
      entry["initial_params"] = init.getValue().str();
    functions.push_back(std::move(entry));
  }
  if (!ok)
    return failure();
  if (functions.empty())
    return module.emitError("ampc: the module has no public function to export");
  StringRef scaling = "none";
  if (options.precision) {
    AMPPipelineOptions pipeline;
    pipeline.computeType = *options.precision;
    pipeline.lossScaling = options.lossScaling;
    switch (pipeline.getLossScalingMode()) {
    case LossScalingMode::None:
      scaling = "none";
      break;
    case LossScalingMode::Static:
      scaling = "static";
      break;
    case LossScalingMode::Dynamic:
      scaling = "dynamic";
      break;
    }
  }
  llvm::json::Object manifest{
      {"format", "ampc-manifest-1"},
      {"input", inputPath.str()},
      {"target", options.target == Target::CPU ? "cpu" : "cuda"},
      {"precision", precisionName(options).str()},
      {"loss_scaling", scaling.str()},
      {"policy", options.policyFile.empty() ? std::string("default") : options.policyFile},
      {"persistent_copies", options.persistentCopies},
      {"grad_accumulation", options.gradAccumulation},
      {"opt_level", static_cast<int64_t>(options.optLevel)},
      {"command_line", options.commandLine},
      {"functions", std::move(functions)}};
  return manifest;
}
