// whale: run DeepSeek-family models on your own hardware.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "kernels/kernels.h"

namespace whale::cli {

const std::vector<Command>& all_commands() {
  static const std::vector<Command> commands = {
      {"info", cmd_info,
       "whale info --model M            architecture, size, tensor types, tokenizer"},
      {"tokenize", cmd_tokenize,
       "whale tokenize --model M [--special] [--file F] [--jsonl]   text -> JSON token ids"},
      {"detokenize", cmd_detokenize,
       "whale detokenize --model M [--jsonl]   JSON ids on stdin -> text"},
      {"template", cmd_template,
       "whale template --model M --messages F.json [--generation-prompt] [--template F.jinja]"},
      {"convert", cmd_convert,
       "whale convert HF_DIR OUT.gguf --type T   (f32 f16 bf16 q8_0 q4_0 q4_k q6_k q4_k_m q5_k_m)"},
      {"quantize", cmd_quantize, "whale quantize IN.gguf OUT.gguf T"},
      {"logits", cmd_logits,
       "whale logits --model M --tokens 1,2,3 --out F.f32 [--decode] [--mla absorbed|expanded] "
       "[--kv-type f32|f16|bf16]"},
      {"run", cmd_run,
       "whale run --model M [-p TEXT] [--raw] [--temp T] [--top-k K] [--top-p P] [--min-p P] "
       "[--repeat-penalty R] [--seed S] [--max-tokens N] [--ctx N] [--stop S] [--threads N] "
       "[--kv-type f32|f16|bf16] [--verbose]   "
       "chat (stdin without -p) or completion"},
      {"perplexity", cmd_perplexity,
       "whale perplexity --model M --file F [--ctx N] [--batch N] [--threads N] "
       "[--kv-type f32|f16|bf16]   llama.cpp-style perplexity"},
      {"serve", cmd_serve,
       "whale serve [--model M] [--host H] [--port P] [--ctx N] [--kv-memory MIB] [--max-batch N] "
       "[--max-queue N] [--max-wait S] [--kv-type f32|f16|bf16] [--auth] [--db PATH]   "
       "OpenAI/DeepSeek-compatible API"},
      {"keys", cmd_keys,
       "whale keys create [--name N] [--rpm R] [--tpm T] | list | revoke ID   [--db PATH]   "
       "API keys for whale serve"},
      {"bench", cmd_bench,
       "whale bench --model M [-p 512] [-n 128] [-t THREADS] [-r REPS] [-b BATCH] "
       "[--kv-type f32|f16|bf16] [--json]   prompt and generation speed (tok/s, GB/s, GFLOP/s)"},
  };
  return commands;
}

static void print_help() {
  std::printf("usage: whale <command> [options]\n\ncommands:\n");
  for (const auto& c : all_commands()) std::printf("  %s\n", c.usage);
  std::printf("\nM is a .gguf file or a Hugging Face model directory.\n");
  std::printf("WHALE_SIMD=T caps the kernels at SIMD target T (this build: %s).\n",
              whale::compiled_kernel_targets().c_str());
}

}  // namespace whale::cli

int main(int argc, char** argv) {
  using namespace whale::cli;
  if (argc < 2 || !std::strcmp(argv[1], "help") || !std::strcmp(argv[1], "--help") ||
      !std::strcmp(argv[1], "-h")) {
    print_help();
    return argc < 2 ? 1 : 0;
  }
  if (const char* simd = std::getenv("WHALE_SIMD"); simd && *simd) {
    if (!whale::cap_kernel_target(simd)) {
      std::fprintf(stderr, "whale: WHALE_SIMD=%s is not a target of this build (%s)\n", simd,
                   whale::compiled_kernel_targets().c_str());
      return 1;
    }
  }
  std::vector<std::string> args(argv + 2, argv + argc);
  for (const auto& c : all_commands())
    if (c.name == std::string(argv[1])) return c.run(args);
  std::fprintf(stderr, "whale: unknown command '%s' (try: whale help)\n", argv[1]);
  return 1;
}
