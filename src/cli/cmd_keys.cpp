// whale keys create [--name N] [--rpm R] [--tpm T] | list | revoke ID   [--db PATH]
//
// API keys for `whale serve --auth`. The key text is printed once, on create; the database keeps
// only a salted SHA-256 of its secret. `list` shows each key's usage ledger.
#include <cstdio>
#include <ctime>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/numeric_args.h"
#include "store/key_store.h"

namespace whale::cli {
namespace {

std::string format_time(int64_t unix_seconds) {
  std::time_t t = std::time_t(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

int keys(const Args& a) {
  if (a.positionals.empty()) return fail(make_error("keys: expected create, list or revoke"));
  const std::string& action = a.positionals[0];
  const std::string db = a.get_or("--db", default_key_db_path());
  auto store = KeyStore::open(db);
  if (!store) return fail(store.error());

  if (action == "create") {
    if (a.positionals.size() != 1) return fail(make_error("keys create: unexpected argument"));
    int64_t rpm = 0, tpm = 0;
    if (auto v = a.get("--rpm")) {
      auto r = parse_int("--rpm", *v, 0, INT32_MAX);
      if (!r) return fail(r.error());
      rpm = *r;
    }
    if (auto v = a.get("--tpm")) {
      auto r = parse_int("--tpm", *v, 0, INT64_MAX / 2);
      if (!r) return fail(r.error());
      tpm = *r;
    }
    auto made = (*store)->create(a.get_or("--name", ""), rpm, tpm);
    if (!made) return fail(made.error());
    std::printf("%s\n", made->second.c_str());
    std::fprintf(stderr, "key %s created (shown once; only its hash is stored in %s)\n",
                 made->first.id.c_str(), db.c_str());
    return 0;
  }
  if (action == "list") {
    auto keys = (*store)->list();
    if (!keys) return fail(keys.error());
    std::printf("%-16s  %-8s  %-20s  %6s  %8s  %8s  %10s  %10s  %10s  %s\n", "id", "status",
                "created", "rpm", "tpm", "requests", "prompt", "completion", "cache_hit", "name");
    for (const auto& k : *keys)
      std::printf("%-16s  %-8s  %-20s  %6lld  %8lld  %8lld  %10lld  %10lld  %10lld  %s\n",
                  k.key.id.c_str(), k.key.revoked ? "revoked" : "active",
                  format_time(k.key.created_unix).c_str(), (long long)k.key.requests_per_minute,
                  (long long)k.key.tokens_per_minute, (long long)k.usage.requests,
                  (long long)k.usage.prompt_tokens, (long long)k.usage.completion_tokens,
                  (long long)k.usage.cache_hit_tokens, k.key.name.c_str());
    return 0;
  }
  if (action == "revoke") {
    if (a.positionals.size() != 2) return fail(make_error("keys revoke: expected one key id"));
    Status st = (*store)->revoke(a.positionals[1]);
    if (!st) return fail(st.error());
    std::fprintf(stderr, "key revoked\n");
    return 0;
  }
  return fail(make_error("keys: unknown action '%s' (create, list or revoke)", action.c_str()));
}

}  // namespace

int cmd_keys(const std::vector<std::string>& argv) {
  auto args = parse_args(argv, {"--db", "--name", "--rpm", "--tpm"}, {});
  if (!args.ok()) return fail(args.error());
  return keys(*args);
}

}  // namespace whale::cli
