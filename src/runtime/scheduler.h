// Continuous batching for the server: many generation requests share one Engine.
//
// One engine thread runs steps. Each step admits waiting requests whose KV pages fit in the
// memory budget (mapping their longest cached prefix from the RadixCache by reference), then
// evaluates ONE batch holding a token for every decoding sequence plus a chunk of at most
// `prefill_chunk` tokens of each prompt still being prefilled, so long prompts never stall the
// others for more than a chunk. After the forward pass each sequence that got logits samples its
// next token (the sequences in parallel on the engine's threads: each draw is a pass over the
// vocabulary), then, in order on the engine thread, runs it through detokenization, stop strings
// and reasoning splitting, and reports the new text to its sink. Sequences leave the batch the
// moment they finish or are cancelled: their pages go back to the pool at once, except full pages,
// which stay in the prefix cache for later prompts.
//
// KV memory (PagePool): a sequence's pages are allocated as it grows, but admission reserves
// what it may reach - prompt + max_tokens, or the whole context without max_tokens - so a
// running sequence never runs out of pages; a request that does not fit waits in the queue
// (bounded by max_wait_seconds). Cached pages that no sequence maps count as free: they are
// evicted, least recently used first, when the pool needs their room.
//
// Callers (the network threads) never block on the model: submit() only takes a lock to queue
// the request; sinks are called on the engine thread and must return quickly (post, not wait).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "runtime/engine.h"
#include "runtime/page_pool.h"
#include "runtime/radix_cache.h"
#include "runtime/sampler.h"
#include "tokenizer/tokenizer.h"

namespace whale {

using SteadyClock = std::chrono::steady_clock;

struct GenerationRequest {
  std::vector<int32_t> prompt;
  SamplingParams sampling;  // already validated (validate_sampling_params)
  int64_t max_tokens = -1;  // -1: until end of sequence or a full context
  std::vector<std::string> stops;
  int top_logprobs = -1;  // -1: no logprobs; else logprob of each token + this many alternatives
  bool split_reasoning = false;      // route <think>...</think> text to `reasoning`
  bool starts_in_reasoning = false;  // the prompt already opened the block
  // response_format json_object: the content (after any reasoning) is constrained to one JSON
  // object and the answer ends when it closes (see json_constraint.h).
  bool json_object = false;
  SteadyClock::time_point deadline = SteadyClock::time_point::max();
};

struct GeneratedToken {
  int32_t token;
  float logprob;
  std::vector<TokenLogprob> top;
};

enum class FinishReason { kStop, kLength, kCancelled, kTimeout, kQueueTimeout, kError };

struct GenerationUsage {
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t cache_hit_tokens = 0;
  int64_t reasoning_tokens = 0;
};

// What a sink receives: new text since the last update, and on the last update done = true.
struct GenerationUpdate {
  bool started = false;  // the request left the queue (first update only)
  std::string reasoning, content;
  std::vector<GeneratedToken> tokens;  // with logprobs, when requested
  bool done = false;
  FinishReason finish = FinishReason::kStop;
  std::string error;  // kError / kQueueTimeout
  GenerationUsage usage;
};

using UpdateSink = std::function<void(GenerationUpdate&&)>;

// The caller's handle on a submitted request: cancel it (client gone) at any time.
class GenerationTicket {
 public:
  void cancel() { cancelled_.store(true, std::memory_order_relaxed); }
  bool cancelled() const { return cancelled_.load(std::memory_order_relaxed); }

 private:
  std::atomic<bool> cancelled_{false};
};

struct SchedulerOptions {
  int64_t context = 4096;  // tokens per sequence
  uint64_t kv_budget_bytes = 1ull << 30;
  int max_running = 16;          // sequences in the batch at once
  int max_queue = 256;           // waiting requests beyond which new ones are refused
  int prefill_chunk = 256;       // prompt tokens per sequence per step
  double max_wait_seconds = 30;  // a request that cannot start within this is refused
  double kv_idle_seconds = 300;  // cached KV pages unused this long are freed (0: kept)
};

struct Admission {
  enum class Kind { kAccepted, kInvalid, kOverloaded } kind = Kind::kAccepted;
  std::string message;
  double retry_after_seconds = 0;  // kOverloaded
  std::shared_ptr<GenerationTicket> ticket;
};

// Cumulative histogram (Prometheus style): counts[i] = observations <= bounds[i].
struct Histogram {
  std::vector<double> bounds;
  std::vector<uint64_t> counts;  // bounds.size() + 1 (last: +Inf)
  double sum = 0;
  uint64_t total = 0;
  explicit Histogram(std::vector<double> b) : bounds(std::move(b)), counts(bounds.size() + 1) {}
  void observe(double v);
};

struct SchedulerMetrics {
  int64_t queue_depth = 0;
  int64_t running = 0;
  int64_t kv_slots = 0, kv_slots_busy = 0;  // max_running, running
  // Sequences that can run at once as admission last found it: max_running, or fewer when the
  // KV memory (not the batch) stopped a waiting request. Refusals and Retry-After use it.
  int64_t admission_slots = 0;
  uint64_t kv_bytes_allocated = 0, kv_budget_bytes = 0;
  int64_t kv_tokens_busy = 0, kv_tokens_capacity = 0;  // in running sequences' pages / budget
  int64_t kv_page_tokens = 0;
  int64_t kv_pages_total = 0;   // the budget
  int64_t kv_pages_used = 0;    // referenced (by sequences or the prefix cache)
  int64_t kv_pages_cached = 0;  // held by the prefix cache (some also mapped by sequences)
  uint64_t kv_pages_evicted = 0;
  uint64_t requests_finished = 0, requests_rejected = 0, requests_cancelled = 0;
  uint64_t prompt_tokens = 0, cache_hit_tokens = 0, generated_tokens = 0;
  double tokens_per_second = 0;  // generated, over the last few seconds
  Histogram ttft{{}}, inter_token{{}};
};

class Scheduler {
 public:
  Scheduler(std::shared_ptr<const Engine> engine, Tokenizer tokenizer, SchedulerOptions options);
  ~Scheduler();  // cancels everything and joins the engine thread
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Queues a request, or refuses it: kInvalid (bad prompt / parameters), kOverloaded (queue
  // full, or the measured service rate says it cannot start within max_wait_seconds).
  Admission submit(GenerationRequest request, UpdateSink sink);
  // The same overload refusal submit() would give, decided before the caller spends time on the
  // prompt (template, tokenizer): a refused client hears so at once. nullopt: not overloaded now.
  std::optional<Admission> refuse_if_overloaded();

  SchedulerMetrics metrics() const;
  // Seconds until a running sequence is expected to end (the measured mean service time), at
  // least 1: what a refused client is told to wait (Retry-After).
  double retry_after_seconds() const;
  const SchedulerOptions& options() const { return opts_; }
  int64_t context() const { return opts_.context; }
  int64_t vocab_size() const { return engine_->vocab_size(); }

 private:
  struct Sequence;
  void loop();
  void admit_waiting(SteadyClock::time_point now);
  void step();
  void draw(Sequence& s, std::span<const float> logits);
  void emit(Sequence& s);
  void finish(Sequence& s, FinishReason why, std::string error = {});
  void record_tokens(int64_t n);
  bool refuse_locked(Admission& a);  // mu_ held
  bool try_admit(Sequence& s, SteadyClock::time_point now);
  PagePool::PageId new_page();
  bool grow(Sequence& s, int64_t tokens);
  void publish_full_pages(Sequence& s, SteadyClock::time_point now);
  void release_pages(Sequence& s);
  void update_gauges();
  const std::vector<std::string>* token_bytes();

  std::shared_ptr<const Engine> engine_;
  Tokenizer tok_;
  SchedulerOptions opts_;
  PagePool pool_;     // engine thread only
  RadixCache cache_;  // engine thread only; destroyed before pool_

  mutable std::mutex mu_;  // guards incoming_, metrics_, service estimates, stop_
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Sequence>> incoming_;
  bool stop_ = false;
  SchedulerMetrics metrics_;
  double mean_service_seconds_ = 0;  // exponential average of admitted-to-finished time
  std::deque<std::pair<SteadyClock::time_point, int64_t>> recent_tokens_;
  std::atomic<int64_t> waiting_count_{0}, running_count_{0};  // for submit()'s estimate
  // SchedulerMetrics::admission_slots; >= 1 once constructed.
  std::atomic<int64_t> admission_slots_{0};

  // Engine thread only.
  // When the loop next sweeps the prefix cache for pages unused for --kv-idle: a sweep walks
  // the whole tree, so it runs a few times per idle period, not after every decode step.
  SteadyClock::time_point next_idle_sweep_{};
  std::deque<std::unique_ptr<Sequence>> waiting_;
  std::vector<std::unique_ptr<Sequence>> running_;
  Batch batch_;
  Workspace ws_;
  std::vector<float> logits_;
  std::vector<KvCache*> caches_;
  std::vector<std::string> token_bytes_;  // per id, built on the first json_object request
  std::thread thread_;
};

}  // namespace whale
