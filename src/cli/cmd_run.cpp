// whale run --model M [-p TEXT] [--raw] [--temp T] [--top-k K] [--top-p P] [--min-p P]
//           [--repeat-penalty R] [--seed S] [--max-tokens N] [--ctx N] [--stop S] [--threads N]
//           [--kv-type f32|f16|bf16]
//           [--verbose]
//
// With -p: one answer to TEXT, streamed to stdout. Without -p: a chat on stdin, one user turn
// per line, history kept (every turn re-renders the whole conversation through the chat
// template; the KV cache keeps the part of the prompt that did not change).
// The prompt goes through the model's chat template (add_generation_prompt) unless --raw,
// which continues TEXT as plain text. Reasoning ("<think>...</think>") is shown dim on a
// terminal and between <think> markers otherwise. Generation stops at end-of-sequence /
// end-of-turn tokens, at a --stop string, after --max-tokens, or when the context is full.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/default_model.h"
#include "cli/model_files.h"
#include "cli/numeric_args.h"
#include "runtime/reasoning.h"
#include "runtime/sampler.h"
#include "runtime/session.h"
#include "runtime/stop_strings.h"
#include "template/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace whale::cli {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

struct RunOptions {
  std::string model;
  std::optional<std::string> prompt;
  bool raw = false;
  bool verbose = false;
  int64_t context = 4096;   // capped by the model's max_position_embeddings
  int64_t max_tokens = -1;  // -1: until end of sequence or a full context
  int64_t threads = 0;      // 0: one per CPU
  KvType kv_type = KvType::kF32;
  std::vector<std::string> stops;
  SamplingParams sampling;
};

Result<RunOptions> parse_run_options(const Args& a) {
  RunOptions o;
  auto model = a.get("--model");
  if (!model) {
    auto d = default_model_path();  // the built-in trained tiny model (models/)
    if (!d) return d.error();
    model = *d;
  }
  if (!a.positionals.empty())
    return make_error("run: unexpected argument '%s' (the prompt goes after -p)",
                      a.positionals[0].c_str());
  o.model = *model;
  o.prompt = a.get("-p");
  if (!o.prompt) o.prompt = a.get("--prompt");
  o.raw = a.has("--raw");
  o.verbose = a.has("--verbose");
  if (o.raw && !o.prompt) return make_error("run: --raw needs a prompt (-p TEXT)");

  // DeepSeek's recommended settings for R1 and its distills.
  o.sampling.temperature = 0.6f;
  o.sampling.top_p = 0.95f;
  o.sampling.penalty_last_n = 64;
  // Each option: parse, or return the parse error.
  auto get_float = [&](const char* name, float& dst) -> Status {
    if (auto v = a.get(name)) {
      auto r = parse_float(name, *v);
      if (!r) return r.error();
      dst = r.value();
    }
    return Status::Ok();
  };
  auto get_int = [&](const char* name, int64_t min, int64_t max, int64_t& dst) -> Status {
    if (auto v = a.get(name)) {
      auto r = parse_int(name, *v, min, max);
      if (!r) return r.error();
      dst = r.value();
    }
    return Status::Ok();
  };
  WHALE_TRY(get_float("--temp", o.sampling.temperature));
  WHALE_TRY(get_float("--top-p", o.sampling.top_p));
  WHALE_TRY(get_float("--min-p", o.sampling.min_p));
  WHALE_TRY(get_float("--repeat-penalty", o.sampling.repetition_penalty));
  int64_t top_k = 0, seed = -1;
  WHALE_TRY(get_int("--top-k", 0, INT32_MAX, top_k));
  o.sampling.top_k = int32_t(top_k);
  WHALE_TRY(get_int("--seed", 0, INT64_MAX, seed));
  if (seed >= 0) {
    o.sampling.seed = uint64_t(seed);
  } else {  // a fresh seed per run; --verbose prints it so a run can be repeated
    std::random_device rd;
    o.sampling.seed = (uint64_t(rd()) << 32) | rd();
  }
  WHALE_TRY(get_int("--max-tokens", 0, INT64_MAX, o.max_tokens));
  WHALE_TRY(get_int("--ctx", 2, INT32_MAX, o.context));
  WHALE_TRY(get_int("--threads", 1, 4096, o.threads));
  auto kv_type = kv_type_option(a);
  if (!kv_type) return kv_type.error();
  o.kv_type = *kv_type;
  if (auto v = a.get("--stop")) {
    if (v->empty()) return make_error("--stop: the stop string is empty");
    o.stops.push_back(*v);
  }
  return o;
}

// What the generation loop prints: the answer on stdout as it streams, with reasoning set
// apart (dim on a terminal, <think> markers in pipes and files).
class AnswerPrinter {
 public:
  AnswerPrinter(bool split_reasoning, bool starts_in_reasoning)
      : split_(split_reasoning), splitter_(starts_in_reasoning), tty_(isatty(STDOUT_FILENO) == 1) {}

  void write(const std::string& text) {
    if (text.empty()) return;
    if (!split_) return emit_content(text);
    reasoning_.clear();
    content_.clear();
    splitter_.push(text, reasoning_, content_);
    emit_reasoning(reasoning_);
    emit_content(content_);
  }

  void finish() {
    if (split_) {
      reasoning_.clear();
      content_.clear();
      splitter_.finish(reasoning_, content_);
      emit_reasoning(reasoning_);
      emit_content(content_);
    }
    if (in_reasoning_) {
      std::fputs(tty_ ? "\033[0m\n" : "\n</think>\n", stdout);  // the answer never started
      in_reasoning_ = false;
    } else {
      std::fputc('\n', stdout);
    }
    std::fflush(stdout);
  }

  // The answer without its reasoning: what goes into the chat history.
  const std::string& answer() const { return answer_; }

 private:
  void emit_reasoning(const std::string& text) {
    if (text.empty()) return;
    if (!in_reasoning_) {
      std::fputs(tty_ ? "\033[2m" : "<think>\n", stdout);
      in_reasoning_ = true;
    }
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
  }
  void close_reasoning() {
    if (!in_reasoning_) return;
    std::fputs(tty_ ? "\033[0m\n\n" : "\n</think>\n\n", stdout);
    in_reasoning_ = false;
  }
  void emit_content(const std::string& text) {
    if (text.empty()) return;
    close_reasoning();
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
    answer_ += text;
  }

  bool split_;
  ReasoningSplitter splitter_;
  bool tty_;
  bool in_reasoning_ = false;
  std::string reasoning_, content_, answer_;
};

struct Stats {
  int64_t prompt_tokens = 0, generated_tokens = 0;
  double prompt_seconds = 0, generate_seconds = 0;
};

// One model with one session; keeps the tokens its KV cache holds so the next prompt only
// evaluates what changed.
class Runner {
 public:
  Runner(std::shared_ptr<const Engine> engine, Tokenizer tokenizer, std::unique_ptr<Session> s,
         Sampler sampler, const RunOptions& opts)
      : engine_(std::move(engine)),
        tok_(std::move(tokenizer)),
        session_(std::move(s)),
        sampler_(std::move(sampler)),
        opts_(opts) {}

  const Tokenizer& tokenizer() const { return tok_; }
  const Stats& stats() const { return stats_; }

  // Evaluates `prompt` (reusing the cached prefix) and streams the reply into `printer`.
  Status generate(const std::vector<int32_t>& prompt, AnswerPrinter& printer) {
    if (prompt.empty()) return make_error("run: the prompt is empty");
    if (int64_t(prompt.size()) > session_->context_length())
      return make_error("the prompt is %zu tokens, the context only %lld (raise --ctx)",
                        prompt.size(), (long long)session_->context_length());
    size_t keep = 0;
    while (keep < cached_.size() && keep < prompt.size() && cached_[keep] == prompt[keep]) ++keep;
    if (keep == prompt.size()) --keep;  // the last prompt token must run again for its logits
    session_->truncate(int64_t(keep));
    cached_.resize(keep);

    auto t0 = Clock::now();
    std::span<const int32_t> fresh(prompt.data() + keep, prompt.size() - keep);
    WHALE_TRY(session_->eval(fresh));
    cached_.insert(cached_.end(), fresh.begin(), fresh.end());
    stats_.prompt_tokens += int64_t(fresh.size());
    stats_.prompt_seconds += seconds_since(t0);

    t0 = Clock::now();
    StreamDecoder decoder(tok_);
    StopMatcher stop(opts_.stops);
    std::string text;
    bool context_full = false;
    for (int64_t n = 0; opts_.max_tokens < 0 || n < opts_.max_tokens; ++n) {
      const int32_t token = sampler_.sample(session_->logits()).token;
      if (sampler_.is_eos(token)) break;
      sampler_.accept(token);
      stats_.generated_tokens++;
      text.clear();
      stop.push(decoder.put(token), text);
      printer.write(text);
      if (stop.stopped()) break;
      if (session_->n_past() >= session_->context_length()) {  // no room to evaluate it
        context_full = true;
        break;
      }
      WHALE_TRY(session_->eval(std::span<const int32_t>(&token, 1)));
      cached_.push_back(token);
    }
    if (!stop.stopped()) {
      text.clear();
      stop.push(decoder.flush(), text);
      stop.finish(text);
      printer.write(text);
    }
    printer.finish();
    stats_.generate_seconds += seconds_since(t0);
    if (context_full)
      std::fprintf(stderr, "[context full: %lld tokens; raise --ctx for longer answers]\n",
                   (long long)session_->context_length());
    return Status::Ok();
  }

 private:
  std::shared_ptr<const Engine> engine_;
  Tokenizer tok_;
  std::unique_ptr<Session> session_;
  Sampler sampler_;
  const RunOptions& opts_;
  std::vector<int32_t> cached_;  // tokens whose keys/values the session holds
  Stats stats_;
};

// Text -> ids with the tokenizer's BOS in front when the model wants one and the text (a
// rendered template) did not already start with it.
std::vector<int32_t> tokenize_prompt(const Tokenizer& tok, const std::string& text) {
  std::vector<int32_t> ids = tok.encode(text, /*parse_special=*/true);
  auto bos = tok.bos_id();
  if (tok.add_bos() && bos && (ids.empty() || ids[0] != *bos)) ids.insert(ids.begin(), *bos);
  return ids;
}

struct Chat {
  ChatTemplateConfig config;
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();

  Result<std::string> render(const std::string& user_text) {
    messages.push_back({{"role", "user"}, {"content", user_text}});
    ChatTemplateInputs in;
    in.messages = messages;
    in.add_generation_prompt = true;
    in.bos_token = config.bos_token;
    in.eos_token = config.eos_token;
    in.extra = config.special_tokens;
    return render_chat(config.chat_template, in);
  }
  void drop_last_user_turn() {
    if (!messages.empty() && messages.back()["role"] == "user") messages.erase(messages.size() - 1);
  }
  void add_answer(const std::string& answer) {
    messages.push_back({{"role", "assistant"}, {"content", answer}});
  }
};

void print_stats(const Stats& s, uint64_t seed, int threads) {
  auto rate = [](int64_t n, double sec) { return sec > 0 ? double(n) / sec : 0.0; };
  std::fprintf(stderr, "seed: %llu, threads: %d\n", (unsigned long long)seed, threads);
  std::fprintf(stderr, "prompt: %lld tokens in %.3f s (%.2f tok/s)\n", (long long)s.prompt_tokens,
               s.prompt_seconds, rate(s.prompt_tokens, s.prompt_seconds));
  std::fprintf(stderr, "generation: %lld tokens in %.3f s (%.2f tok/s)\n",
               (long long)s.generated_tokens, s.generate_seconds,
               rate(s.generated_tokens, s.generate_seconds));
}

int run(const Args& args) {
  auto parsed = parse_run_options(args);
  if (!parsed) return fail(parsed.error());
  RunOptions& opts = parsed.value();

  auto tokenizer = Tokenizer::from_path(opts.model);
  if (!tokenizer) return fail(tokenizer.error());
  Chat chat;
  if (!opts.raw) {
    auto config = load_chat_template_config(opts.model);
    if (!config) return fail(config.error());
    chat.config = std::move(config.value());
    if (chat.config.chat_template.empty())
      return fail(make_error("%s has no chat template (use --raw for plain completion)",
                             opts.model.c_str()));
  }
  auto engine = Engine::load(opts.model, int(opts.threads), opts.kv_type);
  if (!engine) return fail(engine.error());
  const Engine& e = *engine.value();

  const int64_t model_context = e.config().max_position_embeddings;
  if (!args.get("--ctx") && model_context > 0) opts.context = std::min(opts.context, model_context);
  // Ends of generation: the tokenizer's end-of-sequence and end-of-turn tokens. Ids the model
  // can emit but the tokenizer cannot decode (padding rows of the output matrix) are banned.
  const Tokenizer& tok = tokenizer.value();
  for (auto id : {tok.eos_id(), tok.eot_id()})
    if (id && *id < e.vocab_size()) opts.sampling.eos_ids.push_back(*id);
  for (int64_t id = 0; id < e.vocab_size(); ++id)
    if (!tok.is_valid_id(int32_t(id)))
      opts.sampling.logit_bias.push_back({int32_t(id), -std::numeric_limits<float>::infinity()});
  auto sampler = Sampler::create(opts.sampling, size_t(e.vocab_size()));
  if (!sampler) return fail(sampler.error());
  auto session = Session::create(engine.value(), opts.context);
  if (!session) return fail(session.error());
  Runner runner(engine.value(), tok, std::move(session.value()), std::move(sampler.value()), opts);

  auto one_turn = [&](const std::string& user_text) -> Status {
    std::string prompt_text = user_text;
    if (!opts.raw) {
      auto rendered = chat.render(user_text);
      if (!rendered) return rendered.error();
      prompt_text = std::move(rendered.value());
    }
    AnswerPrinter printer(!opts.raw, !opts.raw && prompt_opens_reasoning(prompt_text));
    WHALE_TRY(runner.generate(tokenize_prompt(tok, prompt_text), printer));
    if (!opts.raw) chat.add_answer(printer.answer());
    return Status::Ok();
  };

  if (opts.prompt) {
    Status st = one_turn(*opts.prompt);
    if (!st) return fail(st.error());
  } else {
    const bool interactive = isatty(STDIN_FILENO) == 1;
    std::string line;
    for (;;) {
      if (interactive) std::fputs("> ", stderr);
      if (!std::getline(std::cin, line)) break;
      if (line.empty()) continue;
      Status st = one_turn(line);
      if (!st) {
        // A chat survives a turn that cannot run (e.g. the conversation outgrew --ctx): say
        // why, forget the turn, and read the next line.
        std::fprintf(stderr, "whale: %s\n", st.error().message.c_str());
        chat.drop_last_user_turn();
        if (!interactive) return 1;
      }
    }
  }
  if (opts.verbose) print_stats(runner.stats(), opts.sampling.seed, e.threads());
  return 0;
}

}  // namespace

int cmd_run(const std::vector<std::string>& argv) {
  auto args = parse_args(
      argv,
      {"--model", "-p", "--prompt", "--temp", "--top-k", "--top-p", "--min-p", "--repeat-penalty",
       "--seed", "--max-tokens", "--ctx", "--stop", "--threads", "--kv-type"},
      {"--raw", "--verbose"});
  if (!args.ok()) return fail(args.error());
  try {
    return run(*args);
  } catch (const std::exception& e) {  // nlohmann (e.g. invalid UTF-8 in a message)
    return fail(make_error("run: %s", e.what()));
  }
}

}  // namespace whale::cli
