// API keys and the per-key usage ledger, in one embedded SQLite database.
//
// A key reads "wk_<16 hex id>_<32 hex secret>". The id is public (it names the key in lists and
// logs); only SHA-256(salt || secret) with a random per-key salt is stored, so the database
// never holds a usable key. The journal is WAL and every change is one transaction, so killing
// the process at any moment leaves either the old or the new rows, never a torn one.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "platform/result.h"

struct sqlite3;

namespace whale {

struct ApiKey {
  int64_t row = 0;
  std::string id;    // the public 16-hex part
  std::string name;  // free text given on create
  int64_t created_unix = 0;
  bool revoked = false;
  int64_t requests_per_minute = 0;  // 0: unlimited
  int64_t tokens_per_minute = 0;    // 0: unlimited
};

struct KeyUsage {
  int64_t requests = 0;
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t cache_hit_tokens = 0;
};

struct KeyWithUsage {
  ApiKey key;
  KeyUsage usage;
};

class KeyStore {
 public:
  // Opens (creating if needed, with parent directories) the database at `path`.
  static Result<std::unique_ptr<KeyStore>> open(const std::string& path);
  ~KeyStore();
  KeyStore(const KeyStore&) = delete;
  KeyStore& operator=(const KeyStore&) = delete;

  // Creates a key; returns it with its full text (shown once: only the hash is kept).
  Result<std::pair<ApiKey, std::string>> create(const std::string& name, int64_t rpm, int64_t tpm);
  Result<std::vector<KeyWithUsage>> list();
  // Revokes by public id (or the whole key text). Unknown ids are an Error.
  Status revoke(std::string_view id_or_key);
  // The key a bearer token names, if it exists, is not revoked and its secret matches.
  Result<std::optional<ApiKey>> verify(std::string_view token);
  // Adds one request's usage to the key's ledger row (one transaction).
  Status record_usage(int64_t key_row, const KeyUsage& delta);
  Result<KeyUsage> usage(int64_t key_row);

 private:
  explicit KeyStore(sqlite3* db) : db_(db) {}
  Status exec(const char* sql);
  sqlite3* db_;
  std::mutex mu_;
};

// $XDG_DATA_HOME/whale/whale.db, else ~/.local/share/whale/whale.db.
std::string default_key_db_path();

}  // namespace whale
