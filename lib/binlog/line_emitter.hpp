// Renders decoded events as rowpipe-events(5) lines (native or seed shape) into a reusable buffer.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "binlog/sink.hpp"

namespace rowpipe::binlog {

enum class LineFormat { kNative, kSeed };

// An EventSink that appends lines to buffer(). The last row line of a transaction is held back
// until the transaction's end is known, then written with `xid`, `commit` and `next`; so memory is
// one line, whatever the transaction's size. A transaction without row lines writes nothing (the
// tool decides about HEARTBEAT lines from on_transaction_end's `rows`). No allocation per row once
// the buffers have grown: numbers go through std::to_chars, strings through json::append_string.
class LineEmitter : public EventSink {
 public:
  // Formats `ts` (epoch seconds) as "YYYY-MM-DD HH:MM:SS"; the default is UTC.
  using TimeFormatter = std::function<void(std::string& out, int64_t ts)>;

  explicit LineEmitter(LineFormat format = LineFormat::kNative);

  void set_time_formatter(TimeFormatter f) {
    time_format_ = std::move(f);
    last_ts_ = -1;
  }

  // Complete lines so far; the caller writes and clears it (e.g. when it exceeds a few MB and at
  // transaction ends).
  std::string& buffer() { return out_; }

  // Writes the held line without commit fields (end of input inside a transaction).
  void flush_pending();
  bool has_pending() const { return !pending_.empty(); }

  // Lines written (complete or held).
  uint64_t lines() const { return lines_; }

  void on_row(const RowChange& row) override;
  void on_transaction_end(const TransactionEnd& end) override;
  void on_ddl(const Ddl& ddl) override;

 private:
  void start_line(const Position& pos);
  void close_pending();
  void append_position(std::string& out, const std::string& file, uint64_t offset);
  void append_time(std::string& out, uint32_t ts);
  void append_image(std::string& out, const TableMap& t, const Image* image);
  void append_seed_image(std::string& out, const TableMap& t, const Image* image);

  LineFormat format_;
  std::string out_;
  std::string pending_;  // the last native line, without its closing brace
  std::string line_;     // the line being built
  TimeFormatter time_format_;
  int64_t last_ts_ = -1;
  std::string last_time_;
  uint64_t lines_ = 0;
};

}  // namespace rowpipe::binlog
