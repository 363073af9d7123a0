// Position-guarded writes, tombstones, TRUNCATE markers and --reconcile.
#include "guard.hpp"

#include <time.h>

#include <unistd.h>
#include <algorithm>
#include <random>
#include <thread>

#include "cli/error.hpp"
#include "cli/failpoint.hpp"
#include "cli/log.hpp"
#include "event/ddl.hpp"
#include "sink.hpp"

namespace rowpipe::mongo_sink {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::string_view kMarkers = "guard_markers";
constexpr std::string_view kLocks = "guard_locks";
constexpr int64_t kLeaseMs = 30000;

void append_number(std::string& out, uint64_t n) {
  char digits[24];
  int len = 0;
  do {
    digits[len++] = static_cast<char>('0' + n % 10);
    n /= 10;
  } while (n != 0);
  out += static_cast<char>('a' + len - 1);
  while (len > 0) out += digits[--len];
}

bson_t view_of(std::string_view bytes) {
  bson_t b;
  if (!bson_init_static(&b, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()))
    fail(ErrorKind::kInternal, "invalid BSON in a batch");
  return b;
}

int64_t now_millis() {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  return int64_t{now.tv_sec} * 1000 + now.tv_nsec / 1000000;
}

const JsonValue& empty_object() {
  static const JsonValue object(rapidjson::kObjectType);
  return object;
}

// `doc` with `_rowpipe: {pos: P[, deleted: now]}` appended (a field of that name in doc is dropped).
void with_position(Bson& out, std::string_view doc, const std::string& pos, bool tombstone) {
  out.reset();
  bson_t d = view_of(doc);
  bson_copy_to_excluding_noinit(&d, out.get(), "_rowpipe", nullptr);
  bson_t sub;
  bson_append_document_begin(out.get(), "_rowpipe", 8, &sub);
  bson_append_utf8(&sub, "pos", 3, pos.data(), static_cast<int>(pos.size()));
  if (tombstone) bson_append_date_time(&sub, "deleted", 7, now_millis());
  bson_append_document_end(out.get(), &sub);
}

std::string key_bytes_of(const bson_t* doc) {
  bson_iter_t it;
  Bson key;
  if (bson_iter_init_find(&it, doc, "_id")) bson_append_iter(key.get(), "_id", 3, &it);
  return std::string(key.bytes());
}

}  // namespace

std::string encode_position(const RowPosition& pos) {
  std::string out;
  if (auto seq = file_sequence(pos.pos.file)) {
    append_number(out, *seq);
  } else {
    out += '~';
    out += pos.pos.file;
  }
  out += ':';
  append_number(out, pos.pos.offset);
  out += ':';
  append_number(out, pos.row);
  return out;
}

Guard::Guard(const Config& config, Store& store, Targets& targets) : config_(config), store_(store), targets_(targets) {
  batch_started_ = last_purge_ = Clock::now();
  std::random_device rd;
  char owner[48];
  std::snprintf(owner, sizeof owner, "%d-%08x%08x", static_cast<int>(::getpid()), rd(), rd());
  owner_ = owner;
}

void Guard::open() {
  store_.retrying("reading TRUNCATE markers", [&] {
    markers_.clear();
    MongoCollection c(mongoc_client_get_collection(store_.client(), std::string(Store::kCheckpointDb).c_str(),
                                                   std::string(kMarkers).c_str()));
    Bson filter;
    MongoCursor cursor(mongoc_collection_find_with_opts(c.get(), filter.get(), nullptr, nullptr));
    const bson_t* doc = nullptr;
    while (mongoc_cursor_next(cursor.get(), &doc)) {
      bson_iter_t id, pos;
      if (bson_iter_init_find(&id, doc, "_id") && BSON_ITER_HOLDS_UTF8(&id) && bson_iter_init_find(&pos, doc, "pos") &&
          BSON_ITER_HOLDS_UTF8(&pos))
        markers_[bson_iter_utf8(&id, nullptr)] = bson_iter_utf8(&pos, nullptr);
    }
    bson_error_t error{};
    if (mongoc_cursor_error(cursor.get(), &error)) throw_mongo_error(error, "reading TRUNCATE markers");
  });
}

bool Guard::should_flush(const Batch& batch) {
  if (batch.empty()) return false;
  return batch.bytes() >= config_.batch_bytes || rows_ >= config_.batch_rows ||
         Clock::now() - batch_started_ >= std::chrono::milliseconds(config_.sink.idle_ms);
}

bool Guard::barrier(const Event& e) const {
  if (e.type == EventType::kDdl) return !config_.ignore_ddl && classify_ddl(e.sql) != DdlKind::kOther;
  if (e.type == EventType::kUpdate && e.partial && e.before != nullptr && e.after != nullptr) {
    // A partial UPDATE that moves its row reads the stored row: what the batch holds for it goes
    // first. (Any column of both images that changed counts; a MINIMAL before image is the key.)
    for (const auto& m : e.after->GetObject()) {
      auto it = e.before->FindMember(m.name);
      if (it != e.before->MemberEnd() && it->value != m.value) return true;
    }
    return false;
  }
  return e.type == EventType::kSnapshotEnd && config_.reconcile;
}

void Guard::on_event(const Event& e, Mapper& mapper, Batch& batch, LineSource& source, Stats& stats) {
  RowPosition pos = e.row_position();
  if (batch.empty()) {
    batch_started_ = Clock::now();
    rows_ = 0;
  }
  switch (e.type) {
    case EventType::kInsert:
    case EventType::kUpdate:
    case EventType::kDelete: {
      TableInfo& t = mapper.table(e.db, e.table);
      if (e.type == EventType::kInsert) {
        uint32_t target = mapper.target(e, t, *e.after);
        mapper.key(key_new_, e, t, *e.after);
        mapper.document(doc_, e, t, *e.after, key_new_);
        batch.add_line(source.line(), source.where(), source.lines_read());
        batch.add(OpKind::kReplace, target, key_new_.bytes(), doc_.bytes(), pos);
      } else if (e.type == EventType::kDelete) {
        uint32_t target = mapper.target(e, t, *e.before);
        mapper.key(key_old_, e, t, *e.before);
        batch.add_line(source.line(), source.where(), source.lines_read());
        batch.add(OpKind::kDelete, target, key_old_.bytes(), {}, pos);
      } else {
        uint32_t old_target = mapper.target(e, t, *e.before);
        mapper.key(key_old_, e, t, *e.before);
        const JsonValue* fallback = e.partial ? e.before : nullptr;
        uint32_t new_target = mapper.target(e, t, *e.after, fallback);
        mapper.key(key_new_, e, t, *e.after, fallback);
        bool moved = new_target != old_target || key_new_.bytes() != key_old_.bytes();
        if (!e.partial) {
          mapper.document(doc_, e, t, *e.after, key_new_);
          batch.add_line(source.line(), source.where(), source.lines_read());
          if (moved) batch.add(OpKind::kDelete, old_target, key_old_.bytes(), {}, pos);
          batch.add(OpKind::kReplace, new_target, key_new_.bytes(), doc_.bytes(), pos);
        } else {
          mapper.fields(fields_, e, t, *e.after);
          std::optional<std::string> moved_doc;
          if (moved) {
            // The stored row carried over to its new key, the image's columns over it.
            if (auto old = store_.find(old_target, key_old_.bytes())) {
              bson_t stored = view_of(*old);
              bson_iter_t it, deleted;
              bool tombstone =
                  bson_iter_init(&it, &stored) && bson_iter_find_descendant(&it, "_rowpipe.deleted", &deleted);
              if (!tombstone) {
                Bson rest;
                bson_copy_to_excluding_noinit(&stored, rest.get(), "_id", "_rowpipe", nullptr);
                moved_doc = merge_fields(document_from_fields(key_new_.bytes(), rest.bytes()), fields_.bytes());
              }
            }
          }
          batch.add_line(source.line(), source.where(), source.lines_read());
          if (moved) batch.add(OpKind::kDelete, old_target, key_old_.bytes(), {}, pos);
          if (moved_doc)
            batch.add(OpKind::kReplace, new_target, key_new_.bytes(), *moved_doc, pos);
          else
            batch.add(OpKind::kSet, new_target, key_new_.bytes(), fields_.bytes(), pos);
        }
      }
      ++rows_;
      break;
    }
    case EventType::kDdl: {
      DdlKind kind = classify_ddl(e.sql);
      std::string shown = std::string(e.sql.substr(0, 100)) + (e.sql.size() > 100 ? "..." : "");
      if (kind == DdlKind::kOther || config_.ignore_ddl || e.db.empty() || e.table.empty()) {
        ++stats.ddl;
        log::info(source.where() + ": DDL passed over: " + shown);
        break;
      }
      TableInfo& t = mapper.table(e.db, e.table);
      std::optional<uint32_t> target;
      try {
        target = mapper.target(e, t, empty_object());
      } catch (const Error&) {
      }
      if (!target || !t.owns_target || !t.target) {
        log::warning(source.where() + ": " + shown + ": not applied: the collection of " + t.qualified +
                     " is not its own");
        break;
      }
      // With positions per document, DROP TABLE cannot drop newer rows: both empty the collection of
      // what is older and keep older rows out from then on.
      truncate(*target, pos, targets_.get(*target).ns());
      if (kind == DdlKind::kDrop) ++stats.dropped;
      break;
    }
    case EventType::kSnapshotBegin:
      if (config_.reconcile) snapshots_[std::string(e.db) + "." + std::string(e.table)] = RowPosition{e.binlog, 0};
      break;
    case EventType::kSnapshotEnd: {
      if (!config_.reconcile) break;
      std::string qualified = std::string(e.db) + "." + std::string(e.table);
      auto snap = snapshots_.find(qualified);
      if (snap == snapshots_.end()) {
        log::warning(source.where() + ": SNAPSHOT_END of " + qualified + " without its SNAPSHOT_BEGIN: not reconciled");
        break;
      }
      TableInfo& t = mapper.table(e.db, e.table);
      std::optional<uint32_t> target;
      try {
        target = mapper.target(e, t, empty_object());
      } catch (const Error&) {
      }
      if (!target || !t.owns_target || !t.target) {
        log::warning(source.where() + ": " + qualified + " not reconciled: its collection is not its own");
        break;
      }
      uint64_t n = 0;
      store_.retrying("reconciling", [&] {
        TurnLock turn(*this, *target);
        n = delete_older(*target, encode_position(snap->second), "reconciling");
      });
      failpoint("after-reconcile");
      stats.reconciled += n;
      log::info(source.where() + ": reconciled " + qualified + ": deleted " + std::to_string(n) +
                " documents the snapshot did not hold");
      snapshots_.erase(snap);
      break;
    }
    case EventType::kHeartbeat: break;
  }
  lines_done_ = source.lines_read();
}

Guard::TurnLock::TurnLock(Guard& guard, uint32_t target) : guard_(guard) {
  if (!guard.store_.info().is_ferretdb()) return;
  ns_ = guard.targets_.get(target).ns();
  MongoCollection c(mongoc_client_get_collection(guard.store_.client(), std::string(Store::kCheckpointDb).c_str(),
                                                 std::string(kLocks).c_str()));
  auto start = Clock::now();
  auto delay = std::chrono::milliseconds(2);
  for (;;) {
    Bson doc, reply;
    bson_append_utf8(doc.get(), "_id", 3, ns_.data(), static_cast<int>(ns_.size()));
    bson_append_utf8(doc.get(), "owner", 5, guard.owner_.data(), static_cast<int>(guard.owner_.size()));
    bson_append_date_time(doc.get(), "until", 5, now_millis() + kLeaseMs);
    bson_error_t error{};
    if (mongoc_collection_insert_one(c.get(), doc.get(), nullptr, reply.get(), &error)) break;
    if (error.code != 11000) throw_mongo_error(error, "taking the --guard turn of " + ns_);
    // Held: by this process before a reconnect (take it again), by a live writer (wait), or by a
    // writer that died (its lease ran out: remove its lock).
    Bson filter, opts;
    bson_append_utf8(filter.get(), "_id", 3, ns_.data(), static_cast<int>(ns_.size()));
    BSON_APPEND_INT64(opts.get(), "limit", 1);
    MongoCursor cursor(mongoc_collection_find_with_opts(c.get(), filter.get(), opts.get(), nullptr));
    const bson_t* held = nullptr;
    if (mongoc_cursor_next(cursor.get(), &held)) {
      bson_iter_t owner, until;
      std::string who;
      if (bson_iter_init_find(&owner, held, "owner") && BSON_ITER_HOLDS_UTF8(&owner))
        who = bson_iter_utf8(&owner, nullptr);
      if (who == guard.owner_) break;
      if (bson_iter_init_find(&until, held, "until") && BSON_ITER_HOLDS_DATE_TIME(&until) &&
          bson_iter_date_time(&until) < now_millis()) {
        Bson stale, r;
        bson_append_utf8(stale.get(), "_id", 3, ns_.data(), static_cast<int>(ns_.size()));
        bson_append_utf8(stale.get(), "owner", 5, who.data(), static_cast<int>(who.size()));
        if (!mongoc_collection_delete_one(c.get(), stale.get(), nullptr, r.get(), &error))
          throw_mongo_error(error, "removing a dead writer's --guard turn of " + ns_);
        log::notice("took over the --guard turn of " + ns_ + " from a writer whose lease ran out");
        continue;
      }
    }
    if (mongoc_cursor_error(cursor.get(), &error)) throw_mongo_error(error, "reading the --guard turn of " + ns_);
    if (Clock::now() - start > std::chrono::milliseconds(4 * kLeaseMs))
      fail(ErrorKind::kUnavailable, "waited too long for the --guard turn of " + ns_);
    std::this_thread::sleep_for(delay);
    delay = std::min(delay * 2, std::chrono::milliseconds(50));
  }
  held_ = true;
}

Guard::TurnLock::~TurnLock() {
  if (!held_) return;
  MongoCollection c(mongoc_client_get_collection(guard_.store_.client(), std::string(Store::kCheckpointDb).c_str(),
                                                 std::string(kLocks).c_str()));
  Bson filter, reply;
  bson_append_utf8(filter.get(), "_id", 3, ns_.data(), static_cast<int>(ns_.size()));
  bson_append_utf8(filter.get(), "owner", 5, guard_.owner_.data(), static_cast<int>(guard_.owner_.size()));
  bson_error_t error{};
  // A lock left behind (the server went away) expires with its lease.
  mongoc_collection_delete_one(c.get(), filter.get(), nullptr, reply.get(), &error);
}

std::string Guard::read_marker(const std::string& ns) {
  MongoCollection c(mongoc_client_get_collection(store_.client(), std::string(Store::kCheckpointDb).c_str(),
                                                 std::string(kMarkers).c_str()));
  Bson filter, opts;
  bson_append_utf8(filter.get(), "_id", 3, ns.data(), static_cast<int>(ns.size()));
  BSON_APPEND_INT64(opts.get(), "limit", 1);
  MongoCursor cursor(mongoc_collection_find_with_opts(c.get(), filter.get(), opts.get(), nullptr));
  const bson_t* doc = nullptr;
  std::string out;
  if (mongoc_cursor_next(cursor.get(), &doc)) {
    bson_iter_t pos;
    if (bson_iter_init_find(&pos, doc, "pos") && BSON_ITER_HOLDS_UTF8(&pos)) out = bson_iter_utf8(&pos, nullptr);
  }
  bson_error_t error{};
  if (mongoc_cursor_error(cursor.get(), &error)) throw_mongo_error(error, "reading the TRUNCATE marker of " + ns);
  markers_[ns] = out;
  return out;
}

uint64_t Guard::delete_older(uint32_t target, const std::string& pos, std::string_view what) {
  Bson filter, reply;
  bson_t list, a, b, ex, lt;
  bson_append_array_begin(filter.get(), "$or", 3, &list);
  bson_append_document_begin(&list, "0", 1, &a);
  bson_append_document_begin(&a, "_rowpipe.pos", 12, &ex);
  bson_append_bool(&ex, "$exists", 7, false);
  bson_append_document_end(&a, &ex);
  bson_append_document_end(&list, &a);
  bson_append_document_begin(&list, "1", 1, &b);
  bson_append_document_begin(&b, "_rowpipe.pos", 12, &lt);
  bson_append_utf8(&lt, "$lt", 3, pos.data(), static_cast<int>(pos.size()));
  bson_append_document_end(&b, &lt);
  bson_append_document_end(&list, &b);
  bson_append_array_end(filter.get(), &list);
  bson_error_t error{};
  if (!mongoc_collection_delete_many(store_.collection(target), filter.get(), nullptr, reply.get(), &error))
    throw_mongo_error(error, std::string(what) + " of " + targets_.get(target).ns());
  bson_iter_t it;
  if (bson_iter_init_find(&it, reply.get(), "deletedCount") && BSON_ITER_HOLDS_NUMBER(&it))
    return static_cast<uint64_t>(bson_iter_as_int64(&it));
  return 0;
}

void Guard::truncate(uint32_t target, const RowPosition& pos, const std::string& ns) {
  std::string p = encode_position(pos);
  store_.retrying("TRUNCATE", [&] {
    TurnLock turn(*this, target);
    std::string current = read_marker(ns);
    if (!current.empty() && current >= p) return;  // an older statement: newer rows stay
    // The marker first, then the deletes: a writer that wrote an older row meanwhile sees the marker
    // when it looks again after its writes, and deletes that row itself.
    MongoCollection c(mongoc_client_get_collection(store_.client(), std::string(Store::kCheckpointDb).c_str(),
                                                   std::string(kMarkers).c_str()));
    Bson filter, doc, opts, reply;
    bson_t lt;
    bson_append_utf8(filter.get(), "_id", 3, ns.data(), static_cast<int>(ns.size()));
    bson_append_document_begin(filter.get(), "pos", 3, &lt);
    bson_append_utf8(&lt, "$lt", 3, p.data(), static_cast<int>(p.size()));
    bson_append_document_end(filter.get(), &lt);
    bson_append_utf8(doc.get(), "_id", 3, ns.data(), static_cast<int>(ns.size()));
    bson_append_utf8(doc.get(), "pos", 3, p.data(), static_cast<int>(p.size()));
    std::string readable = pos.str();
    bson_append_utf8(doc.get(), "position", 8, readable.data(), static_cast<int>(readable.size()));
    BSON_APPEND_BOOL(opts.get(), "upsert", true);
    bson_error_t error{};
    // A duplicate key: a newer marker is there already (another writer's TRUNCATE).
    if (!mongoc_collection_replace_one(c.get(), filter.get(), doc.get(), opts.get(), reply.get(), &error) &&
        error.code != 11000)
      throw_mongo_error(error, "recording the TRUNCATE of " + ns);
    markers_[ns] = std::max(p, read_marker(ns));
    delete_older(target, markers_[ns], "TRUNCATE");
  });
}

void Guard::purge_tombstones(uint32_t target) {
  if (purged_.size() <= target) purged_.resize(targets_.size(), 0);
  if (Clock::now() - last_purge_ >= std::chrono::hours(1)) {
    std::fill(purged_.begin(), purged_.end(), 0);
    last_purge_ = Clock::now();
  }
  if (purged_[target] != 0) return;
  purged_[target] = 1;
  int64_t cutoff = now_millis() - static_cast<int64_t>(config_.tombstone_ttl) * 1000;
  Bson filter, reply;
  bson_t sub;
  bson_append_document_begin(filter.get(), "_rowpipe.deleted", 16, &sub);
  bson_append_date_time(&sub, "$lt", 3, cutoff);
  bson_append_document_end(filter.get(), &sub);
  bson_error_t error{};
  if (!mongoc_collection_delete_many(store_.collection(target), filter.get(), nullptr, reply.get(), &error))
    throw_mongo_error(error, "removing old tombstones from " + targets_.get(target).ns());
}

void Guard::read_positions(uint32_t target, const std::vector<std::string_view>& keys,
                           std::unordered_map<std::string, Stored>& out) {
  Bson filter, opts;
  bson_t in, list, projection;
  bson_append_document_begin(filter.get(), "_id", 3, &in);
  bson_append_array_begin(&in, "$in", 3, &list);
  char index[16];
  uint32_t n = 0;
  for (std::string_view k : keys) {
    bson_t key = view_of(k);
    bson_iter_t it;
    if (!bson_iter_init_find(&it, &key, "_id")) continue;
    const char* name = nullptr;
    size_t len = bson_uint32_to_string(n++, &name, index, sizeof index);
    bson_append_iter(&list, name, static_cast<int>(len), &it);
  }
  bson_append_array_end(&in, &list);
  bson_append_document_end(filter.get(), &in);
  bson_append_document_begin(opts.get(), "projection", 10, &projection);
  bson_append_int32(&projection, "_rowpipe", 8, 1);
  bson_append_document_end(opts.get(), &projection);
  MongoCursor cursor(mongoc_collection_find_with_opts(store_.collection(target), filter.get(), opts.get(), nullptr));
  const bson_t* doc = nullptr;
  while (mongoc_cursor_next(cursor.get(), &doc)) {
    Stored s;
    s.exists = true;
    bson_iter_t it, meta;
    if (bson_iter_init_find(&it, doc, "_rowpipe") && BSON_ITER_HOLDS_DOCUMENT(&it) && bson_iter_recurse(&it, &meta) &&
        bson_iter_find(&meta, "pos") && BSON_ITER_HOLDS_UTF8(&meta)) {
      s.has_pos = true;
      s.pos = bson_iter_utf8(&meta, nullptr);
    }
    out[key_bytes_of(doc)] = std::move(s);
  }
  bson_error_t error{};
  if (mongoc_cursor_error(cursor.get(), &error))
    throw_mongo_error(error, "reading positions from " + targets_.get(target).ns());
}

void Guard::apply(const Batch& batch, size_t begin, size_t end, Stats& stats) {
  // A compare-and-set that found another position there lost a race with another writer: decide
  // again from a fresh read (what this attempt wrote is then not newer, and passed over).
  for (int attempt = 0; attempt < 20; ++attempt)
    if (apply_once(batch, begin, end, stats)) return;
  fail(ErrorKind::kUnavailable, "--guard writes kept losing races with other writers (20 attempts)");
}

bool Guard::apply_once(const Batch& batch, size_t begin, size_t end, Stats& stats) {
  const auto& ops = batch.ops();
  struct Doc {
    uint32_t target;
    std::string_view key;
    std::vector<uint32_t> ops;
  };
  std::vector<Doc> docs;
  std::map<std::pair<uint32_t, std::string_view>, size_t> index;
  for (size_t i = begin; i < end; ++i) {
    const Op& op = ops[i];
    if (op.kind == OpKind::kClear) continue;
    auto [it, added] = index.try_emplace({op.target, batch.key(op)}, docs.size());
    if (added) docs.push_back(Doc{op.target, batch.key(op), {}});
    docs[it->second].ops.push_back(static_cast<uint32_t>(i));
  }
  std::stable_sort(docs.begin(), docs.end(), [](const Doc& a, const Doc& b) { return a.target < b.target; });
  for (Doc& doc : docs)
    std::sort(doc.ops.begin(), doc.ops.end(), [&](uint32_t a, uint32_t b) { return ops[a].pos < ops[b].pos; });

  uint64_t applied = 0, stale = 0;
  bool lost = false;
  store_.retrying("applying guarded writes", [&] {
    applied = stale = 0;
    lost = false;
    for (size_t g0 = 0; g0 < docs.size();) {
      uint32_t target = docs[g0].target;
      size_t g1 = g0;
      while (g1 < docs.size() && docs[g1].target == target) ++g1;
      purge_tombstones(target);
      const std::string ns = targets_.get(target).ns();
      std::string what = "writing to " + ns;
      for (size_t c0 = g0; c0 < g1; c0 += kChunk) {
        size_t c1 = std::min(g1, c0 + kChunk);
        TurnLock turn(*this, target);
        std::string marker = read_marker(ns);
        std::vector<std::string_view> keys;
        for (size_t d = c0; d < c1; ++d) keys.push_back(docs[d].key);
        std::unordered_map<std::string, Stored> stored;
        read_positions(target, keys, stored);

        MongoBulk inserts;
        std::vector<std::pair<MongoBulk, size_t>> updates;
        bson_error_t error{};
        for (size_t d = c0; d < c1; ++d) {
          const Doc& doc = docs[d];
          auto s = stored.find(std::string(doc.key));
          const Stored* st = s == stored.end() ? nullptr : &s->second;
          // Fold the ops newer than the stored position and the TRUNCATE marker, in position order.
          enum class State { kNone, kWhole, kFields, kDeleted } state = State::kNone;
          std::string body, top;
          for (uint32_t i : doc.ops) {
            std::string p = encode_position(ops[i].pos);
            if ((st != nullptr && st->has_pos && p <= st->pos) || (!marker.empty() && p <= marker) ||
                (!top.empty() && p <= top)) {
              ++stale;
              continue;
            }
            top = p;
            ++applied;
            const Op& op = ops[i];
            switch (op.kind) {
              case OpKind::kInsert:
              case OpKind::kReplace:
                body.assign(batch.doc(op));
                state = State::kWhole;
                break;
              case OpKind::kDelete: state = State::kDeleted; break;
              case OpKind::kSet:
                if (state == State::kWhole || state == State::kFields) {
                  body = merge_fields(body, batch.doc(op));
                } else if (state == State::kDeleted) {
                  body = document_from_fields(doc.key, batch.doc(op));
                  state = State::kWhole;
                } else {
                  body.assign(batch.doc(op));
                  state = State::kFields;
                }
                break;
              case OpKind::kClear: break;
            }
          }
          if (state == State::kNone) continue;
          bson_t key = view_of(doc.key);
          Bson out;
          if (state == State::kDeleted) {
            Bson id;
            bson_iter_t it;
            if (bson_iter_init_find(&it, &key, "_id")) bson_append_iter(id.get(), "_id", 3, &it);
            with_position(out, id.bytes(), top, true);
          } else if (state == State::kWhole) {
            with_position(out, body, top, false);
          } else if (st == nullptr) {
            with_position(out, document_from_fields(doc.key, body), top, false);
          }
          if (st == nullptr) {
            if (!inserts) {
              Bson o;
              BSON_APPEND_BOOL(o.get(), "ordered", false);
              inserts.reset(mongoc_collection_create_bulk_operation_with_opts(store_.collection(target), o.get()));
            }
            if (!mongoc_bulk_operation_insert_with_opts(inserts.get(), out.get(), nullptr, &error))
              fail(ErrorKind::kData, what + ": " + error.message);
            continue;
          }
          // Compare-and-set on the position read (absent for documents an ordered pipeline wrote).
          Bson filter;
          bson_iter_t it;
          if (bson_iter_init_find(&it, &key, "_id")) bson_append_iter(filter.get(), "_id", 3, &it);
          if (st->has_pos) {
            bson_append_utf8(filter.get(), "_rowpipe.pos", 12, st->pos.data(), static_cast<int>(st->pos.size()));
          } else {
            bson_t ex;
            bson_append_document_begin(filter.get(), "_rowpipe.pos", 12, &ex);
            bson_append_bool(&ex, "$exists", 7, false);
            bson_append_document_end(filter.get(), &ex);
          }
          if (updates.empty() || updates.back().second >= store_.update_chunk()) {
            Bson o;
            BSON_APPEND_BOOL(o.get(), "ordered", true);
            updates.emplace_back(
                MongoBulk(mongoc_collection_create_bulk_operation_with_opts(store_.collection(target), o.get())), 0);
          }
          mongoc_bulk_operation_t* bulk = updates.back().first.get();
          ++updates.back().second;
          bool ok = false;
          if (state == State::kFields) {
            Bson update;
            bson_t set, unset;
            bson_append_document_begin(update.get(), "$set", 4, &set);
            bson_t fields = view_of(body);
            bson_iter_t f;
            bson_iter_init(&f, &fields);
            while (bson_iter_next(&f))
              bson_append_iter(&set, bson_iter_key(&f), static_cast<int>(bson_iter_key_len(&f)), &f);
            bson_append_utf8(&set, "_rowpipe.pos", 12, top.data(), static_cast<int>(top.size()));
            bson_append_document_end(update.get(), &set);
            bson_append_document_begin(update.get(), "$unset", 6, &unset);
            bson_append_utf8(&unset, "_rowpipe.deleted", 16, "", 0);
            bson_append_document_end(update.get(), &unset);
            ok = mongoc_bulk_operation_update_one_with_opts(bulk, filter.get(), update.get(), nullptr, &error);
          } else {
            ok = mongoc_bulk_operation_replace_one_with_opts(bulk, filter.get(), out.get(), nullptr, &error);
          }
          if (!ok) fail(ErrorKind::kData, what + ": " + error.message);
        }
        if (inserts) {
          Bson reply;
          bool ok = mongoc_bulk_operation_execute(inserts.get(), reply.get(), &error) != 0;
          if (!ok) {
            // Duplicate keys: another writer created the document meanwhile; anything else fails.
            bson_iter_t it, errs;
            bool other = !bson_iter_init_find(&it, reply.get(), "writeErrors") || !bson_iter_recurse(&it, &errs);
            while (!other && bson_iter_next(&errs)) {
              bson_iter_t code;
              other = !BSON_ITER_HOLDS_DOCUMENT(&errs) || !bson_iter_recurse(&errs, &code) ||
                      !bson_iter_find(&code, "code") || bson_iter_as_int64(&code) != 11000;
            }
            if (other) throw_mongo_error(error, what);
            lost = true;
          }
        }
        for (auto& [bulk, count] : updates) {
          Bson reply;
          if (mongoc_bulk_operation_execute(bulk.get(), reply.get(), &error) == 0) throw_mongo_error(error, what);
          bson_iter_t it;
          if (bson_iter_init_find(&it, reply.get(), "nMatched") && BSON_ITER_HOLDS_NUMBER(&it) &&
              static_cast<size_t>(bson_iter_as_int64(&it)) < count)
            lost = true;  // a position changed since it was read
        }
        // A TRUNCATE recorded while this chunk was written: delete what it covers here too.
        std::string now = read_marker(ns);
        if (!now.empty() && now != marker) delete_older(target, now, "TRUNCATE");
      }
      g0 = g1;
    }
  });
  if (lost) return false;
  stats.rows += applied;
  stats.stale += stale;
  return true;
}

void Guard::finish(Stats& stats) { (void)stats; }

}  // namespace rowpipe::mongo_sink
