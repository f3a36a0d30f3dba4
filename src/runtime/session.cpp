#include "runtime/session.h"

namespace whale {

Result<std::unique_ptr<Session>> Session::create(std::shared_ptr<const Engine> engine,
                                                 int64_t context_length) {
  auto cache = KvCache::create(engine->kv_layout(), context_length);
  if (!cache) return cache.error();
  return std::unique_ptr<Session>(new Session(std::move(engine), std::move(cache.value())));
}

Status Session::eval(std::span<const int32_t> tokens, bool all_logits, MlaForm form) {
  if (tokens.empty()) return make_error("no tokens to evaluate");
  batch_.clear();
  const int64_t start = n_past();
  for (size_t i = 0; i < tokens.size(); ++i)
    batch_.add(tokens[i], int32_t(start + int64_t(i)), 0, all_logits || i + 1 == tokens.size());
  KvCache* caches[1] = {&cache_};
  return engine_->forward(batch_, caches, ws_, logits_, form);
}

void Session::truncate(int64_t n) {
  if (n >= 0 && n < cache_.length()) cache_.set_length(n);
}

std::span<const float> Session::logits(size_t row) const {
  const size_t v = size_t(engine_->vocab_size());
  WHALE_CHECK((row + 1) * v <= logits_.size(), "logits row out of range");
  return std::span<const float>(logits_.data() + row * v, v);
}

}  // namespace whale
