// mq-pipe pub: stdin lines -> confirmed messages, with a checkpoint of the confirmed transactions.
#include <unistd.h>

#include <chrono>
#include <memory>
#include <optional>

#include "cli/error.hpp"
#include "cli/log.hpp"
#include "commands.hpp"
#include "confirm_window.hpp"
#include "io/checkpoint.hpp"
#include "io/dead_letter.hpp"
#include "io/line_reader.hpp"
#include "io/signals.hpp"
#include "line_scan.hpp"
#include "publisher.hpp"

namespace rowpipe::mq {
namespace {

using Clock = std::chrono::steady_clock;
// How far the checkpoint may trail the confirms: each write costs two fsyncs (about 0.5 ms), so 20
// writes a second cost about 1% of the input thread, and a kill -9 publishes again at most 50 ms of
// input beyond the unconfirmed messages.
constexpr auto kCheckpointEvery = std::chrono::milliseconds(50);
// While input flows, whether the confirmed prefix moved is looked at every this many lines (a
// clock read only then): the Kafka publisher serves its delivery reports about every 64 publishes.
constexpr uint64_t kCheckEvery = 64;

// The message key comes from --key unless the routing is fixed (AMQP --routing-key, or the default
// exchange straight to --queue).
std::optional<KeyTemplate> key_template(const Config& c) {
  if (c.key.empty()) return std::nullopt;
  if (!c.kafka && (!c.routing_key.empty() || c.exchange.empty())) {
    if (c.key_given) log::warning("--key is not used: the routing key is fixed");
    return std::nullopt;
  }
  return KeyTemplate::compile(c.key);
}

class Pub {
 public:
  explicit Pub(const Config& c)
      : c_(c), scanner_(key_template(c), !c.checkpoint.empty()), reader_(STDIN_FILENO, "stdin", c.max_message_bytes) {
    if (!c.checkpoint.empty()) {
      resume_ = read_checkpoint_file(c.checkpoint);
      if (resume_ && c.verbose) log::info("lines before " + resume_->binlog.str() + " are skipped (checkpoint)");
    }
    if (!c.dead_letter.empty()) dead_ = std::make_unique<DeadLetter>(c.dead_letter);
    publisher_ = c.kafka ? make_kafka_publisher(c, window_) : make_amqp_publisher(c, window_);
  }

  int run() {
    try {
      read_input();
      drain();
      publisher_->close();
      save(true);
    } catch (const Error& e) {
      // Keep what the broker confirmed, and say where that ends.
      std::string what = e.what();
      try {
        save(true);
      } catch (const Error& e2) {
        what += std::string("; and the checkpoint could not be saved: ") + e2.what();
      }
      fail(e.kind(), what + "; last confirmed line: stdin:" + std::to_string(window_.confirmed_through()) +
                         (window_.checkpoint() ? " (checkpoint " + window_.checkpoint()->binlog.str() + ")" : ""));
    }
    if (!c_.quiet) {
      std::string summary = "published " + std::to_string(published_) + " lines to " + c_.target();
      if (skipped_ > 0) summary += ", skipped " + std::to_string(skipped_) + " before the checkpoint";
      if (rejected_ > 0) summary += ", set aside " + std::to_string(rejected_);
      if (window_.checkpoint()) summary += "; checkpoint " + window_.checkpoint()->binlog.str();
      log::notice(summary);
    }
    return stop_error_.empty() ? 0 : exit_code(ErrorKind::kData);
  }

 private:
  void read_input() {
    Line line;
    // Idle detection without a clock read per line: a timeout after input starts the idle time.
    bool input_since_timeout = false;
    Clock::time_point idle_since{};
    bool idle_saved = true;
    for (;;) {
      if (signals::stop_requested()) {
        log::notice("stopping on signal: waiting for the broker to confirm " +
                    std::to_string(publisher_->outstanding()) + " messages");
        return;
      }
      if (!publisher_->has_room()) {  // back-pressure: stdin waits until the broker confirms
        publisher_->poll(100, -1);
        save(false);
        continue;
      }
      auto status = reader_.next(line, 0);
      if (status == LineReader::Status::kTimeout) {
        auto now = Clock::now();
        if (input_since_timeout) {
          idle_since = now;
          input_since_timeout = false;
        }
        if (!idle_saved && now - idle_since >= std::chrono::milliseconds(c_.idle_ms)) {
          save(true);
          idle_saved = true;
        } else {
          save(false);
        }
        publisher_->poll(std::min(c_.idle_ms, 100), STDIN_FILENO);
        continue;
      }
      if (status == LineReader::Status::kEnd) return;
      input_since_timeout = true;
      idle_saved = false;
      if (!take(line, status == LineReader::Status::kOversized)) return;
      if (line.number % kCheckEvery == 0 && window_.moved()) save(false);
    }
  }

  // One input line; false when reading must stop (an unusable line without --dead-letter).
  bool take(Line& line, bool oversized) {
    uint64_t seq = line.number;
    if (oversized)
      return reject(line, "line longer than --max-message-bytes " + std::to_string(c_.max_message_bytes), true);
    if (line.text.empty()) return reject(line, "empty line", false);
    if (!line.terminated) return reject(line, "incomplete last line (input ended inside it)", false);
    // The message is the line's bytes exactly: a `\r` before the newline is kept.
    std::string_view body(line.text.data(), line.bytes - 1);
    const LineInfo* info = nullptr;
    if (scanner_.needs_parse()) {
      try {
        info = &scanner_.scan(line.text);
      } catch (const Error& e) {
        return reject(line, e.what(), false);
      }
    } else {
      info = &scanner_.scan({});
    }
    if (resume_ && info->has_position && same_server(*info) && resume_->covers(info->position())) {
      ++skipped_;
      window_.add_done(seq);
      return true;
    }
    window_.add(seq, info->boundary ? &*info->boundary : nullptr);
    publisher_->publish(seq, info->key, body);
    ++published_;
    return true;
  }

  bool same_server(const LineInfo& info) const {
    return !resume_->server_id || !info.server_id || *resume_->server_id == *info.server_id;
  }

  bool reject(Line& line, const std::string& reason, bool oversized) {
    std::string where = "stdin:" + std::to_string(line.number);
    if (!dead_ || rejected_ >= c_.max_errors) {
      if (oversized) reader_.skip_oversized(line, {});
      stop_error_ = where + ": " + reason;
      if (dead_) stop_error_ += " (more than --max-errors " + std::to_string(c_.max_errors) + " lines set aside)";
      return false;
    }
    log::write(log::Level::kError, where, reason + "; set aside in " + dead_->path());
    dead_->append(line.text);
    if (oversized) reader_.skip_oversized(line, [&](std::string_view piece) { dead_->append(piece); });
    dead_->end_line();
    dead_dirty_ = true;
    ++rejected_;
    window_.add_done(line.number);
    return true;
  }

  // Waits until the broker confirmed everything handed over.
  void drain() {
    while (publisher_->outstanding() > 0) {
      publisher_->poll(100, -1);
      save(false);
    }
    if (!stop_error_.empty()) {
      save(true);
      fail(ErrorKind::kData, stop_error_);
    }
  }

  // Writes the checkpoint when it moved: at once when `now`, else at most every kCheckpointEvery.
  void save(bool now) {
    if (c_.checkpoint.empty() || !window_.moved()) return;
    auto t = Clock::now();
    if (!now && t - last_save_ < kCheckpointEvery) return;
    const Checkpoint* cp = window_.take_checkpoint();
    if (cp == nullptr) return;
    if (dead_ && dead_dirty_) {
      dead_->sync();  // what the checkpoint passes over must be durable where it was set aside
      dead_dirty_ = false;
    }
    write_checkpoint_file(c_.checkpoint, *cp);
    last_save_ = t;
  }

  const Config& c_;
  LineScanner scanner_;
  LineReader reader_;
  ConfirmWindow window_;
  std::unique_ptr<Publisher> publisher_;
  std::unique_ptr<DeadLetter> dead_;
  std::optional<Checkpoint> resume_;
  bool dead_dirty_ = false;
  std::string stop_error_;
  uint64_t published_ = 0, skipped_ = 0, rejected_ = 0;
  Clock::time_point last_save_{};
};

}  // namespace

int run_pub(const Config& c) { return Pub(c).run(); }

}  // namespace rowpipe::mq
