// Events to batches of writes, group commit, checkpoints and acknowledgements.
#include "sink.hpp"

#include <algorithm>

#include "cli/error.hpp"
#include "cli/failpoint.hpp"
#include "cli/log.hpp"
#include "event/ddl.hpp"
#include "guard.hpp"
#include "refetch.hpp"

namespace rowpipe::mongo_sink {
namespace {

using Clock = std::chrono::steady_clock;

const JsonValue& empty_object() {
  static const JsonValue object(rapidjson::kObjectType);
  return object;
}

ValueRules rules_of(const Config& c) {
  ValueRules r;
  r.decimal = c.decimal;
  r.datetime = c.datetime;
  return r;
}

}  // namespace

Sink::Sink(const Config& config, const MapFile* map, LineSource& source, AckWriter* ack)
    : config_(config), source_(source), ack_(ack) {
  mapper_ = std::make_unique<Mapper>(config, map, rules_of(config));
  StoreOptions so;
  so.timeout = std::chrono::seconds(config.timeout_s);
  so.retry_for = std::chrono::seconds(config.retry_s);
  so.name = config.sink.name;
  store_ =
      std::make_unique<Store>(parse_url(resolve_url_argument(config.mongo), Scheme::kMongodb), so, mapper_->targets());
  if (config.guard || config.reconcile) guard_ = std::make_unique<Guard>(config, *store_, mapper_->targets());
  if (!config.refetch.empty()) refetcher_ = std::make_unique<Refetcher>(config);
  batch_started_ = Clock::now();
}

Sink::~Sink() = default;

void Sink::open() {
  store_->open();
  const MongoServerInfo& info = store_->info();
  if (info.is_ferretdb()) {
    // FerretDB v1 closes the connection on a Decimal128 instead of refusing the document: say so per
    // line before sending one.
    ValueRules r = mapper_->rules();
    r.lacks_decimal128 = info.describe();
    mapper_->set_rules(r);
  }
  if (guard_) {
    guard_->open();
    return;
  }
  pending_ = confirmed_ = store_->stored_at_open();
  if (pending_) log::info("MongoDB " + store_->where() + ": resuming after " + pending_->to_json());
  batch_started_ = Clock::now();
}

std::string Sink::last_applied() const {
  if (guard_) return {};
  if (!confirmed_) return "nothing applied yet";
  return confirmed_->applied ? confirmed_->applied->str() : confirmed_->binlog.str();
}

void Sink::begin_unit(const Event& e) {
  unit_open_ = true;
  unit_chunked_ = false;
  unit_base_ = pending_ ? pending_->binlog : e.binlog;
  unit_last_.reset();
  unit_first_line_ = source_.lines_read();
  unit_rows_ = 0;
}

void Sink::commit_unit(const Position& binlog, const Event& e, const std::optional<RowPosition>& applied) {
  unit_open_ = false;
  if (!pending_) pending_.emplace();
  // Assigned in place: the strings keep their capacity from one transaction to the next.
  pending_->binlog.file.assign(binlog.file);
  pending_->binlog.offset = binlog.offset;
  pending_->server_id = e.server_id;
  pending_->gtid.assign(e.gtid);
  pending_->applied = applied;
  lines_done_ = source_.lines_read();
  batch_rows_ += unit_rows_;
  unit_rows_ = 0;
  if (units_.size() <= unit_count_) units_.emplace_back();
  UnitEnd& u = units_[unit_count_++];
  u.mark = batch_.mark();
  u.checkpoint.binlog.file.assign(pending_->binlog.file);
  u.checkpoint.binlog.offset = pending_->binlog.offset;
  u.checkpoint.server_id = pending_->server_id;
  u.checkpoint.gtid.assign(pending_->gtid);
  u.checkpoint.applied = pending_->applied;
  u.lines = lines_done_;
  u.rows = batch_rows_;
  if (batch_.bytes() >= config_.batch_bytes || batch_rows_ >= config_.batch_rows ||
      Clock::now() - batch_started_ >= std::chrono::milliseconds(config_.sink.idle_ms))
    flush();
}

void Sink::sync_dead_letters() {
  if (source_.dead_lettered() != dead_synced_) {
    source_.sync_dead_letter();
    dead_synced_ = source_.dead_lettered();
  }
  if (refused_) refused_->sync();
}

void Sink::checkpoint(const Checkpoint& ck, uint64_t lines) {
  if (!guard_ && (!confirmed_ || compare_checkpoints(ck, *confirmed_) > 0)) {
    sync_dead_letters();
    store_->write_checkpoint(ck);
    confirmed_ = ck;
    failpoint("after-checkpoint");
  } else if (guard_) {
    sync_dead_letters();
  }
  if (ack_ != nullptr) ack_->ack(lines);
}

void Sink::flush() {
  batch_started_ = Clock::now();
  if (unit_count_ == 0) {
    if (!unit_open_ && batch_.empty() && ack_ != nullptr) ack_->ack(lines_done_);
    return;
  }
  const UnitEnd& last = units_[unit_count_ - 1];
  if (!apply_batch(last.mark.ops)) return;
  failpoint("after-bulk");
  stats_.rows += last.rows - std::min(last.rows, refused_in_batch_);
  refused_in_batch_ = 0;
  checkpoint(last.checkpoint, last.lines);
  batch_.drop_before(last.mark);
  unit_count_ = 0;
  batch_rows_ = 0;
}

bool Sink::flush_guarded() {
  // A line the server refused and that could not be set aside stops the tool: what follows it in
  // the batch is not applied, so it is not acknowledged either (apply_line_by_line acked up to it).
  if (!batch_.empty() && !apply_batch(batch_.ops().size())) return false;
  batch_.clear();
  sync_dead_letters();
  if (ack_ != nullptr) ack_->ack(guard_->lines_done());
  return true;
}

void Sink::flush_chunk(const RowPosition& applied) {
  // A transaction too large to hold (or fenced): write what is held, and record how far it got.
  batch_started_ = Clock::now();
  if (!apply_batch(batch_.ops().size())) return;
  failpoint("after-bulk");
  Checkpoint ck{unit_base_, pending_ ? pending_->server_id : std::nullopt, pending_ ? pending_->gtid : std::string(),
                applied};
  stats_.rows += batch_rows_ + unit_rows_ - std::min(batch_rows_ + unit_rows_, refused_in_batch_);
  refused_in_batch_ = 0;
  checkpoint(ck, unit_count_ > 0 ? units_[unit_count_ - 1].lines : lines_done_);
  batch_.clear();
  unit_count_ = 0;
  batch_rows_ = 0;
  unit_rows_ = 0;
  unit_chunked_ = true;
}

bool Sink::apply_batch(size_t op_end) {
  if (op_end == 0) return true;
  try {
    if (guard_) {
      guard_->apply(batch_, 0, op_end, stats_);
    } else {
      plan_.build(batch_, 0, op_end);
      store_->apply(plan_, apply_stats_);
    }
    return true;
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::kData) throw;  // not this data: permission, config, outage
    log::info(std::string("the server refused a write (") + e.what() + "): applying the batch line by line");
    return apply_line_by_line(op_end);
  }
}

bool Sink::apply_line_by_line(size_t op_end) {
  const auto& ops = batch_.ops();
  for (size_t i = 0; i < op_end;) {
    uint32_t line = ops[i].line;
    size_t j = i;
    while (j < op_end && ops[j].line == line) ++j;
    try {
      if (guard_) {
        guard_->apply(batch_, i, j, stats_);
      } else {
        plan_.build(batch_, i, j);
        store_->apply(plan_, apply_stats_);
      }
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::kData) throw;  // not this data: permission, config, outage
      if (!refuse_line(line, e.what())) {
        if (guard_) {
          // Stop: the lines before this one are applied (or set aside); acknowledge just those.
          sync_dead_letters();
          uint64_t number = batch_.number(line);
          if (ack_ != nullptr && number > 0) ack_->ack(number - 1);
          return false;
        }
        // Stop: what came before this line is applied; checkpoint the last transaction it completed.
        for (size_t u = unit_count_; u-- > 0;) {
          if (units_[u].mark.lines <= line) {
            stats_.rows += units_[u].rows;
            checkpoint(units_[u].checkpoint, units_[u].lines);
            break;
          }
        }
        return false;
      }
    }
    i = j;
  }
  return true;
}

bool Sink::refuse_line(uint32_t line, const std::string& reason) {
  std::string where(batch_.where(line));
  const auto& input = config_.sink.input;
  if (input.dead_letter.empty() || source_.dead_lettered() + refused_count_ >= input.max_errors) {
    stop_reason_ = where + ": " + reason;
    if (!input.dead_letter.empty())
      stop_reason_ += " (more than --max-errors " + std::to_string(input.max_errors) + " bad lines)";
    return false;
  }
  if (!refused_) {
    source_.sync_dead_letter();  // keep the file in input order as far as can be
    refused_ = std::make_unique<DeadLetter>(input.dead_letter);
  }
  log::write(log::Level::kError, where, reason + "; set aside in " + input.dead_letter);
  refused_->write_line(batch_.text(line));
  refused_->sync();
  ++refused_count_;
  ++refused_in_batch_;
  ++stats_.refused;
  return true;
}

void Sink::add_line() { batch_.add_line(source_.line(), source_.where(), source_.lines_read()); }

void Sink::end_row(const Event& e) {
  RowPosition pos = e.row_position();
  unit_last_ = pos;
  ++unit_rows_;
  if (e.seed) {
    commit_unit(e.binlog, e, pos);
  } else if (e.commit && e.next) {
    commit_unit(*e.next, e, std::nullopt);
  } else if (batch_.bytes() >= 2 * config_.batch_bytes || batch_rows_ + unit_rows_ >= 2 * config_.batch_rows) {
    flush_chunk(pos);
  }
}

void Sink::on_event(const Event& e) {
  if (!stop_reason_.empty()) return;
  if (guard_) {
    // TRUNCATE, DROP and a --reconcile SNAPSHOT_END act on what is written: the rows held before
    // them (the snapshot's own, for SNAPSHOT_END) are written first.
    if (guard_->barrier(e) && !flush_guarded()) return;
    guard_->on_event(e, *mapper_, batch_, source_, stats_);
    if (guard_->should_flush(batch_)) flush_guarded();
    return;
  }
  RowPosition pos = e.row_position();
  if (!unit_open_ && pending_ && pending_->covers(pos)) {
    // Already applied (a replay), or a line the stream repeats: nothing to do.
    ++stats_.skipped;
    lines_done_ = source_.lines_read();
    return;
  }
  switch (e.type) {
    case EventType::kInsert:
    case EventType::kUpdate:
    case EventType::kDelete: {
      TableInfo& t = mapper_->table(e.db, e.table);
      if (refetcher_) {
        refetcher_->fetch(e, t, *mapper_);
        bool open = unit_open_;
        if (!open) begin_unit(e);
        add_line();
        refetcher_->emit(batch_);
        end_row(e);
        return;
      }
      apply_row(e, t);
      return;
    }
    case EventType::kDdl: apply_ddl(e); return;
    case EventType::kHeartbeat:
      if (!unit_open_ && e.next) commit_unit(*e.next, e, std::nullopt);
      return;
    case EventType::kSnapshotBegin:
    case EventType::kSnapshotEnd:
      if (!unit_open_) begin_unit(e);
      if (e.commit && e.next) commit_unit(*e.next, e, std::nullopt);
      return;
  }
}

void Sink::apply_row(const Event& e, TableInfo& t) {
  // Everything is mapped before anything is held, so a row that cannot be mapped leaves no trace.
  switch (e.type) {
    case EventType::kInsert: {
      uint32_t target = mapper_->target(e, t, *e.after);
      mapper_->key(key_new_, e, t, *e.after);
      mapper_->document(doc_, e, t, *e.after, key_new_);
      if (!unit_open_) begin_unit(e);
      add_line();
      batch_.add(OpKind::kInsert, target, key_new_.bytes(), doc_.bytes());
      break;
    }
    case EventType::kDelete: {
      uint32_t target = mapper_->target(e, t, *e.before);
      mapper_->key(key_old_, e, t, *e.before);
      if (!unit_open_) begin_unit(e);
      add_line();
      batch_.add(OpKind::kDelete, target, key_old_.bytes(), {});
      break;
    }
    case EventType::kUpdate: {
      uint32_t old_target = mapper_->target(e, t, *e.before);
      mapper_->key(key_old_, e, t, *e.before);
      if (e.partial) {
        uint32_t new_target = mapper_->target(e, t, *e.after, e.before);
        mapper_->key(key_new_, e, t, *e.after, e.before);
        if (new_target != old_target || key_new_.bytes() != key_old_.bytes()) {
          move_partial(e, t, old_target, new_target);
          return;
        }
        mapper_->fields(fields_, e, t, *e.after);
        if (!unit_open_) begin_unit(e);
        add_line();
        batch_.add(OpKind::kSet, old_target, key_old_.bytes(), fields_.bytes());
        break;
      }
      uint32_t new_target = mapper_->target(e, t, *e.after);
      mapper_->key(key_new_, e, t, *e.after);
      mapper_->document(doc_, e, t, *e.after, key_new_);
      if (!unit_open_) begin_unit(e);
      add_line();
      if (new_target == old_target && key_new_.bytes() == key_old_.bytes()) {
        batch_.add(OpKind::kReplace, new_target, key_new_.bytes(), doc_.bytes());
      } else {
        // The key changed: the row moves to its new _id; the new one cannot have existed.
        batch_.add(OpKind::kDelete, old_target, key_old_.bytes(), {});
        batch_.add(OpKind::kInsert, new_target, key_new_.bytes(), doc_.bytes());
      }
      break;
    }
    default: return;
  }
  end_row(e);
}

void Sink::move_partial(const Event& e, TableInfo& t, uint32_t old_target, uint32_t new_target) {
  // A partial image that changes the key: the new document is the stored old one with the changed
  // columns put over it. That read makes this write depend on what MongoDB holds, so it is fenced: all
  // before it is applied and checkpointed first, and its own checkpoint follows at once, so that a
  // replay after a crash reads the same old document (or finds it moved already) and writes the same.
  mapper_->fields(fields_, e, t, *e.after);
  if (unit_open_ && unit_last_ && unit_rows_ > 0) {
    flush_chunk(*unit_last_);
  } else {
    flush();
  }
  if (!stop_reason_.empty()) return;
  if (!unit_open_) begin_unit(e);
  auto old = store_->find(old_target, key_old_.bytes());
  add_line();
  if (old) {
    // The old document's fields under the new _id, the image's columns over them.
    bson_t stored;
    bson_init_static(&stored, reinterpret_cast<const uint8_t*>(old->data()), old->size());
    bson_t rest = BSON_INITIALIZER;
    bson_copy_to_excluding_noinit(&stored, &rest, "_id", nullptr);
    std::string moved =
        document_from_fields(key_new_.bytes(), {reinterpret_cast<const char*>(bson_get_data(&rest)), rest.len});
    bson_destroy(&rest);
    batch_.add(OpKind::kInsert, new_target, key_new_.bytes(), merge_fields(moved, fields_.bytes()));
  } else {
    batch_.add(OpKind::kSet, new_target, key_new_.bytes(), fields_.bytes());
  }
  batch_.add(OpKind::kDelete, old_target, key_old_.bytes(), {});
  RowPosition pos = e.row_position();
  unit_last_ = pos;
  ++unit_rows_;
  if (e.seed) {
    commit_unit(e.binlog, e, pos);
    flush();
  } else if (e.commit && e.next) {
    commit_unit(*e.next, e, std::nullopt);
    flush();
  } else {
    flush_chunk(pos);
  }
}

void Sink::apply_ddl(const Event& e) {
  RowPosition pos = e.row_position();
  DdlKind kind = classify_ddl(e.sql);
  std::string_view sql = e.sql.substr(0, 100);
  std::string shown = std::string(sql) + (e.sql.size() > 100 ? "..." : "");
  bool done = false;
  if (kind != DdlKind::kOther && !config_.ignore_ddl && !e.db.empty() && !e.table.empty()) {
    TableInfo& t = mapper_->table(e.db, e.table);
    std::optional<uint32_t> target;
    try {
      target = mapper_->target(e, t, empty_object());
    } catch (const Error&) {
      // Names built from row values: no one collection is the table's.
    }
    if (!target || !t.owns_target || !t.target) {
      log::warning(source_.where() + ": " + shown + ": not applied: the collection of " + t.qualified +
                   " is not its own (--database/--collection name it by row values, or without {db} and {table})");
    } else if (kind == DdlKind::kTruncate) {
      if (!unit_open_) begin_unit(e);
      add_line();
      batch_.add(OpKind::kClear, *target, {}, {});
      log::info(source_.where() + ": TRUNCATE " + t.qualified + ": emptying " + mapper_->targets().get(*target).ns());
      done = true;
    } else {
      // Everything before the statement is applied first; dropping twice (a replay) is harmless.
      if (unit_open_ && unit_last_ && unit_rows_ > 0)
        flush_chunk(*unit_last_);
      else
        flush();
      if (!stop_reason_.empty()) return;
      store_->drop(*target);
      ++stats_.dropped;
      log::info(source_.where() + ": DROP TABLE " + t.qualified + ": dropped " + mapper_->targets().get(*target).ns());
      done = true;
    }
  }
  if (!done) {
    ++stats_.ddl;
    log::info(source_.where() + ": DDL passed over: " + shown);
  }
  if (!unit_open_) begin_unit(e);
  if (e.commit && e.next)
    commit_unit(*e.next, e, std::nullopt);
  else
    commit_unit(e.binlog, e, pos);
}

void Sink::on_set_aside(const Event& e) {
  if (guard_ || !stop_reason_.empty()) return;
  RowPosition pos = e.row_position();
  if (!unit_open_ && pending_ && pending_->covers(pos)) return;
  if (e.seed && is_row_event(e.type)) {
    if (!unit_open_) begin_unit(e);
    commit_unit(e.binlog, e, pos);
  } else if (e.commit && e.next) {
    if (!unit_open_) begin_unit(e);
    commit_unit(*e.next, e, std::nullopt);
  }
}

void Sink::on_idle() {
  if (!stop_reason_.empty()) return;
  if (guard_) {
    flush_guarded();
    return;
  }
  flush();
}

void Sink::finish(bool stopping) {
  if (!stop_reason_.empty()) return;
  if (guard_) {
    on_idle();
    guard_->finish(stats_);
    return;
  }
  if (unit_open_) {
    uint64_t lines = source_.lines_read() - unit_first_line_ + 1;
    log::warning(std::string(stopping ? "stopped" : "input ended") + " inside the transaction that follows " +
                 unit_base_.str() + " (" + std::to_string(lines) + (lines == 1 ? " line" : " lines") +
                 " read of it): not applied" + (unit_chunked_ ? " beyond the chunks already applied" : "") +
                 "; the next run gets it whole");
  }
  flush();
  stats_.cleared = apply_stats_.cleared;
}

}  // namespace rowpipe::mongo_sink
