// Loading a Tokenizer from GGUF metadata (llama.cpp's tokenizer.ggml.* keys). GGUF stores only
// the pre-tokenizer's NAME; the table below maps each name whale knows to the Hugging Face
// definition it stands for, so a GGUF model tokenizes exactly like its tokenizer.json.
#include <filesystem>
#include <unordered_map>

#include "formats/gguf.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/tokenizer_impl.h"

namespace whale {
namespace {

struct PreTokenizerDef {
  std::vector<const char*> names;
  std::vector<const char*> regexes;  // each an Isolated Split, then ByteLevel without regex
  bool nfc = false;                  // the HF tokenizer has an NFC normalizer
  bool ignore_merges = false;
};

// Regexes as in the models' tokenizer.json files (DeepSeek-V3/R1, Qwen2.5/3 and
// R1-Distill-Qwen, Llama-3.x and R1-Distill-Llama) and llama.cpp's deepseek-llm list.
const std::vector<PreTokenizerDef>& known_pre_tokenizers() {
  static const std::vector<PreTokenizerDef> defs = {
      {{"deepseek-v3"},
       {"\\p{N}{1,3}", "[一-龥぀-ゟ゠-ヿ]+",
        "[!\"#$%&'()*+,\\-./"
        ":;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| "
        "?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+"},
       false,
       false},
      {{"qwen2", "deepseek-r1-qwen"},
       {"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "
        "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|"
        "\\s+(?!\\S)|\\s+"},
       true,
       false},
      {{"llama-bpe", "llama3", "llama-v3"},
       {"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
        "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|"
        "\\s+(?!\\S)|\\s+"},
       false,
       true},
      {{"deepseek-llm"},
       {"[\r\n]",
        "\\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-"
        "Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-ώᾀ-ᾴᾶ-ᾼιῂ-ῄῆ-ῌῐ-ΐῖ-"
        "Ίῠ-"
        "Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤΩℨK-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-"
        "𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+",
        "\\s?[!-/:-~！-／：-～‘-‟　-。]+", "\\s+$", "[一-龥ࠀ-一가-퟿]+", "\\p{N}+"},
       false,
       false},
      {{"gpt-2", "gpt2"},
       {"'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"},
       false,
       false},
  };
  return defs;
}

const GgufArray* array_of(const GgufFile& g, const char* key, GgufValueType type) {
  const GgufValue* v = g.find(key);
  if (!v) return nullptr;
  const GgufArray* a = v->as_array();
  if (!a || (a->element_type != type && !a->items.empty())) return nullptr;
  return a;
}

std::optional<int32_t> id_key(const GgufFile& g, const char* key, size_t n_tokens) {
  auto v = g.get_int(key);
  if (!v || *v < 0 || size_t(*v) >= n_tokens) return std::nullopt;
  return int32_t(*v);
}

Result<Tokenizer> load(const GgufFile& g) {
  auto model_name = g.get_string("tokenizer.ggml.model");
  if (!model_name) return make_error("GGUF: no tokenizer (tokenizer.ggml.model missing)");
  if (*model_name != "gpt2")
    return make_error("GGUF: tokenizer model \"%s\" is not supported (only gpt2 byte-level BPE)",
                      model_name->substr(0, 40).c_str());
  std::string pre = g.get_string("tokenizer.ggml.pre").value_or("default");
  const PreTokenizerDef* def = nullptr;
  for (const auto& d : known_pre_tokenizers())
    for (const char* n : d.names)
      if (pre == n) def = &d;
  if (!def)
    return make_error(
        "GGUF: pre-tokenizer \"%s\" is not known to whale (known: deepseek-v3, deepseek-llm, "
        "qwen2, deepseek-r1-qwen, llama-bpe, gpt-2)",
        pre.substr(0, 40).c_str());

  const GgufArray* tokens = array_of(g, "tokenizer.ggml.tokens", GgufValueType::STRING);
  if (!tokens || tokens->items.empty())
    return make_error("GGUF: tokenizer.ggml.tokens missing or not strings");
  if (int64_t(tokens->items.size()) > kMaxTokenId + 1) return make_error("GGUF: too many tokens");
  const GgufValue* types_v = g.find("tokenizer.ggml.token_type");
  const GgufArray* types = types_v ? types_v->as_array() : nullptr;
  if (types && types->items.size() != tokens->items.size())
    return make_error("GGUF: tokenizer.ggml.token_type has %zu entries for %zu tokens",
                      types->items.size(), tokens->items.size());

  std::unordered_map<std::string, int32_t> vocab;
  std::vector<AddedToken> added;
  for (size_t i = 0; i < tokens->items.size(); ++i) {
    const std::string* s = tokens->items[i].as_string();
    if (!s) return make_error("GGUF: token %zu is not a string", i);
    int64_t type = 1;
    if (types) type = types->items[i].as_int().value_or(1);
    // 1 normal, 6 byte: BPE vocabulary. 3 control: special added token. 4 user-defined:
    // added token that is always matched. 2 unknown / 5 unused: neither (never produced).
    if (type == 3 || type == 4) {
      AddedToken a;
      a.content = *s;
      a.id = int32_t(i);
      a.special = type == 3;
      if (!a.content.empty()) added.push_back(std::move(a));
    } else if (type == 1 || type == 6) {
      vocab.emplace(*s, int32_t(i));
    }
  }
  std::vector<std::pair<std::string, std::string>> merges;
  if (const GgufArray* m = array_of(g, "tokenizer.ggml.merges", GgufValueType::STRING)) {
    merges.reserve(m->items.size());
    for (size_t i = 0; i < m->items.size(); ++i) {
      const std::string* s = m->items[i].as_string();
      size_t sp = s ? s->find(' ') : std::string::npos;
      if (sp == std::string::npos) return make_error("GGUF: merge %zu is not \"a b\"", i);
      merges.emplace_back(s->substr(0, sp), s->substr(sp + 1));
    }
  }
  BpeOptions opt;
  opt.ignore_merges = def->ignore_merges;
  auto model = BpeModel::create(std::move(vocab), merges, opt);
  if (!model.ok()) return make_error("GGUF: %s", model.error().message.c_str());
  auto t = std::make_shared<TokenizerImpl>(std::move(model).value());
  t->normalizer = def->nfc ? Normalizer::nfc() : Normalizer::identity();
  std::vector<PreTokenizer::Step> steps;
  for (const char* re : def->regexes) {
    auto s = PreTokenizer::split_step(re, SplitBehavior::Isolated, false);
    if (!s.ok()) return s.error();  // a bug in the table above; tested
    steps.push_back(std::move(s).value());
  }
  steps.push_back(PreTokenizer::byte_level_step(false, false));
  auto pt = PreTokenizer::from_steps(std::move(steps));
  if (!pt.ok()) return pt.error();
  t->pre_tokenizer = std::move(pt).value();
  t->added = std::move(added);
  size_t n = tokens->items.size();
  t->bos = id_key(g, "tokenizer.ggml.bos_token_id", n);
  t->eos = id_key(g, "tokenizer.ggml.eos_token_id", n);
  t->add_bos = g.get_bool("tokenizer.ggml.add_bos_token").value_or(false) && t->bos.has_value();
  WHALE_TRY(finish_tokenizer(*t));
  if (auto eot = id_key(g, "tokenizer.ggml.eot_token_id", n)) t->eot = eot;
  return Tokenizer(std::move(t));
}

}  // namespace

Result<Tokenizer> Tokenizer::from_gguf(const GgufFile& gguf) {
  try {
    return load(gguf);
  } catch (const std::bad_alloc&) {
    return make_error("GGUF: out of memory while loading the tokenizer");
  }
}

Result<Tokenizer> Tokenizer::from_path(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return from_hf_dir(path);
  if (!std::filesystem::exists(path, ec))
    return make_error(
        "%s does not exist (expected a .gguf file or a directory with tokenizer.json)",
        path.c_str());
  auto g = GgufFile::open(path);
  if (!g.ok()) return g.error();
  return from_gguf(g.value());
}

}  // namespace whale
