// A batch of tokens from several sequences evaluated in one forward pass (the server's
// continuous batching drives exactly this). Prefill of a prompt is one batch of its tokens;
// decode is one token per active sequence.
#pragma once

#include <cstdint>
#include <vector>

namespace whale {

struct Batch {
  std::vector<int32_t> tokens;
  std::vector<int32_t> positions;  // position of each token in its sequence
  std::vector<int32_t> seq_ids;    // index into the caches passed to Engine::forward
  std::vector<bool> want_logits;   // logits are returned for these tokens, in batch order

  void add(int32_t token, int32_t position, int32_t seq_id, bool logits) {
    tokens.push_back(token);
    positions.push_back(position);
    seq_ids.push_back(seq_id);
    want_logits.push_back(logits);
  }
  void clear() {
    tokens.clear();
    positions.clear();
    seq_ids.clear();
    want_logits.clear();
  }
  size_t size() const { return tokens.size(); }
};

}  // namespace whale
