#include "formats/hf_tokenizer_to_gguf.h"

#include <sys/stat.h>

#include <map>
#include <nlohmann/json.hpp>

#include "formats/gguf.h"
#include "platform/mapped_file.h"

namespace whale {

namespace {

constexpr int32_t kNormal = 1, kControl = 3, kUserDefined = 4, kUnused = 5;

// The special token kinds llama.cpp's converter carries, with their GGUF key names.
struct SpecialKind {
  const char* typ;
  const char* gguf_key;
};
constexpr SpecialKind kSpecialKinds[] = {
    {"bos", "tokenizer.ggml.bos_token_id"},     {"eos", "tokenizer.ggml.eos_token_id"},
    {"unk", "tokenizer.ggml.unknown_token_id"}, {"sep", "tokenizer.ggml.seperator_token_id"},
    {"pad", "tokenizer.ggml.padding_token_id"}, {"mask", "tokenizer.ggml.mask_token_id"},
};

bool starts_ends(const std::string& s, const std::string& a, const std::string& b) {
  return s.size() >= a.size() + b.size() && s.compare(0, a.size(), a) == 0 &&
         s.compare(s.size() - b.size(), b.size(), b) == 0;
}

// Added tokens some models forget to flag as special (llama.cpp's does_token_look_special).
bool looks_special(const std::string& t) {
  return t == "<pad>" || t == "<mask>" || t == "<2mass>" || t == "[@BOS@]" ||
         starts_ends(t, "<|", "|>") || starts_ends(t, "<\xef\xbd\x9c", "\xef\xbd\x9c>") ||
         starts_ends(t, "<unused", ">");
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size()))
    s.replace(p, from.size(), to);
  return s;
}

bool file_exists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

Result<nlohmann::json> read_json(const std::string& path) {
  auto text = read_text_file(path, 256 << 20);
  if (!text.ok()) return text.error();
  try {
    return nlohmann::json::parse(text.value());
  } catch (const std::exception& e) {
    return make_error("%s: not valid JSON (%s)", path.c_str(), e.what());
  }
}

// The content of a tokenizer_config "<typ>_token" entry: a string or {"content": ...}.
std::optional<std::string> token_content(const nlohmann::json& cfg, const std::string& key) {
  auto it = cfg.find(key);
  if (it == cfg.end()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object()) {
    auto c = it->find("content");
    if (c != it->end() && c->is_string()) return c->get<std::string>();
  }
  return std::nullopt;
}

void collect_split_regexes(const nlohmann::json& pre, std::string& out) {
  if (!pre.is_object()) return;
  auto type = pre.value("type", std::string());
  if (type == "Sequence" && pre.contains("pretokenizers") && pre["pretokenizers"].is_array()) {
    for (const auto& p : pre["pretokenizers"]) collect_split_regexes(p, out);
  } else if (type == "Split" && pre.contains("pattern") && pre["pattern"].is_object()) {
    const auto& pat = pre["pattern"];
    if (pat.contains("Regex") && pat["Regex"].is_string())
      out += pat["Regex"].get<std::string>() + "\n";
  }
}

// tokenizer.json post_processor: a TemplateProcessing "single" template that starts with the
// bos token / ends with the eos token means the tokenizer adds them (llama.cpp's crude rule).
void read_template_processing(const nlohmann::json& tok, const std::optional<std::string>& bos,
                              const std::optional<std::string>& eos,
                              std::map<std::string, bool>& add) {
  auto pp = tok.find("post_processor");
  if (pp == tok.end() || !pp->is_object()) return;
  std::vector<const nlohmann::json*> procs;
  if (pp->contains("processors") && (*pp)["processors"].is_array()) {
    for (const auto& p : (*pp)["processors"]) procs.push_back(&p);
  } else {
    procs.push_back(&*pp);
  }
  for (const auto* p : procs) {
    if (!p->is_object() || p->value("type", std::string()) != "TemplateProcessing") continue;
    auto single = p->find("single");
    if (single == p->end() || !single->is_array() || single->size() <= 1) continue;
    auto special_id = [](const nlohmann::json& item) -> std::optional<std::string> {
      if (!item.is_object() || !item.contains("SpecialToken")) return std::nullopt;
      const auto& st = item["SpecialToken"];
      if (!st.is_object() || !st.contains("id") || !st["id"].is_string()) return std::nullopt;
      return st["id"].get<std::string>();
    };
    if (auto first = special_id(single->front())) add["bos"] = bos && *first == *bos;
    if (auto last = special_id(single->back())) add["eos"] = eos && *last == *eos;
  }
}

}  // namespace

Result<std::string> detect_pretokenizer(const nlohmann::json& tok) {
  std::string regexes;
  try {
    if (tok.contains("pre_tokenizer")) collect_split_regexes(tok["pre_tokenizer"], regexes);
  } catch (const std::exception& e) {
    return make_error("tokenizer.json: bad pre_tokenizer (%s)", e.what());
  }
  auto has = [&](const char* s) { return regexes.find(s) != std::string::npos; };
  if (has("[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+")) return std::string("deepseek-v3");
  if (has("\\s?[!-/:-~")) return std::string("deepseek-llm");
  if (has("\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+")) return std::string("llama-bpe");
  if (has("\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+")) {
    // DeepSeek-R1-Distill-Qwen keeps Qwen2.5's regex but DeepSeek's special tokens.
    bool deepseek_tokens = false;
    if (tok.contains("added_tokens") && tok["added_tokens"].is_array())
      for (const auto& a : tok["added_tokens"])
        if (a.is_object() &&
            a.value("content", std::string()).find("begin\xe2\x96\x81of") != std::string::npos)
          deepseek_tokens = true;
    return std::string(deepseek_tokens ? "deepseek-r1-qwen" : "qwen2");
  }
  return make_error(
      "tokenizer.json: pre-tokenizer not recognised (whale knows deepseek-v3, deepseek-llm, "
      "qwen2, deepseek-r1-qwen, llama-bpe)");
}

Result<HfTokenizerMetadata> read_hf_tokenizer(const std::string& dir,
                                              const nlohmann::json& config_json,
                                              int64_t vocab_size) {
  const std::string tok_path = dir + "/tokenizer.json";
  auto tok_r = read_json(tok_path);
  if (!tok_r.ok()) return tok_r.error();
  const nlohmann::json& tok = tok_r.value();
  nlohmann::json cfg = nlohmann::json::object();
  if (file_exists(dir + "/tokenizer_config.json")) {
    auto c = read_json(dir + "/tokenizer_config.json");
    if (!c.ok()) return c.error();
    if (c.value().is_object()) cfg = std::move(c.value());
  }
  HfTokenizerMetadata m;
  try {
    auto pre = detect_pretokenizer(tok);
    if (!pre.ok()) return pre.error();
    m.pre = pre.value();
    const auto& model = tok.at("model");
    if (model.value("type", std::string()) != "BPE")
      return make_error("%s: only BPE tokenizers are supported", tok_path.c_str());

    // id -> (token, type); added tokens override the base vocabulary entry with the same id.
    m.tokens.assign(size_t(vocab_size), std::string());
    m.token_types.assign(size_t(vocab_size), 0);
    auto place = [&](int64_t id, const std::string& text, int32_t type) -> Status {
      if (id < 0 || id >= vocab_size)
        return make_error("%s: token id %lld is outside vocab_size %lld from config.json",
                          tok_path.c_str(), (long long)id, (long long)vocab_size);
      m.tokens[size_t(id)] = text;
      m.token_types[size_t(id)] = type;
      return Status::Ok();
    };
    for (auto it = model.at("vocab").begin(); it != model.at("vocab").end(); ++it)
      WHALE_TRY(place(it.value().get<int64_t>(), it.key(), kNormal));
    std::vector<std::pair<std::string, int64_t>> added;  // content, id (file order)
    if (tok.contains("added_tokens")) {
      for (const auto& a : tok.at("added_tokens")) {
        std::string content = a.at("content").get<std::string>();
        int64_t id = a.at("id").get<int64_t>();
        bool special = a.value("special", false);
        int32_t type = (special || looks_special(content)) ? kControl : kUserDefined;
        // llama.cpp expects user-defined tokens pre-normalized: SentencePiece's U+2581 -> ' '
        if (type == kUserDefined) content = replace_all(content, "\xe2\x96\x81", " ");
        WHALE_TRY(place(id, content, type));
        added.emplace_back(a.at("content").get<std::string>(), id);
      }
    }
    for (int64_t i = 0; i < vocab_size; ++i) {
      if (m.token_types[size_t(i)] == 0) {
        m.tokens[size_t(i)] = "[PAD" + std::to_string(i) + "]";
        m.token_types[size_t(i)] = kUnused;
      }
    }

    const auto& merges = model.at("merges");
    for (const auto& mg : merges) {
      if (mg.is_string()) {
        m.merges.push_back(mg.get<std::string>());
      } else if (mg.is_array() && mg.size() == 2) {
        // Newer format: a pair; spaces inside a part become U+0120 as llama.cpp encodes them.
        m.merges.push_back(replace_all(mg[0].get<std::string>(), " ", "\xc4\xa0") + " " +
                           replace_all(mg[1].get<std::string>(), " ", "\xc4\xa0"));
      } else {
        return make_error("%s: unknown merges format", tok_path.c_str());
      }
    }

    std::map<std::string, bool> add;
    read_template_processing(tok, token_content(cfg, "bos_token"), token_content(cfg, "eos_token"),
                             add);
    std::map<std::string, int64_t> ids;
    for (const auto& k : kSpecialKinds) {
      const std::string typ = k.typ;
      auto a = cfg.find("add_" + typ + "_token");
      if (a != cfg.end() && a->is_boolean()) add[typ] = a->get<bool>();
      if (auto content = token_content(cfg, typ + "_token")) {
        for (const auto& [text, id] : added)
          if (text == *content) {
            if (id < vocab_size) ids.emplace(typ, id);
            break;
          }
      }
      // Fallback: config.json's <typ>_token_id (an int; lists are ignored as llama.cpp does).
      auto cj = config_json.find(typ + "_token_id");
      if (!ids.count(typ) && cj != config_json.end() && cj->is_number_integer()) {
        int64_t id = cj->get<int64_t>();
        if (id >= 0 && id < vocab_size) ids.emplace(typ, id);
      }
    }
    for (const auto& k : kSpecialKinds) {
      if (ids.count(k.typ)) m.special_ids.emplace_back(k.typ, ids[k.typ]);
      // llama.cpp has add_*_token keys for bos, eos and sep only.
      const std::string typ = k.typ;
      if (add.count(typ) && (typ == "bos" || typ == "eos" || typ == "sep"))
        m.add_special.emplace_back(typ, add[typ]);
    }

    auto ct = cfg.find("chat_template");
    if (ct != cfg.end() && ct->is_string()) {
      m.chat_templates.emplace_back("", ct->get<std::string>());
    } else if (ct != cfg.end() && ct->is_array()) {
      for (const auto& e : *ct) {
        std::string name = e.at("name").get<std::string>();
        std::string text = e.at("template").get<std::string>();
        m.chat_templates.emplace_back(name == "default" ? "" : name, text);
      }
    } else if (file_exists(dir + "/chat_template.jinja")) {
      auto text = read_text_file(dir + "/chat_template.jinja", 16 << 20);
      if (!text.ok()) return text.error();
      m.chat_templates.emplace_back("", text.value());
    }
  } catch (const std::exception& e) {
    return make_error("%s: unexpected structure (%s)", tok_path.c_str(), e.what());
  }
  return m;
}

void tokenizer_to_gguf(const HfTokenizerMetadata& t, GgufWriter& w) {
  w.set("tokenizer.ggml.model", GgufValue::str("gpt2"));
  w.set("tokenizer.ggml.pre", GgufValue::str(t.pre));
  w.set("tokenizer.ggml.tokens", GgufValue::array_of_str(t.tokens));
  w.set("tokenizer.ggml.token_type", GgufValue::array_of_i32(t.token_types));
  w.set("tokenizer.ggml.merges", GgufValue::array_of_str(t.merges));
  for (const auto& [typ, id] : t.special_ids)
    for (const auto& k : kSpecialKinds)
      if (typ == k.typ) w.set(k.gguf_key, GgufValue::u32(uint32_t(id)));
  for (const auto& [typ, on] : t.add_special)
    w.set("tokenizer.ggml.add_" + typ + "_token", GgufValue::boolean(on));
  for (const auto& [name, text] : t.chat_templates)
    w.set(name.empty() ? "tokenizer.chat_template" : "tokenizer.chat_template." + name,
          GgufValue::str(text));
}

}  // namespace whale
