// whale's tokenizer: byte-level BPE identical to Hugging Face `tokenizers` for the DeepSeek,
// Qwen2/3 and Llama-3 families. Loaded from tokenizer.json (+ tokenizer_config.json) or from
// GGUF metadata (llama.cpp's tokenizer.ggml.* keys).
//
// Encoding pipeline (HF order): added tokens with normalized=false are cut out of the raw
// text; the rest is normalized, added tokens with normalized=true are cut out; each remaining
// segment is pre-tokenized into words, which are mapped to the byte-level alphabet and BPE'd.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "platform/result.h"

namespace whale {

class GgufFile;
struct TokenizerImpl;

class Tokenizer {
 public:
  // dir holds tokenizer.json and, optionally, tokenizer_config.json.
  static Result<Tokenizer> from_hf_dir(const std::string& dir);
  // config_json_text may be empty (no tokenizer_config.json).
  static Result<Tokenizer> from_json(std::string_view json_text, std::string_view config_json_text);
  static Result<Tokenizer> from_gguf(const GgufFile& gguf);
  // path: a directory with tokenizer.json, or a GGUF file.
  static Result<Tokenizer> from_path(const std::string& path);

  // parse_special = true: special added tokens in the text become their ids (HF's default,
  // split_special_tokens=False). false: their text is tokenized like any other text (HF's
  // split_special_tokens=True / encode_special_tokens). Non-special added tokens are always
  // matched. No BOS is added (see add_bos()). Invalid UTF-8 is read as U+FFFD.
  std::vector<int32_t> encode(std::string_view text, bool parse_special) const;
  void encode(std::string_view text, bool parse_special, std::vector<int32_t>& out) const;

  // ids -> text (HF decode with skip_special_tokens=false); ids out of range are skipped
  // (check with is_valid_id first); invalid UTF-8 becomes U+FFFD.
  std::string decode(std::span<const int32_t> ids) const;
  // The raw bytes of one token as it decodes (may be part of a UTF-8 character).
  std::string token_bytes(int32_t id) const;

  size_t vocab_size() const;  // largest id + 1
  bool is_valid_id(int32_t id) const;
  // The token's text as stored in the vocabulary (byte-level form); empty for a hole.
  const std::string& token_text(int32_t id) const;
  bool is_special(int32_t id) const;
  // Id of an added/special token (or any vocabulary entry) by its exact text.
  std::optional<int32_t> token_id(std::string_view text) const;

  std::optional<int32_t> bos_id() const;
  std::optional<int32_t> eos_id() const;
  std::optional<int32_t> eot_id() const;  // end of turn (<|eot_id|>, <|im_end|>, ...), else eos
  bool add_bos() const;                   // the model expects BOS at the start of a prompt

  const TokenizerImpl& impl() const { return *impl_; }
  explicit Tokenizer(std::shared_ptr<const TokenizerImpl> impl) : impl_(std::move(impl)) {}

 private:
  std::shared_ptr<const TokenizerImpl> impl_;
};

// Incremental detokenizer: feed ids one at a time, get text as soon as it is complete UTF-8.
// A token that ends inside a multi-byte character yields nothing until the character
// completes; bytes that can no longer form a character come out as U+FFFD. The concatenation
// of all put() results and flush() equals Tokenizer::decode of all ids.
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tokenizer) : tok_(tokenizer) {}
  std::string put(int32_t id);
  std::string flush();  // end of stream: an incomplete trailing character becomes U+FFFD

 private:
  Tokenizer tok_;
  std::string pending_;
};

}  // namespace whale
