// The input side every sink shares: lines from files or stdin, parsed and validated, with bad lines
// reported by position and set aside (--dead-letter) or stopped at.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "event/event.hpp"
#include "io/dead_letter.hpp"
#include "io/line_reader.hpp"

namespace rowpipe {

struct LineSourceOptions {
  std::vector<std::string> files;    // empty: stdin
  size_t max_line_bytes = 64 << 20;  // --max-line-bytes
  std::string dead_letter;           // --dead-letter FILE; empty: stop at the first bad line
  uint64_t max_errors = UINT64_MAX;  // --max-errors N: more bad lines than this stop the tool
};

class LineSource {
 public:
  enum class Status {
    kEvent,  // event() and line() hold a valid line
    kIdle,   // no complete line within the timeout (or a signal arrived): flush pending work
    kEnd,    // all input read
    kStop,   // a bad line that could not be set aside: error() says why; apply what came before, exit 65
  };

  explicit LineSource(LineSourceOptions options);

  Status next(int timeout_ms = -1);

  const Event& event() const { return *event_; }
  // The raw line (without newline) of the current event.
  std::string_view line() const { return line_.text; }
  // "stdin:12": the current line's position, for messages.
  std::string where() const;
  // Lines consumed so far, bad ones included: what --ack counts.
  uint64_t lines_read() const { return lines_read_; }
  uint64_t dead_lettered() const { return dead_lettered_; }
  const std::string& error() const { return error_; }
  // Bytes consumed from the current input (progress).
  uint64_t offset() { return files_.current() ? files_.current()->offset() : 0; }
  // Rejects the current, parsed line for a reason the tool found (no key columns, a value it cannot
  // use): set aside like a malformed line. False when it cannot be (no --dead-letter, or --max-errors
  // reached): error() then says why, and the tool stops as for kStop.
  bool set_aside(const std::string& reason) { return reject(reason, false); }
  // Makes the dead-letter file durable (call before checkpointing past a set-aside line).
  void sync_dead_letter() {
    if (dead_letter_) dead_letter_->sync();
  }

 private:
  // Sets the line aside or records the stop; true when reading may go on.
  bool reject(const std::string& reason, bool oversized);

  LineSourceOptions options_;
  InputFiles files_;
  EventParser parser_;
  std::unique_ptr<DeadLetter> dead_letter_;
  Line line_;
  const Event* event_ = nullptr;
  uint64_t lines_read_ = 0;
  uint64_t dead_lettered_ = 0;
  std::string error_;
};

}  // namespace rowpipe
