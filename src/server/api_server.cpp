#include "server/api_server.h"

#include <chrono>
#include <cmath>
#include <limits>
#include <random>

#include "runtime/reasoning.h"
#include "server/api_error.h"
#include "server/openai_request.h"
#include "server/openai_response.h"

namespace whale::server {
namespace {

constexpr const char* kJson = "application/json";

void send_error(Responder& out, const ApiError& e) {
  HeaderList h;
  if (e.retry_after_seconds > 0)
    h.push_back({"Retry-After", std::to_string(int64_t(std::ceil(e.retry_after_seconds)))});
  out.send(e.status, kJson, dump_json(e.to_json()), std::move(h));
}

std::string bearer_token(const std::string& header) {
  if (header.size() > 7 &&
      (header.compare(0, 7, "Bearer ") == 0 || header.compare(0, 7, "bearer ") == 0))
    return header.substr(7);
  return "";
}

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Everything one request's sink needs; shared by the network side and the engine thread.
struct RequestState {
  ResponseHeader header;
  std::shared_ptr<Responder> out;
  bool stream = false, include_usage = false, reasoning = false;
  int top_logprobs = -1;
  int64_t key_row = -1;
  // Non-streaming: the whole answer.
  std::string content, reasoning_text;
  ojson logprobs;
  size_t text_bytes = 0;  // completions: text_offset of the next token
};

}  // namespace

ApiServer::ApiServer(ApiOptions options, std::shared_ptr<Scheduler> scheduler, Tokenizer tokenizer,
                     ChatTemplateConfig chat, KeyStore* keys)
    : opts_(std::move(options)),
      scheduler_(std::move(scheduler)),
      tok_(std::move(tokenizer)),
      chat_(std::move(chat)),
      keys_(keys) {
  // R1-style models: the vocabulary or the template knows the reasoning block.
  reasoning_model_ = tok_.token_id("</think>").has_value() ||
                     chat_.chat_template.find("</think>") != std::string::npos;
  for (auto id : {tok_.eos_id(), tok_.eot_id()})
    if (id && *id < scheduler_->vocab_size()) eos_ids_.push_back(*id);
  // Ids the model can emit but the tokenizer cannot decode (padding rows of the output matrix).
  for (int32_t id = 0; id < int32_t(scheduler_->vocab_size()); ++id)
    if (!tok_.is_valid_id(id)) banned_.push_back({id, -std::numeric_limits<float>::infinity()});
  ledger_thread_ = std::thread([this] { ledger_loop(); });
}

ApiServer::~ApiServer() {
  scheduler_.reset();  // finishes every sequence; their usage reaches the ledger queue
  {
    std::lock_guard lock(ledger_mu_);
    ledger_stop_ = true;
  }
  ledger_cv_.notify_all();
  ledger_thread_.join();
}

void ApiServer::ledger_loop() {
  std::unique_lock lock(ledger_mu_);
  for (;;) {
    ledger_cv_.wait(lock, [&] { return ledger_stop_ || !ledger_queue_.empty(); });
    while (!ledger_queue_.empty()) {
      LedgerEntry e = std::move(ledger_queue_.front());
      ledger_queue_.pop_front();
      lock.unlock();
      if (keys_) {
        Status st = keys_->record_usage(e.key_row, e.usage);
        if (!st) std::fprintf(stderr, "whale serve: %s\n", st.error().message.c_str());
      }
      if (e.then) e.then();
      lock.lock();
    }
    if (ledger_stop_) return;
  }
}

void ApiServer::record(int64_t key_row, const GenerationUsage& u, std::function<void()> then) {
  limiter_.add_tokens(key_row, u.prompt_tokens + u.completion_tokens);
  {
    std::lock_guard lock(ledger_mu_);
    ledger_queue_.push_back({key_row,
                             KeyUsage{1, u.prompt_tokens, u.completion_tokens, u.cache_hit_tokens},
                             std::move(then)});
  }
  ledger_cv_.notify_one();
}

void ApiServer::handle(HttpRequest&& req, std::shared_ptr<Responder> out) {
  try {
    std::string path = req.target.substr(0, req.target.find('?'));
    if (path.size() > 1 && path.back() == '/') path.pop_back();
    const bool get = req.method == "GET", post = req.method == "POST";
    auto wrong_method = [&] { send_error(*out, {405, "method not allowed for " + path, "", ""}); };
    if (path == "/health") {
      if (!get) return wrong_method();
      return out->send(200, kJson, R"({"status":"ok"})");
    }
    if (path == "/v1/models" || path == "/models") {
      if (!get) return wrong_method();
      ojson m = {
          {"id", opts_.model_id}, {"object", "model"}, {"created", 0}, {"owned_by", "whale"}};
      return out->send(200, kJson, dump_json(ojson{{"object", "list"}, {"data", {m}}}));
    }
    if (path == "/metrics") {
      if (!get) return wrong_method();
      return metrics(*out);
    }
    if (path == "/v1/chat/completions" || path == "/chat/completions") {
      if (!post) return wrong_method();
      return completions(std::move(req), out, true);
    }
    if (path == "/v1/completions" || path == "/completions" || path == "/beta/completions") {
      if (!post) return wrong_method();
      return completions(std::move(req), out, false);
    }
    send_error(*out, {404, "no such endpoint: " + path, "", "not_found"});
  } catch (const std::exception& e) {  // a bug, not the client's fault: keep serving
    send_error(*out, {500, std::string("internal error: ") + e.what(), "", ""});
  }
}

void ApiServer::completions(HttpRequest&& req, std::shared_ptr<Responder> out, bool chat) {
  // Authentication: with --auth a valid key is required; without, a valid key still gets its
  // usage recorded and an unknown one is ignored.
  std::optional<ApiKey> key;
  const std::string token = bearer_token(req.authorization);
  if (keys_ && !token.empty()) {
    auto v = keys_->verify(token);
    if (!v) return send_error(*out, {500, v.error().message, "", ""});
    key = *v;
  }
  if (opts_.require_auth && !key)
    return send_error(*out, {401,
                             token.empty() ? "Authentication Fails: no API key (Authorization: "
                                             "Bearer wk_...)"
                                           : "Authentication Fails: the API key is invalid or "
                                             "revoked",
                             "", "invalid_api_key"});

  auto parsed = parse_completion_request(req.body, chat);
  if (auto* e = std::get_if<ApiError>(&parsed)) return send_error(*out, *e);
  CompletionRequest& r = std::get<CompletionRequest>(parsed);

  if (key) {
    double wait = limiter_.admit(key->row, key->requests_per_minute, key->tokens_per_minute);
    if (wait > 0) {
      ApiError e{429, "Rate limit reached for this API key; retry later", "",
                 "rate_limit_exceeded"};
      e.retry_after_seconds = wait;
      return send_error(*out, e);
    }
  }

  // Far above capacity, refuse before rendering and tokenizing the prompt.
  if (auto refused = scheduler_->refuse_if_overloaded()) {
    ApiError e{429, refused->message, "", "server_overloaded"};
    e.retry_after_seconds = refused->retry_after_seconds;
    return send_error(*out, e);
  }

  // The prompt text.
  std::string text;
  bool opens_reasoning = false;
  if (chat) {
    if (chat_.chat_template.empty())
      return send_error(*out, bad_format("this model has no chat template; use /v1/completions"));
    ChatTemplateInputs in;
    in.messages = r.messages;
    in.tools = r.tools;
    in.add_generation_prompt = true;
    in.bos_token = chat_.bos_token;
    in.eos_token = chat_.eos_token;
    in.extra = chat_.special_tokens;
    auto rendered = render_chat(chat_.chat_template, in);
    if (!rendered)
      return send_error(*out, invalid_param("the chat template rejected these messages: " +
                                                rendered.error().message,
                                            "messages"));
    text = std::move(*rendered);
    opens_reasoning = prompt_opens_reasoning(text);
  } else if (r.suffix) {
    auto begin = tok_.token_id("<｜fim▁begin｜>"), hole = tok_.token_id("<｜fim▁hole｜>"),
         end = tok_.token_id("<｜fim▁end｜>");
    if (!begin || !hole || !end)
      return send_error(*out, bad_format("suffix (fill in the middle) is not supported: this "
                                         "model's vocabulary has no FIM tokens",
                                         "suffix"));
    text = "<｜fim▁begin｜>" + r.prompt + "<｜fim▁hole｜>" + *r.suffix + "<｜fim▁end｜>";
  } else {
    text = r.prompt;
  }
  std::vector<int32_t> ids = tok_.encode(text, /*parse_special=*/true);
  auto bos = tok_.bos_id();
  if (tok_.add_bos() && bos && (ids.empty() || ids[0] != *bos)) ids.insert(ids.begin(), *bos);

  GenerationRequest g;
  g.prompt = std::move(ids);
  g.max_tokens = r.max_tokens;
  g.stops = r.stops;
  g.top_logprobs = r.top_logprobs;
  g.split_reasoning = chat && reasoning_model_;
  g.starts_in_reasoning = opens_reasoning;
  g.json_object = r.json_object;
  double timeout = opts_.request_timeout_seconds;
  if (r.timeout_seconds && (timeout <= 0 || *r.timeout_seconds < timeout))
    timeout = *r.timeout_seconds;
  if (timeout > 0)
    g.deadline = SteadyClock::now() + std::chrono::duration_cast<SteadyClock::duration>(
                                          std::chrono::duration<double>(std::min(timeout, 1e9)));
  SamplingParams& s = g.sampling;
  s.temperature = r.temperature;
  s.top_p = r.top_p;
  s.presence_penalty = r.presence_penalty;
  s.frequency_penalty = r.frequency_penalty;
  s.penalty_last_n = -1;  // OpenAI: penalties count every generated token
  s.seed = r.seed ? *r.seed : (uint64_t(std::random_device{}()) << 32 | std::random_device{}());
  s.eos_ids = eos_ids_;
  s.logit_bias = banned_;
  for (auto& b : r.logit_bias) {
    if (b.first >= int32_t(scheduler_->vocab_size()))
      return send_error(*out, invalid_param("logit_bias: token id " + std::to_string(b.first) +
                                                " is outside the vocabulary",
                                            "logit_bias"));
    s.logit_bias.push_back(b);
  }
  if (Status st = validate_sampling_params(s, size_t(scheduler_->vocab_size())); !st)
    return send_error(*out, invalid_param(st.error().message));

  auto state = std::make_shared<RequestState>();
  state->header = {new_response_id(chat ? "chatcmpl-" : "cmpl-"), unix_now(), opts_.model_id, chat};
  state->out = out;
  state->stream = r.stream;
  state->include_usage = r.include_usage;
  state->reasoning = g.split_reasoning;
  state->top_logprobs = r.top_logprobs;
  state->key_row = key ? key->row : -1;
  state->logprobs = chat ? ojson::array() : ojson::object();

  Scheduler* sched = scheduler_.get();  // alive while any sink can run (it calls them)
  auto deliver = [this, state, sched](GenerationUpdate&& u) {
    RequestState& st = *state;
    const ResponseHeader& h = st.header;
    if (st.stream) {
      std::string events;
      auto choice = [&](ojson body) {
        ojson c = {{"index", 0}};
        for (auto& [k, v] : body.items()) c[k] = v;
        if (!c.contains("logprobs")) c["logprobs"] = nullptr;
        if (!c.contains("finish_reason")) c["finish_reason"] = nullptr;
        ojson chunk = chunk_json(h, std::move(c));
        if (st.include_usage) chunk["usage"] = nullptr;
        events += sse(chunk);
      };
      ojson lp;
      if (st.top_logprobs >= 0 && !u.tokens.empty()) {
        if (h.chat) {
          lp = {{"content", ojson::array()}};
          append_chat_logprobs(tok_, u.tokens, lp["content"]);
        } else {
          append_text_logprobs(tok_, u.tokens, st.text_bytes, lp);
        }
      }
      if (h.chat) {
        if (u.started) choice({{"delta", {{"role", "assistant"}, {"content", ""}}}});
        if (!u.reasoning.empty())
          choice({{"delta", {{"content", nullptr}, {"reasoning_content", u.reasoning}}}});
        if (!u.content.empty() || !lp.is_null()) {
          ojson delta = {{"content", u.content}};
          if (st.reasoning) delta["reasoning_content"] = nullptr;
          ojson body = {{"delta", delta}};
          if (!lp.is_null()) body["logprobs"] = lp;
          choice(body);
        }
      } else if (!u.content.empty() || !lp.is_null()) {
        ojson body = {{"text", u.content}};
        if (!lp.is_null()) body["logprobs"] = lp;
        choice(body);
      }
      st.text_bytes += u.content.size();
      if (u.done) {
        if (u.finish == FinishReason::kError || u.finish == FinishReason::kQueueTimeout) {
          ApiError e{u.finish == FinishReason::kError ? 500 : 429, u.error, "", ""};
          events += sse(e.to_json());
        } else if (u.finish != FinishReason::kCancelled) {
          choice({{h.chat ? "delta" : "text", h.chat ? ojson::object() : ojson("")},
                  {"finish_reason", finish_reason_text(u.finish)}});
          if (st.include_usage) {
            ojson last = chunk_json(h, ojson{});
            last["choices"] = ojson::array();
            last["usage"] = usage_json(u.usage);
            events += sse(last);
          }
        }
        events += "data: [DONE]\n\n";
      }
      if (!events.empty()) st.out->stream(std::move(events));
      if (u.done) st.out->end_stream();
      return;
    }
    // Not streaming: gather, answer once.
    st.content += u.content;
    st.reasoning_text += u.reasoning;
    if (st.top_logprobs >= 0) {
      if (h.chat)
        append_chat_logprobs(tok_, u.tokens, st.logprobs);
      else
        append_text_logprobs(tok_, u.tokens, st.text_bytes, st.logprobs);
    }
    st.text_bytes += u.content.size();
    if (!u.done) return;
    if (u.finish == FinishReason::kCancelled)
      return send_error(*st.out, {503, "the server is shutting down", "", ""});
    if (u.finish == FinishReason::kQueueTimeout) {
      ApiError e{429, u.error, "", "server_overloaded"};
      e.retry_after_seconds = sched->retry_after_seconds();
      return send_error(*st.out, e);
    }
    if (u.finish == FinishReason::kError) return send_error(*st.out, {500, u.error, "", ""});
    ojson choice = {{"index", 0}};
    if (h.chat) {
      ojson msg = {{"role", "assistant"}, {"content", st.content}};
      if (st.reasoning) msg["reasoning_content"] = st.reasoning_text;
      choice["message"] = msg;
      choice["logprobs"] = st.top_logprobs >= 0 ? ojson{{"content", st.logprobs}} : ojson(nullptr);
    } else {
      choice["text"] = st.content;
      choice["logprobs"] = st.top_logprobs >= 0 ? st.logprobs : ojson(nullptr);
    }
    choice["finish_reason"] = finish_reason_text(u.finish);
    ojson resp;
    resp["id"] = h.id;
    resp["object"] = h.chat ? "chat.completion" : "text_completion";
    resp["created"] = h.created;
    resp["model"] = h.model;
    resp["system_fingerprint"] = "whale";
    resp["choices"] = ojson::array({choice});
    resp["usage"] = usage_json(u.usage);
    st.out->send(200, kJson, dump_json(resp));
  };

  auto deliver_fn = std::make_shared<std::function<void(GenerationUpdate &&)>>(std::move(deliver));
  auto sink = [this, state, deliver_fn](GenerationUpdate&& u) {
    if (!u.done || state->key_row < 0) return (*deliver_fn)(std::move(u));
    // A keyed request's usage row is committed before its client sees the end of the answer,
    // so a crash can only lose the row of an answer that never fully arrived.
    GenerationUsage usage = u.usage;
    record(state->key_row, usage,
           [deliver_fn, u = std::move(u)]() mutable { (*deliver_fn)(std::move(u)); });
  };
  Admission a = scheduler_->submit(std::move(g), std::move(sink));
  if (a.kind == Admission::Kind::kInvalid) {
    ApiError e = bad_format(a.message);
    if (a.message.find("context") != std::string::npos) e.code = "context_length_exceeded";
    return send_error(*out, e);
  }
  if (a.kind == Admission::Kind::kOverloaded) {
    ApiError e{429, a.message, "", "server_overloaded"};
    e.retry_after_seconds = a.retry_after_seconds;
    return send_error(*out, e);
  }
  // On the connection's strand: runs before any update the engine posts.
  if (r.stream) out->start_stream(opts_.keepalive);
  out->on_disconnect([ticket = a.ticket] { ticket->cancel(); });
}

void ApiServer::metrics(Responder& out) {
  SchedulerMetrics m = scheduler_->metrics();
  std::string s;
  auto line = [&](const char* name, const char* type, const char* help, double v) {
    s += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
    char buf[64];
    std::snprintf(buf, sizeof buf, " %.17g\n", v);
    s += name + std::string(buf);
  };
  auto histogram = [&](const char* name, const char* help, const Histogram& h) {
    s += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " histogram\n";
    char buf[128];
    for (size_t i = 0; i < h.bounds.size(); ++i) {
      std::snprintf(buf, sizeof buf, "%s_bucket{le=\"%g\"} %llu\n", name, h.bounds[i],
                    (unsigned long long)h.counts[i]);
      s += buf;
    }
    std::snprintf(buf, sizeof buf, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.17g\n%s_count %llu\n",
                  name, (unsigned long long)h.counts.back(), name, h.sum, name,
                  (unsigned long long)h.total);
    s += buf;
  };
  line("whale_queue_depth", "gauge", "Requests waiting to start.", double(m.queue_depth));
  line("whale_running_sequences", "gauge", "Sequences in the running batch.", double(m.running));
  line("whale_tokens_per_second", "gauge", "Generated tokens per second over the last 10 s.",
       m.tokens_per_second);
  line("whale_generated_tokens_total", "counter", "Generated tokens.", double(m.generated_tokens));
  line("whale_prompt_tokens_total", "counter", "Prompt tokens admitted.", double(m.prompt_tokens));
  line("whale_prompt_cache_hit_tokens_total", "counter",
       "Prompt tokens served from the prefix cache.", double(m.cache_hit_tokens));
  line("whale_prefix_cache_hit_ratio", "gauge", "Cache-hit share of all prompt tokens.",
       m.prompt_tokens ? double(m.cache_hit_tokens) / double(m.prompt_tokens) : 0.0);
  line("whale_kv_slots", "gauge", "Sequences the batch holds at once (--max-batch).",
       double(m.kv_slots));
  line("whale_kv_slots_busy", "gauge", "Running sequences holding KV pages.",
       double(m.kv_slots_busy));
  line("whale_admission_slots", "gauge",
       "Sequences that can run at once as admission last found it (fewer than whale_kv_slots "
       "when KV memory is the limit).",
       double(m.admission_slots));
  line("whale_kv_usage_ratio", "gauge", "Share of the KV page budget mapped by running sequences.",
       m.kv_tokens_capacity ? double(m.kv_tokens_busy) / double(m.kv_tokens_capacity) : 0.0);
  line("whale_kv_page_tokens", "gauge", "Tokens per KV page.", double(m.kv_page_tokens));
  line("whale_kv_pages_total", "gauge", "KV pages the memory budget holds.",
       double(m.kv_pages_total));
  line("whale_kv_pages_used", "gauge", "KV pages referenced by sequences or the prefix cache.",
       double(m.kv_pages_used));
  line("whale_kv_pages_cached", "gauge", "KV pages held by the prefix cache.",
       double(m.kv_pages_cached));
  line("whale_kv_pages_evicted_total", "counter", "Prefix-cache pages evicted (LRU or idle).",
       double(m.kv_pages_evicted));
  line("whale_kv_allocated_bytes", "gauge", "KV cache memory allocated.",
       double(m.kv_bytes_allocated));
  line("whale_kv_budget_bytes", "gauge", "KV cache memory budget (--kv-memory).",
       double(m.kv_budget_bytes));
  line("whale_requests_finished_total", "counter", "Requests that ran.",
       double(m.requests_finished));
  line("whale_requests_rejected_total", "counter", "Requests refused for overload.",
       double(m.requests_rejected));
  line("whale_requests_cancelled_total", "counter", "Requests cancelled (client gone).",
       double(m.requests_cancelled));
  histogram("whale_time_to_first_token_seconds", "Submit to first generated token.", m.ttft);
  histogram("whale_inter_token_seconds", "Time between generated tokens of a sequence.",
            m.inter_token);
  out.send(200, "text/plain; version=0.0.4", std::move(s));
}

}  // namespace whale::server
