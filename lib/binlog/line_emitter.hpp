// Renders decoded events as rowpipe-events(5) lines (native or seed shape) into a reusable buffer.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "binlog/sink.hpp"

namespace rowpipe::binlog {

enum class LineFormat { kNative, kSeed };

// An EventSink that renders lines into one buffer. The last row line of a transaction is held back
// (at the buffer's end, without its closing brace) until the transaction's end is known, then
// completed with `xid`, `commit` and `next`; so memory is the lines not yet taken plus one line,
// whatever the transaction's size. A transaction without row lines writes nothing (the tool decides
// about HEARTBEAT lines from on_transaction_end's `rows`). Lines are rendered in place, and no
// allocation happens per row once the buffer has grown: numbers go through std::to_chars, strings
// through json::append_string.
class LineEmitter : public EventSink {
 public:
  // Formats `ts` (epoch seconds) as "YYYY-MM-DD HH:MM:SS"; the default is UTC.
  using TimeFormatter = std::function<void(std::string& out, int64_t ts)>;

  explicit LineEmitter(LineFormat format = LineFormat::kNative);

  void set_time_formatter(TimeFormatter f) {
    time_format_ = std::move(f);
    last_ts_ = -1;
  }

  // The complete lines so far. The caller writes them, then calls clear_complete() (e.g. when they
  // exceed a few MB, and at transaction ends).
  std::string_view complete() const { return held_ ? out_.view().substr(0, held_at_) : out_.view(); }
  size_t complete_size() const { return held_ ? held_at_ : out_.size(); }
  void clear_complete();
  // Adds a complete line of the caller's (a HEARTBEAT) after the complete lines.
  void append_line(std::string_view line);

  // Completes the held line without commit fields (end of input inside a transaction).
  void flush_pending() { close_pending(); }
  bool has_pending() const { return held_; }

  // Lines written (complete or held).
  uint64_t lines() const { return lines_; }

  void on_row(const RowChange& row) override;
  void on_transaction_end(const TransactionEnd& end) override;
  void on_ddl(const Ddl& ddl) override;

 private:
  void close_pending();
  void append_db_table(TextBuffer& out, const TableMap& t);
  void append_position(TextBuffer& out, const std::string& file, uint64_t offset);
  void append_time(TextBuffer& out, uint32_t ts);
  void append_image(TextBuffer& out, const TableMap& t, const Image* image);
  void append_seed_image(TextBuffer& out, const TableMap& t, const Image* image);
  void append_json(TextBuffer& out, std::string_view text);

  LineFormat format_;
  TextBuffer out_;  // complete lines, then the held line (from held_at_) when held_
  size_t held_at_ = 0;
  bool held_ = false;
  TimeFormatter time_format_;
  int64_t last_ts_ = -1;
  std::string last_time_;
  std::string position_file_;    // the file of the last position written
  std::string position_prefix_;  // "FILE: (quoted, escaped) for that file
  uint64_t position_offset_ = 0;
  std::string position_text_;  // "FILE:OFFSET" (quoted) of the last position written
  std::string gtid_;           // the GTID of the last row line
  std::string gtid_json_;      // ,"gtid":"..." for it
  std::string scratch_;        // values rendered through json::append_string
  uint64_t lines_ = 0;
};

}  // namespace rowpipe::binlog
