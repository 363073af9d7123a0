// Events to Redis commands, group commit, checkpoints and acknowledgements.
#include "sink.hpp"

#include <time.h>

#include <algorithm>
#include <charconv>

#include "cli/error.hpp"
#include "cli/failpoint.hpp"
#include "cli/log.hpp"
#include "clients/url.hpp"
#include "event/json_writer.hpp"
#include "purge.hpp"
#include "resp.hpp"

namespace rowpipe::redis_sink {
namespace {

using Clock = std::chrono::steady_clock;

// How often (in rows) the socket is served between batch closes: often enough that a batch waiting
// behind the EXEC barrier is released soon after the previous one is confirmed.
constexpr uint64_t kPumpEveryRows = 64;

// The batch age is checked once per transaction: a few milliseconds of resolution is plenty, and the
// coarse clock costs no more than reading memory.
Clock::time_point coarse_now() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return Clock::time_point(std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec));
}

// Assigns the position of `e` to `out` in place: its file name keeps its storage from row to row.
void assign_row_position(RowPosition& out, const Event& e) {
  out.pos.file.assign(e.binlog.file);
  out.pos.offset = e.binlog.offset;
  out.row = e.row.value_or(0);
}

// Checkpoint::covers, without parsing the file names' sequence numbers when the row lies in the
// checkpoint's own file (rows follow one another in one binlog file; same name, same sequence).
bool covers(const Checkpoint& c, const RowPosition& pos) {
  if (pos.pos.file == c.binlog.file ? pos.pos.offset < c.binlog.offset : pos.pos < c.binlog) return true;
  return c.applied && pos <= *c.applied;
}

// The --guard compare-and-set script. A row is applied only when its position is after the one
// stored for its key (KEYS[2]) and after the table's last TRUNCATE/DROP (KEYS[3]); a delete leaves its
// position as a tombstone that expires after ARGV[3] seconds.
//   KEYS: row key, position key, table marker[, the table's index set (see purge.hpp)]
//   ARGV: op (h: replace hash, m: merge into hash, j: set JSON, d: delete, p: purge a row older than a
//         TRUNCATE, t: move the table marker forward), position, ttl, ...
//     h: field value ...; m: pair count, field value ..., NULL field ...; j: JSON text
constexpr const char* kGuardScript = R"lua(
local function parse(p)
  local file, off, row = string.match(p, '^(.*):(%d+):(%d+)$')
  return tonumber(string.match(file, '%.(%d+)$')), file, tonumber(off), tonumber(row)
end
local function after(a, b)
  local sa, fa, oa, ra = parse(a)
  local sb, fb, ob, rb = parse(b)
  if sa and sb then
    if sa ~= sb then return sa > sb end
  elseif fa ~= fb then
    return fa > fb
  end
  if oa ~= ob then return oa > ob end
  return ra > rb
end
local function call_slices(cmd, key, first, last, step)
  local i = first
  while i <= last do
    local j = math.min(last, i + step - 1)
    redis.call(cmd, key, unpack(ARGV, i, j))
    i = j + 1
  end
end
local function index(add)
  if KEYS[4] then redis.call(add and 'SADD' or 'SREM', KEYS[4], KEYS[1]) end
end
local op, pos, ttl = ARGV[1], ARGV[2], ARGV[3]
if op == 't' then
  local cut = redis.call('GET', KEYS[3])
  if cut and not after(pos, cut) then return 0 end
  redis.call('SET', KEYS[3], pos, 'EX', ttl)
  return 1
end
local cur = redis.call('GET', KEYS[2])
if op == 'p' then
  if cur and after(cur, pos) then return 0 end
  redis.call('DEL', KEYS[1])
  redis.call('SET', KEYS[2], pos, 'EX', ttl)
  index(false)
  return 1
end
if cur and not after(pos, cur) then return 0 end
local cut = redis.call('GET', KEYS[3])
if cut and not after(pos, cut) then return 0 end
if op == 'd' then
  redis.call('DEL', KEYS[1])
  redis.call('SET', KEYS[2], pos, 'EX', ttl)
  index(false)
  return 1
elseif op == 'h' then
  redis.call('DEL', KEYS[1])
  call_slices('HSET', KEYS[1], 4, #ARGV, 2000)
elseif op == 'm' then
  local n = tonumber(ARGV[4])
  call_slices('HSET', KEYS[1], 5, 4 + 2 * n, 2000)
  call_slices('HDEL', KEYS[1], 5 + 2 * n, #ARGV, 2000)
elseif op == 'j' then
  redis.call('SET', KEYS[1], ARGV[4])
end
redis.call('SET', KEYS[2], pos)
index(true)
return 1
)lua";

}  // namespace

void append_guard_position(std::string& out, const RowPosition& pos) {
  out += pos.pos.file;
  out += ':';
  json::append_int(out, pos.pos.offset);
  out += ':';
  json::append_int(out, pos.row);
}

Sink::Sink(const Config& config, const MapFile* map, LineSource& source, AckWriter* ack)
    : config_(config), guard_(config.guard || config.reconcile), map_(map), source_(source), ack_(ack) {
  link_options_.timeout = std::chrono::seconds(config.timeout_s);
  link_options_.retry_for = std::chrono::seconds(config.retry_s);
  link_options_.checkpoint_key = "rowpipe:checkpoint:" + config.sink.name;
  link_options_.transactional = !guard_;
  if (!guard_) link_options_.purge_key = "rowpipe:purge:" + config.sink.name;
  if (guard_) link_options_.scripts.emplace_back(kGuardScript);
  destinations_ = std::make_unique<Destinations>(config, map, link_options_);
  for (const auto& l : destinations_->links()) links_.push_back(l.get());
  mapper_ = std::make_unique<Mapper>(config, KeyTemplate::compile(config.key));
  tables_ = std::make_unique<TableCache>([this](TableInfo& t) {
    if (map_ != nullptr) t.map = map_->find(t.db, t.table);
    if (t.map != nullptr) {
      t.map_key = t.map->key_views();
      t.filters_columns = !t.map->columns.empty() || !t.map->exclude.empty();
    }
    destinations_->route(t);
    t.recorded.resize(links_.size());
    if (!template_names_table(config_.key)) t.index_key = "rowpipe:index:" + t.qualified;
  });
  if (!config.refetch.empty())
    refetcher_ = std::make_unique<RowLookup>(parse_url(resolve_url_argument(config.refetch), Scheme::kMysql),
                                             std::chrono::seconds(config.retry_s));
  past_stored_.assign(links_.size(), 0);
  marks_.resize(links_.size());

  std::string single;
  const auto& files = config.sink.input.files;
  if (files.empty() || (files.size() == 1 && files[0] == "-"))
    single = "stdin";
  else if (files.size() == 1)
    single = files[0];
  for (Link* l : links_) {
    l->describe_line = [single](LineOrdinal line) {
      return single.empty() ? "input line " + std::to_string(line) : single + ":" + std::to_string(line);
    };
    if (guard_) {
      l->on_guard_confirm = [this](uint64_t applied, uint64_t stale) {
        stats_.rows += applied;
        stats_.stale += stale;
      };
    }
  }
}

Sink::~Sink() = default;

void Sink::open() {
  for (Link* l : links_) l->open();
  if (guard_) return;
  // Lines every instance holds are skipped outright; the oldest checkpoint is where the stream stands.
  bool all = true;
  for (Link* l : links_) {
    const auto& s = l->stored_at_open();
    if (!s) {
      all = false;
      break;
    }
    if (!pending_ || compare_checkpoints(*s, *pending_) < 0) pending_ = s;
  }
  if (!all) pending_.reset();
  closed_ = confirmed_ = pending_;
  for (Link* l : links_) {
    if (l->stored_at_open()) log::info("redis " + l->where() + ": resuming after " + l->stored_at_open()->to_json());
    if (const auto& m = l->interrupted_purge()) {
      log::notice("redis " + l->where() + ": a crash interrupted the purge of " + m->table + " by the statement at " +
                  m->at.str() + " (part of its keys are deleted): it is finished when the input reaches it again");
    }
  }
  batch_started_ = coarse_now();
}

std::string Sink::last_applied() const {
  if (guard_) return {};
  if (!confirmed_) return "nothing applied yet";
  return confirmed_->applied ? confirmed_->applied->str() : confirmed_->binlog.str();
}

bool Sink::covered(const Link& link, const RowPosition& pos) {
  if (past_stored_[link.id()] != 0 || guard_) return false;
  const auto& s = link.stored_at_open();
  if (s && covers(*s, pos)) return true;
  past_stored_[link.id()] = 1;
  return false;
}

void Sink::begin_unit(const Event& e) {
  unit_open_ = true;
  unit_base_ = pending_ ? pending_->binlog : e.binlog;
  unit_has_last_ = false;
  unit_first_line_ = source_.lines_read();
  unit_bytes_ = 0;
  unit_chunked_ = false;
  unit_rows_ = 0;
  for (Link* l : links_) marks_[l->id()] = l->mark();
}

void Sink::commit_unit(const Position& binlog, const Event& e, const std::optional<RowPosition>& applied) {
  unit_open_ = false;
  batch_rows_ += unit_rows_;
  unit_rows_ = 0;
  unit_has_last_ = false;
  unit_bytes_ = 0;
  // Assigned in place: the strings keep their capacity from one transaction to the next.
  if (!pending_) pending_.emplace();
  pending_->binlog.file.assign(binlog.file);
  pending_->binlog.offset = binlog.offset;
  pending_->server_id = e.server_id;
  pending_->gtid.assign(e.gtid);
  pending_->applied = applied;
  lines_done_ = source_.lines_read();
  ++units_in_batch_;
  size_t biggest = 0;
  for (Link* l : links_) biggest = std::max(biggest, l->open_bytes());
  if (biggest >= config_.batch_bytes ||
      coarse_now() - batch_started_ >= std::chrono::milliseconds(config_.sink.idle_ms))
    close_batches(pending_, false, false);
}

void Sink::close_batches(const std::optional<Checkpoint>& checkpoint, bool split, bool chunk) {
  // Commands that would go out: with `split`, only those before the open transaction's mark.
  size_t commands = 0;
  for (Link* l : links_)
    commands += split ? std::min(l->open_commands(), marks_[l->id()].commands) : l->open_commands();
  bool advances = checkpoint && (!closed_ || compare_checkpoints(*checkpoint, *closed_) > 0);
  if (commands == 0 && !advances) {
    // Nothing to send (lines that repeat the checkpoint's position, such as HEARTBEATs): they are done.
    units_in_batch_ = 0;
    batch_started_ = coarse_now();
    settle();
    return;
  }
  // A set-aside line must be on disk before a checkpoint passes it.
  if (source_.dead_lettered() != dead_synced_) {
    source_.sync_dead_letter();
    dead_synced_ = source_.dead_lettered();
  }
  ++seq_;
  for (Link* l : links_) {
    std::optional<Checkpoint> ck;
    const auto& stored = l->stored_at_open();
    if (advances && !guard_ && (!stored || compare_checkpoints(*checkpoint, *stored) > 0)) ck = checkpoint;
    Link::Mark start = l->close_batch(seq_, ck, split ? std::optional<Link::Mark>(marks_[l->id()]) : std::nullopt);
    if (unit_open_) marks_[l->id()] = start;
  }
  if (chunk) {
    batch_rows_ += unit_rows_;
    unit_rows_ = 0;
  }
  acks_.push_back(PendingAck{seq_, lines_done_, batch_rows_, chunk, checkpoint ? *checkpoint : Checkpoint{}});
  batch_rows_ = 0;
  if (advances) closed_ = checkpoint;
  units_in_batch_ = 0;
  batch_started_ = coarse_now();
  // Keep at most two batches in flight per instance: one executing, the next queued behind it.
  for (Link* l : links_) {
    l->pump(Link::Wait::kNone);
    while (l->in_flight() > 2) l->pump(Link::Wait::kOne);
  }
  settle();
}

void Sink::settle() {
  uint64_t upto = seq_;
  for (Link* l : links_)
    if (uint64_t oldest = l->oldest_pending_seq(); oldest != 0) upto = std::min(upto, oldest - 1);
  uint64_t lines = 0;
  bool any = false;
  while (!acks_.empty() && acks_.front().seq <= upto) {
    PendingAck& a = acks_.front();
    if (!a.checkpoint.binlog.empty()) confirmed_ = a.checkpoint;
    lines = a.lines;
    if (!guard_) stats_.rows += a.rows;
    any = true;
    bool chunk = a.chunk;
    acks_.pop_front();
    if (chunk) rowpipe::failpoint("mid-chunk");
  }
  // Nothing pending, not even commands of the line being applied (--guard opens a row's commands
  // before it counts the row): every line read is dealt with (applied, skipped or set aside), once
  // the lines set aside are on disk.
  bool open = std::any_of(links_.begin(), links_.end(), [](const Link* l) { return l->open_commands() != 0; });
  if (acks_.empty() && units_in_batch_ == 0 && !unit_open_ && !open) {
    if (source_.dead_lettered() != dead_synced_) {
      source_.sync_dead_letter();
      dead_synced_ = source_.dead_lettered();
    }
    lines_done_ = source_.lines_read();
    lines = lines_done_;
    any = true;
  }
  if (any && ack_ != nullptr) ack_->ack(lines);
}

void Sink::on_event(const Event& e) {
  assign_row_position(row_pos_, e);
  const RowPosition& pos = row_pos_;
  if (!guard_ && !unit_open_ && pending_ && covers(*pending_, pos)) {
    // Already applied (a replay), or a line the stream repeats: nothing to do.
    ++stats_.skipped;
    lines_done_ = source_.lines_read();
    return;
  }
  switch (e.type) {
    case EventType::kInsert:
    case EventType::kUpdate:
    case EventType::kDelete: {
      TableInfo& t = tables_->get(e.db, e.table);
      if (!guard_ && !unit_open_) begin_unit(e);
      apply_row(e, t);
      if (guard_) {
        lines_done_ = source_.lines_read();
        ++units_in_batch_;
        size_t biggest = 0;
        for (Link* l : links_) biggest = std::max(biggest, l->open_bytes());
        if (biggest >= config_.batch_bytes) close_batches(std::nullopt, false, false);
        return;
      }
      unit_last_.pos.file.assign(pos.pos.file);
      unit_last_.pos.offset = pos.pos.offset;
      unit_last_.row = pos.row;
      unit_has_last_ = true;
      if (e.seed) {
        commit_unit(e.binlog, e, pos);
      } else if (e.commit && e.next) {
        commit_unit(*e.next, e, std::nullopt);
      } else if (unit_bytes_ >= config_.batch_bytes) {
        // A transaction too large for one MULTI: apply what is queued and record how far it got.
        Checkpoint chunk{unit_base_, pending_ ? pending_->server_id : e.server_id,
                         pending_ ? pending_->gtid : std::string(), pos};
        close_batches(chunk, false, true);
        unit_bytes_ = 0;
        unit_chunked_ = true;
      }
      return;
    }
    case EventType::kDdl: apply_ddl(e); return;
    case EventType::kHeartbeat:
      if (guard_) {
        lines_done_ = source_.lines_read();
      } else if (!unit_open_ && e.next) {
        commit_unit(*e.next, e, std::nullopt);
      }
      return;
    case EventType::kSnapshotBegin:
    case EventType::kSnapshotEnd:
      if (guard_) {
        if (config_.reconcile && e.type == EventType::kSnapshotEnd) reconcile(e);
        lines_done_ = source_.lines_read();
        return;
      }
      if (!unit_open_) begin_unit(e);
      if (e.commit && e.next) commit_unit(*e.next, e, std::nullopt);
      return;
  }
}

void Sink::on_set_aside(const Event& e) {
  // The row is out, but its transaction boundary still counts: later lines must not join it.
  if (guard_) {
    lines_done_ = source_.lines_read();
    return;
  }
  if (!is_row_event(e.type)) return;
  if (!unit_open_) begin_unit(e);
  if (e.seed)
    commit_unit(e.binlog, e, e.row_position());
  else if (e.commit && e.next)
    commit_unit(*e.next, e, std::nullopt);
}

void Sink::apply_ddl(const Event& e) {
  RowPosition pos = e.row_position();
  DdlKind kind = classify_ddl(e.sql);
  if (kind != DdlKind::kOther && !config_.ignore_ddl && !e.db.empty() && !e.table.empty()) {
    TableInfo& t = tables_->get(e.db, e.table);
    // Everything before the statement must be in Redis before its keys are looked for.
    if (units_in_batch_ > 0) close_batches(pending_, unit_open_, false);
    for (Link* l : links_) l->pump(Link::Wait::kAll);
    settle();
    PurgeMode mode;
    if (guard_) {
      mode.guard_position.emplace();
      append_guard_position(*mode.guard_position, pos);
    } else {
      mode.marker = PurgeMarker{t.qualified, pos};
      mode.line = source_.lines_read();
    }
    for (Link* l : destinations_->for_table(t)) {
      if (covered(*l, pos)) continue;
      if (guard_) {
        // Rows older than the statement that arrive later must stay out; the marker only moves forward.
        std::string marker = "rowpipe:trunc:" + t.qualified;
        l->call({"EVALSHA", l->script_shas().at(0), "3", marker, marker, marker, "t", *mode.guard_position,
                 std::to_string(config_.tombstone_ttl)});
      }
      uint64_t n = purge_table(*l, *mapper_, config_, t, mode);
      stats_.purged += n;
      log::info(source_.where() + ": " + (kind == DdlKind::kDrop ? "DROP TABLE " : "TRUNCATE ") + t.qualified +
                ": deleted " + std::to_string(n) + " keys on " + l->where());
      if (kind == DdlKind::kDrop) {
        if (guard_) {
          l->call({"HDEL", kTablesKey, t.qualified});
        } else {
          append_command(l->buffer(), {"HDEL", kTablesKey, t.qualified});
          l->note(source_.lines_read());
        }
      }
      if (!t.index_key.empty() && !guard_) {
        append_command(l->buffer(), {"DEL", t.index_key});  // emptied by the purge; gone with it
        l->note(source_.lines_read());
      }
      for (auto& r : t.recorded) r.clear();
    }
  } else {
    ++stats_.ddl;
    for (Link* l : links_) {
      if (const auto& m = l->interrupted_purge(); m && m->at == pos && !guard_) {
        log::warning("redis " + l->where() + ": the purge of " + m->table + " that a crash interrupted is not " +
                     "finished (the statement is passed over now): part of its keys stay deleted");
      }
    }
    std::string_view sql = e.sql.substr(0, 100);
    log::info(source_.where() + ": DDL passed over: " + std::string(sql) + (e.sql.size() > 100 ? "..." : ""));
  }
  if (guard_) {
    lines_done_ = source_.lines_read();
    return;
  }
  if (e.commit && e.next)
    commit_unit(*e.next, e, std::nullopt);
  else
    commit_unit(e.binlog, e, pos);
}

void Sink::reconcile(const Event& e) {
  // The snapshot's rows went in with their positions (P:row) and never over a newer row; what the
  // table holds at a position before P, or at none, the snapshot did not contain: it goes, leaving a
  // tombstone at P:0. Keys written from the live stream after P carry later positions and stay.
  TableInfo& t = tables_->get(e.db, e.table);
  if (units_in_batch_ > 0) close_batches(std::nullopt, false, false);
  for (Link* l : links_) l->pump(Link::Wait::kAll);
  settle();
  std::string threshold;
  append_guard_position(threshold, RowPosition{e.binlog, 0});
  uint64_t n = 0;
  PurgeMode mode;
  mode.guard_position = std::move(threshold);
  for (Link* l : destinations_->for_table(t)) n += purge_table(*l, *mapper_, config_, t, mode);
  stats_.purged += n;
  log::info(source_.where() + ": reconciled " + t.qualified + ": deleted " + std::to_string(n) +
            " keys the snapshot at " + e.binlog.str() + " did not contain");
}

void Sink::emit(Link& link, size_t commands) {
  size_t begin = pieces_.empty() ? 0 : pieces_.back().end;
  if (scratch_.size() == begin) return;
  pieces_.push_back(Piece{&link, begin, scratch_.size(), commands});
}

void Sink::cmd_del(Link& link, const TableInfo& t, std::string_view a, std::string_view b) {
  size_t n = 1;
  if (b.empty()) {
    append_command(scratch_, {"DEL", a});
    if (!t.index_key.empty()) append_command(scratch_, {"SREM", t.index_key, a});
  } else {
    append_command(scratch_, {"DEL", a, b});
    if (!t.index_key.empty()) append_command(scratch_, {"SREM", t.index_key, a, b});
  }
  if (!t.index_key.empty()) ++n;
  emit(link, n);
}

void Sink::index_add(Link& link, const TableInfo& t, std::string_view key) {
  if (t.index_key.empty()) return;
  append_command(scratch_, {"SADD", t.index_key, key});
  emit(link, 1);
}

void Sink::record_table(Link& link, const Event& e, TableInfo& t) {
  if (!mapper_->key_template().uses_pk()) return;
  const auto& cols = mapper_->key_columns(e, t);
  std::vector<std::string>& recorded = t.recorded[link.id()];
  if (std::equal(cols.begin(), cols.end(), recorded.begin(), recorded.end())) return;
  recorded.assign(cols.begin(), cols.end());
  json_.clear();
  json::Writer w(json_);
  w.begin_array();
  for (std::string_view c : cols) w.string(c);
  w.end_array();
  append_command(scratch_, {"HSET", kTablesKey, t.qualified, json_});
  emit(link, 1);
}

void Sink::write_row(Link& link, const std::string& key, const Event& e, const JsonValue& image, TableInfo& t,
                     bool replace) {
  if (config_.store == Store::kJson) {
    json_.clear();
    mapper_->json_row(json_, e, image, t);
    append_command(scratch_, {"SET", key, json_});
    emit(link, 1);
    index_add(link, t, key);
  } else {
    set_.clear();
    nulls_.clear();
    size_t pairs = 0, null_count = 0;
    mapper_->fields(e, image, t, set_, pairs, nulls_, null_count);
    if (pairs == 0) {
      cmd_del(link, t, key);  // a row of NULLs only is no hash at all
    } else {
      size_t n = 1;
      if (replace) {
        append_command(scratch_, {"DEL", key});
        ++n;
      }
      append_header(scratch_, 2 + 2 * pairs);
      append_arg(scratch_, "HSET");
      append_arg(scratch_, key);
      scratch_ += set_;
      emit(link, n);
      index_add(link, t, key);
    }
  }
  record_table(link, e, t);
}

void Sink::merge_row(Link& link, const std::string& key, const Event& e, TableInfo& t) {
  if (config_.store == Store::kJson) {
    fail(ErrorKind::kData,
         "a partial row image cannot be merged into a JSON document (--store json needs "
         "binlog_row_image=FULL)");
  }
  set_.clear();
  nulls_.clear();
  size_t pairs = 0, null_count = 0;
  mapper_->fields(e, *e.after, t, set_, pairs, nulls_, null_count);
  size_t n = 0;
  if (pairs > 0) {
    append_header(scratch_, 2 + 2 * pairs);
    append_arg(scratch_, "HSET");
    append_arg(scratch_, key);
    scratch_ += set_;
    ++n;
  }
  if (null_count > 0) {
    append_header(scratch_, 2 + null_count);
    append_arg(scratch_, "HDEL");
    append_arg(scratch_, key);
    scratch_ += nulls_;
    ++n;
  }
  emit(link, n);
  if (pairs > 0) index_add(link, t, key);
  record_table(link, e, t);
}

void Sink::guard_row(Link& link, const std::string& key, char op, const Event& e, const JsonValue* image,
                     TableInfo& t) {
  guard_pos_.clear();
  append_guard_position(guard_pos_, row_pos_);
  guard_pos_key_.assign("rowpipe:pos:");
  guard_pos_key_ += key;
  guard_marker_.assign("rowpipe:trunc:");
  guard_marker_ += t.qualified;
  set_.clear();
  nulls_.clear();
  size_t pairs = 0, null_count = 0, extra = 0;
  const char op_text[2] = {op, '\0'};
  if (op == 'j') {
    json_.clear();
    mapper_->json_row(json_, e, *image, t);
    extra = 1;
  } else if (op == 'h' || op == 'm') {
    mapper_->fields(e, *image, t, set_, pairs, nulls_, null_count);
    extra = 2 * pairs + (op == 'm' ? 1 + null_count : 0);
  }
  char ttl[24];
  auto [ttl_end, ec] = std::to_chars(ttl, ttl + sizeof ttl, config_.tombstone_ttl);
  (void)ec;
  bool indexed = !t.index_key.empty();
  append_header(scratch_, 9 + extra + (indexed ? 1 : 0));
  append_arg(scratch_, "EVALSHA");
  append_arg(scratch_, link.script_shas().at(0));
  append_arg(scratch_, indexed ? "4" : "3");
  append_arg(scratch_, key);
  append_arg(scratch_, guard_pos_key_);
  append_arg(scratch_, guard_marker_);
  if (indexed) append_arg(scratch_, t.index_key);
  append_arg(scratch_, std::string_view(op_text, 1));
  append_arg(scratch_, guard_pos_);
  append_arg(scratch_, std::string_view(ttl, static_cast<size_t>(ttl_end - ttl)));
  if (op == 'j') append_arg(scratch_, json_);
  if (op == 'm') append_arg(scratch_, static_cast<uint64_t>(pairs));
  scratch_ += set_;
  if (op == 'm') scratch_ += nulls_;
  emit(link, 1);
  if (op != 'd') record_table(link, e, t);
}

void Sink::carry_across(Link& lo, Link& ln, const Event& e, TableInfo& t) {
  // The row moves to another instance and the image holds only the changed columns: the rest must be
  // read from the old instance, so everything before this line is committed first (a chunk recorded
  // with `applied` when the transaction has rows before it). Two instances cannot share a MULTI, so
  // the new row is written and confirmed first, with a checkpoint of the new instance's own that
  // covers it, and only then is the old key deleted: a crash in between leaves both rows, and the
  // restart (the new instance past this line, the old one not) deletes the old key. The other order
  // would lose the row: the old one gone and the new one never written.
  const RowPosition& pos = row_pos_;
  const bool new_done = covered(ln, pos);
  if (new_done) {
    if (!covered(lo, pos)) cmd_del(lo, t, old_key_);
    return;
  }
  if (covered(lo, pos))
    fail(ErrorKind::kData, "cannot move the row from " + lo.where() + " to " + ln.where() +
                               ": the old instance applied this change already and the image is partial");
  if (unit_has_last_) {
    close_batches(Checkpoint{unit_base_, pending_ ? pending_->server_id : e.server_id,
                             pending_ ? pending_->gtid : std::string(), unit_last_},
                  false, true);
    unit_bytes_ = 0;
    unit_chunked_ = true;
  } else if (units_in_batch_ > 0) {
    close_batches(pending_, unit_open_, false);
  }
  for (Link* l : links_) l->pump(Link::Wait::kAll);
  settle();
  RedisReply stored = lo.call({"HGETALL", old_key_});
  std::vector<std::pair<std::string, std::string>> row;
  for (size_t i = 0; i + 1 < stored->elements; i += 2) {
    row.emplace_back(std::string(stored->element[i]->str, stored->element[i]->len),
                     std::string(stored->element[i + 1]->str, stored->element[i + 1]->len));
  }
  size_t index = 0;
  for (const auto& m : e.after->GetObject()) {
    std::string_view column(m.name.GetString(), m.name.GetStringLength());
    ++index;
    std::string_view name = mapper_->output_name(column, t);
    if (name.empty()) continue;
    auto it = std::find_if(row.begin(), row.end(), [&](const auto& f) { return f.first == name; });
    std::string text;
    bool present = append_value_text(text, column, e.type_of(column), m.value);
    if (!present && config_.null_as) {
      text = *config_.null_as;
      present = true;
    }
    if (!present) {
      if (it != row.end()) row.erase(it);
    } else if (it != row.end()) {
      it->second = std::move(text);
    } else {
      row.emplace_back(name, std::move(text));
    }
  }
  if (row.empty()) {
    cmd_del(ln, t, new_key_);
  } else {
    append_command(scratch_, {"DEL", new_key_});
    append_header(scratch_, 2 + 2 * row.size());
    append_arg(scratch_, "HSET");
    append_arg(scratch_, new_key_);
    for (const auto& [f, v] : row) {
      append_arg(scratch_, f);
      append_arg(scratch_, v);
    }
    emit(ln, 2);
    index_add(ln, t, new_key_);
  }
  record_table(ln, e, t);
  commit_pieces();
  scratch_.clear();
  pieces_.clear();
  ++seq_;
  Checkpoint moved{unit_base_, pending_ ? pending_->server_id : e.server_id, pending_ ? pending_->gtid : std::string(),
                   pos};
  marks_[ln.id()] = ln.close_batch(seq_, moved);
  acks_.push_back(PendingAck{seq_, lines_done_, 0, false, Checkpoint{}});
  unit_bytes_ = 0;
  unit_chunked_ = true;
  ln.pump(Link::Wait::kAll);
  settle();
  rowpipe::failpoint("mid-move");
  cmd_del(lo, t, old_key_);
}

void Sink::refetch_row(const Event& e, TableInfo& t) {
  const auto& cols = mapper_->key_columns(e, t);
  if (cols.empty()) {
    fail(ErrorKind::kData, "table " + t.qualified + " has no key columns (no \"pk\" in the line and no --map " +
                               "entry): --refetch reads rows by key");
  }
  // The row as the line knew it (before, after, or both when the key may have changed) is read again.
  const JsonValue* images[2] = {e.key_image(), nullptr};
  if (e.type == EventType::kUpdate) {
    images[0] = e.before;
    bool after_has_key = std::all_of(cols.begin(), cols.end(), [&](std::string_view c) {
      return e.after->HasMember(rapidjson::StringRef(c.data(), c.size()));
    });
    if (after_has_key) images[1] = e.after;
  }
  std::string keys[2];
  for (int i = 0; i < 2; ++i) {
    if (images[i] == nullptr) continue;
    mapper_->key(keys[i], e, *images[i], t);
    if (i == 1 && keys[1] == keys[0]) continue;
    Link& l = destinations_->for_key(t, keys[i]);
    if (refetcher_->fetch(e, cols, *images[i], fresh_line_)) {
      const Event& fresh = fresh_parser_.parse(fresh_line_);
      mapper_->key(fresh_key_, fresh, *fresh.after, t);
      if (fresh_key_ != keys[i]) cmd_del(l, t, keys[i]);
      write_row(destinations_->for_key(t, fresh_key_), fresh_key_, fresh, *fresh.after, t, true);
    } else {
      cmd_del(l, t, keys[i]);
    }
  }
}

void Sink::apply_row(const Event& e, TableInfo& t) {
  scratch_.clear();
  pieces_.clear();
  if (refetcher_) {
    refetch_row(e, t);
    if (commit_pieces() || pieces_.empty())
      ++unit_rows_;
    else
      ++stats_.skipped;
    return;
  }
  const bool json = config_.store == Store::kJson;
  const char full_op = json ? 'j' : 'h';
  switch (e.type) {
    case EventType::kInsert: {
      mapper_->key(new_key_, e, *e.after, t);
      Link& l = destinations_->for_key(t, new_key_);
      if (guard_)
        guard_row(l, new_key_, full_op, e, e.after, t);
      else
        write_row(l, new_key_, e, *e.after, t, e.snapshot);
      break;
    }
    case EventType::kDelete: {
      mapper_->key(old_key_, e, *e.before, t);
      Link& l = destinations_->for_key(t, old_key_);
      if (guard_)
        guard_row(l, old_key_, 'd', e, nullptr, t);
      else
        cmd_del(l, t, old_key_);
      break;
    }
    case EventType::kUpdate: {
      mapper_->key(old_key_, e, *e.before, t);
      if (e.partial)
        mapper_->partial_new_key(new_key_, e, t);
      else
        mapper_->key(new_key_, e, *e.after, t);
      Link& lo = destinations_->for_key(t, old_key_);
      Link& ln = destinations_->for_key(t, new_key_);
      bool moved = old_key_ != new_key_;
      if (guard_) {
        if (e.partial && json) fail(ErrorKind::kData, "--guard cannot merge a partial row image into a JSON document");
        if (moved) guard_row(lo, old_key_, 'd', e, nullptr, t);
        guard_row(ln, new_key_, e.partial ? 'm' : full_op, e, e.after, t);
      } else if (!e.partial) {
        if (!moved) {
          write_row(ln, new_key_, e, *e.after, t, true);
        } else if (&lo == &ln) {
          cmd_del(lo, t, old_key_, new_key_);
          write_row(ln, new_key_, e, *e.after, t, false);
        } else {
          cmd_del(lo, t, old_key_);
          write_row(ln, new_key_, e, *e.after, t, true);
        }
      } else if (!moved) {
        merge_row(ln, new_key_, e, t);
      } else if (&lo == &ln && !json) {
        // The key changed but the image holds only changed columns: carry the stored row over.
        append_command(scratch_, {"COPY", old_key_, new_key_, "REPLACE"});
        emit(lo, 1);
        cmd_del(lo, t, old_key_);
        merge_row(ln, new_key_, e, t);
      } else if (!json) {
        carry_across(lo, ln, e, t);
      } else {
        fail(ErrorKind::kData,
             "a partial UPDATE that changes the key of a row stored as JSON cannot be applied (it needs full "
             "row images)");
      }
      break;
    }
    default: return;
  }
  if (commit_pieces() || pieces_.empty()) {
    if (guard_)
      ++batch_rows_;
    else
      ++unit_rows_;
  } else {
    ++stats_.skipped;
  }
}

bool Sink::commit_pieces() {
  bool check = !guard_;
  bool any = false;
  LineOrdinal line = source_.lines_read();
  for (const Piece& p : pieces_) {
    if (check && covered(*p.link, row_pos_)) continue;
    p.link->buffer().append(scratch_, p.begin, p.end - p.begin);
    p.link->note(line, p.commands);
    unit_bytes_ += p.end - p.begin;
    any = true;
  }
  if (++rows_since_pump_ >= kPumpEveryRows) {
    rows_since_pump_ = 0;
    for (Link* l : links_)
      if (l->in_flight() > 0) l->pump(Link::Wait::kNone);
    settle();
  }
  return any;
}

void Sink::on_idle() {
  if (units_in_batch_ > 0) close_batches(guard_ ? std::nullopt : pending_, unit_open_ && !guard_, false);
  for (Link* l : links_) l->pump(Link::Wait::kAll);
  settle();
}

void Sink::finish() {
  if (unit_open_) {
    uint64_t lines = source_.lines_read() - unit_first_line_ + 1;
    log::warning("input ended inside the transaction that follows " + unit_base_.str() + " (" + std::to_string(lines) +
                 (lines == 1 ? " line" : " lines") + " read of it): not applied" +
                 (unit_chunked_ ? " beyond the chunks already applied" : "") + "; the next run gets it whole");
  }
  on_idle();
}

}  // namespace rowpipe::redis_sink
