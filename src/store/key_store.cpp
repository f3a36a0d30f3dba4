#include "store/key_store.h"

#include <sqlite3.h>
#include <sys/random.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>

#include "store/sha256.h"

namespace whale {
namespace {

constexpr size_t kIdBytes = 8, kSecretBytes = 16, kSaltBytes = 16;

Result<std::string> random_bytes(size_t n) {
  std::string out(n, '\0');
  size_t got = 0;
  while (got < n) {
    ssize_t r = getrandom(out.data() + got, n - got, 0);
    if (r <= 0) return make_error("cannot read random bytes from the kernel");
    got += size_t(r);
  }
  return out;
}

std::string hex(std::string_view bytes) {
  return to_hex(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

bool is_hex(std::string_view s, size_t len) {
  if (s.size() != len) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

std::string hash_secret(std::string_view salt, std::string_view secret) {
  std::string msg(salt);
  msg += secret;
  Sha256Digest d = sha256(msg);
  return std::string(reinterpret_cast<const char*>(d.data()), d.size());
}

// Compares in time independent of where the bytes differ (no timing oracle on the hash).
bool equal_constant_time(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= unsigned(uint8_t(a[i]) ^ uint8_t(b[i]));
  return diff == 0;
}

// A prepared statement that finalizes itself.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) { rc_ = sqlite3_prepare_v2(db, sql, -1, &s_, nullptr); }
  ~Stmt() { sqlite3_finalize(s_); }
  bool ok() const { return rc_ == SQLITE_OK; }
  sqlite3_stmt* get() { return s_; }
  void bind(int i, int64_t v) { sqlite3_bind_int64(s_, i, v); }
  void bind(int i, std::string_view v) {
    sqlite3_bind_blob(s_, i, v.data(), int(v.size()), SQLITE_TRANSIENT);
  }
  void bind_text(int i, std::string_view v) {
    sqlite3_bind_text(s_, i, v.data(), int(v.size()), SQLITE_TRANSIENT);
  }
  int step() { return sqlite3_step(s_); }
  int64_t i64(int c) { return sqlite3_column_int64(s_, c); }
  std::string blob(int c) {
    const void* p = sqlite3_column_blob(s_, c);
    int n = sqlite3_column_bytes(s_, c);
    return p ? std::string(static_cast<const char*>(p), size_t(n)) : std::string();
  }

 private:
  sqlite3_stmt* s_ = nullptr;
  int rc_;
};

Error db_error(sqlite3* db, const char* what) {
  return make_error("key database: %s: %s", what, sqlite3_errmsg(db));
}

ApiKey read_key(Stmt& s) {  // columns: rowid, id, name, created, revoked, rpm, tpm
  ApiKey k;
  k.row = s.i64(0);
  k.id = s.blob(1);
  k.name = s.blob(2);
  k.created_unix = s.i64(3);
  k.revoked = s.i64(4) != 0;
  k.requests_per_minute = s.i64(5);
  k.tokens_per_minute = s.i64(6);
  return k;
}

constexpr const char* kKeyColumns = "rowid, id, name, created, revoked, rpm, tpm";

}  // namespace

std::string default_key_db_path() {
  const char* xdg = std::getenv("XDG_DATA_HOME");
  std::filesystem::path base;
  if (xdg && *xdg) {
    base = xdg;
  } else {
    const char* home = std::getenv("HOME");
    base = std::filesystem::path(home && *home ? home : ".") / ".local" / "share";
  }
  return (base / "whale" / "whale.db").string();
}

Result<std::unique_ptr<KeyStore>> KeyStore::open(const std::string& path) {
  std::error_code ec;
  auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return make_error("cannot open key database %s: %s", path.c_str(), msg.c_str());
  }
  std::unique_ptr<KeyStore> store(new KeyStore(db));
  sqlite3_busy_timeout(db, 5000);  // `whale keys` and a running server share the file
  // WAL + synchronous=NORMAL: a killed process never corrupts or loses committed rows (only
  // a power loss may drop the last commits).
  WHALE_TRY(store->exec("PRAGMA journal_mode=WAL"));
  WHALE_TRY(store->exec("PRAGMA synchronous=NORMAL"));
  WHALE_TRY(store->exec(
      "CREATE TABLE IF NOT EXISTS api_keys (id BLOB UNIQUE NOT NULL, name BLOB NOT NULL, "
      "salt BLOB NOT NULL, hash BLOB NOT NULL, created INTEGER NOT NULL, "
      "revoked INTEGER NOT NULL DEFAULT 0, rpm INTEGER NOT NULL DEFAULT 0, "
      "tpm INTEGER NOT NULL DEFAULT 0)"));
  WHALE_TRY(
      store->exec("CREATE TABLE IF NOT EXISTS key_usage (key_row INTEGER PRIMARY KEY, "
                  "requests INTEGER NOT NULL DEFAULT 0, prompt_tokens INTEGER NOT NULL DEFAULT 0, "
                  "completion_tokens INTEGER NOT NULL DEFAULT 0, cache_hit_tokens INTEGER NOT NULL "
                  "DEFAULT 0)"));
  return store;
}

KeyStore::~KeyStore() {
  sqlite3_close(db_);
}

Status KeyStore::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    Error e = make_error("key database: %s", err ? err : sqlite3_errmsg(db_));
    sqlite3_free(err);
    return e;
  }
  return Status::Ok();
}

Result<std::pair<ApiKey, std::string>> KeyStore::create(const std::string& name, int64_t rpm,
                                                        int64_t tpm) {
  if (rpm < 0 || tpm < 0) return make_error("rate limits must be >= 0 (0 means unlimited)");
  auto id = random_bytes(kIdBytes);
  auto secret = random_bytes(kSecretBytes);
  auto salt = random_bytes(kSaltBytes);
  if (!id || !secret || !salt) return make_error("cannot read random bytes from the kernel");
  const std::string id_hex = hex(*id), secret_hex = hex(*secret);
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  std::lock_guard lock(mu_);
  Stmt s(db_,
         "INSERT INTO api_keys (id, name, salt, hash, created, rpm, tpm) VALUES (?,?,?,?,?,?,?)");
  if (!s.ok()) return db_error(db_, "create");
  s.bind(1, id_hex);
  s.bind(2, name);
  s.bind(3, *salt);
  s.bind(4, hash_secret(*salt, secret_hex));
  s.bind(5, now);
  s.bind(6, rpm);
  s.bind(7, tpm);
  if (s.step() != SQLITE_DONE) return db_error(db_, "create");
  ApiKey k;
  k.row = sqlite3_last_insert_rowid(db_);
  k.id = id_hex;
  k.name = name;
  k.created_unix = now;
  k.requests_per_minute = rpm;
  k.tokens_per_minute = tpm;
  return std::make_pair(k, "wk_" + id_hex + "_" + secret_hex);
}

Result<std::vector<KeyWithUsage>> KeyStore::list() {
  std::lock_guard lock(mu_);
  Stmt s(db_,
         "SELECT k.rowid, k.id, k.name, k.created, k.revoked, k.rpm, k.tpm, "
         "COALESCE(u.requests,0), COALESCE(u.prompt_tokens,0), "
         "COALESCE(u.completion_tokens,0), COALESCE(u.cache_hit_tokens,0) "
         "FROM api_keys k LEFT JOIN key_usage u ON u.key_row = k.rowid ORDER BY k.rowid");
  if (!s.ok()) return db_error(db_, "list");
  std::vector<KeyWithUsage> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) {
    KeyWithUsage k;
    k.key = read_key(s);
    k.usage = {s.i64(7), s.i64(8), s.i64(9), s.i64(10)};
    out.push_back(std::move(k));
  }
  if (rc != SQLITE_DONE) return db_error(db_, "list");
  return out;
}

Status KeyStore::revoke(std::string_view id_or_key) {
  std::string_view id = id_or_key;
  if (id.size() > 3 && id.substr(0, 3) == "wk_") id = id.substr(3, 2 * kIdBytes);
  if (!is_hex(id, 2 * kIdBytes))
    return make_error("'%.*s' is not a key id (16 hex digits, as `whale keys list` shows)",
                      int(std::min<size_t>(id_or_key.size(), 80)), id_or_key.data());
  std::lock_guard lock(mu_);
  Stmt s(db_, "UPDATE api_keys SET revoked = 1 WHERE id = ?");
  if (!s.ok()) return db_error(db_, "revoke");
  s.bind(1, id);
  if (s.step() != SQLITE_DONE) return db_error(db_, "revoke");
  if (sqlite3_changes(db_) == 0)
    return make_error("no key with id %.*s", int(id.size()), id.data());
  return Status::Ok();
}

Result<std::optional<ApiKey>> KeyStore::verify(std::string_view token) {
  // wk_ + id + _ + secret
  if (token.size() != 3 + 2 * kIdBytes + 1 + 2 * kSecretBytes || token.substr(0, 3) != "wk_" ||
      token[3 + 2 * kIdBytes] != '_')
    return std::optional<ApiKey>();
  std::string_view id = token.substr(3, 2 * kIdBytes);
  std::string_view secret = token.substr(4 + 2 * kIdBytes);
  if (!is_hex(id, 2 * kIdBytes) || !is_hex(secret, 2 * kSecretBytes))
    return std::optional<ApiKey>();
  std::lock_guard lock(mu_);
  std::string sql =
      std::string("SELECT ") + kKeyColumns + ", salt, hash FROM api_keys WHERE id = ?";
  Stmt s(db_, sql.c_str());
  if (!s.ok()) return db_error(db_, "verify");
  s.bind(1, id);
  int rc = s.step();
  if (rc == SQLITE_DONE) return std::optional<ApiKey>();
  if (rc != SQLITE_ROW) return db_error(db_, "verify");
  ApiKey k = read_key(s);
  if (k.revoked || !equal_constant_time(hash_secret(s.blob(7), secret), s.blob(8)))
    return std::optional<ApiKey>();
  return std::optional<ApiKey>(std::move(k));
}

Status KeyStore::record_usage(int64_t key_row, const KeyUsage& d) {
  std::lock_guard lock(mu_);
  Stmt s(db_,
         "INSERT INTO key_usage (key_row, requests, prompt_tokens, completion_tokens, "
         "cache_hit_tokens) VALUES (?,?,?,?,?) ON CONFLICT(key_row) DO UPDATE SET "
         "requests = requests + excluded.requests, prompt_tokens = prompt_tokens + "
         "excluded.prompt_tokens, completion_tokens = completion_tokens + "
         "excluded.completion_tokens, cache_hit_tokens = cache_hit_tokens + "
         "excluded.cache_hit_tokens");
  if (!s.ok()) return db_error(db_, "usage");
  s.bind(1, key_row);
  s.bind(2, d.requests);
  s.bind(3, d.prompt_tokens);
  s.bind(4, d.completion_tokens);
  s.bind(5, d.cache_hit_tokens);
  if (s.step() != SQLITE_DONE) return db_error(db_, "usage");
  return Status::Ok();
}

Result<KeyUsage> KeyStore::usage(int64_t key_row) {
  std::lock_guard lock(mu_);
  Stmt s(db_,
         "SELECT requests, prompt_tokens, completion_tokens, cache_hit_tokens FROM key_usage "
         "WHERE key_row = ?");
  if (!s.ok()) return db_error(db_, "usage");
  s.bind(1, key_row);
  int rc = s.step();
  if (rc == SQLITE_DONE) return KeyUsage{};
  if (rc != SQLITE_ROW) return db_error(db_, "usage");
  return KeyUsage{s.i64(0), s.i64(1), s.i64(2), s.i64(3)};
}

}  // namespace whale
