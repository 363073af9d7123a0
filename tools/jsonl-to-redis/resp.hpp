// RESP2 on our side of the socket: commands appended straight into a send buffer, and a scanner that
// walks replies without allocating (hiredis' reader builds an object per reply; the hot path only
// needs to count replies and notice errors).
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace rowpipe::redis_sink {

// Appends one command: the argument count first, then each argument as a bulk string.
void append_header(std::string& out, size_t argc);
void append_arg(std::string& out, std::string_view arg);
void append_arg(std::string& out, uint64_t value);
void append_arg(std::string& out, int64_t value);
void append_command(std::string& out, std::initializer_list<std::string_view> args);

// The byte length of "$<len>\r\n<bytes>\r\n" for an argument of `len` bytes.
size_t arg_bytes(size_t len);

// A summary of one complete top-level reply.
struct Reply {
  char type = 0;          // '+', '-', ':', '$', '*'
  bool nil = false;       // $-1 or *-1
  std::string_view text;  // status, error or bulk text (top level only)
  int64_t integer = 0;    // ':' replies
  size_t elements = 0;    // top-level array length
  // Error replies nested anywhere inside an array: how many, the index of the top-level element
  // holding the first one, and its text.
  size_t nested_errors = 0;
  size_t first_error_index = 0;
  std::string_view first_error;
  std::string_view raw;  // the whole reply as received (for a full parse with hiredis)

  bool is_error() const { return type == '-'; }
  bool is_status(std::string_view s) const { return type == '+' && text == s; }
};

// Parses replies out of a growing byte buffer. Views in a returned Reply stay valid until the next
// call that reads more bytes (consume() compacts the buffer).
class ReplyScanner {
 public:
  // Room to read into: at least `min` free bytes at the end of the buffer.
  char* prepare(size_t min);
  void commit(size_t n) { end_ += n; }

  // The next complete reply, or nullopt when more bytes are needed. Throws Error(kProtocol) on bytes
  // that are not RESP.
  std::optional<Reply> next();

  bool empty() const { return begin_ == end_; }
  void clear() { begin_ = end_ = 0; }

 private:
  // Parses one value at `pos`; returns the position after it, or npos when incomplete.
  size_t parse(size_t pos, int depth, Reply& top, bool is_top, size_t top_index);
  // The CRLF-terminated line at `pos` (without CRLF), or nullopt when incomplete.
  std::optional<std::string_view> line_at(size_t pos) const;

  std::string buf_;
  size_t begin_ = 0;
  size_t end_ = 0;
};

}  // namespace rowpipe::redis_sink
