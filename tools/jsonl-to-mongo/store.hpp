// The MongoDB side of the sink: one client, plans applied as bulk writes (retried whole while the
// server is unavailable, which is safe because every write in a plan is idempotent), the checkpoint
// document, and the few single reads and commands the sink needs.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "batch.hpp"
#include "clients/mongo.hpp"
#include "clients/url.hpp"
#include "io/checkpoint.hpp"
#include "io/checkpoint_order.hpp"
#include "mapper.hpp"

namespace rowpipe::mongo_sink {

// The checkpoint document {_id: NAME, binlog, server_id?, gtid?, applied?, time} and back.
void checkpoint_document(Bson& doc, std::string_view name, const Checkpoint& ck);
Checkpoint parse_checkpoint_document(const bson_t* doc, std::string_view origin);

struct StoreOptions {
  std::chrono::milliseconds timeout{60000};
  std::chrono::milliseconds retry_for{60000};
  std::string name = "default";  // the checkpoint's _id
};

// Counts of what applying plans did.
struct ApplyStats {
  uint64_t inserted = 0;    // documents inserted
  uint64_t replaced = 0;    // replace/$set statements sent
  uint64_t deleted = 0;     // documents deleted by row DELETEs
  uint64_t cleared = 0;     // documents deleted by TRUNCATE
  uint64_t reinserted = 0;  // inserts that found the document there (a replay) and replaced it
};

class Store {
 public:
  static constexpr std::string_view kCheckpointDb = "rowpipe";
  static constexpr std::string_view kCheckpointCollection = "rowpipe_checkpoints";

  Store(Url url, StoreOptions options, Targets& targets);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Connects (retrying while the server is unavailable), asks who it is, reads the checkpoint.
  void open();
  const MongoServerInfo& info() const { return info_; }
  const std::optional<Checkpoint>& stored_at_open() const { return stored_at_open_; }
  // The redacted URL, for messages.
  const std::string& where() const { return where_; }
  uint64_t reconnects() const { return reconnects_; }

  // Applies a plan: TRUNCATEs first, then inserts, replacements and $sets, then deletes (so a refused
  // document never leaves its row's old key deleted). Retries the whole plan while the server is
  // unavailable. Throws Error: kData when the server refuses a write (the caller narrows down which
  // line: FerretDB's error indexes cannot be trusted), kUnavailable once retrying ends, other kinds as
  // they come.
  void apply(const Plan& plan, ApplyStats& stats);

  // Stores the checkpoint document (retrying).
  void write_checkpoint(const Checkpoint& checkpoint);

  // The stored document with this {_id: KEY}, as BSON bytes; nullopt when there is none.
  std::optional<std::string> find(uint32_t target, std::string_view key);
  // Drops a collection (gone already is fine).
  void drop(uint32_t target);

  // Runs `fn` against the server, retrying while it is unavailable: reconnects, waits with backoff up
  // to retry_for, and checks that the server did not lose what it had confirmed.
  void retrying(std::string_view what, const std::function<void()>& fn);

  mongoc_client_t* client() { return client_.get(); }
  mongoc_collection_t* collection(uint32_t target);
  // Statements sent per update command (FerretDB v1 hangs on 100 or more).
  size_t update_chunk() const { return update_chunk_; }

 private:
  void connect();
  std::optional<Checkpoint> read_checkpoint();
  void apply_once(const Plan& plan, ApplyStats& stats);
  void check_not_lost();

  Url url_;
  StoreOptions options_;
  Targets& targets_;
  std::string where_;
  MongoClient client_;
  MongoServerInfo info_;
  std::vector<MongoCollection> collections_;  // by target
  MongoCollection checkpoints_;
  std::optional<Checkpoint> stored_at_open_;
  std::optional<Checkpoint> confirmed_;  // the last checkpoint written in this run (or found at open)
  uint64_t reconnects_ = 0;
  bool failed_ = false;  // the last attempt ended with the server unavailable
  size_t update_chunk_ = 1000;
  std::vector<size_t> scratch_;
};

}  // namespace rowpipe::mongo_sink
