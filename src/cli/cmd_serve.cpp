// whale serve [--model M] [--host 127.0.0.1] [--port 8080] [--ctx N] [--kv-memory MIB]
//             [--max-batch N] [--max-queue N] [--max-wait S] [--prefill-chunk N] [--auth]
//             [--db PATH] [--threads N] [--keepalive S] [--max-body MIB] [--read-timeout S]
//             [--request-timeout S] [--kv-idle S] [--kv-type f32|f16|bf16]
//
// --kv-type f16 stores keys and values as f16: half the KV memory (twice the sequences or
// context in the same --kv-memory) and half the bytes decode attention reads, at the cost of
// rounding them to 11 significant bits (llama.cpp's default cache). f32 (the default) is exact.
//
// --kv-memory bounds the KV memory: pages of 16 tokens shared by all sequences, allocated as
// they grow (a request reserves prompt + max_tokens, or --ctx without max_tokens). Full pages
// stay cached as the prefix cache until the memory is needed or they have been unused for
// --kv-idle seconds.
//
// An OpenAI / DeepSeek-compatible HTTP API (see src/server/api_server.h) with continuous
// batching over one loaded model. The engine runs on its own thread; the network threads only
// parse, render templates, tokenize and write. SIGINT / SIGTERM stop it cleanly.
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/default_model.h"
#include "cli/numeric_args.h"
#include "runtime/chat_assets.h"
#include "runtime/scheduler.h"
#include "server/api_server.h"
#include "server/http_server.h"
#include "store/key_store.h"

namespace whale::cli {
namespace {

int serve(const Args& a) {
  // Signals go to one waiting thread, not to whichever thread the kernel picks: block them
  // before any thread (engine pool, scheduler, network) exists, so every thread inherits it.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);

  if (!a.positionals.empty())
    return fail(make_error("serve: unexpected argument '%s'", a.positionals[0].c_str()));
  std::string model;
  if (auto m = a.get("--model")) {
    model = *m;
  } else {
    auto d = default_model_path();  // the built-in trained tiny model (models/)
    if (!d) return fail(d.error());
    model = *d;
  }

  int64_t port = 8080, ctx = 4096, kv_mib = 1024, max_batch = 16, max_queue = 256, prefill = 256,
          threads = 2, keepalive_s = 5, body_mib = 8, read_timeout = 30, request_timeout = 0;
  float max_wait = 30, kv_idle = 300;
  struct IntOpt {
    const char* name;
    int64_t* dst;
    int64_t lo, hi;
  };
  for (const IntOpt& o :
       {IntOpt{"--port", &port, 0, 65535}, IntOpt{"--ctx", &ctx, 2, INT32_MAX},
        IntOpt{"--kv-memory", &kv_mib, 1, int64_t(1) << 24},
        IntOpt{"--max-batch", &max_batch, 1, 4096}, IntOpt{"--max-queue", &max_queue, 0, 1 << 20},
        IntOpt{"--prefill-chunk", &prefill, 1, 1 << 20}, IntOpt{"--threads", &threads, 1, 256},
        IntOpt{"--keepalive", &keepalive_s, 0, 3600}, IntOpt{"--max-body", &body_mib, 1, 4096},
        IntOpt{"--read-timeout", &read_timeout, 1, 3600},
        IntOpt{"--request-timeout", &request_timeout, 0, 86400}}) {
    if (auto v = a.get(o.name)) {
      auto r = parse_int(o.name, *v, o.lo, o.hi);
      if (!r) return fail(r.error());
      *o.dst = *r;
    }
  }
  if (auto v = a.get("--kv-idle")) {
    auto r = parse_float("--kv-idle", *v);
    if (!r) return fail(r.error());
    if (!(*r >= 0)) return fail(make_error("--kv-idle must be >= 0 seconds (0: keep KV memory)"));
    kv_idle = *r;
  }
  if (auto v = a.get("--max-wait")) {
    auto r = parse_float("--max-wait", *v);
    if (!r) return fail(r.error());
    if (!(*r > 0)) return fail(make_error("--max-wait must be a positive number of seconds"));
    max_wait = *r;
  }

  std::unique_ptr<KeyStore> keys;
  const bool auth = a.has("--auth");
  if (auth || a.get("--db")) {
    auto k = KeyStore::open(a.get_or("--db", default_key_db_path()));
    if (!k) return fail(k.error());
    keys = std::move(*k);
  }

  auto tokenizer = Tokenizer::from_path(model);
  if (!tokenizer) return fail(tokenizer.error());
  auto chat = load_chat_template_config(model);
  if (!chat) return fail(chat.error());
  auto kv_type = kv_type_option(a);
  if (!kv_type) return fail(kv_type.error());
  auto engine = Engine::load(model, 0, *kv_type);
  if (!engine) return fail(engine.error());
  const int64_t model_ctx = engine.value()->config().max_position_embeddings;
  if (!a.get("--ctx") && model_ctx > 0) ctx = std::min(ctx, model_ctx);

  SchedulerOptions so;
  so.context = ctx;
  so.kv_budget_bytes = uint64_t(kv_mib) << 20;
  so.max_running = int(max_batch);
  so.max_queue = int(max_queue);
  so.prefill_chunk = int(prefill);
  so.max_wait_seconds = max_wait;
  so.kv_idle_seconds = kv_idle;
  const uint64_t slot_bytes = KvCache::bytes_for(engine.value()->kv_layout(), ctx);
  const uint64_t page_bytes = KvCache::page_bytes(engine.value()->kv_layout());
  if (slot_bytes > so.kv_budget_bytes)
    return fail(
        make_error("--kv-memory %lld MiB does not hold one sequence of %lld tokens "
                   "(%.1f MiB); raise --kv-memory or lower --ctx",
                   (long long)kv_mib, (long long)ctx, double(slot_bytes) / 1048576.0));
  auto scheduler = std::make_shared<Scheduler>(engine.value(), tokenizer.value(), so);

  server::ApiOptions ao;
  ao.model_id = std::filesystem::path(model).filename().string();
  if (ao.model_id.empty()) ao.model_id = std::filesystem::path(model).parent_path().filename();
  ao.require_auth = auth;
  ao.keepalive = std::chrono::milliseconds(keepalive_s * 1000);
  ao.request_timeout_seconds = double(request_timeout);
  auto api = std::make_unique<server::ApiServer>(ao, scheduler, tokenizer.value(),
                                                 std::move(chat.value()), keys.get());
  scheduler.reset();

  server::HttpOptions ho;
  ho.host = a.get_or("--host", "127.0.0.1");
  ho.port = uint16_t(port);
  ho.threads = int(threads);
  ho.max_body_bytes = uint64_t(body_mib) << 20;
  ho.read_timeout = std::chrono::seconds(read_timeout);

  auto http = server::HttpServer::start(
      ho, [a = api.get()](server::HttpRequest&& r, std::shared_ptr<server::Responder> out) {
        a->handle(std::move(r), std::move(out));
      });
  if (!http) return fail(http.error());
  std::fprintf(stderr,
               "whale serve: %s on http://%s:%u (context %lld, %lld KV pages of %lld tokens, batch "
               "%d%s)\n",
               ao.model_id.c_str(), ho.host.c_str(), unsigned(http.value()->port()), (long long)ctx,
               (long long)std::max<uint64_t>(1, so.kv_budget_bytes / page_bytes),
               (long long)KvCache::kPageTokens, so.max_running, auth ? ", keys required" : "");
  std::fflush(stderr);

  server::HttpServer* h = http.value().get();
  std::thread waiter([&sigs, h] {
    int sig = 0;
    sigwait(&sigs, &sig);
    h->stop();
  });
  h->run();
  // run() returns only after stop(): the waiter got its signal.
  waiter.join();
  // The API first: ending its sequences posts their last words to the (stopped) network loop,
  // which must still exist; then the network side.
  api.reset();
  http.value().reset();
  std::fprintf(stderr, "whale serve: stopped\n");
  return 0;
}

}  // namespace

int cmd_serve(const std::vector<std::string>& argv) {
  auto args = parse_args(
      argv,
      {"--model", "--host", "--port", "--ctx", "--kv-memory", "--max-batch", "--max-queue",
       "--max-wait", "--prefill-chunk", "--db", "--threads", "--keepalive", "--max-body",
       "--read-timeout", "--request-timeout", "--kv-idle", "--kv-type"},
      {"--auth"});
  if (!args.ok()) return fail(args.error());
  try {
    return serve(*args);
  } catch (const std::exception& e) {
    return fail(make_error("serve: %s", e.what()));
  }
}

}  // namespace whale::cli
