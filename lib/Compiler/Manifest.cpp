//===- Manifest.cpp - JSON manifests of compiled entry points ---------------===//

#include "ampc/Compiler/Compiler.h"

#include "mlir/Dialect/DLTI/DLTI.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Matchers.h"

#include <cmath>
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

/// The low precisions the module computes in, read from its types (so an
/// amp-pipeline output compiled with --precision=fp32 is described as what it
/// is): "fp32", "fp16", "bf16" or "fp16+bf16".
static std::string precisionFromIR(ModuleOp module) {
  bool f16 = false, bf16 = false;
  auto see = [&](Type type) {
    Type elt = getElementTypeOrSelf(type);
    f16 |= elt.isF16();
    bf16 |= elt.isBF16();
  };
  module.walk([&](Operation *op) {
    for (Type type : op->getResultTypes())
      see(type);
    for (Region &region : op->getRegions())
      for (Block &block : region)
        for (BlockArgument arg : block.getArguments())
          see(arg.getType());
  });
  if (f16 && bf16)
    return "fp16+bf16";
  return f16 ? "fp16" : bf16 ? "bf16" : "fp32";
}

/// The loss scaling the module's training steps do, read from the IR:
/// amp.update_scale is dynamic scaling (its attributes are the scaler's
/// options, the scale argument's amp.init its initial value); amp.unscale
/// alone is a static scale.
static std::pair<std::string, llvm::json::Object> lossScalingFromIR(ModuleOp module) {
  llvm::json::Object options;
  amp::UpdateScaleOp update;
  module.walk([&](amp::UpdateScaleOp op) {
    update = op;
    return WalkResult::interrupt();
  });
  if (update) {
    if (auto arg = dyn_cast<BlockArgument>(update.getScale()))
      if (auto func = dyn_cast<func::FuncOp>(arg.getOwner()->getParentOp()))
        if (auto init = func.getArgAttrOfType<FloatAttr>(arg.getArgNumber(),
                                                         amp::AMPDialect::kInitAttrName))
          options["init_scale"] = init.getValueAsDouble();
    options["growth_factor"] = update.getGrowthFactor().convertToDouble();
    options["backoff_factor"] = update.getBackoffFactor().convertToDouble();
    options["growth_interval"] = update.getGrowthInterval();
    options["min_scale"] = update.getMinScale().convertToDouble();
    double max = update.getMaxScale().convertToDouble();
    options["max_scale"] = std::isinf(max) ? 0.0 : max;
    return {"dynamic", std::move(options)};
  }
  amp::UnscaleOp unscale;
  module.walk([&](amp::UnscaleOp op) {
    unscale = op;
    return WalkResult::interrupt();
  });
  if (!unscale)
    return {"none", std::move(options)};
  DenseElementsAttr value;
  if (matchPattern(unscale.getScale(), m_Constant(&value)) && value.isSplat())
    options["scale"] = value.getSplatValue<APFloat>().convertToDouble();
  return {"static", std::move(options)};
}

/// How the step is data-parallel, read from the IR: null, or the backend,
/// its MPI ABI and the buckets (`bucket_bytes`: what one step all-reduces).
static llvm::json::Value dataParallelFromIR(ModuleOp module) {
  // Per function: a step and its _apply reduce the same gradients; report
  // the function that reduces most (the step, with its buffers).
  int64_t buckets = 0, bytes = 0;
  bool any = false;
  for (auto func : module.getOps<func::FuncOp>()) {
    int64_t funcBuckets = 0, funcBytes = 0;
    func.walk([&](amp::AllReduceOp op) {
      ++funcBuckets;
      for (Type type : op.getInputs().getTypes()) {
        auto tensor = cast<RankedTensorType>(type);
        funcBytes += tensor.getNumElements() * tensor.getElementTypeBitWidth() / 8;
      }
    });
    any |= funcBuckets > 0;
    if (funcBytes > bytes)
      std::tie(buckets, bytes) = std::make_pair(funcBuckets, funcBytes);
  }
  if (!any)
    return nullptr;
  std::string implementation = "MPICH"; // the upstream lowering's default
  if (auto map = dyn_cast_or_null<DLTIQueryInterface>(module->getAttr(DLTIDialect::kMapAttrName)))
    if (FailureOr<Attribute> value =
            map.query(StringAttr::get(module.getContext(), "MPI:Implementation"));
        succeeded(value))
      if (auto name = dyn_cast<StringAttr>(*value))
        implementation = name.str();
  return llvm::json::Object{{"backend", "mpi"},
                            {"mpi_implementation", implementation},
                            {"buckets_per_step", buckets},
                            {"bytes_per_step", bytes}};
}

static llvm::json::Value describe(func::FuncOp func, Type type, DictionaryAttr attrs,
                                  unsigned index, bool &ok) {
  llvm::json::Object entry{{"index", index}};
  if (auto role = attrs ? attrs.getAs<StringAttr>(amp::AMPDialect::kRoleAttrName) : nullptr)
    entry["role"] = role.getValue().str();
  if (auto name = attrs ? attrs.getAs<StringAttr>(amp::AMPDialect::kNameAttrName) : nullptr)
    entry["name"] = name.getValue().str();
  if (auto of = attrs ? attrs.getAs<IntegerAttr>(amp::AMPDialect::kCopyOfAttrName) : nullptr)
    entry["copy_of"] = of.getInt();
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
    if (auto f = dyn_cast<FloatAttr>(init)) {
      // JSON has no infinities or NaN: such a value could not be read back.
      if (!std::isfinite(f.getValueAsDouble())) {
        func.emitError("ampc: entry point '")
            << func.getSymName() << "' argument #" << index << " has the non-finite initial value "
            << f.getValueAsDouble();
        ok = false;
      }
      entry["init"] = f.getValueAsDouble();
    }
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
  auto [scaling, scalerOptions] = lossScalingFromIR(module);
  llvm::json::Object manifest{
      {"format", "ampc-manifest-1"},
      {"input", inputPath.str()},
      {"target", options.target == Target::CPU ? "cpu" : "cuda"},
      {"precision", precisionFromIR(module)},
      {"loss_scaling", scaling},
      {"loss_scaler", std::move(scalerOptions)},
      {"policy", options.policyFile.empty() ? std::string("default") : options.policyFile},
      {"persistent_copies", options.persistentCopies},
      {"grad_accumulation", options.gradAccumulation},
      {"data_parallel", dataParallelFromIR(module)},
      {"opt_level", static_cast<int64_t>(options.optLevel)},
      {"command_line", options.commandLine},
      {"functions", std::move(functions)}};
  return manifest;
}
