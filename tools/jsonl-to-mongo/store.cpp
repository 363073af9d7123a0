// Bulk writes, retries, the checkpoint document.
#include "store.hpp"

#include <time.h>

#include <algorithm>
#include <thread>

#include "cli/error.hpp"
#include "cli/failpoint.hpp"
#include "cli/log.hpp"
#include "io/signals.hpp"

namespace rowpipe::mongo_sink {
namespace {

using Clock = std::chrono::steady_clock;

// Thrown when the server's checkpoint went back: retrying cannot help.
class LostWrites : public Error {
 public:
  explicit LostWrites(const std::string& message) : Error(ErrorKind::kUnavailable, message) {}
};

bson_t view_of(std::string_view bytes) {
  bson_t b;
  if (!bson_init_static(&b, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()))
    fail(ErrorKind::kInternal, "invalid BSON in a batch");
  return b;
}

// The server's verdict on a bulk write: write errors name their code; `dups` (when given) collects the
// indexes of duplicate-key errors, which the caller expects, instead of failing.
void check_bulk(bool ok, const bson_t* reply, const bson_error_t& error, std::string_view what,
                std::vector<size_t>* dups) {
  bson_iter_t it, errors;
  bool other = false;
  std::string first;
  int64_t first_code = 0;
  if (bson_iter_init_find(&it, reply, "writeErrors") && BSON_ITER_HOLDS_ARRAY(&it) && bson_iter_recurse(&it, &errors)) {
    while (bson_iter_next(&errors)) {
      bson_t entry;
      uint32_t len = 0;
      const uint8_t* data = nullptr;
      if (!BSON_ITER_HOLDS_DOCUMENT(&errors)) continue;
      bson_iter_document(&errors, &len, &data);
      if (!bson_init_static(&entry, data, len)) continue;
      int64_t index = -1, code = 0;
      std::string message;
      bson_iter_t f;
      if (bson_iter_init_find(&f, &entry, "index") && BSON_ITER_HOLDS_NUMBER(&f)) index = bson_iter_as_int64(&f);
      if (bson_iter_init_find(&f, &entry, "code") && BSON_ITER_HOLDS_NUMBER(&f)) code = bson_iter_as_int64(&f);
      if (bson_iter_init_find(&f, &entry, "errmsg") && BSON_ITER_HOLDS_UTF8(&f)) message = bson_iter_utf8(&f, nullptr);
      if (code == 11000 && dups != nullptr && index >= 0) {
        dups->push_back(static_cast<size_t>(index));
        continue;
      }
      if (!other) {
        other = true;
        first = message;
        first_code = code;
      }
    }
  }
  if (other) {
    throw Error(mongo_server_error_kind(first_code),
                std::string(what) + ": " + first.substr(0, 300) + " (error " + std::to_string(first_code) + ")");
  }
  if (bson_iter_init_find(&it, reply, "writeConcernErrors") && BSON_ITER_HOLDS_ARRAY(&it)) {
    bson_iter_t wc;
    if (bson_iter_recurse(&it, &wc) && bson_iter_next(&wc))
      fail(ErrorKind::kUnavailable, std::string(what) + ": write concern not satisfied");
  }
  if (!ok && (dups == nullptr || dups->empty() || error.code != 11000)) throw_mongo_error(error, what);
}

MongoBulk new_bulk(mongoc_collection_t* c, bool ordered) {
  Bson opts;
  BSON_APPEND_BOOL(opts.get(), "ordered", ordered);
  return MongoBulk(mongoc_collection_create_bulk_operation_with_opts(c, opts.get()));
}

const bson_t* upsert_opts() {
  static const bson_t* opts = [] {
    bson_t* o = bson_new();
    BSON_APPEND_BOOL(o, "upsert", true);
    return o;
  }();
  return opts;
}

[[noreturn]] void append_failed(const bson_error_t& error, std::string_view what) {
  fail(ErrorKind::kData, std::string(what) + ": " + error.message);
}

bool id_is_string(std::string_view key) {
  bson_t k = view_of(key);
  bson_iter_t it;
  return bson_iter_init_find(&it, &k, "_id") && (BSON_ITER_HOLDS_UTF8(&it) || BSON_ITER_HOLDS_OID(&it));
}

}  // namespace

void checkpoint_document(Bson& doc, std::string_view name, const Checkpoint& ck) {
  doc.reset();
  bson_append_utf8(doc.get(), "_id", 3, name.data(), static_cast<int>(name.size()));
  std::string binlog = ck.binlog.str();
  bson_append_utf8(doc.get(), "binlog", 6, binlog.data(), static_cast<int>(binlog.size()));
  if (ck.server_id) bson_append_int64(doc.get(), "server_id", 9, *ck.server_id);
  if (!ck.gtid.empty()) bson_append_utf8(doc.get(), "gtid", 4, ck.gtid.data(), static_cast<int>(ck.gtid.size()));
  if (ck.applied) {
    std::string applied = ck.applied->str();
    bson_append_utf8(doc.get(), "applied", 7, applied.data(), static_cast<int>(applied.size()));
  }
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  bson_append_date_time(doc.get(), "time", 4, int64_t{now.tv_sec} * 1000 + now.tv_nsec / 1000000);
}

Checkpoint parse_checkpoint_document(const bson_t* doc, std::string_view origin) {
  size_t length = 0;
  char* json = bson_as_relaxed_extended_json(doc, &length);
  if (json == nullptr) fail(ErrorKind::kConfig, std::string(origin) + ": not a rowpipe checkpoint: invalid BSON");
  std::string text(json, length);
  bson_free(json);
  return Checkpoint::parse(text, origin);
}

Store::Store(Url url, StoreOptions options, Targets& targets)
    : url_(std::move(url)), options_(std::move(options)), targets_(targets), where_(url_.redacted()) {}

Store::~Store() = default;

void Store::connect() {
  collections_.clear();
  checkpoints_.reset();
  client_.reset();
  MongoOptions o;
  o.timeout = options_.timeout;
  o.app_name = "jsonl-to-mongo";
  client_ = connect_mongo(url_, o);
  if (!mongoc_write_concern_is_acknowledged(mongoc_client_get_write_concern(client_.get())))
    fail(ErrorKind::kUsage, "MongoDB " + where_ +
                                ": an unacknowledged write concern (w=0) would let the checkpoint pass writes the "
                                "server never applied; remove it from the URL");
  info_ = server_info(client_.get(), url_);
  // FerretDB v1 (SQLite) keeps a connection per update statement until the command ends and has 100.
  update_chunk_ = info_.is_ferretdb() ? 64 : 1000;
  checkpoints_.reset(mongoc_client_get_collection(client_.get(), std::string(kCheckpointDb).c_str(),
                                                  std::string(kCheckpointCollection).c_str()));
}

void Store::open() {
  retrying("connecting", [&] {
    if (!client_) connect();
    stored_at_open_ = read_checkpoint();
  });
  confirmed_ = stored_at_open_;
  log::info("MongoDB " + where_ + ": " + info_.describe());
}

mongoc_collection_t* Store::collection(uint32_t target) {
  if (collections_.size() <= target) collections_.resize(targets_.size());
  if (!collections_[target]) {
    const Target& t = targets_.get(target);
    collections_[target].reset(mongoc_client_get_collection(client_.get(), t.db.c_str(), t.collection.c_str()));
  }
  return collections_[target].get();
}

std::optional<Checkpoint> Store::read_checkpoint() {
  Bson filter, opts;
  bson_append_utf8(filter.get(), "_id", 3, options_.name.data(), static_cast<int>(options_.name.size()));
  BSON_APPEND_INT64(opts.get(), "limit", 1);
  MongoCursor cursor(mongoc_collection_find_with_opts(checkpoints_.get(), filter.get(), opts.get(), nullptr));
  const bson_t* doc = nullptr;
  std::optional<Checkpoint> out;
  if (mongoc_cursor_next(cursor.get(), &doc)) {
    out = parse_checkpoint_document(doc, "MongoDB " + where_ + " " + std::string(kCheckpointDb) + "." +
                                             std::string(kCheckpointCollection) + " _id " + options_.name);
  }
  bson_error_t error{};
  if (mongoc_cursor_error(cursor.get(), &error))
    throw_mongo_error(error, "MongoDB " + where_ + ": reading the checkpoint");
  return out;
}

void Store::check_not_lost() {
  auto stored = read_checkpoint();
  if (confirmed_ && (!stored || compare_checkpoints(*stored, *confirmed_) < 0)) {
    throw LostWrites("MongoDB " + where_ + " lost writes it had confirmed: its checkpoint went back from " +
                     confirmed_->to_json() + " to " + (stored ? stored->to_json() : std::string("none")));
  }
}

void Store::retrying(std::string_view what, const std::function<void()>& fn) {
  auto start = Clock::now();
  auto delay = std::chrono::milliseconds(100);
  bool logged = false;
  for (;;) {
    try {
      if (failed_) {
        connect();
        check_not_lost();
      }
      fn();
      if (failed_) {
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
        log::notice("MongoDB " + where_ + ": reconnected after " + std::to_string(ms / 1000) + "." +
                    std::to_string(ms % 1000 / 100) + " s");
        failed_ = false;
      }
      return;
    } catch (const LostWrites&) {
      throw;
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::kUnavailable) throw;
      failed_ = true;
      if (!logged) {
        log::warning("MongoDB " + where_ + ": " + std::string(what) + ": " + e.what() + ": reconnecting");
        ++reconnects_;
        logged = true;
      }
      auto elapsed = Clock::now() - start;
      if (elapsed >= options_.retry_for || signals::stop_requested()) {
        auto s = std::chrono::duration_cast<std::chrono::seconds>(elapsed).count();
        fail(ErrorKind::kUnavailable, "MongoDB " + where_ + " unavailable for " + std::to_string(s) + " s (" +
                                          std::string(what) + "): " + e.what());
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(options_.retry_for - elapsed);
      std::this_thread::sleep_for(std::min(delay, left));
      delay = std::min(delay * 2, std::chrono::milliseconds(2000));
    }
  }
}

void Store::apply(const Plan& plan, ApplyStats& stats) {
  if (plan.size() == 0) return;
  retrying("applying a batch", [&] {
    ApplyStats attempt;
    apply_once(plan, attempt);
    stats.inserted += attempt.inserted;
    stats.replaced += attempt.replaced;
    stats.deleted += attempt.deleted;
    stats.cleared += attempt.cleared;
    stats.reinserted += attempt.reinserted;
  });
}

void Store::apply_once(const Plan& plan, ApplyStats& stats) {
  const auto& writes = plan.writes();
  bson_error_t error{};
  for (uint32_t target : plan.cleared()) {
    Bson filter, reply;
    if (!mongoc_collection_delete_many(collection(target), filter.get(), nullptr, reply.get(), &error))
      throw_mongo_error(error, "TRUNCATE of " + targets_.get(target).ns());
    bson_iter_t it;
    if (bson_iter_init_find(&it, reply.get(), "deletedCount") && BSON_ITER_HOLDS_NUMBER(&it))
      stats.cleared += static_cast<uint64_t>(bson_iter_as_int64(&it));
  }
  // Writes by target, each target's in plan order.
  std::vector<uint32_t> order(writes.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](uint32_t a, uint32_t b) { return writes[a].target < writes[b].target; });

  std::vector<uint32_t> updates;
  std::vector<size_t> dups;
  for (size_t begin = 0; begin < order.size();) {
    uint32_t target = writes[order[begin]].target;
    size_t end = begin;
    while (end < order.size() && writes[order[end]].target == target) ++end;
    mongoc_collection_t* c = collection(target);
    std::string what = "writing to " + targets_.get(target).ns();

    // Rows the input says are new go in as one unordered insert; a document already there (a replay,
    // or data the collection held before) is replaced instead.
    std::vector<uint32_t> inserts;
    updates.clear();
    for (size_t i = begin; i < end; ++i) {
      const NetWrite& w = writes[order[i]];
      if (w.kind == OpKind::kInsert) inserts.push_back(order[i]);
      if (w.kind == OpKind::kReplace || w.kind == OpKind::kSet) updates.push_back(order[i]);
    }
    if (!inserts.empty()) {
      MongoBulk bulk = new_bulk(c, false);
      for (uint32_t i : inserts) {
        bson_t doc = view_of(writes[i].doc);
        if (!mongoc_bulk_operation_insert_with_opts(bulk.get(), &doc, nullptr, &error)) append_failed(error, what);
      }
      Bson reply;
      dups.clear();
      bool ok = mongoc_bulk_operation_execute(bulk.get(), reply.get(), &error) != 0;
      check_bulk(ok, reply.get(), error, what, &dups);
      stats.inserted += inserts.size() - dups.size();
      stats.reinserted += dups.size();
      for (size_t d : dups)
        if (d < inserts.size()) updates.push_back(inserts[d]);
      failpoint("mid-batch");
    }
    for (size_t u = 0; u < updates.size(); u += update_chunk_) {
      MongoBulk bulk = new_bulk(c, true);
      size_t statements = 0;
      for (size_t j = u; j < std::min(updates.size(), u + update_chunk_); ++j) {
        const NetWrite& w = writes[updates[j]];
        bson_t key = view_of(w.key);
        bson_t doc = view_of(w.doc);
        if (w.kind == OpKind::kSet) {
          if (doc.len <= 5) continue;  // nothing to set
          Bson update;
          bson_append_document(update.get(), "$set", 4, &doc);
          if (!mongoc_bulk_operation_update_one_with_opts(bulk.get(), &key, update.get(), upsert_opts(), &error))
            append_failed(error, what);
        } else if (!mongoc_bulk_operation_replace_one_with_opts(bulk.get(), &key, &doc, upsert_opts(), &error)) {
          append_failed(error, what);
        }
        ++statements;
      }
      if (statements == 0) continue;
      Bson reply;
      bool ok = mongoc_bulk_operation_execute(bulk.get(), reply.get(), &error) != 0;
      check_bulk(ok, reply.get(), error, what, nullptr);
      stats.replaced += statements;
    }
    begin = end;
  }
  failpoint("before-deletes");

  // Deletes last: a refused document above never leaves its row's old key deleted.
  for (size_t begin = 0; begin < order.size();) {
    uint32_t target = writes[order[begin]].target;
    size_t end = begin;
    while (end < order.size() && writes[order[end]].target == target) ++end;
    std::vector<uint32_t> deletes;
    for (size_t i = begin; i < end; ++i)
      if (writes[order[i]].kind == OpKind::kDelete) deletes.push_back(order[i]);
    begin = end;
    if (deletes.empty()) continue;
    mongoc_collection_t* c = collection(target);
    std::string what = "deleting from " + targets_.get(target).ns();
    MongoBulk bulk = new_bulk(c, false);
    // FerretDB v1 finds a document through its _id index only for string (and ObjectId) keys; for
    // other keys every statement scans the collection, so one $in per chunk scans it once.
    bool scan_once = info_.is_ferretdb() && !id_is_string(writes[deletes.front()].key);
    if (scan_once) {
      for (size_t d = 0; d < deletes.size(); d += 1000) {
        Bson filter;
        bson_t in, list;
        bson_append_document_begin(filter.get(), "_id", 3, &in);
        bson_append_array_begin(&in, "$in", 3, &list);
        char index[16];
        uint32_t n = 0;
        for (size_t j = d; j < std::min(deletes.size(), d + 1000); ++j) {
          bson_t key = view_of(writes[deletes[j]].key);
          bson_iter_t it;
          if (!bson_iter_init_find(&it, &key, "_id")) continue;
          const char* k = nullptr;
          size_t klen = bson_uint32_to_string(n++, &k, index, sizeof index);
          bson_append_iter(&list, k, static_cast<int>(klen), &it);
        }
        bson_append_array_end(&in, &list);
        bson_append_document_end(filter.get(), &in);
        if (!mongoc_bulk_operation_remove_many_with_opts(bulk.get(), filter.get(), nullptr, &error))
          append_failed(error, what);
      }
    } else {
      for (uint32_t i : deletes) {
        bson_t key = view_of(writes[i].key);
        if (!mongoc_bulk_operation_remove_one_with_opts(bulk.get(), &key, nullptr, &error)) append_failed(error, what);
      }
    }
    Bson reply;
    bool ok = mongoc_bulk_operation_execute(bulk.get(), reply.get(), &error) != 0;
    check_bulk(ok, reply.get(), error, what, nullptr);
    stats.deleted += deletes.size();
  }
}

void Store::write_checkpoint(const Checkpoint& checkpoint) {
  Bson doc, filter, reply;
  checkpoint_document(doc, options_.name, checkpoint);
  bson_append_utf8(filter.get(), "_id", 3, options_.name.data(), static_cast<int>(options_.name.size()));
  retrying("writing the checkpoint", [&] {
    bson_error_t error{};
    Bson r;
    if (!mongoc_collection_replace_one(checkpoints_.get(), filter.get(), doc.get(), upsert_opts(), r.get(), &error))
      throw_mongo_error(error, "writing the checkpoint");
  });
  confirmed_ = checkpoint;
}

std::optional<std::string> Store::find(uint32_t target, std::string_view key) {
  std::optional<std::string> out;
  retrying("reading a document", [&] {
    out.reset();
    bson_t filter = view_of(key);
    Bson opts;
    BSON_APPEND_INT64(opts.get(), "limit", 1);
    MongoCursor cursor(mongoc_collection_find_with_opts(collection(target), &filter, opts.get(), nullptr));
    const bson_t* doc = nullptr;
    if (mongoc_cursor_next(cursor.get(), &doc))
      out.emplace(reinterpret_cast<const char*>(bson_get_data(doc)), doc->len);
    bson_error_t error{};
    if (mongoc_cursor_error(cursor.get(), &error)) throw_mongo_error(error, "reading " + targets_.get(target).ns());
  });
  return out;
}

void Store::drop(uint32_t target) {
  retrying("dropping a collection", [&] {
    bson_error_t error{};
    if (!mongoc_collection_drop_with_opts(collection(target), nullptr, &error)) {
      if (error.code == 26 || std::string_view(error.message).find("ns not found") != std::string_view::npos) return;
      throw_mongo_error(error, "dropping " + targets_.get(target).ns());
    }
  });
}

}  // namespace rowpipe::mongo_sink
