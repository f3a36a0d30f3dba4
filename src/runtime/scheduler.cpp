#include "runtime/scheduler.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <algorithm>
#include <cmath>
#include <cstring>
#include <new>
#include <optional>

#include "runtime/json_constraint.h"
#include "runtime/reasoning.h"
#include "runtime/stop_strings.h"

namespace whale {

void Histogram::observe(double v) {
  for (size_t i = 0; i < bounds.size(); ++i)
    if (v <= bounds[i]) ++counts[i];
  ++counts.back();
  sum += v;
  ++total;
}

struct Scheduler::Sequence {
  Sequence(GenerationRequest r, UpdateSink k, const Tokenizer& tok)
      : req(std::move(r)),
        sink(std::move(k)),
        ticket(std::make_shared<GenerationTicket>()),
        decoder(tok),
        stop(req.stops),
        splitter(req.starts_in_reasoning) {}

  GenerationRequest req;
  UpdateSink sink;
  std::shared_ptr<GenerationTicket> ticket;
  // Made at admission: its buffers are vocabulary-sized (MBs), which a queued request need not
  // hold, nor a network thread spend time on.
  std::optional<Sampler> sampler;
  StreamDecoder decoder;
  StopMatcher stop;
  ReasoningSplitter splitter;
  SteadyClock::time_point submitted, admitted, last_token;
  // KV: the cache maps `pages` (one pool reference each); the first `tree_pages` of them are
  // the pages of the prefix-cache path ending at `node`. `tokens` are those whose KV it holds.
  KvCache cache;
  std::vector<PagePool::PageId> pages;
  RadixCache::Node* node = nullptr;
  size_t tree_pages = 0;
  std::vector<int32_t> tokens;
  int64_t reserved_pages = 0;  // the most pages it may map (admission's reservation)
  int64_t prefilled = 0;       // prompt tokens whose KV is in the cache
  int32_t pending = -1;        // sampled, not yet evaluated
  bool done = false;
  GenerationUsage usage;
  GenerationUpdate out;  // gathered during a step, sent at its end
  std::optional<JsonConstraint> json;
  std::vector<float> masked;  // logits with the JSON mask applied
  // The step's draw (Scheduler::draw), emitted after all sequences drew.
  SampledToken drawn;
  bool drawn_constrained = false, mask_failed = false;

  // The JSON constraint applies to content: from the start for non-reasoning output, else once
  // the reasoning block has closed.
  bool json_engaged() const {
    if (!json) return false;
    if (!req.split_reasoning) return true;
    return !splitter.in_reasoning() && (splitter.had_reasoning() || !req.starts_in_reasoning);
  }
};

namespace {

constexpr double kRateWindowSeconds = 10;

double seconds(SteadyClock::duration d) {
  return std::chrono::duration<double>(d).count();
}

SteadyClock::duration duration_of(double seconds) {
  return std::chrono::duration_cast<SteadyClock::duration>(std::chrono::duration<double>(seconds));
}

SchedulerMetrics initial_metrics() {
  SchedulerMetrics m;
  m.ttft = Histogram({0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60});
  m.inter_token = Histogram({0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5});
  return m;
}

}  // namespace

Scheduler::Scheduler(std::shared_ptr<const Engine> engine, Tokenizer tokenizer,
                     SchedulerOptions options)
    : engine_(std::move(engine)),
      tok_(std::move(tokenizer)),
      opts_(options),
      pool_(KvCache::page_bytes(engine_->kv_layout()), options.kv_budget_bytes),
      cache_(pool_),
      metrics_(initial_metrics()) {
  opts_.max_running = std::max(1, opts_.max_running);
  admission_slots_ = opts_.max_running;
  opts_.prefill_chunk = std::max(1, opts_.prefill_chunk);
  thread_ = std::thread([this] { loop(); });
}

Scheduler::~Scheduler() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

Admission Scheduler::submit(GenerationRequest request, UpdateSink sink) {
  Admission a;
  auto invalid = [&](std::string msg) {
    a.kind = Admission::Kind::kInvalid;
    a.message = std::move(msg);
    return a;
  };
  if (request.prompt.empty()) return invalid("the prompt is empty");
  if (int64_t(request.prompt.size()) > opts_.context)
    return invalid("the prompt is " + std::to_string(request.prompt.size()) +
                   " tokens; this server's context holds " + std::to_string(opts_.context));
  for (int32_t t : request.prompt)
    if (t < 0 || t >= engine_->vocab_size())
      return invalid("token id " + std::to_string(t) + " is outside the vocabulary");
  if (Status st = validate_sampling_params(request.sampling, size_t(engine_->vocab_size())); !st)
    return invalid(st.error().message);

  auto seq = std::make_unique<Sequence>(std::move(request), std::move(sink), tok_);
  seq->submitted = SteadyClock::now();
  std::lock_guard lock(mu_);
  if (refuse_locked(a)) return a;
  a.ticket = seq->ticket;
  incoming_.push_back(std::move(seq));
  cv_.notify_one();
  return a;
}

// The overload decision (it does not depend on the request): queue full, or the expected wait
// beyond max_wait_seconds. Counts the refusal.
bool Scheduler::refuse_locked(Admission& a) {
  const int64_t queued = int64_t(incoming_.size()) + waiting_count_.load();
  // When KV memory is what limits the batch, fewer sequences than max_running fit at once, and
  // the queue drains that much slower.
  const int64_t slots = admission_slots_.load();  // >= 1
  const int64_t free_slots = slots - running_count_.load();
  // Expected wait: whole "rounds" of the running batch ahead of this request, each taking the
  // measured mean service time.
  double estimate = 0;
  if (queued >= free_slots)
    estimate = double((queued - free_slots) / slots + 1) * mean_service_seconds_;
  // max_queue bounds the requests that would wait (those beyond the free slots).
  if (!stop_ && queued - std::max<int64_t>(free_slots, 0) < opts_.max_queue &&
      estimate <= opts_.max_wait_seconds)
    return false;
  a.kind = Admission::Kind::kOverloaded;
  a.retry_after_seconds = std::max(1.0, std::ceil(estimate > 0 ? estimate : 1.0));
  a.message = stop_ ? "the server is shutting down"
                    : "the server is overloaded: " + std::to_string(queued) +
                          " requests are waiting; retry later";
  ++metrics_.requests_rejected;
  return true;
}

std::optional<Admission> Scheduler::refuse_if_overloaded() {
  Admission a;
  std::lock_guard lock(mu_);
  if (refuse_locked(a)) return a;
  return std::nullopt;
}

SchedulerMetrics Scheduler::metrics() const {
  std::lock_guard lock(mu_);
  SchedulerMetrics m = metrics_;
  m.queue_depth = int64_t(incoming_.size()) + waiting_count_.load();
  m.admission_slots = admission_slots_.load();
  const auto now = SteadyClock::now();
  int64_t n = 0;
  for (const auto& [t, k] : recent_tokens_)
    if (seconds(now - t) <= kRateWindowSeconds) n += k;
  m.tokens_per_second = double(n) / kRateWindowSeconds;
  return m;
}

double Scheduler::retry_after_seconds() const {
  std::lock_guard lock(mu_);
  return std::max(1.0, std::ceil(mean_service_seconds_));
}

void Scheduler::loop() {
  for (;;) {
    {
      std::unique_lock lock(mu_);
      auto ready = [&] { return stop_ || !incoming_.empty() || !running_.empty(); };
      if (!waiting_.empty())  // queued requests need their cancel and max-wait checks
        cv_.wait_for(lock, std::chrono::milliseconds(50), ready);
      else if (opts_.kv_idle_seconds > 0 && pool_.allocated() > 0)  // to free idle memory
        cv_.wait_for(lock, std::chrono::milliseconds(250), ready);
      else
        cv_.wait(lock, ready);
      if (stop_) break;
      while (!incoming_.empty()) {
        waiting_.push_back(std::move(incoming_.front()));
        incoming_.pop_front();
      }
      waiting_count_ = int64_t(waiting_.size());
    }
    admit_waiting(SteadyClock::now());
    if (!running_.empty()) step();
    const SteadyClock::time_point now = SteadyClock::now();
    if (opts_.kv_idle_seconds > 0 && now >= next_idle_sweep_) {
      // Pages outlive --kv-idle by at most one sweep interval (1/8 of it, at most 250 ms).
      const double interval = std::clamp(opts_.kv_idle_seconds / 8, 0.001, 0.25);
      next_idle_sweep_ = now + duration_of(interval);
      size_t freed = cache_.evict_idle(now - duration_of(opts_.kv_idle_seconds));
      {
        std::lock_guard lock(mu_);
        metrics_.kv_pages_evicted += freed;
      }
      // Free pages carry nothing worth keeping: with no sequence running their memory goes.
      if (running_.empty()) freed += pool_.trim();
#ifdef __GLIBC__
      // glibc keeps freed memory in its arenas (the engine thread has its own): hand it back
      // to the system once the server is idle, so its memory returns to the baseline.
      if (freed > 0 && running_.empty()) {
        logits_ = std::vector<float>();  // sized by the largest batch seen
        ws_ = Workspace();               // so are the forward pass's activations
        malloc_trim(0);
      }
#endif
    }
    update_gauges();
    waiting_count_ = int64_t(waiting_.size());
    running_count_ = int64_t(running_.size());
  }
  for (auto& s : running_) finish(*s, FinishReason::kCancelled);
  for (auto& s : waiting_) finish(*s, FinishReason::kCancelled);
  std::deque<std::unique_ptr<Sequence>> late;
  {
    std::lock_guard lock(mu_);
    late.swap(incoming_);
  }
  for (auto& s : late) finish(*s, FinishReason::kCancelled);
}

void Scheduler::admit_waiting(SteadyClock::time_point now) {
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    Sequence& s = **it;
    if (s.ticket->cancelled()) {
      finish(s, FinishReason::kCancelled);
    } else if (seconds(now - s.submitted) > opts_.max_wait_seconds) {
      finish(s, FinishReason::kQueueTimeout,
             "the server is busy: the request could not start within " +
                 std::to_string(int(opts_.max_wait_seconds)) + " s");
    } else if (now > s.req.deadline) {
      finish(s, FinishReason::kTimeout);
    }
    it = s.done ? waiting_.erase(it) : it + 1;
  }
  while (!waiting_.empty() && int(running_.size()) < opts_.max_running) {
    Sequence& s = *waiting_.front();
    if (!s.sampler) {  // parameters were validated at submit; what fails here is memory
      std::string error;
      try {
        auto smp = Sampler::create(s.req.sampling, size_t(engine_->vocab_size()));
        if (smp)
          s.sampler.emplace(std::move(*smp));
        else
          error = smp.error().message;
      } catch (const std::bad_alloc&) {
        error = "out of memory for the sampler";
      }
      if (!s.sampler) {
        finish(s, FinishReason::kError, error);
        waiting_.pop_front();
        continue;
      }
    }
    if (!try_admit(s, now)) {
      if (s.done) {  // can never fit
        waiting_.pop_front();
        continue;
      }
      // Memory frees up when a running sequence ends; until then this many run at once.
      admission_slots_ = std::max<int64_t>(1, int64_t(running_.size()));
      return;
    }
    s.admitted = now;
    s.usage.prompt_tokens = int64_t(s.req.prompt.size());
    s.usage.cache_hit_tokens = s.prefilled;
    s.out.started = true;
    {
      std::lock_guard lock(mu_);
      metrics_.prompt_tokens += uint64_t(s.req.prompt.size());
      metrics_.cache_hit_tokens += uint64_t(s.prefilled);
    }
    running_.push_back(std::move(waiting_.front()));
    waiting_.pop_front();
  }
  admission_slots_ = opts_.max_running;  // nothing waits, or the batch is what is full
}

void Scheduler::step() {
  const auto now = SteadyClock::now();
  for (auto& s : running_) {
    if (s->ticket->cancelled())
      finish(*s, FinishReason::kCancelled);
    else if (now > s->req.deadline)
      finish(*s, FinishReason::kTimeout);
  }
  std::erase_if(running_, [](const auto& s) { return s->done; });
  if (running_.empty()) return;

  // One batch: every decoding sequence's pending token, then prompt chunks within the
  // per-step prefill budget (oldest first).
  batch_.clear();
  caches_.clear();
  std::vector<Sequence*> logit_owner;
  int64_t prefill_budget = opts_.prefill_chunk;
  for (size_t i = 0; i < running_.size(); ++i) {
    Sequence& s = *running_[i];
    caches_.push_back(&s.cache);
    const int32_t pos = int32_t(s.tokens.size());
    if (s.pending >= 0) {
      if (!grow(s, pos + 1)) continue;
      batch_.add(s.pending, pos, int32_t(i), true);
      logit_owner.push_back(&s);
      continue;
    }
    const int64_t left = int64_t(s.req.prompt.size()) - s.prefilled;
    const int64_t n = std::min(left, prefill_budget);
    if (n <= 0 || !grow(s, pos + n)) continue;
    prefill_budget -= n;
    for (int64_t j = 0; j < n; ++j) {
      const bool last = s.prefilled + j + 1 == int64_t(s.req.prompt.size());
      batch_.add(s.req.prompt[size_t(s.prefilled + j)], pos + int32_t(j), int32_t(i), last);
      if (last) logit_owner.push_back(&s);
    }
  }
  if (batch_.size() > 0) {
    Status st = engine_->forward(batch_, caches_, ws_, logits_);
    if (!st) {
      for (auto& s : running_) finish(*s, FinishReason::kError, st.error().message);
      running_.clear();
      return;
    }
    // What each sequence's cache now holds.
    for (size_t i = 0; i < batch_.size(); ++i) {
      Sequence& s = *running_[size_t(batch_.seq_ids[i])];
      s.tokens.push_back(batch_.tokens[i]);
      if (s.pending >= 0)
        s.pending = -1;
      else
        ++s.prefilled;
    }
    for (auto& s : running_) publish_full_pages(*s, now);
    // Each draw is a pass over the vocabulary (MBs of logits for a batch): spread the
    // sequences over the engine's threads, then emit in batch order on this thread.
    const size_t v = size_t(engine_->vocab_size());
    for (Sequence* s : logit_owner)
      if (s->req.json_object && !s->json) s->json.emplace(token_bytes());
    engine_->pool().parallel_for(logit_owner.size(), [&](size_t begin, size_t end, int) {
      for (size_t r = begin; r < end; ++r)
        draw(*logit_owner[r], std::span<const float>(logits_.data() + r * v, v));
    });
    for (Sequence* s : logit_owner) emit(*s);
  }
  for (auto& s : running_)
    if (!s->done && (s->out.started || !s->out.content.empty() || !s->out.reasoning.empty() ||
                     !s->out.tokens.empty())) {
      s->sink(std::move(s->out));
      s->out = GenerationUpdate{};
    }
  std::erase_if(running_, [](const auto& s) { return s->done; });
}

void Scheduler::update_gauges() {
  std::lock_guard lock(mu_);
  metrics_.running = int64_t(running_.size());
  metrics_.kv_slots = opts_.max_running;
  metrics_.kv_slots_busy = int64_t(running_.size());
  metrics_.kv_bytes_allocated = pool_.allocated_bytes();
  metrics_.kv_budget_bytes = opts_.kv_budget_bytes;
  const int64_t P = KvCache::kPageTokens;
  metrics_.kv_page_tokens = P;
  metrics_.kv_pages_total = int64_t(pool_.capacity());
  metrics_.kv_pages_used = int64_t(pool_.live());
  metrics_.kv_pages_cached = int64_t(cache_.size());
  metrics_.kv_tokens_busy = int64_t(pool_.live() - pool_.cached_idle()) * P;
  metrics_.kv_tokens_capacity = int64_t(pool_.capacity()) * P;
}

// Touches only `s` (its sampler, JSON constraint and buffers), so sequences draw in parallel.
void Scheduler::draw(Sequence& s, std::span<const float> logits) {
  s.drawn_constrained = s.json_engaged();
  s.mask_failed = false;
  if (s.drawn_constrained) {
    s.masked.assign(logits.begin(), logits.end());
    if (!s.json->mask(s.masked)) {
      s.mask_failed = true;
      return;
    }
    logits = s.masked;
  }
  s.drawn = s.sampler->sample(logits, s.req.top_logprobs);
}

void Scheduler::emit(Sequence& s) {
  const auto now = SteadyClock::now();
  if (s.mask_failed)
    return finish(s, FinishReason::kError, "json_object: no token can continue the JSON");
  const bool constrained = s.drawn_constrained;
  const SampledToken& t = s.drawn;
  {
    std::lock_guard lock(mu_);
    if (s.usage.completion_tokens == 0 && s.last_token == SteadyClock::time_point{})
      metrics_.ttft.observe(seconds(now - s.submitted));
    else
      metrics_.inter_token.observe(seconds(now - s.last_token));
  }
  s.last_token = now;
  if (s.sampler->is_eos(t.token)) return finish(s, FinishReason::kStop);
  s.sampler->accept(t.token);
  ++s.usage.completion_tokens;
  record_tokens(1);
  if (s.req.top_logprobs >= 0)
    s.out.tokens.push_back(
        {t.token, t.logprob, std::vector<TokenLogprob>(t.top.begin(), t.top.end())});
  const bool was_reasoning = s.splitter.in_reasoning();
  std::string piece;
  s.stop.push(s.decoder.put(t.token), piece);
  if (s.req.split_reasoning)
    s.splitter.push(piece, s.out.reasoning, s.out.content);
  else
    s.out.content += piece;
  if (s.req.split_reasoning && (was_reasoning || s.splitter.in_reasoning()))
    ++s.usage.reasoning_tokens;
  if (constrained) s.json->accept(t.token);
  if (s.stop.stopped() || (constrained && s.json->complete()))
    return finish(s, FinishReason::kStop);
  if (s.req.max_tokens >= 0 && s.usage.completion_tokens >= s.req.max_tokens)
    return finish(s, FinishReason::kLength);
  if (int64_t(s.tokens.size()) >= opts_.context) return finish(s, FinishReason::kLength);
  s.pending = t.token;
}

void Scheduler::finish(Sequence& s, FinishReason why, std::string error) {
  if (s.done) return;
  s.done = true;
  if (!s.stop.stopped()) {  // release held-back text
    std::string piece;
    s.stop.push(s.decoder.flush(), piece);
    s.stop.finish(piece);
    if (s.req.split_reasoning)
      s.splitter.push(piece, s.out.reasoning, s.out.content);
    else
      s.out.content += piece;
  }
  if (s.req.split_reasoning) s.splitter.finish(s.out.reasoning, s.out.content);
  s.out.done = true;
  s.out.finish = why;
  s.out.error = std::move(error);
  s.out.usage = s.usage;
  release_pages(s);  // a cancelled sequence's memory is free at once
  {
    std::lock_guard lock(mu_);
    if (why == FinishReason::kCancelled) ++metrics_.requests_cancelled;
    if (why == FinishReason::kQueueTimeout) ++metrics_.requests_rejected;
    if (s.admitted != SteadyClock::time_point{}) {
      ++metrics_.requests_finished;
      // Service time of requests that ran to their end (what a queued request waits for).
      if (why == FinishReason::kStop || why == FinishReason::kLength) {
        const double t = seconds(SteadyClock::now() - s.admitted);
        mean_service_seconds_ =
            mean_service_seconds_ == 0 ? t : 0.8 * mean_service_seconds_ + 0.2 * t;
      }
    }
  }
  s.sink(std::move(s.out));
}

// Reserves the pages `s` may reach and maps its longest cached prefix. False when the pool
// cannot hold the reservation now (s waits), or never (s is finished with an error).
bool Scheduler::try_admit(Sequence& s, SteadyClock::time_point now) {
  const std::span<const int32_t> prompt = s.req.prompt;
  const int64_t P = KvCache::kPageTokens, n = int64_t(prompt.size());
  const int64_t reach =
      s.req.max_tokens < 0 ? opts_.context : std::min(opts_.context, n + s.req.max_tokens);
  const int64_t reserve = (reach + P - 1) / P;
  if (uint64_t(reserve) > pool_.capacity()) {
    finish(s, FinishReason::kError,
           "the request needs " + std::to_string(reserve * P) +
               " tokens of KV memory; --kv-memory holds " + std::to_string(pool_.capacity() * P));
    return false;
  }
  RadixCache::Match m = cache_.match(prompt, size_t(n / P), now);
  // The last prompt token must run to give logits: a prompt matched to its end gets a private
  // copy of its last page (copy on write) and recomputes that one token into it.
  const bool copy_last = int64_t(m.pages.size()) * P > n - 1;
  int64_t outstanding = 0;  // pages running sequences may still allocate
  for (const auto& r : running_)
    outstanding += std::max<int64_t>(0, r->reserved_pages - int64_t(r->pages.size()));
  const int64_t fresh = reserve - int64_t(m.pages.size()) + (copy_last ? 1 : 0);
  const int64_t room = int64_t(pool_.capacity()) - int64_t(pool_.live()) +
                       int64_t(pool_.cached_idle()) - outstanding;
  if (fresh > room) {
    for (auto p : m.pages) pool_.release(p);
    return false;
  }
  s.cache = KvCache::over_pages(engine_->kv_layout());
  s.pages = std::move(m.pages);
  s.node = m.node;
  s.tree_pages = s.pages.size();
  for (auto p : s.pages) s.cache.push_page(pool_.data(p));
  int64_t hits = int64_t(s.pages.size()) * P;
  if (copy_last) {
    const PagePool::PageId copy = new_page();  // fits: `room` counted it
    WHALE_CHECK(copy != PagePool::kNoPage, "KV page reservation broken");
    std::memcpy(pool_.data(copy), pool_.data(s.pages.back()), pool_.page_bytes());
    pool_.release(s.pages.back());
    s.pages.back() = copy;
    s.cache.set_page(s.pages.size() - 1, pool_.data(copy));
    s.node = RadixCache::parent_of(s.node);
    --s.tree_pages;
    hits = n - 1;
  }
  s.tokens.assign(prompt.begin(), prompt.begin() + hits);
  s.cache.set_length(hits);
  s.prefilled = hits;
  s.reserved_pages = reserve;
  return true;
}

// A page from the pool, evicting cached pages no sequence maps when it is full (a slice of
// them at once: each eviction pass walks the tree).
PagePool::PageId Scheduler::new_page() {
  PagePool::PageId p = pool_.allocate();
  if (p == PagePool::kNoPage) {
    const size_t evicted = cache_.evict(std::max<size_t>(1, pool_.capacity() / 64));
    {
      std::lock_guard lock(mu_);
      metrics_.kv_pages_evicted += evicted;
    }
    p = pool_.allocate();
  }
  return p;
}

// Maps pages until the cache holds `tokens` positions. Admission reserved them, so failing is
// a broken invariant or an allocation failure: the sequence ends with an error.
bool Scheduler::grow(Sequence& s, int64_t tokens) {
  while (s.cache.capacity() < tokens) {
    const PagePool::PageId p = new_page();
    if (p == PagePool::kNoPage) {
      finish(s, FinishReason::kError, "out of KV memory");
      return false;
    }
    s.pages.push_back(p);
    s.cache.push_page(pool_.data(p));
  }
  return true;
}

// Adds the sequence's newly full pages to the prefix cache. Where the cache already has the
// same tokens (another sequence computed them), the sequence maps the cached page instead of
// its own, so its page table stays the cached path and that path cannot be evicted under it.
void Scheduler::publish_full_pages(Sequence& s, SteadyClock::time_point now) {
  const size_t P = size_t(KvCache::kPageTokens);
  while (!s.done && (s.tree_pages + 1) * P <= s.tokens.size()) {
    const size_t i = s.tree_pages;
    const auto tokens = std::span<const int32_t>(s.tokens).subspan(i * P, P);
    RadixCache::Node* node = cache_.insert(s.node, tokens, s.pages[i], now);
    const PagePool::PageId cached = RadixCache::page_of(node);
    if (cached != s.pages[i]) {
      pool_.retain(cached);
      pool_.release(s.pages[i]);
      s.pages[i] = cached;
      s.cache.set_page(i, pool_.data(cached));
    }
    s.node = node;
    ++s.tree_pages;
  }
}

void Scheduler::release_pages(Sequence& s) {
  for (auto p : s.pages) pool_.release(p);
  s.pages.clear();
  s.cache.clear_pages();
  s.node = nullptr;
  s.tree_pages = 0;
}

const std::vector<std::string>* Scheduler::token_bytes() {
  if (token_bytes_.empty()) {
    token_bytes_.resize(size_t(engine_->vocab_size()));
    for (int32_t id = 0; id < int32_t(token_bytes_.size()); ++id)
      if (tok_.is_valid_id(id) && !tok_.is_special(id))
        token_bytes_[size_t(id)] = tok_.token_bytes(id);
  }
  return &token_bytes_;
}

void Scheduler::record_tokens(int64_t n) {
  std::lock_guard lock(mu_);
  metrics_.generated_tokens += uint64_t(n);
  const auto now = SteadyClock::now();
  if (!recent_tokens_.empty() && seconds(now - recent_tokens_.back().first) < 0.1)
    recent_tokens_.back().second += n;
  else
    recent_tokens_.push_back({now, n});
  while (!recent_tokens_.empty() &&
         seconds(now - recent_tokens_.front().first) > kRateWindowSeconds)
    recent_tokens_.pop_front();
}

}  // namespace whale
