#include "tokenizer/normalizer.h"

#include "tokenizer/unicode.h"

namespace whale {

static Status add_normalizer(const nlohmann::json& j, bool& nfc, int depth) {
  if (j.is_null()) return Status::Ok();
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string())
    return make_error("tokenizer: normalizer must be an object with a \"type\"");
  if (depth > 16) return make_error("tokenizer: normalizer nested too deeply");
  std::string type = j["type"].get<std::string>();
  if (type == "NFC") {
    nfc = true;
    return Status::Ok();
  }
  if (type == "Sequence") {
    if (!j.contains("normalizers") || !j["normalizers"].is_array())
      return make_error("tokenizer: Sequence normalizer needs a \"normalizers\" array");
    for (const auto& n : j["normalizers"]) WHALE_TRY(add_normalizer(n, nfc, depth + 1));
    return Status::Ok();
  }
  return make_error("tokenizer: normalizer \"%s\" is not supported (supported: NFC, Sequence)",
                    type.substr(0, 40).c_str());
}

Result<Normalizer> Normalizer::from_json(const nlohmann::json& j) {
  Normalizer n;
  WHALE_TRY(add_normalizer(j, n.nfc_, 0));  // NFC is idempotent: several NFC steps = one
  return n;
}

std::string_view Normalizer::apply(std::string_view in, std::string& scratch) const {
  if (!nfc_ || unicode::is_nfc_quick(in)) return in;
  scratch = unicode::to_nfc(in);
  return scratch;
}

}  // namespace whale
