// Pipelined batches to one Redis instance, their confirmation, and recovery after a lost connection.
#include "link.hpp"

#include <fcntl.h>
#include <hiredis/read.h>
#include <poll.h>
#include <rapidjson/document.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "cli/error.hpp"
#include "cli/failpoint.hpp"
#include "cli/log.hpp"
#include "event/json_writer.hpp"
#include "io/signals.hpp"

namespace rowpipe::redis_sink {
namespace {

constexpr std::string_view kMulti = "*1\r\n$5\r\nMULTI\r\n";
constexpr std::string_view kExec = "*1\r\n$4\r\nEXEC\r\n";
constexpr size_t kReadChunk = size_t{256} * 1024;

using Clock = std::chrono::steady_clock;

std::string seconds_text(Clock::duration d) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  return std::to_string(ms / 1000) + "." + std::to_string(ms % 1000 / 100) + " s";
}

using ReaderHandle = Handle<redisReader, redisReaderFree>;

// A full reply object (hiredis) from the bytes of one complete reply.
RedisReply parse_full(std::string_view raw) {
  ReaderHandle reader(redisReaderCreate());
  if (!reader) fail(ErrorKind::kInternal, "cannot allocate a redis reader");
  void* out = nullptr;
  if (redisReaderFeed(reader.get(), raw.data(), raw.size()) != REDIS_OK ||
      redisReaderGetReply(reader.get(), &out) != REDIS_OK || out == nullptr) {
    fail(ErrorKind::kProtocol, "malformed reply from redis");
  }
  return RedisReply(static_cast<redisReply*>(out));
}

}  // namespace

std::string PurgeMarker::to_json() const {
  std::string out;
  json::Writer w(out);
  w.begin_object();
  w.key("table").string(table);
  w.key("at").string(at.str());
  w.end_object();
  return out;
}

PurgeMarker PurgeMarker::parse(std::string_view text, std::string_view origin) {
  auto bad = [&](const std::string& what) {
    fail(ErrorKind::kConfig, std::string(origin) + ": not a rowpipe purge marker: " + what);
  };
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseValidateEncodingFlag>(text.data(), text.size());
  if (doc.HasParseError() || !doc.IsObject()) bad("invalid JSON");
  auto member = [&](const char* name) {
    auto it = doc.FindMember(name);
    if (it == doc.MemberEnd() || !it->value.IsString()) bad(std::string("missing \"") + name + "\"");
    return std::string_view(it->value.GetString(), it->value.GetStringLength());
  };
  PurgeMarker m;
  m.table = member("table");
  auto at = RowPosition::parse(member("at"));
  if (!at) bad("\"at\" must be FILE:POS:ROW");
  m.at = std::move(*at);
  return m;
}

Link::Link(Url url, LinkOptions options) : url_(std::move(url)), options_(std::move(options)) {
  if (auto socket = url_.param("socket")) {
    name_ = std::string(*socket);
  } else {
    name_ = url_.host().host + ":" + std::to_string(url_.host().port);
  }
  where_ = url_.redacted();
}

Link::~Link() = default;

std::string Link::identity() const { return name_ + "/" + (url_.path.empty() ? "0" : url_.path); }

size_t Link::open_bytes() const { return queue_.empty() || queue_.back().closed ? 0 : queue_.back().bytes.size(); }

Link::Batch& Link::open_batch() {
  if (queue_.empty() || queue_.back().closed) {
    if (spare_.empty()) {
      queue_.emplace_back();
    } else {
      queue_.push_back(std::move(spare_.back()));
      spare_.pop_back();
    }
    Batch& b = queue_.back();
    if (options_.transactional) b.bytes.append(kMulti);
  }
  return queue_.back();
}

void Link::recycle(Batch&& b) {
  b.bytes.clear();
  b.lines.clear();
  b.checkpoint.reset();
  b.seq = 0;
  b.closed = false;
  b.sent = b.replies = 0;
  b.applied = b.stale = 0;
  b.queue_error.clear();
  // Keep the capacity of ordinary batches; give back what one huge row made grow.
  if (b.bytes.capacity() <= (8u << 20) && spare_.size() < 4) spare_.push_back(std::move(b));
}

Link::Mark Link::mark() {
  Batch& b = open_batch();
  return Mark{b.bytes.size(), b.lines.size()};
}

uint64_t Link::oldest_pending_seq() const {
  for (const Batch& b : queue_)
    if (b.closed) return b.seq;
  return 0;
}

Link::Mark Link::close_batch(uint64_t seq, const std::optional<Checkpoint>& checkpoint, std::optional<Mark> split) {
  Batch& b = open_batch();
  std::string tail;
  std::vector<LineOrdinal> tail_lines;
  if (split) {
    tail.assign(b.bytes, split->bytes);
    b.bytes.resize(split->bytes);
    tail_lines.assign(b.lines.begin() + static_cast<std::ptrdiff_t>(split->commands), b.lines.end());
    b.lines.resize(split->commands);
  }
  bool writes_checkpoint = options_.transactional && checkpoint.has_value();
  if (b.lines.empty() && !writes_checkpoint) {
    Mark start{b.bytes.size(), b.lines.size()};
    b.bytes.append(tail);
    b.lines.insert(b.lines.end(), tail_lines.begin(), tail_lines.end());
    return start;
  }
  if (writes_checkpoint) {
    LineOrdinal last = b.lines.empty() ? 0 : b.lines.back();
    if (marker_until_ && checkpoint->covers(*marker_until_)) {
      // The statement the marker names is done with this very MULTI (its last page is in it).
      append_command(b.bytes, {"DEL", options_.purge_key});
      b.lines.push_back(last);
      marker_until_.reset();
    }
    append_command(b.bytes, {"SET", options_.checkpoint_key, checkpoint->to_json()});
    b.lines.push_back(last);
    b.checkpoint = checkpoint;
  }
  if (options_.transactional) b.bytes.append(kExec);
  b.closed = true;
  b.seq = seq;
  Batch& next = open_batch();
  Mark start{next.bytes.size(), next.lines.size()};
  next.bytes.append(tail);
  next.lines.insert(next.lines.end(), tail_lines.begin(), tail_lines.end());
  return start;
}

size_t Link::in_flight() const {
  size_t n = 0;
  for (const Batch& b : queue_)
    if (b.closed) ++n;
  return n;
}

size_t Link::expected_replies(const Batch& b) const {
  return options_.transactional ? b.lines.size() + 2 : b.lines.size();
}

size_t Link::sendable(size_t i) const {
  const Batch& b = queue_[i];
  if (!b.closed) return 0;
  if (i == 0 || !options_.transactional) return b.bytes.size();
  const Batch& prev = queue_[i - 1];
  if (prev.sent < prev.bytes.size()) return 0;
  return b.bytes.size() - kExec.size();
}

bool Link::write_some() {
  // Armed, the before-exec failpoint passes once per batch, when all of it but its EXEC is written
  // (the EXEC then goes in a write of its own), whatever the timing of the replies.
  static const bool hold_exec = rowpipe::failpoint_armed("before-exec");
  bool wrote = false;
  for (size_t i = 0; i < queue_.size(); ++i) {
    Batch& b = queue_[i];
    if (!b.closed) break;
    const size_t limit = sendable(i);
    const size_t body = options_.transactional ? b.bytes.size() - kExec.size() : b.bytes.size();
    while (b.sent < limit) {
      const size_t upto = hold_exec && b.sent < body ? body : limit;
      ssize_t n = ::write(fd_, b.bytes.data() + b.sent, upto - b.sent);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return wrote;
        throw Reconnect(std::string("writing: ") + std::strerror(errno));
      }
      b.sent += static_cast<size_t>(n);
      wrote = true;
      if (options_.transactional && b.sent == body) rowpipe::failpoint("before-exec");
    }
    if (b.sent < b.bytes.size()) break;
  }
  return wrote;
}

bool Link::read_some() {
  bool got = false;
  for (;;) {
    char* p = scanner_.prepare(kReadChunk);
    ssize_t n = ::read(fd_, p, kReadChunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return got;
      throw Reconnect(std::string("reading: ") + std::strerror(errno));
    }
    if (n == 0) throw Reconnect("connection closed by the server");
    scanner_.commit(static_cast<size_t>(n));
    got = true;
    while (auto r = scanner_.next()) on_reply(*r);
    if (static_cast<size_t>(n) < kReadChunk) return got;
  }
}

std::string Link::line_text(LineOrdinal line) const {
  return describe_line ? describe_line(line) : "line " + std::to_string(line);
}

void Link::on_reply(const Reply& r) {
  Batch* target = nullptr;
  for (Batch& b : queue_) {
    if (b.closed && b.replies < expected_replies(b)) {
      target = &b;
      break;
    }
  }
  if (target == nullptr || target->sent == 0)
    fail(ErrorKind::kProtocol, "redis " + where_ + " sent an unexpected reply");
  Batch& b = *target;
  size_t index = b.replies++;
  if (!options_.transactional) {
    if (r.is_error()) {
      std::string text(r.text);
      ErrorKind kind = redis_error_kind(text);
      if (text.starts_with("NOSCRIPT") || kind == ErrorKind::kUnavailable) throw Reconnect(text);
      throw RedisRefused(kind, line_text(b.lines[index]) + ": redis " + where_ + " refused the change: " + text);
    }
    if (r.integer == 1)
      ++b.applied;
    else
      ++b.stale;
    if (b.replies == expected_replies(b)) confirm_front();
    return;
  }
  if (index == 0) {  // MULTI
    if (r.is_status("OK")) return;
    std::string text(r.text);
    if (redis_error_kind(text) == ErrorKind::kUnavailable) throw Reconnect("MULTI refused: " + text);
    fail(ErrorKind::kProtocol, "redis " + where_ + " refused MULTI: " + text);
  }
  if (index <= b.lines.size()) {  // a queued command
    if (r.is_error() && b.queue_error.empty()) {
      b.queue_error = r.text;
      b.queue_error_index = index - 1;
    }
    return;
  }
  // EXEC: an array of the commands' replies when the transaction ran, an error when Redis refused it.
  if (r.type == '*' && !r.nil) {
    if (r.nested_errors > 0) {
      std::string where = line_text(b.lines[std::min(r.first_error_index, b.lines.size() - 1)]);
      std::string text(r.first_error);
      confirm_front();
      throw RedisRefused(ErrorKind::kData, where + ": redis " + where_ + " refused a command: " + text +
                                               " (the rest of that transaction and its checkpoint were applied)");
    }
    confirm_front();
    return;
  }
  std::string cause = b.queue_error.empty() ? std::string(r.text) : b.queue_error;
  ErrorKind kind = redis_error_kind(cause);
  if (kind == ErrorKind::kUnavailable) throw Reconnect("transaction refused: " + cause);
  LineOrdinal line = b.lines.empty() ? 0 : b.lines[std::min(b.queue_error_index, b.lines.size() - 1)];
  throw RedisRefused(kind, line_text(line) + ": redis " + where_ + " refused the transaction: " + cause);
}

void Link::confirm_front() {
  Batch& b = queue_.front();
  confirmed_seq_ = b.seq;
  if (!options_.transactional && on_guard_confirm) on_guard_confirm(b.applied, b.stale);
  if (b.checkpoint) confirmed_ = b.checkpoint;
  Batch done = std::move(b);
  queue_.pop_front();
  recycle(std::move(done));
  rowpipe::failpoint("after-exec");
}

void Link::pump(Wait wait) {
  uint64_t start_seq = confirmed_seq_;
  size_t start_flight = in_flight();
  for (;;) {
    try {
      if (in_flight() == 0) return;
      if (fd_ < 0) throw Reconnect("not connected");
      write_some();
      read_some();
      size_t flight = in_flight();
      if (flight == 0) return;
      if (wait == Wait::kNone) return;
      if (wait == Wait::kOne && (confirmed_seq_ != start_seq || flight < start_flight)) return;
      bool want_write = false;
      for (size_t i = 0; i < queue_.size() && !want_write; ++i) want_write = queue_[i].sent < sendable(i);
      pollfd p{fd_, static_cast<short>(POLLIN | (want_write ? POLLOUT : 0)), 0};
      int rc = ::poll(&p, 1, static_cast<int>(options_.timeout.count()));
      if (rc < 0 && errno != EINTR) throw Reconnect(std::string("poll: ") + std::strerror(errno));
      if (rc == 0) throw Reconnect("no reply within " + seconds_text(options_.timeout));
    } catch (const Reconnect& e) {
      recover(e.what());
    }
  }
}

void Link::disconnect() {
  ctx_.reset();
  fd_ = -1;
  scanner_.clear();
}

void Link::connect_once() {
  disconnect();
  ctx_ = connect_redis(url_, options_.timeout, options_.password_file);
  // A server still loading its data set answers LOADING (an Error of kind kUnavailable) here.
  RedisReply pong = command(ctx_.get(), {"PING"});
  shas_.clear();
  for (const std::string& script : options_.scripts) {
    RedisReply sha = command(ctx_.get(), {"SCRIPT", "LOAD", script});
    shas_.emplace_back(reply_text(sha.get()));
  }
  fd_ = ctx_->fd;
  int flags = ::fcntl(fd_, F_GETFL);
  if (flags < 0 || ::fcntl(fd_, F_SETFL, flags | O_NONBLOCK) < 0)
    fail(ErrorKind::kIo, std::string("cannot make the redis socket non-blocking: ") + std::strerror(errno));
}

void Link::open() {
  recover({});
  stored_at_open_ = confirmed_;
  if (!options_.transactional || options_.purge_key.empty()) return;
  RedisReply r = call({"GET", options_.purge_key});
  if (r->type == REDIS_REPLY_NIL) return;
  if (r->type != REDIS_REPLY_STRING)
    fail(ErrorKind::kConfig, "redis " + where_ + " key " + options_.purge_key + " is not a purge marker");
  PurgeMarker m = PurgeMarker::parse(reply_text(r.get()), "redis " + where_ + " key " + options_.purge_key);
  if (stored_at_open_ && stored_at_open_->covers(m.at)) {
    // Cannot happen (the marker goes in the MULTI that moves the checkpoint past it), but a stale
    // marker must not make anyone believe a purge is still under way.
    call({"DEL", options_.purge_key});
    return;
  }
  marker_until_ = m.at;
  interrupted_purge_ = std::move(m);
}

std::vector<RedisReply> Link::call_many(const std::string& resp, size_t count) {
  if (fd_ < 0) throw Reconnect("not connected");
  size_t sent = 0;
  std::vector<RedisReply> replies;
  replies.reserve(count);
  while (sent < resp.size() || replies.size() < count) {
    pollfd p{fd_, static_cast<short>(POLLIN | (sent < resp.size() ? POLLOUT : 0)), 0};
    int rc = ::poll(&p, 1, static_cast<int>(options_.timeout.count()));
    if (rc < 0 && errno != EINTR) throw Reconnect(std::string("poll: ") + std::strerror(errno));
    if (rc == 0) throw Reconnect("no reply within " + seconds_text(options_.timeout));
    while (sent < resp.size()) {
      ssize_t n = ::write(fd_, resp.data() + sent, resp.size() - sent);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        throw Reconnect(std::string("writing: ") + std::strerror(errno));
      }
      sent += static_cast<size_t>(n);
    }
    for (;;) {
      char* buf = scanner_.prepare(kReadChunk);
      ssize_t n = ::read(fd_, buf, kReadChunk);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        throw Reconnect(std::string("reading: ") + std::strerror(errno));
      }
      if (n == 0) throw Reconnect("connection closed by the server");
      scanner_.commit(static_cast<size_t>(n));
      while (replies.size() < count) {
        auto r = scanner_.next();
        if (!r) break;
        replies.push_back(parse_full(r->raw));
      }
      if (static_cast<size_t>(n) < kReadChunk) break;
    }
  }
  return replies;
}

RedisReply Link::call(std::span<const std::string_view> args) {
  std::string resp;
  append_header(resp, args.size());
  for (std::string_view a : args) append_arg(resp, a);
  for (;;) {
    try {
      std::vector<RedisReply> r = call_many(resp, 1);
      if (is_error(r[0].get())) {
        std::string text(reply_text(r[0].get()));
        if (redis_error_kind(text) == ErrorKind::kUnavailable) throw Reconnect(text);
        check_reply(r[0].get(), "redis " + where_ + " " + std::string(args.empty() ? "" : args[0]));
      }
      return std::move(r[0]);
    } catch (const Reconnect& e) {
      recover(e.what());
    }
  }
}

std::optional<Checkpoint> Link::read_checkpoint() {
  std::string resp;
  append_command(resp, {"GET", options_.checkpoint_key});
  RedisReply r = std::move(call_many(resp, 1)[0]);
  if (is_error(r.get())) {
    std::string text(reply_text(r.get()));
    if (redis_error_kind(text) == ErrorKind::kUnavailable) throw Reconnect(text);
    check_reply(r.get(), "redis " + where_ + " GET " + options_.checkpoint_key);
  }
  if (r->type == REDIS_REPLY_NIL) return std::nullopt;
  if (r->type != REDIS_REPLY_STRING) {
    fail(ErrorKind::kConfig, "redis " + where_ + " key " + options_.checkpoint_key + " is not a checkpoint");
  }
  return Checkpoint::parse(reply_text(r.get()), "redis " + where_ + " key " + options_.checkpoint_key);
}

void Link::recover(const std::string& why) {
  bool first = fd_ < 0 && why.empty();
  if (!first) log::warning("redis " + where_ + ": " + why + "; reconnecting");
  disconnect();
  auto start = Clock::now();
  auto backoff = std::chrono::milliseconds(100);
  std::string last = why;
  std::optional<Checkpoint> stored;
  for (;;) {
    try {
      connect_once();
      if (options_.transactional) stored = read_checkpoint();
      break;
    } catch (const Reconnect& e) {
      last = e.what();
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::kUnavailable) throw;
      last = e.what();
    }
    disconnect();
    auto waited = Clock::now() - start;
    if (waited >= options_.retry_for) {
      fail(ErrorKind::kUnavailable, "redis " + where_ + " unavailable for " + seconds_text(waited) + ": " + last);
    }
    if (signals::stop_requested()) {
      fail(ErrorKind::kUnavailable, "redis " + where_ + " unavailable (" + last + ") and a stop was requested");
    }
    if (first && waited.count() == 0) log::warning("redis " + where_ + ": " + last + "; retrying");
    auto until = Clock::now() + std::min<Clock::duration>(backoff, options_.retry_for - waited);
    while (Clock::now() < until && !signals::stop_requested())
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
  }
  if (!first) log::notice("redis " + where_ + ": reconnected after " + seconds_text(Clock::now() - start));
  if (options_.transactional) {
    // The checkpoint is written in the same MULTI as the data, so it tells exactly which batches ran.
    if (confirmed_ && (!stored || compare_checkpoints(*stored, *confirmed_) < 0)) {
      fail(ErrorKind::kUnavailable,
           "redis " + where_ + " lost writes it had confirmed: its checkpoint went back from " + confirmed_->to_json() +
               " to " + (stored ? stored->to_json() : std::string("nothing")) + " (restarted without persistence?)");
    }
    while (!queue_.empty() && queue_.front().closed && queue_.front().checkpoint && stored &&
           compare_checkpoints(*stored, *queue_.front().checkpoint) >= 0) {
      confirm_front();
    }
    if (!confirmed_) confirmed_ = stored;
  }
  for (Batch& b : queue_) {
    b.sent = 0;
    b.replies = 0;
    b.applied = b.stale = 0;
    b.queue_error.clear();
  }
}

}  // namespace rowpipe::redis_sink
