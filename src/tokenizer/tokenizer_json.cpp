// Loading a Tokenizer from Hugging Face tokenizer.json (+ tokenizer_config.json).
#include <nlohmann/json.hpp>

#include "platform/mapped_file.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/tokenizer_impl.h"

namespace whale {
namespace {

using nlohmann::json;

bool flag(const json& j, const char* key, bool fallback) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  return j.at(key).get<bool>();
}

std::optional<std::string> opt_string(const json& j, const char* key) {
  if (!j.contains(key) || j[key].is_null()) return std::nullopt;
  return j.at(key).get<std::string>();
}

Result<BpeModel> parse_model(const json& m) {
  if (!m.is_object()) return make_error("tokenizer.json: \"model\" must be an object");
  if (m.contains("type") && m["type"] != "BPE")
    return make_error("tokenizer.json: model type %s is not supported (only BPE)",
                      m["type"].dump().substr(0, 40).c_str());
  if (!m.contains("vocab") || !m["vocab"].is_object())
    return make_error("tokenizer.json: model.vocab must be an object");
  if (m.contains("dropout") && m["dropout"].is_number() && m["dropout"].get<double>() > 0)
    return make_error("tokenizer.json: BPE dropout is not supported");
  std::unordered_map<std::string, int32_t> vocab;
  vocab.reserve(m["vocab"].size());
  for (const auto& [text, id] : m["vocab"].items()) {
    if (!id.is_number_integer())
      return make_error("tokenizer.json: vocab id of a token is not an integer");
    int64_t v = id.get<int64_t>();
    if (v < 0 || v > kMaxTokenId)
      return make_error("tokenizer.json: vocab id %lld is out of range (0..%lld)", (long long)v,
                        (long long)kMaxTokenId);
    vocab.emplace(text, int32_t(v));
  }
  std::vector<std::pair<std::string, std::string>> merges;
  if (m.contains("merges") && !m["merges"].is_null()) {
    if (!m["merges"].is_array()) return make_error("tokenizer.json: model.merges must be an array");
    merges.reserve(m["merges"].size());
    for (const auto& e : m["merges"]) {
      if (e.is_string()) {
        const std::string& s = e.get_ref<const std::string&>();
        size_t sp = s.find(' ');
        if (sp == std::string::npos)
          return make_error("tokenizer.json: merge \"%s\" is not two tokens separated by a space",
                            s.substr(0, 40).c_str());
        merges.emplace_back(s.substr(0, sp), s.substr(sp + 1));
      } else if (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string()) {
        merges.emplace_back(e[0].get<std::string>(), e[1].get<std::string>());
      } else {
        return make_error("tokenizer.json: a merge must be \"a b\" or [\"a\", \"b\"]");
      }
    }
  }
  BpeOptions o;
  o.ignore_merges = flag(m, "ignore_merges", false);
  o.byte_fallback = flag(m, "byte_fallback", false);
  o.fuse_unk = flag(m, "fuse_unk", false);
  o.unk_token = opt_string(m, "unk_token");
  o.continuing_subword_prefix = opt_string(m, "continuing_subword_prefix").value_or("");
  o.end_of_word_suffix = opt_string(m, "end_of_word_suffix").value_or("");
  return BpeModel::create(std::move(vocab), merges, std::move(o));
}

// bos_token / eos_token in tokenizer_config.json: a string or {"content": ...}.
std::optional<std::string> config_token(const json& cfg, const char* key) {
  if (!cfg.is_object() || !cfg.contains(key)) return std::nullopt;
  const json& v = cfg[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string())
    return v["content"].get<std::string>();
  return std::nullopt;
}

// The first special token a TemplateProcessing post-processor puts before the sequence.
std::optional<int32_t> template_bos(const json& pp) {
  if (!pp.is_object()) return std::nullopt;
  if (pp.value("type", "") == "Sequence" && pp.contains("processors") &&
      pp["processors"].is_array()) {
    for (const auto& p : pp["processors"])
      if (auto id = template_bos(p)) return id;
    return std::nullopt;
  }
  if (pp.value("type", "") != "TemplateProcessing" || !pp.contains("single") ||
      !pp["single"].is_array() || pp["single"].empty())
    return std::nullopt;
  const json& first = pp["single"][0];
  if (!first.contains("SpecialToken")) return std::nullopt;
  std::string name = first["SpecialToken"].at("id").get<std::string>();
  const json& st = pp.at("special_tokens").at(name).at("ids");
  if (!st.is_array() || st.empty()) return std::nullopt;
  return st[0].get<int32_t>();
}

Result<Tokenizer> load(std::string_view json_text, std::string_view config_text) {
  json j = json::parse(json_text.begin(), json_text.end(), nullptr, false);
  if (j.is_discarded()) return make_error("tokenizer.json: not valid JSON");
  if (!j.is_object() || !j.contains("model"))
    return make_error("tokenizer.json: no \"model\" section");
  json cfg;
  if (!config_text.empty()) {
    cfg = json::parse(config_text.begin(), config_text.end(), nullptr, false);
    if (cfg.is_discarded() || !cfg.is_object())
      return make_error("tokenizer_config.json: not a valid JSON object");
  }
  auto model = parse_model(j["model"]);
  if (!model.ok()) return model.error();
  auto t = std::make_shared<TokenizerImpl>(std::move(model).value());

  auto norm = Normalizer::from_json(j.value("normalizer", json()));
  if (!norm.ok()) return norm.error();
  t->normalizer = std::move(norm).value();
  auto pre = PreTokenizer::from_json(j.value("pre_tokenizer", json()));
  if (!pre.ok()) return pre.error();
  t->pre_tokenizer = std::move(pre).value();
  json dec = j.value("decoder", json());
  if (dec.is_null()) {
    t->byte_level_decoder = false;
  } else if (dec.is_object() && dec.value("type", "") == "ByteLevel") {
    t->byte_level_decoder = true;
  } else {
    return make_error("tokenizer.json: decoder %s is not supported (only ByteLevel)",
                      dec.dump().substr(0, 60).c_str());
  }
  if (j.contains("added_tokens") && !j["added_tokens"].is_null()) {
    if (!j["added_tokens"].is_array())
      return make_error("tokenizer.json: added_tokens must be an array");
    for (const auto& a : j["added_tokens"]) {
      AddedToken tok;
      int64_t id = a.at("id").get<int64_t>();
      if (id < 0 || id > kMaxTokenId)
        return make_error("tokenizer.json: added token id %lld is out of range", (long long)id);
      tok.id = int32_t(id);
      tok.content = a.at("content").get<std::string>();
      tok.special = flag(a, "special", false);
      tok.lstrip = flag(a, "lstrip", false);
      tok.rstrip = flag(a, "rstrip", false);
      tok.single_word = flag(a, "single_word", false);
      tok.normalized = flag(a, "normalized", !tok.special);
      t->added.push_back(std::move(tok));
    }
  }

  auto find_id = [&](const std::string& text) -> std::optional<int32_t> {
    for (const auto& a : t->added)
      if (a.content == text) return a.id;
    return t->model.token_id(text);
  };
  if (auto b = config_token(cfg, "bos_token")) t->bos = find_id(*b);
  if (auto e = config_token(cfg, "eos_token")) t->eos = find_id(*e);
  auto tmpl = template_bos(j.value("post_processor", json()));
  if (!t->bos && tmpl) t->bos = tmpl;
  if (cfg.is_object() && cfg.contains("add_bos_token") && cfg["add_bos_token"].is_boolean())
    t->add_bos = cfg["add_bos_token"].get<bool>() && t->bos.has_value();
  else
    t->add_bos = tmpl.has_value();
  WHALE_TRY(finish_tokenizer(*t));
  return Tokenizer(std::move(t));
}

}  // namespace

Result<Tokenizer> Tokenizer::from_json(std::string_view json_text,
                                       std::string_view config_json_text) {
  try {
    return load(json_text, config_json_text);
  } catch (const nlohmann::json::exception& e) {
    return make_error("tokenizer.json: unexpected structure (%s)", e.what());
  } catch (const std::bad_alloc&) {
    return make_error("tokenizer.json: out of memory while loading");
  }
}

Result<Tokenizer> Tokenizer::from_hf_dir(const std::string& dir) {
  auto text = read_text_file(dir + "/tokenizer.json");
  if (!text.ok())
    return make_error("no tokenizer.json in %s (%s)", dir.c_str(), text.error().message.c_str());
  std::string config;
  if (auto c = read_text_file(dir + "/tokenizer_config.json"); c.ok())
    config = std::move(c).value();
  return from_json(text.value(), config);
}

}  // namespace whale
