// The live loop: a reader thread fetches events from the replica connection into an EventQueue; this
// thread tracks positions (binlog::StreamPosition), decodes (binlog::Decoder into TailSink), writes
// lines at transaction ends, checkpoints what it wrote, writes HEARTBEAT lines when idle, and
// reconnects from the last boundary when the connection breaks.
#include "live_mode.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <ctime>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>

#include "binlog/constants.hpp"
#include "binlog/decoder.hpp"
#include "binlog/reader.hpp"
#include "binlog/stream_position.hpp"
#include "checkpoint_file.hpp"
#include "cli/error.hpp"
#include "cli/failpoint.hpp"
#include "cli/log.hpp"
#include "cli/secret.hpp"
#include "clients/replica.hpp"
#include "dir_output.hpp"
#include "event/json_writer.hpp"
#include "event_queue.hpp"
#include "io/checkpoint.hpp"
#include "io/signals.hpp"
#include "line_output.hpp"
#include "line_sink.hpp"
#include "schema.hpp"
#include "snapshot.hpp"
#include "time_zone.hpp"

namespace rowpipe::tail {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Output is written at a transaction end once this much is buffered (and whenever the stream has
// nothing more for the moment), or inside a transaction at kMaxBuffered.
constexpr size_t kFlushBytes = size_t{1} << 20;
constexpr size_t kMaxBuffered = size_t{2} << 20;
// Raw events read ahead of the decoder.
constexpr size_t kQueueBytes = size_t{4} << 20;
// A stop request inside a transaction waits this long for its end.
constexpr auto kDrainLimit = std::chrono::seconds(5);
// With --dir, files and checkpoint are synced at most this often (and at idle and exit): the files
// are the truth, their tail is recovered on restart.
constexpr auto kSyncEvery = milliseconds(1000);

int64_t epoch_now() { return static_cast<int64_t>(std::time(nullptr)); }

bool is_gtid_event(uint8_t type) {
  return type == binlog::kGtidEvent || type == binlog::kAnonymousGtidEvent || type == binlog::kGtidTaggedEvent ||
         type == binlog::kMariaGtidEvent;
}

milliseconds seconds_ms(double s) { return milliseconds(static_cast<int64_t>(std::llround(s * 1000))); }

// A number of seconds as given: 2, 0.5 (shortest form, not to_string's 2.000000).
std::string seconds_text(double s) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, s);
  return std::string(buf, r.ptr);
}

// Where to stream from.
struct Start {
  Position pos;      // empty with a GTID start
  std::string gtid;  // MariaDB GTID position
  bool current = false;
  bool earliest = false;
};

// A place the output is complete up to: after a transaction (its `next`), or after events outside
// any transaction.
struct Boundary {
  Position pos;
  std::string gtid;
  uint32_t server_id = 0;
};

// The information_schema of the --mysql server (or --schema-from's), connected on first use: for
// tables logged without binlog_row_metadata=FULL.
class LazySchema : public binlog::SchemaProvider {
 public:
  LazySchema(Url url, MysqlOptions options) : url_(std::move(url)), options_(std::move(options)) {}
  const binlog::TableSchema* lookup(std::string_view db, std::string_view table) override {
    if (!schema_) {
      schema_ = std::make_unique<MysqlSchema>(connect_mysql(url_, options_));
      log::info("reading column names from the information_schema of " + url_.redacted());
    }
    return schema_->lookup(db, table);
  }
  void forget(std::string_view db, std::string_view table) {
    if (schema_) schema_->forget(db, table);
  }

 private:
  Url url_;
  MysqlOptions options_;
  std::unique_ptr<MysqlSchema> schema_;
};

// Fetches events on its own thread into the queue until the stream ends, fails, or the object is
// destroyed (which closes the queue and shuts the socket down, then joins).
class ReaderThread {
 public:
  ReaderThread(ReplicaConnection& conn, EventQueue& queue) : conn_(conn), queue_(queue), thread_([this] { run(); }) {}
  ~ReaderThread() {
    queue_.close();
    conn_.interrupt();
    thread_.join();
  }
  ReaderThread(const ReaderThread&) = delete;
  ReaderThread& operator=(const ReaderThread&) = delete;

 private:
  void run() noexcept {
    try {
      while (true) {
        std::span<const uint8_t> ev = conn_.fetch();
        if (ev.empty()) {
          queue_.finish(nullptr);
          return;
        }
        // The consumer frames the queue by the size in each header: it must be the packet's.
        if (ev.size() < binlog::kHeaderLength || binlog::load_le(ev.data() + 9, 4) != ev.size())
          fail(ErrorKind::kProtocol,
               "reading the binlog stream from " + conn_.where() + ": an event whose header size is not the packet's");
        if (!queue_.push(ev)) return;
      }
    } catch (...) {
      queue_.finish(std::current_exception());
    }
  }

  ReplicaConnection& conn_;
  EventQueue& queue_;
  std::thread thread_;
};

class LiveRun {
 public:
  explicit LiveRun(const Config& c)
      : c_(c),
        url_(parse_url(resolve_url_argument(c.mysql), Scheme::kMysql)),
        filter_(c.include, c.exclude, c.events),
        time_format_(make_time_formatter(c.timezone, c.format == binlog::LineFormat::kSeed)),
        checkpoint_(c.checkpoint, !c.dir.empty()) {
    MysqlOptions& m = replica_.mysql;
    m.password_file = c.password_file;
    m.defaults_file = c.defaults_file;
    m.ssl_mode = c.ssl_mode;
    m.ssl_ca = c.ssl_ca;
    m.ssl_cert = c.ssl_cert;
    m.ssl_key = c.ssl_key;
    double read_timeout = c.read_timeout > 0 ? c.read_timeout : std::max(10.0, 4 * c.heartbeat);
    m.read_timeout = static_cast<unsigned>(std::ceil(read_timeout));
    m.write_timeout = m.read_timeout;
    replica_.server_id = c.server_id ? *c.server_id : random_server_id();
    replica_.heartbeat_ms = static_cast<uint32_t>(std::llround(c.heartbeat * 1000));
    replica_.stop_at_end = c.stop_at_end;
    if (!c.schema_from.empty()) {
      MysqlOptions s;
      s.password_file = c.password_file;
      s.defaults_file = c.defaults_file;
      s.read_timeout = 60;
      schema_ = std::make_unique<LazySchema>(parse_url(resolve_url_argument(c.schema_from), Scheme::kMysql), s);
    } else {
      MysqlOptions s = m;
      s.read_timeout = 60;
      schema_ = std::make_unique<LazySchema>(url_, s);
    }
    per_transaction_checkpoint_ = checkpoint_.enabled() && c.dir.empty();
    if (!c.dir.empty()) {
      auto dir = std::make_unique<DirOutput>(c.dir, c.rotate, c.rotate_size, c.format == binlog::LineFormat::kSeed);
      dir_ = dir.get();
      out_ = std::move(dir);
    } else {
      out_ = std::make_unique<StdoutOutput>();
    }
  }

  int run();

 private:
  enum class End { kCaughtUp, kStopped, kTo, kSnapshotOnly };

  Start initial_start();
  void snapshot();
  End connect_and_stream();
  void check_settings(const ServerSettings& s);
  End stream(ReplicaConnection& conn, EventQueue& queue);
  void on_event(std::span<const uint8_t> ev);
  void mark_boundary(const Position& pos);
  void final_heartbeat();
  void flush_out(bool force_sync);
  void write_partial();
  void salvage();
  void checkpoint_now();
  void note_dir_position();
  void stats_if_due(Clock::time_point now, bool force = false);
  bool at_boundary() const { return decoder_ && !decoder_->in_transaction() && !group_open_ && !gtid_unsettled_; }
  int finish(End end);

  const Config& c_;
  Url url_;
  ReplicaOptions replica_;
  Filter filter_;
  binlog::LineEmitter::TimeFormatter time_format_;
  std::unique_ptr<LazySchema> schema_;
  CheckpointFile checkpoint_;
  bool per_transaction_checkpoint_ = false;
  std::unique_ptr<LineOutput> out_;
  DirOutput* dir_ = nullptr;  // out_ when --dir

  Start start_;
  bool resumed_ = false;  // from a checkpoint or --dir's content
  bool settings_reported_ = false;
  uint32_t source_server_id_ = 0;

  // Per connection.
  std::unique_ptr<TailSink> sink_;
  std::unique_ptr<binlog::Decoder> decoder_;
  std::optional<binlog::StreamPosition> tracker_;
  bool group_open_ = false;      // after a GTID event, before its transaction ended
  bool gtid_unsettled_ = false;  // a GTID start before the server said where it continues
  bool streamed_ = false;        // the connection delivered an event

  Position stream_start_;  // where this connection started (as far as earlier lines reached)
  Boundary boundary_;      // the last transaction boundary decoded
  bool boundary_known_ = false;
  size_t committed_bytes_ = 0;    // the sink's complete bytes up to boundary_
  bool partial_written_ = false;  // lines of the open transaction were written out already
  Clock::time_point last_line_ = Clock::now();
  Clock::time_point last_sync_{};  // the first lines of a run are synced at once
  bool unsynced_ = false;
  bool uncheckpointed_ = false;  // lines written since the last checkpoint

  // Totals and stats.
  uint64_t events_ = 0, rows_ = 0, transactions_ = 0, reconnects_ = 0;
  uint32_t last_event_ts_ = 0;
  bool server_idle_ = false;
  Clock::time_point next_stats_ = Clock::now();
  uint64_t stats_events_ = 0;
  Clock::time_point stats_at_ = Clock::now();
};

Start LiveRun::initial_start() {
  Start s;
  // --dir continues its files: after their last complete transaction (native lines say where; seed
  // files have a position record), which the checkpoint (written after them) never passes. A torn
  // tail is cut off first.
  std::optional<Checkpoint> in_dir;
  if (dir_) {
    in_dir = dir_->recover();
    if (dir_->recovered_bytes() > 0)
      log::notice("--dir " + c_.dir + ": cut " + std::to_string(dir_->recovered_bytes()) +
                  " bytes of a torn line or transaction off the end of its last file");
    if (!in_dir && dir_->position_record() && !dir_->file().empty())
      log::notice("--dir " + c_.dir +
                  " has no position record (.binlog-tail.position) yet: continuing its last file from --resume or "
                  "--from; lines written after that position are written again");
  }
  std::optional<Checkpoint> cp;
  if (!c_.resume.empty()) {
    cp = read_checked_checkpoint(c_.resume);
    if (!cp && !in_dir)
      log::info("no checkpoint in " + c_.resume + " yet: starting from --from " +
                (c_.from_text.empty() ? std::string("current") : c_.from_text));
  }
  if (in_dir && (!cp || compare(cp->binlog, in_dir->binlog) <= 0)) {
    if (!cp && !c_.from_text.empty())
      log::notice("--dir " + c_.dir + " continues after its last transaction, at " + in_dir->binlog.str() +
                  ": --from " + c_.from_text + " is not used");
    cp = in_dir;
    log::info("continuing --dir " + c_.dir + " after its last complete transaction, at " + cp->binlog.str());
  } else if (cp) {
    log::info("resuming from " + cp->binlog.str() + " (checkpoint " + c_.resume + ")");
  }
  if (cp) {
    s.pos = cp->binlog;
    boundary_ = Boundary{cp->binlog, cp->gtid, cp->server_id.value_or(0)};
    boundary_known_ = true;
    resumed_ = true;
    note_dir_position();
    return s;
  }
  if (!c_.snapshot.empty()) return s;  // the snapshot says where
  const std::string& f = c_.from_text;
  if (f.empty() || f == "current") {
    s.current = true;
  } else if (f == "earliest") {
    s.earliest = true;
  } else if (is_mariadb_gtid(f)) {
    s.gtid = f;
  } else if (is_mysql_gtid_set(f)) {
    fail(ErrorKind::kUsage, "--from " + f +
                                ": MySQL GTID-set starts need COM_BINLOG_DUMP_GTID, which MariaDB Connector/C does "
                                "not send; give FILE:POS (for example from SHOW BINARY LOG STATUS)");
  } else {
    Position p = position_option("--from", f, "give FILE:POS, a MariaDB GTID position (0-1-42), current or earliest");
    s.pos = p;
    boundary_ = Boundary{p, {}, 0};
    boundary_known_ = true;
    note_dir_position();
  }
  return s;
}

void LiveRun::check_settings(const ServerSettings& s) {
  const std::string& where = url_.redacted();
  if (!s.log_bin) fail(ErrorKind::kConfig, where + ": binary logging is off (start the server with log_bin)");
  if (s.binlog_format != "ROW") {
    std::string msg = where + ": binlog_format is " + (s.binlog_format.empty() ? "unknown" : s.binlog_format) +
                      "; binlog-tail needs ROW (SET GLOBAL binlog_format = ROW, and binlog_format=ROW in the "
                      "server's configuration; sessions keep their format until they reconnect)";
    if (!c_.allow_statements) fail(ErrorKind::kConfig, msg);
    if (!settings_reported_) log::warning(msg + "; --allow-statements: statement-based changes are skipped");
  }
  if (settings_reported_) return;
  settings_reported_ = true;
  if (s.row_image == "MINIMAL" || s.row_image == "NOBLOB")
    log::notice(where + ": binlog_row_image is " + s.row_image +
                ": UPDATE and DELETE lines carry only the columns logged (\"partial\":true); set FULL for whole "
                "rows");
  if (s.row_metadata != "FULL")
    log::notice(where + ": binlog_row_metadata is " + (s.row_metadata.empty() ? "not supported" : s.row_metadata) +
                ": column names, keys and ENUM/SET labels come from information_schema (cached per table, "
                "refreshed after DDL on it); set binlog_row_metadata=FULL so the binlog carries them");
}

// --snapshot: on a first run (no checkpoint, nothing in --dir), the tables' rows at P, then the
// stream from P. A resumed run skips it: an earlier run took it.
void LiveRun::snapshot() {
  std::vector<SnapshotTable> tables = parse_snapshot_tables(c_.snapshot);
  if (resumed_) {
    log::info("--snapshot skipped: resuming from " + boundary_.pos.str() + " (an earlier run took it)");
    return;
  }
  ReplicaOptions o = replica_;
  o.mysql.read_timeout = std::max<unsigned>(o.mysql.read_timeout, 600);
  ReplicaConnection conn(url_, o);
  check_settings(conn.settings());
  SnapshotResult r = write_snapshot(conn.sql(), tables, *out_, time_format_);
  out_->boundary();
  out_->sync();
  last_line_ = Clock::now();
  start_ = Start{};
  start_.pos = r.pos;
  boundary_ = Boundary{r.pos, {}, r.server_id};
  boundary_known_ = true;
  source_server_id_ = r.server_id;
  checkpoint_now();
  log::info("--snapshot: " + std::to_string(r.rows) + " rows of " + std::to_string(tables.size()) + " table(s) at " +
            r.pos.str());
}

int LiveRun::run() {
  start_ = initial_start();
  if (!c_.snapshot.empty()) {
    snapshot();
    if (c_.snapshot_only) return finish(End::kSnapshotOnly);
  }
  long attempts = 0;
  std::optional<Clock::time_point> failing_since;
  std::mt19937 jitter(std::random_device{}());
  while (true) {
    try {
      streamed_ = false;
      End end = connect_and_stream();
      return finish(end);
    } catch (const Error& e) {
      bool retry = e.kind() == ErrorKind::kUnavailable;
      try {
        salvage();
      } catch (const Error& s) {
        if (retry) throw;  // the output failed: that error, not the connection's, is the news
        log::error(s.what());
      }
      if (!retry) throw;
      if (signals::stop_requested()) return finish(End::kStopped);
      if (streamed_) {
        attempts = 0;
        failing_since.reset();
      }
      Clock::time_point now = Clock::now();
      if (!failing_since) failing_since = now;
      ++attempts;
      bool out_of_attempts = c_.max_retries >= 0 && attempts > c_.max_retries;
      bool out_of_time = c_.retry_timeout > 0 && now - *failing_since >= seconds_ms(c_.retry_timeout);
      if (out_of_attempts || out_of_time) {
        std::string why = out_of_attempts ? std::to_string(attempts - 1) + " reconnection attempt(s)"
                                          : "--retry-timeout " + seconds_text(c_.retry_timeout) + " s";
        if (c_.max_retries == 0) throw;
        fail(ErrorKind::kUnavailable, std::string(e.what()) + " (gave up after " + why + ")");
      }
      // 0.1 s doubling to 10 s, with jitter so that replicas of one server do not return in step.
      double base = std::min(10.0, 0.1 * std::pow(2.0, static_cast<double>(std::min<long>(attempts - 1, 10))));
      double wait = base * std::uniform_real_distribution<double>(0.75, 1.25)(jitter);
      // The last wait ends at the --retry-timeout deadline, so that the give-up comes on time.
      if (c_.retry_timeout > 0) {
        double left = c_.retry_timeout - std::chrono::duration<double>(now - *failing_since).count();
        wait = std::max(0.0, std::min(wait, left));
      }
      log::warning(std::string(e.what()) + "; reconnecting in " + std::to_string(wait).substr(0, 4) + " s (attempt " +
                   std::to_string(attempts) + ")");
      ++reconnects_;
      auto until = Clock::now() + seconds_ms(wait);
      while (Clock::now() < until && !signals::stop_requested()) std::this_thread::sleep_for(milliseconds(20));
      if (signals::stop_requested()) return finish(End::kStopped);
    }
  }
}

LiveRun::End LiveRun::connect_and_stream() {
  ReplicaConnection conn(url_, replica_);
  check_settings(conn.settings());
  source_server_id_ = conn.settings().server_id;
  if (start_.current || start_.earliest) {
    if (start_.current) {
      start_.pos = conn.current_position();
    } else {
      auto files = conn.binlog_files();
      if (files.empty()) fail(ErrorKind::kConfig, url_.redacted() + ": the server lists no binary logs");
      start_.pos = Position{files.front().name, 4};
    }
    start_.current = start_.earliest = false;
    boundary_ = Boundary{start_.pos, {}, source_server_id_};
    boundary_known_ = true;
    note_dir_position();
  }
  conn.start(start_.pos, start_.gtid);
  log::info("streaming from " + (start_.gtid.empty() ? start_.pos.str() : "GTID " + start_.gtid) + " of " +
            url_.redacted() + " (" + conn.settings().version + ") as server id " + std::to_string(replica_.server_id));
  EventQueue queue(kQueueBytes);
  ReaderThread reader(conn, queue);
  return stream(conn, queue);
}

LiveRun::End LiveRun::stream(ReplicaConnection& conn, EventQueue& queue) {
  (void)conn;
  sink_ = std::make_unique<TailSink>(c_.format, filter_, time_format_);
  sink_->set_ddl_observer([this](std::string_view db, std::string_view table) { schema_->forget(db, table); });
  binlog::DecoderOptions o;
  o.allow_statements = c_.allow_statements;
  o.follow_rotate = false;  // StreamPosition reads the rotates
  o.max_xa_bytes = c_.max_xa_bytes;
  o.schema = schema_.get();
  decoder_ = std::make_unique<binlog::Decoder>(*sink_, o);
  tracker_.emplace(start_.gtid.empty() ? start_.pos : Position{});
  if (!start_.pos.file.empty() && start_.gtid.empty()) decoder_->set_file(start_.pos.file);
  group_open_ = false;
  gtid_unsettled_ = !start_.gtid.empty();
  committed_bytes_ = 0;
  partial_written_ = false;
  stream_start_ = boundary_known_ ? boundary_.pos : Position{};

  EventQueue::Batch batch;
  std::optional<Clock::time_point> drain_deadline;
  const milliseconds idle = seconds_ms(c_.idle_interval);
  while (true) {
    Clock::time_point now = Clock::now();
    milliseconds wait(100);  // signals are noticed within this
    if (at_boundary() && c_.format == binlog::LineFormat::kNative)
      wait =
          std::min(wait, std::max(milliseconds(1), std::chrono::duration_cast<milliseconds>(last_line_ + idle - now)));
    queue.take(batch, wait);

    const uint8_t* p = batch.bytes.data();
    size_t left = batch.bytes.size();
    while (left > 0) {
      auto size = static_cast<size_t>(binlog::load_le(p + 9, 4));
      on_event({p, size});
      p += size;
      left -= size;
      if (at_boundary() && c_.to && compare(boundary_.pos, *c_.to) >= 0) {
        final_heartbeat();
        flush_out(true);
        return End::kTo;
      }
      if (signals::stop_requested() && at_boundary()) break;  // the rest is fetched again on resume
    }
    if (!batch.bytes.empty()) streamed_ = true;
    if (batch.ended) {
      if (batch.error) std::rethrow_exception(batch.error);
      server_idle_ = true;  // the server ended the stream at its end of log: caught up, lag 0
      final_heartbeat();
      flush_out(true);
      return End::kCaughtUp;
    }
    now = Clock::now();
    // Nothing more waiting: hand the lines on now (latency), else keep filling the block.
    if (at_boundary()) {
      bool pending = !signals::stop_requested() && queue.pending();
      if (c_.format == binlog::LineFormat::kNative && now - last_line_ >= idle) {
        sink_->idle_heartbeat(boundary_.pos, epoch_now(), source_server_id_);
        flush_out(true);
      } else if (!pending) {
        flush_out(false);
      }
    }
    stats_if_due(now);
    if (signals::stop_requested()) {
      if (at_boundary()) {
        final_heartbeat();
        flush_out(true);
        return End::kStopped;
      }
      if (!drain_deadline) {
        drain_deadline = now + kDrainLimit;
      } else if (now >= *drain_deadline) {
        log::warning("stopping inside a transaction that did not end within " +
                     std::to_string(std::chrono::duration_cast<std::chrono::seconds>(kDrainLimit).count()) +
                     " s: its lines are dropped; the resume starts with it");
        return End::kStopped;  // finish() writes what is complete
      }
    }
  }
}

void LiveRun::on_event(std::span<const uint8_t> ev) {
  binlog::StreamPosition::Step s = tracker_->next(ev);
  ++events_;
  ++stats_events_;
  if (s.file_changed) decoder_->set_file(tracker_->position().file);
  bool ended = false;
  if (s.decode) {
    uint8_t type = ev[4];
    uint64_t tx = decoder_->stats().transactions;
    uint64_t rows = decoder_->stats().rows;
    decoder_->decode_event(ev, s.offset);
    rows_ += decoder_->stats().rows - rows;
    if (decoder_->stats().transactions != tx) {
      ended = true;
      group_open_ = false;
      gtid_unsettled_ = false;
      ++transactions_;
    } else if (is_gtid_event(type)) {
      group_open_ = true;
    }
    // Lag counts from the changes' own times (format descriptions and GTID lists are older).
    if (s.timestamp != 0 && (ended || decoder_->in_transaction())) last_event_ts_ = s.timestamp;
    // A GTID start: the server's artificial GTID list says where the stream continues.
    if (gtid_unsettled_ && type == binlog::kMariaGtidListEvent && (binlog::load_le(ev.data() + 17, 2) & 0x20))
      gtid_unsettled_ = false;
  }
  server_idle_ = s.heartbeat;
  if (s.heartbeat) {
    if (!decoder_->in_transaction() && !group_open_) gtid_unsettled_ = false;
  }
  if (at_boundary()) {
    mark_boundary(tracker_->position());
    if (ended && per_transaction_checkpoint_) {
      flush_out(false);
    } else if (sink_->complete_size() >= kFlushBytes) {
      flush_out(false);
    }
  } else if (sink_->complete_size() >= kMaxBuffered) {
    write_partial();
  }
}

void LiveRun::mark_boundary(const Position& pos) {
  boundary_.pos = pos;
  boundary_.gtid = sink_->last_gtid();
  boundary_.server_id = sink_->last_server_id() ? sink_->last_server_id() : source_server_id_;
  boundary_known_ = true;
  committed_bytes_ = sink_->complete_size();
  partial_written_ = false;
  if (committed_bytes_ == 0) note_dir_position();  // the output holds everything up to here
}

// At the end, a HEARTBEAT line when the position moved past the last line's (filtered transactions,
// events outside transactions), so that what reads the lines can checkpoint where this run ended.
void LiveRun::final_heartbeat() {
  if (c_.format != binlog::LineFormat::kNative || !boundary_known_ || boundary_.pos.empty()) return;
  sink_->heartbeat_if_due();
  const Position& last = sink_->last_next().empty() ? stream_start_ : sink_->last_next();
  if (last != boundary_.pos) sink_->idle_heartbeat(boundary_.pos, epoch_now(), source_server_id_);
}

// At a boundary: writes every complete line (and a HEARTBEAT line due for filtered transactions),
// hands it on, then checkpoints the boundary.
void LiveRun::flush_out(bool force_sync) {
  if (!sink_) return;
  sink_->heartbeat_if_due();
  bool wrote = sink_->complete_size() > 0;
  if (wrote) {
    out_->write(sink_->complete());
    sink_->clear_complete();
    last_line_ = Clock::now();
    unsynced_ = true;
    uncheckpointed_ = true;
  }
  committed_bytes_ = 0;
  partial_written_ = false;
  out_->boundary();
  if (at_boundary()) note_dir_position();
  Clock::time_point now = Clock::now();
  if (out_->durable()) {
    if (!force_sync && now - last_sync_ < kSyncEvery) {
      out_->flush();
      return;
    }
    // A seed directory's position record moves with filtered transactions too: it stays at or
    // ahead of the checkpoint written next.
    if (unsynced_ || dir_->position_record()) out_->sync();
  } else {
    out_->flush();
  }
  unsynced_ = false;
  last_sync_ = now;
  if (uncheckpointed_) rowpipe::failpoint("after-write");
  uncheckpointed_ = false;
  checkpoint_now();
}

void LiveRun::checkpoint_now() {
  if (!checkpoint_.enabled() || !boundary_known_ || boundary_.pos.empty()) return;
  Checkpoint cp;
  cp.binlog = boundary_.pos;
  if (boundary_.server_id) cp.server_id = boundary_.server_id;
  cp.gtid = boundary_.gtid;
  checkpoint_.write(cp);
}

void LiveRun::note_dir_position() {
  if (!dir_ || !dir_->position_record() || !boundary_known_ || boundary_.pos.empty()) return;
  Checkpoint cp;
  cp.binlog = boundary_.pos;
  if (boundary_.server_id) cp.server_id = boundary_.server_id;
  cp.gtid = boundary_.gtid;
  dir_->set_position(cp);
}

void LiveRun::write_partial() {
  // Complete transactions before the open one end at a boundary of their own: drop_partial() must
  // not take them back.
  std::string_view lines = sink_->complete();
  if (committed_bytes_ > 0) {
    out_->write(lines.substr(0, committed_bytes_));
    out_->boundary();
    note_dir_position();
    lines.remove_prefix(committed_bytes_);
  }
  out_->write(lines);
  sink_->clear_complete();
  committed_bytes_ = 0;
  partial_written_ = true;
  last_line_ = Clock::now();
  rowpipe::failpoint("mid-transaction");
}

// After the connection broke (or before an error ends the run): the lines of complete transactions
// are written and checkpointed; those of the open transaction are dropped (the next connection
// starts at its beginning).
void LiveRun::salvage() {
  if (!sink_) return;
  if (committed_bytes_ > 0) out_->write(sink_->complete().substr(0, committed_bytes_));
  if (partial_written_ && !out_->drop_partial())
    log::notice("the first lines of the transaction after " + boundary_.pos.str() +
                " were written before the connection broke: they are written again");
  committed_bytes_ = 0;
  partial_written_ = false;
  sink_.reset();
  decoder_.reset();
  tracker_.reset();
  group_open_ = false;
  out_->boundary();
  note_dir_position();
  out_->sync();
  unsynced_ = false;
  last_sync_ = Clock::now();
  checkpoint_now();
  if (boundary_known_ && !boundary_.pos.empty()) {
    start_.pos = boundary_.pos;
    start_.gtid.clear();
  }
}

void LiveRun::stats_if_due(Clock::time_point now, bool force) {
  if (c_.stats_interval <= 0 || (!force && now < next_stats_)) return;
  next_stats_ = now + seconds_ms(c_.stats_interval);
  double span = std::chrono::duration<double>(now - stats_at_).count();
  std::string s = "{\"stats\":{\"time\":";
  json::append_int(s, epoch_now());
  s += ",\"binlog\":";
  json::append_string(s, boundary_.pos.str());
  s += ",\"events\":";
  json::append_int(s, events_);
  s += ",\"rows\":";
  json::append_int(s, rows_);
  s += ",\"transactions\":";
  json::append_int(s, transactions_);
  s += ",\"events_per_s\":";
  json::append_double(s, span > 0 ? std::round(static_cast<double>(stats_events_) / span * 10) / 10 : 0.0);
  // Lag: 0 once the server said it has nothing newer (a heartbeat, or caught up); else how old the
  // last event decoded is.
  s += ",\"lag_s\":";
  if (server_idle_ || last_event_ts_ == 0)
    s += server_idle_ ? "0" : "null";
  else
    json::append_int(s, std::max<int64_t>(0, epoch_now() - last_event_ts_));
  s += ",\"reconnects\":";
  json::append_int(s, reconnects_);
  s += "}}\n";
  stats_events_ = 0;
  stats_at_ = now;
  ssize_t n = ::write(2, s.data(), s.size());
  (void)n;
}

int LiveRun::finish(End end) {
  salvage();
  stats_if_due(Clock::now(), c_.stats_interval > 0);
  std::string where = boundary_known_ ? boundary_.pos.str() : std::string("the start");
  if (end == End::kStopped && signals::stop_requested()) {
    std::string resume = c_.checkpoint.empty() ? "--from " + where : "--resume " + c_.checkpoint;
    log::notice("stopped by signal " + std::to_string(signals::stop_signal()) + " at " + where +
                " (a transaction boundary); resume with " + resume);
  } else if (end == End::kCaughtUp) {
    log::info("caught up at " + where + " (--stop-at-end)");
  } else if (end == End::kTo) {
    log::info("stopped at " + where + " (--to " + c_.to->str() + ")");
  } else if (end == End::kSnapshotOnly) {
    log::info("--snapshot-only: done at " + where);
  }
  log::info("streamed " + std::to_string(events_) + " events, " + std::to_string(rows_) + " rows, " +
            std::to_string(transactions_) + " transactions; " + std::to_string(reconnects_) + " reconnection(s)");
  return 0;
}

}  // namespace

int run_live(const Config& config) {
  LiveRun run(config);
  return run.run();
}

}  // namespace rowpipe::tail
