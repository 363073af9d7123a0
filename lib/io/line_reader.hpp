// Reads `\n`-terminated lines from a descriptor or a list of files, in bounded memory, with line numbers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace rowpipe {

struct Line {
  std::string_view text;   // without the `\n` (and without a `\r` before it); valid until the next call
  uint64_t number = 0;     // 1-based within the current input
  std::string_view input;  // "stdin" or the file name, for messages
  bool terminated = true;  // false for a last line cut short by the end of input (a torn write)
  size_t bytes = 0;        // length on the wire, `\r\n` included; for oversized lines the full length
};

class LineReader {
 public:
  enum class Status { kLine, kOversized, kEnd, kTimeout };

  // Does not own fd unless owns_fd. Lines longer than max_line_bytes are reported as kOversized.
  LineReader(int fd, std::string name, size_t max_line_bytes, bool owns_fd = false);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // Next line. timeout_ms < 0 waits for input; otherwise returns kTimeout when no complete line
  // arrived in time (also when a signal interrupted the wait). kOversized: line.text holds the first
  // max_line_bytes bytes; the rest is consumed by the next call, or passed to skip_oversized().
  Status next(Line& line, int timeout_ms = -1);

  // After kOversized: consumes the remainder of that line, handing each chunk to `sink` (may be empty),
  // so a dead-letter file can receive the line verbatim in bounded memory. Sets line.bytes.
  void skip_oversized(Line& line, const std::function<void(std::string_view)>& sink);

  const std::string& name() const { return name_; }
  uint64_t line_number() const { return line_number_; }
  // Bytes consumed so far (for progress reports).
  uint64_t offset() const { return consumed_; }

 private:
  // Reads more bytes; false at end of input or on timeout (timed_out_ tells which).
  bool fill(int timeout_ms);
  Status oversized(Line& line);

  int fd_;
  std::string name_;
  size_t max_line_;
  bool owns_fd_;
  std::string buf_;
  size_t begin_ = 0;  // start of unconsumed bytes
  size_t end_ = 0;    // end of valid bytes
  size_t scan_ = 0;   // bytes already searched for `\n` beyond begin_
  bool eof_ = false;
  bool timed_out_ = false;
  bool in_oversized_ = false;
  uint64_t line_number_ = 0;
  uint64_t consumed_ = 0;
};

// Reads the named files in order ("-" is stdin; an empty list means stdin). A file that cannot be
// opened throws Error(kNoInput) when reached.
class InputFiles {
 public:
  InputFiles(std::vector<std::string> names, size_t max_line_bytes);

  // As LineReader::next, moving to the next file at the end of each one; kEnd after the last.
  LineReader::Status next(Line& line, int timeout_ms = -1);
  void skip_oversized(Line& line, const std::function<void(std::string_view)>& sink) {
    reader_->skip_oversized(line, sink);
  }
  LineReader* current() { return reader_.get(); }

 private:
  bool open_next();

  std::vector<std::string> names_;
  size_t next_ = 0;
  size_t max_line_;
  std::unique_ptr<LineReader> reader_;
};

}  // namespace rowpipe
