//===- HostTarget.cpp - the CPU ampc's host code is compiled for -----------===//

#include "HostTarget.h"

#include "ampc_cpu_support.h"

#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/IR/Constants.h"
#include "llvm/IR/GlobalVariable.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Host.h"

#include <algorithm>

using namespace mlir;
using namespace ampc;

FailureOr<ampc::detail::HostTarget> ampc::detail::createHostTarget(Location loc,
                                                                   const CompilerOptions &options) {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  llvm::Triple triple(llvm::sys::getDefaultTargetTriple());
  std::string error;
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return emitError(loc) << "ampc: no LLVM target for '" << triple.str() << "': " << error;

  // -march=native: the host's CPU and the full state of every feature it
  // reports, so that a CPU LLVM names after a family member (this Xeon is a
  // "rocketlake") still gets AVX512-BF16 and AMX where the chip has them.
  ampc::detail::HostTarget host;
  SmallVector<std::string> features;
  if (options.cpu == "native") {
    host.cpu = llvm::sys::getHostCPUName().str();
    for (const llvm::StringMapEntry<bool> &feature : llvm::sys::getHostCPUFeatures())
      features.push_back((feature.getValue() ? "+" : "-") + feature.getKey().str());
    // Deterministic order, so that the same machine builds the same library.
    llvm::sort(features);
  } else {
    host.cpu = options.cpu;
  }
  // Asked with no CPU, so that LLVM does not print its own warning about an
  // unknown one.
  std::unique_ptr<llvm::MCSubtargetInfo> info(target->createMCSubtargetInfo(triple, "", ""));
  if (!info || !info->isCPUStringValid(host.cpu)) {
    InFlightDiagnostic diag = emitError(loc) << "ampc: --cpu=" << options.cpu
                                             << ": not a CPU LLVM knows for "
                                             << triple.getArchName() << " (try native, ";
    diag << (triple.isX86() ? "x86-64, x86-64-v2, x86-64-v3, x86-64-v4 or sapphirerapids)"
                            : "generic)");
    return diag;
  }
  // User features after the CPU's: the last word on each feature wins.
  SmallVector<StringRef> requested;
  StringRef(options.cpuFeatures).split(requested, ',', -1, /*KeepEmpty=*/false);
  for (StringRef item : requested) {
    item = item.trim();
    StringRef name = item.drop_front();
    bool known = llvm::any_of(info->getAllProcessorFeatures(),
                              [&](const llvm::SubtargetFeatureKV &kv) { return name == kv.Key; });
    if ((!item.starts_with("+") && !item.starts_with("-")) || !known)
      return emitError(loc) << "ampc: --cpu-features=" << options.cpuFeatures << ": '" << item
                            << "' is not +FEATURE or -FEATURE with a feature LLVM knows for "
                            << triple.getArchName() << " (such as +avx2, -avx512f, +avx512bf16)";
    features.push_back(item.str());
  }

  llvm::CodeGenOptLevel level = options.optLevel == 0   ? llvm::CodeGenOptLevel::None
                                : options.optLevel == 1 ? llvm::CodeGenOptLevel::Less
                                : options.optLevel == 2 ? llvm::CodeGenOptLevel::Default
                                                        : llvm::CodeGenOptLevel::Aggressive;
  host.machine.reset(target->createTargetMachine(triple, host.cpu, llvm::join(features, ","),
                                                 llvm::TargetOptions(), llvm::Reloc::PIC_,
                                                 std::nullopt, level));
  if (!host.machine)
    return emitError(loc) << "ampc: cannot create a target machine for '" << triple.str() << "'";
  const llvm::MCSubtargetInfo *enabled = host.machine->getMCSubtargetInfo();
  for (const llvm::SubtargetFeatureKV &kv : enabled->getAllProcessorFeatures())
    if (ampc_cpu_feature_known(kv.Key) && enabled->checkFeatures(std::string("+") + kv.Key))
      host.checkedFeatures.push_back(kv.Key);
  llvm::sort(host.checkedFeatures);
  return host;
}

void ampc::detail::embedLibraryIdentity(llvm::Module &module, const HostTarget &target,
                                  StringRef manifest) {
  auto addString = [&](StringRef name, StringRef value) {
    llvm::Constant *init = llvm::ConstantDataArray::getString(module.getContext(), value);
    auto *global = new llvm::GlobalVariable(module, init->getType(), /*isConstant=*/true,
                                            llvm::GlobalValue::ExternalLinkage, init, name);
    global->setVisibility(llvm::GlobalValue::DefaultVisibility);
    global->setAlignment(llvm::Align(1));
  };
  addString("ampc_cpu_name", target.cpu);
  addString("ampc_cpu_features", llvm::join(target.checkedFeatures, ","));
  addString("ampc_manifest", manifest);
}
