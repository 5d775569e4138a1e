//===- PolicyFile.cpp - reading policy files --------------------------------===//
//
// Policy files are YAML; JSON is valid YAML flow syntax, so LLVM's YAML parser
// reads both and every message carries file:line:col.
//
//===----------------------------------------------------------------------===//

#include "ampc/Precision/PrecisionPolicy.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/YAMLParser.h"

using namespace mlir;
using namespace ampc;
namespace yaml = llvm::yaml;

namespace {
/// Walks one YAML document and applies it, reporting through the SourceMgr so
/// that each message is located.
class PolicyFileReader {
public:
  PolicyFileReader(PrecisionPolicy &policy, llvm::SourceMgr &sourceMgr, StringRef file)
      : policy(policy), sourceMgr(sourceMgr), file(file) {}

  /// A null node is one the YAML parser could not read; it has already
  /// reported why, at the place.
  void error(yaml::Node *node, const Twine &message) {
    failed = true;
    if (node)
      sourceMgr.PrintMessage(node->getSourceRange().Start, llvm::SourceMgr::DK_Error,
                             message);
  }
  void warning(yaml::Node *node, const Twine &message) {
    sourceMgr.PrintMessage(node->getSourceRange().Start,
                           llvm::SourceMgr::DK_Warning, message);
  }

  std::optional<std::string> readScalar(yaml::Node *node, StringRef what) {
    auto *scalar = dyn_cast_or_null<yaml::ScalarNode>(node);
    if (!scalar) {
      error(node, Twine("expected ") + what + " as a string");
      return std::nullopt;
    }
    SmallString<64> storage;
    return scalar->getValue(storage).str();
  }

  /// `[a, b]` or `{add: [...], remove: [...]}` under a class key.
  void readClass(OpClass opClass, yaml::Node *value) {
    if (auto *seq = dyn_cast_or_null<yaml::SequenceNode>(value)) {
      readList(opClass, /*isAdd=*/true, seq);
      return;
    }
    auto *map = dyn_cast_or_null<yaml::MappingNode>(value);
    if (!map) {
      error(value, Twine("'") + stringifyOpClass(opClass) +
                       "' takes a list of op names or a mapping with 'add' "
                       "and 'remove' lists");
      return;
    }
    for (yaml::KeyValueNode &kv : *map) {
      std::optional<std::string> key = readScalar(kv.getKey(), "a key");
      if (!key)
        continue;
      auto *seq = dyn_cast_or_null<yaml::SequenceNode>(kv.getValue());
      if (*key != "add" && *key != "remove") {
        error(kv.getKey(), "unknown key '" + *key + "'; expected 'add' or 'remove'");
        continue;
      }
      if (!seq) {
        error(kv.getValue(), "'" + *key + "' takes a list of op names");
        continue;
      }
      readList(opClass, *key == "add", seq);
    }
  }

  void readList(OpClass opClass, bool isAdd, yaml::SequenceNode *seq) {
    for (yaml::Node &item : *seq) {
      std::optional<std::string> name = readScalar(&item, "an op name");
      if (!name)
        continue;
      if (std::optional<std::string> problem = checkOpPattern(*name)) {
        error(&item, *problem);
        continue;
      }
      if (isAdd) {
        auto [line, column] = sourceMgr.getLineAndColumn(item.getSourceRange().Start);
        if (!policy.add(opClass, *name, PolicyEntryOrigin{file.str(), line, column}))
          error(&item, "malformed glob pattern '" + *name + "'");
      } else if (!policy.remove(opClass, *name)) {
        warning(&item, "'" + *name + "' is not in the " +
                           stringifyOpClass(opClass) + " list; nothing removed");
      }
    }
  }

  void readDocument(yaml::Node *root) {
    if (!root || isa<yaml::NullNode>(root))
      return; // an empty file changes nothing
    auto *map = dyn_cast_or_null<yaml::MappingNode>(root);
    if (!map) {
      error(root, "a policy file is a mapping with keys 'base', 'allow', "
                  "'deny', 'infer' and 'clear'");
      return;
    }
    for (yaml::KeyValueNode &kv : *map) {
      std::optional<std::string> key = readScalar(kv.getKey(), "a key");
      if (!key)
        continue;
      yaml::Node *value = kv.getValue();
      if (*key == "base") {
        std::optional<std::string> base = readScalar(value, "'default' or 'empty'");
        if (base == "default")
          policy = PrecisionPolicy::getDefault();
        else if (base == "empty")
          policy = PrecisionPolicy::getEmpty();
        else if (base)
          error(value, "unknown base '" + *base + "'; expected 'default' or 'empty'");
        continue;
      }
      if (std::optional<OpClass> opClass = symbolizeOpClass(*key)) {
        readClass(*opClass, value);
        continue;
      }
      error(kv.getKey(), "unknown key '" + *key +
                             "'; expected 'base', 'allow', 'deny', 'infer' or 'clear'");
    }
  }

  bool failed = false;

private:
  PrecisionPolicy &policy;
  llvm::SourceMgr &sourceMgr;
  StringRef file;
};
} // namespace

LogicalResult PrecisionPolicy::applyFile(const llvm::MemoryBuffer &buffer,
                                         std::vector<PolicyDiagnostic> &diags) {
  // yaml::Stream registers the buffer with the SourceMgr itself.
  llvm::SourceMgr sourceMgr;
  bool sawError = false;
  auto handler = [&](const llvm::SMDiagnostic &d) {
    PolicyDiagnostic diag;
    diag.severity = d.getKind() == llvm::SourceMgr::DK_Warning
                        ? PolicyDiagnostic::Severity::Warning
                        : PolicyDiagnostic::Severity::Error;
    sawError |= diag.severity == PolicyDiagnostic::Severity::Error;
    diag.file = buffer.getBufferIdentifier().str();
    diag.line = d.getLineNo();
    diag.column = d.getColumnNo() + 1;
    diag.message = d.getMessage().str();
    diags.push_back(std::move(diag));
  };
  sourceMgr.setDiagHandler(
      [](const llvm::SMDiagnostic &d, void *ctx) {
        (*static_cast<decltype(handler) *>(ctx))(d);
      },
      &handler);

  // Apply to a copy so that a file with errors leaves the policy unchanged.
  PrecisionPolicy updated = *this;
  PolicyFileReader reader(updated, sourceMgr, buffer.getBufferIdentifier());
  yaml::Stream stream(buffer.getMemBufferRef(), sourceMgr);
  unsigned documents = 0;
  for (yaml::Document &doc : stream) {
    if (++documents > 1) {
      reader.error(doc.getRoot(), "a policy file holds one YAML document");
      break;
    }
    reader.readDocument(doc.getRoot());
  }
  if (stream.failed() || reader.failed || sawError)
    return failure();
  *this = std::move(updated);
  return success();
}

LogicalResult PrecisionPolicy::applyFile(StringRef path,
                                         std::vector<PolicyDiagnostic> &diags) {
  auto fail = [&](const Twine &message) {
    PolicyDiagnostic diag;
    diag.file = path.str();
    diag.message = message.str();
    diags.push_back(std::move(diag));
    return failure();
  };
  // Policy files are small lists; a device (/dev/zero) or a huge file is a
  // mistake, not something to read until memory runs out.
  constexpr uint64_t kMaxPolicyBytes = 1 << 20;
  llvm::sys::fs::file_status status;
  if (std::error_code ec = llvm::sys::fs::status(path, status))
    return fail("cannot read policy file: " + ec.message());
  if (status.type() != llvm::sys::fs::file_type::regular_file)
    return fail("cannot read policy file: not a regular file");
  if (status.getSize() > kMaxPolicyBytes)
    return fail("cannot read policy file: " + Twine(status.getSize()) +
                " bytes, more than a policy file's limit of 1 MiB");
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buffer =
      llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (std::error_code ec = buffer.getError())
    return fail("cannot read policy file: " + ec.message());
  return applyFile(**buffer, diags);
}
