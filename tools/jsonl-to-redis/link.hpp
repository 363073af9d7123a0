// One Redis instance as the sink sees it: batches of commands pipelined over a non-blocking socket
// (written while replies are read, as redis-cli --pipe does), kept until Redis confirms them, and
// sent again after a reconnect when the stored checkpoint says they were not applied.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "clients/redis.hpp"
#include "clients/url.hpp"
#include "io/checkpoint.hpp"
#include "io/checkpoint_order.hpp"
#include "resp.hpp"

namespace rowpipe::redis_sink {

// A TRUNCATE or DROP TABLE whose keys are being deleted (ordered mode), stored as
// {"table":"db.table","at":"FILE:POS:ROW"} (`at`: the statement's position) under
// LinkOptions::purge_key in the MULTI of every page the purge deletes before its last. The last page
// goes out in the batch whose checkpoint passes the statement, and that MULTI deletes the marker. So
// while a marker stands, Redis holds the fold of its checkpoint less some keys of `table`; without
// one, exactly the fold of its checkpoint.
struct PurgeMarker {
  std::string table;
  RowPosition at;

  std::string to_json() const;
  // Throws Error(kConfig) naming `origin` when `json` is not a marker.
  static PurgeMarker parse(std::string_view json, std::string_view origin);
};

struct LinkOptions {
  std::chrono::milliseconds timeout{30000};    // connecting, and waiting for a reply
  std::chrono::milliseconds retry_for{60000};  // how long a lost instance is retried before giving up
  std::string checkpoint_key;                  // ordered mode: rowpipe:checkpoint:NAME
  std::string purge_key;                       // ordered mode: rowpipe:purge:NAME (see PurgeMarker)
  bool transactional = true;                   // batches are MULTI ... EXEC (ordered mode)
  std::string password_file;
  std::vector<std::string> scripts;  // Lua scripts loaded (SCRIPT LOAD) on every connect
};

// Where a command came from, for messages about its reply.
using LineOrdinal = uint64_t;

class Link {
 public:
  Link(Url url, LinkOptions options);
  ~Link();
  Link(const Link&) = delete;
  Link& operator=(const Link&) = delete;

  // "host:port" (the ketama name) and the redacted URL (for messages).
  const std::string& name() const { return name_; }
  const std::string& where() const { return where_; }
  // Identity for de-duplication: host:port/db or the socket path.
  std::string identity() const;
  // Position in the sink's list of instances.
  size_t id() const { return id_; }
  void set_id(size_t id) { id_ = id; }

  // Connects (retrying while the instance is unavailable) and reads the stored checkpoint and purge
  // marker.
  void open();
  // The checkpoint stored when the link was opened.
  const std::optional<Checkpoint>& stored_at_open() const { return stored_at_open_; }
  // The marker of a purge a crash interrupted, as found at open (its statement comes again next).
  const std::optional<PurgeMarker>& interrupted_purge() const { return interrupted_purge_; }
  // The key of the purge marker (ordered mode).
  const std::string& purge_key() const { return options_.purge_key; }
  // A purge marker for the statement at `at` stands in Redis: the first batch whose checkpoint covers
  // `at` deletes it, in its MULTI.
  void marker_stands(const RowPosition& at) { marker_until_ = at; }
  // The last checkpoint Redis confirmed in this run (or the one found at open).
  const std::optional<Checkpoint>& confirmed() const { return confirmed_; }

  // The open batch: append commands to buffer() and call note() once per command appended.
  std::string& buffer() { return open_batch().bytes; }
  void note(LineOrdinal line, size_t commands = 1) {
    Batch& b = open_batch();
    if (commands == 1)
      b.lines.push_back(line);
    else
      b.lines.insert(b.lines.end(), commands, line);
  }
  // Commands in the open batch (MULTI not counted).
  size_t open_commands() const { return queue_.empty() || queue_.back().closed ? 0 : queue_.back().lines.size(); }
  size_t open_bytes() const;

  // A point in the open batch, to split an unfinished transaction off when the batch closes early.
  struct Mark {
    size_t bytes = 0;
    size_t commands = 0;
  };
  Mark mark();
  // Closes the open batch (MULTI <commands> SET <checkpoint> EXEC in ordered mode); `seq` numbers it.
  // With `split`, what was appended after the mark moves to a new open batch. A batch with nothing to
  // send (no command, no checkpoint) is not closed.
  // Returns where the (new) open batch's own commands begin.
  Mark close_batch(uint64_t seq, const std::optional<Checkpoint>& checkpoint, std::optional<Mark> split = {});

  enum class Wait { kNone, kOne, kAll };
  // Writes and reads what it can; kOne returns once at least one more batch is confirmed (or none is
  // pending), kAll once every closed batch is.
  void pump(Wait wait);
  // Closed batches not yet confirmed.
  size_t in_flight() const;
  // The highest batch number confirmed (0: none yet).
  uint64_t confirmed_seq() const { return confirmed_seq_; }
  // The number of the oldest closed batch not yet confirmed, or 0 when none is pending.
  uint64_t oldest_pending_seq() const;

  // --guard: called per confirmed batch with how many rows the script applied and how many it found
  // older than what their keys hold (counted once even when a batch was sent again).
  std::function<void(uint64_t, uint64_t)> on_guard_confirm;

  // Synchronous command outside the batches (the pipeline must be drained), retried across
  // reconnects while the instance is unavailable. Throws on an error reply.
  RedisReply call(std::span<const std::string_view> args);
  RedisReply call(std::initializer_list<std::string_view> args) {
    return call(std::span<const std::string_view>(args.begin(), args.size()));
  }
  // Synchronous pipelined commands (drained pipeline): sends all, returns the replies in order; error
  // replies are returned, not thrown.
  std::vector<RedisReply> call_many(const std::string& resp, size_t count);

  // Reconnects now (after a Reconnect thrown by call_many), retrying while the instance is unavailable.
  void reconnect(const std::string& why) { recover(why); }

  // Names the input line of a command in messages ("stdin:12"); set by the sink.
  std::function<std::string(LineOrdinal)> describe_line;

  // SHA1s of the loaded scripts, in LinkOptions::scripts order.
  const std::vector<std::string>& script_shas() const { return shas_; }

 private:
  struct Batch {
    std::string bytes;
    std::vector<LineOrdinal> lines;  // one per command between MULTI and EXEC
    std::optional<Checkpoint> checkpoint;
    uint64_t seq = 0;
    bool closed = false;
    size_t sent = 0;     // bytes written
    size_t replies = 0;  // replies received
    std::string queue_error;
    size_t queue_error_index = 0;
    uint64_t applied = 0;  // --guard replies 1
    uint64_t stale = 0;    // --guard replies 0
  };

  Batch& open_batch();
  size_t expected_replies(const Batch& b) const;
  // How far batch i may be written now (the EXEC barrier: a batch's EXEC goes out only once every
  // earlier batch is confirmed, so a batch Redis refused can never be overtaken by a later one).
  size_t sendable(size_t i) const;
  bool write_some();
  bool read_some();
  void on_reply(const Reply& r);
  void confirm_front();
  // Reconnects after a failure and decides, from the stored checkpoint, which batches to send again.
  void recover(const std::string& why);
  void connect_once();
  void disconnect();
  std::optional<Checkpoint> read_checkpoint();
  std::string line_text(LineOrdinal line) const;
  void recycle(Batch&& b);

  Url url_;
  LinkOptions options_;
  size_t id_ = 0;
  std::string name_;
  std::string where_;
  RedisContext ctx_;
  int fd_ = -1;
  ReplyScanner scanner_;
  std::deque<Batch> queue_;
  std::vector<Batch> spare_;
  std::optional<Checkpoint> stored_at_open_;
  std::optional<PurgeMarker> interrupted_purge_;
  std::optional<RowPosition> marker_until_;
  std::optional<Checkpoint> confirmed_;
  uint64_t confirmed_seq_ = 0;
  std::vector<std::string> shas_;
};

// Redis refused a command for a reason that retrying cannot fix (a key holding another type, an
// oversized value, ...). Not an error of the line being read: never set that line aside for it.
class RedisRefused : public Error {
 public:
  RedisRefused(ErrorKind kind, const std::string& message) : Error(kind, message) {}
};

// The failure a Link recovers from by reconnecting (lost connection, timeout, a refusal Redis gives
// while loading, out of memory or read-only).
class Reconnect : public std::runtime_error {
 public:
  explicit Reconnect(const std::string& why) : std::runtime_error(why) {}
};

}  // namespace rowpipe::redis_sink
