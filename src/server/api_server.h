// The OpenAI/DeepSeek-compatible API over a Scheduler: routing, authentication, rate limits,
// request -> prompt (chat template + tokenizer), scheduler updates -> JSON or SSE chunks, the
// usage ledger and /metrics. It never touches tensors; the engine thread only calls the small
// sinks made here, which format text and hand it to the connection.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "runtime/scheduler.h"
#include "server/http_server.h"
#include "server/rate_limiter.h"
#include "store/key_store.h"
#include "template/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace whale::server {

struct ApiOptions {
  std::string model_id;  // what /v1/models lists and responses name
  bool require_auth = false;
  std::chrono::milliseconds keepalive{5000};  // SSE keep-alive comments while nothing flows
  double request_timeout_seconds = 0;         // a deadline for every request (0: none); a request's
                                              // own "timeout" field may only shorten it
};

class ApiServer {
 public:
  // keys may be null (no key database: --auth is then impossible).
  ApiServer(ApiOptions options, std::shared_ptr<Scheduler> scheduler, Tokenizer tokenizer,
            ChatTemplateConfig chat, KeyStore* keys);
  ~ApiServer();

  void handle(HttpRequest&& req, std::shared_ptr<Responder> out);

 private:
  void completions(HttpRequest&& req, std::shared_ptr<Responder> out, bool chat);
  void metrics(Responder& out);
  void ledger_loop();
  // Adds a finished request to its key's ledger row (on the ledger thread), then runs `then`.
  void record(int64_t key_row, const GenerationUsage& u, std::function<void()> then);

  ApiOptions opts_;
  std::shared_ptr<Scheduler> scheduler_;
  Tokenizer tok_;
  ChatTemplateConfig chat_;
  KeyStore* keys_;
  RateLimiter limiter_;
  bool reasoning_model_ = false;  // the vocabulary has </think>
  std::vector<int32_t> eos_ids_;
  std::vector<std::pair<int32_t, float>> banned_;  // ids the tokenizer cannot decode

  // Usage rows are written by this thread, so neither the engine nor the network waits on disk.
  std::mutex ledger_mu_;
  std::condition_variable ledger_cv_;
  struct LedgerEntry {
    int64_t key_row;
    KeyUsage usage;
    std::function<void()> then;
  };
  std::deque<LedgerEntry> ledger_queue_;
  bool ledger_stop_ = false;
  std::thread ledger_thread_;
};

}  // namespace whale::server
