// --dead-letter FILE: rejected lines set aside verbatim, one per line, appended.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "io/output.hpp"

namespace rowpipe {

class DeadLetter {
 public:
  // Opens (creates, appends to) the file; throws Error(kIo) naming it.
  explicit DeadLetter(const std::string& path);

  // A whole line (without its newline); or a long line in pieces: begin_line, append..., end_line.
  void write_line(std::string_view line);
  void append(std::string_view piece) { out_->write(piece); }
  void end_line() { out_->put('\n'); }

  // Makes everything set aside durable; called before a checkpoint that passes over those lines.
  void sync() { out_->sync(); }
  void close() { out_->close(); }
  const std::string& path() const { return out_->name(); }

 private:
  std::unique_ptr<Output> out_;
};

// --ack: after each durable application, a line with the count of input lines now handled.
class AckWriter {
 public:
  explicit AckWriter(Output& out) : out_(out) {}
  // Writes `count` (if it advanced) and flushes: the reader acts on it at once.
  void ack(uint64_t count);
  uint64_t last() const { return last_; }

 private:
  Output& out_;
  uint64_t last_ = 0;
};

}  // namespace rowpipe
