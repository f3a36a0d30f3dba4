#include "runtime/engine.h"

#include <algorithm>

namespace whale {

Result<std::shared_ptr<const Engine>> Engine::load(const std::string& path, int n_threads,
                                                   KvType kv_type) {
  auto model = load_model(path);
  if (!model) return model.error();
  auto e = std::shared_ptr<Engine>(new Engine());
  e->model_ = std::move(model.value());
  e->kv_type_ = kv_type;
  e->pool_ = std::make_unique<ThreadPool>(n_threads);
  return std::shared_ptr<const Engine>(std::move(e));
}

namespace {

// The checks that make a batch safe for the model (it trusts its input).
Status validate_batch(const Batch& b, std::span<KvCache* const> caches, int64_t vocab,
                      const KvLayout& layout) {
  const size_t n = b.tokens.size();
  if (n == 0) return make_error("empty batch");
  if (b.positions.size() != n || b.seq_ids.size() != n || b.want_logits.size() != n)
    return make_error("batch fields have different lengths");
  for (size_t i = 0; i < n; ++i) {
    if (b.tokens[i] < 0 || b.tokens[i] >= vocab)
      return make_error("token id %d is outside the vocabulary [0, %lld)", b.tokens[i],
                        (long long)vocab);
    if (b.seq_ids[i] < 0 || size_t(b.seq_ids[i]) >= caches.size() || !caches[b.seq_ids[i]])
      return make_error("batch token %zu has sequence id %d with no KV cache", i, b.seq_ids[i]);
  }
  // Per sequence: consecutive positions starting at or below the cache length, within capacity.
  for (size_t i = 0; i < n; ++i) {
    const int32_t s = b.seq_ids[i];
    bool first = true;
    for (size_t j = 0; j < i && first; ++j) first = b.seq_ids[j] != s;
    if (!first) continue;
    const KvCache& c = *caches[s];
    if (c.layout() != layout)
      return make_error("sequence %d: its KV cache was not made for this engine's layout", s);
    int64_t expect = b.positions[i];
    if (expect < 0 || expect > c.length())
      return make_error("sequence %d: position %d is not in [0, %lld] (the cached length)", s,
                        b.positions[i], (long long)c.length());
    for (size_t j = i; j < n; ++j) {
      if (b.seq_ids[j] != s) continue;
      if (b.positions[j] != expect)
        return make_error(
            "sequence %d: positions in a batch must be consecutive (got %d, "
            "expected %lld)",
            s, b.positions[j], (long long)expect);
      ++expect;
    }
    if (expect > c.capacity())
      return make_error(
          "context overflow: sequence %d needs %lld positions but its context "
          "holds %lld tokens",
          s, (long long)expect, (long long)c.capacity());
  }
  return Status::Ok();
}

}  // namespace

Status Engine::forward(const Batch& batch, std::span<KvCache* const> caches, Workspace& ws,
                       std::vector<float>& logits, MlaForm form) const {
  WHALE_TRY(validate_batch(batch, caches, vocab_size(), kv_layout()));
  const size_t wanted =
      size_t(std::count(batch.want_logits.begin(), batch.want_logits.end(), true));
  logits.resize(wanted * size_t(vocab_size()));
  // A long batch goes through in pieces of kMaxForwardTokens in batch order: a sequence's later
  // tokens attend to what its earlier pieces wrote, so the result is the whole batch's, and
  // the workspace (~280 KB per token on the V2-Lite shape) stays bounded however long the
  // prompt.
  float* piece_logits = logits.data();
  for (size_t b = 0; b < batch.size(); b += size_t(kMaxForwardTokens)) {
    const size_t e = std::min(batch.size(), b + size_t(kMaxForwardTokens));
    piece_logits +=
        forward_piece(batch, b, e, caches, ws, piece_logits, form) * size_t(vocab_size());
  }
  return Status::Ok();
}

size_t Engine::forward_piece(const Batch& batch, size_t begin, size_t end,
                             std::span<KvCache* const> caches, Workspace& ws, float* logits,
                             MlaForm form) const {
  const size_t n = end - begin;
  // Small per-call lists reused across calls (capacity is kept: steady-state calls do not
  // allocate).
  thread_local std::vector<KvView> views;
  thread_local std::vector<int32_t> rows;
  views.resize(caches.size());
  for (size_t s = 0; s < caches.size(); ++s) views[s] = caches[s] ? caches[s]->view() : KvView{};
  rows.clear();
  for (size_t i = 0; i < n; ++i)
    if (batch.want_logits[begin + i]) rows.push_back(int32_t(i));

  BatchView view;
  view.tokens = std::span<const int32_t>(batch.tokens).subspan(begin, n);
  view.positions = std::span<const int32_t>(batch.positions).subspan(begin, n);
  view.seq_ids = std::span<const int32_t>(batch.seq_ids).subspan(begin, n);
  view.logit_rows = rows;
  view.caches = views;
  view.mla_form = form;
  view.pool = pool_.get();
  model_->forward(view, ws, logits);
  // Positions are consecutive per sequence, so its last token sets the new length (a rewind
  // shortens it).
  for (size_t i = begin; i < end; ++i) caches[batch.seq_ids[i]]->set_length(batch.positions[i] + 1);
  return rows.size();
}

}  // namespace whale
