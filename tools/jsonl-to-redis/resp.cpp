// RESP2 encoding of commands and an allocation-free scan of replies.
#include "resp.hpp"

#include <charconv>
#include <cstring>

#include "cli/error.hpp"

namespace rowpipe::redis_sink {
namespace {

constexpr size_t kNpos = std::string::npos;
constexpr int kMaxDepth = 16;

// Writes "<type><n>\r\n" at `p` (room for 23 bytes) and returns the end.
char* put_prefix(char* p, char type, uint64_t n) {
  *p++ = type;
  p = std::to_chars(p, p + 20, n).ptr;
  *p++ = '\r';
  *p++ = '\n';
  return p;
}

size_t decimal_width(size_t value) {
  size_t width = 1;
  while (value >= 10) {
    value /= 10;
    ++width;
  }
  return width;
}

[[noreturn]] void bad_reply(const std::string& what) {
  fail(ErrorKind::kProtocol, "malformed reply from redis: " + what);
}

}  // namespace

void append_header(std::string& out, size_t argc) {
  char buf[24];
  out.append(buf, static_cast<size_t>(put_prefix(buf, '*', argc) - buf));
}

void append_arg(std::string& out, std::string_view arg) {
  // Most arguments (field names, values, keys) are short: built on the stack and appended at once,
  // one capacity check instead of five.
  char buf[128];
  char* p = put_prefix(buf, '$', arg.size());
  if (arg.size() <= sizeof buf - 25) {
    std::memcpy(p, arg.data(), arg.size());
    p += arg.size();
    *p++ = '\r';
    *p++ = '\n';
    out.append(buf, static_cast<size_t>(p - buf));
    return;
  }
  out.append(buf, static_cast<size_t>(p - buf));
  out.append(arg);
  out.append("\r\n", 2);
}

namespace {

// An integer argument: "$<digits>\r\n<decimal>\r\n" in one append.
template <typename Int>
void append_int_arg(std::string& out, Int value) {
  char digits[24];
  char* end = std::to_chars(digits, digits + sizeof digits, value).ptr;
  size_t n = static_cast<size_t>(end - digits);
  char buf[48];
  char* p = put_prefix(buf, '$', n);
  std::memcpy(p, digits, n);
  p += n;
  *p++ = '\r';
  *p++ = '\n';
  out.append(buf, static_cast<size_t>(p - buf));
}

}  // namespace

void append_arg(std::string& out, uint64_t value) { append_int_arg(out, value); }
void append_arg(std::string& out, int64_t value) { append_int_arg(out, value); }

void append_command(std::string& out, std::initializer_list<std::string_view> args) {
  append_header(out, args.size());
  for (std::string_view a : args) append_arg(out, a);
}

size_t arg_bytes(size_t len) { return 1 + decimal_width(len) + 2 + len + 2; }

char* ReplyScanner::prepare(size_t min) {
  if (begin_ == end_) begin_ = end_ = 0;
  if (buf_.size() - end_ < min && begin_ > 0) {
    std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (buf_.size() - end_ < min) buf_.resize(end_ + min);
  return buf_.data() + end_;
}

std::optional<std::string_view> ReplyScanner::line_at(size_t pos) const {
  if (pos >= end_) return std::nullopt;
  const char* start = buf_.data() + pos;
  const void* cr = std::memchr(start, '\r', end_ - pos);
  if (cr == nullptr) return std::nullopt;
  size_t len = static_cast<size_t>(static_cast<const char*>(cr) - start);
  if (pos + len + 1 >= end_) return std::nullopt;  // the '\n' has not arrived
  if (start[len + 1] != '\n') bad_reply("CR without LF");
  return std::string_view(start, len);
}

size_t ReplyScanner::parse(size_t pos, int depth, Reply& top, bool is_top, size_t top_index) {
  if (depth > kMaxDepth) bad_reply("nesting too deep");
  auto line = line_at(pos);
  if (!line) return kNpos;
  if (line->empty()) bad_reply("empty line");
  char type = (*line)[0];
  std::string_view rest = line->substr(1);
  size_t after = pos + line->size() + 2;
  if (is_top) top.type = type;
  auto number = [&]() {
    int64_t n = 0;
    auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), n);
    if (ec != std::errc() || end != rest.data() + rest.size()) bad_reply("bad number");
    return n;
  };
  switch (type) {
    case '+':
      if (is_top) top.text = rest;
      return after;
    case '-':
      if (is_top) {
        top.text = rest;
      } else if (top.nested_errors++ == 0) {
        top.first_error = rest;
        top.first_error_index = top_index;
      }
      return after;
    case ':':
      if (is_top) top.integer = number();
      return after;
    case '$': {
      int64_t len = number();
      if (len < 0) {
        if (is_top) top.nil = true;
        return after;
      }
      size_t n = static_cast<size_t>(len);
      if (after + n + 2 > end_) return kNpos;
      if (is_top) top.text = std::string_view(buf_.data() + after, n);
      return after + n + 2;
    }
    case '*': {
      int64_t n = number();
      if (n < 0) {
        if (is_top) top.nil = true;
        return after;
      }
      if (is_top) top.elements = static_cast<size_t>(n);
      size_t p = after;
      for (int64_t i = 0; i < n; ++i) {
        p = parse(p, depth + 1, top, false, is_top ? static_cast<size_t>(i) : top_index);
        if (p == kNpos) return kNpos;
      }
      return p;
    }
    default: bad_reply(std::string("unknown type byte '") + type + "'");
  }
}

std::optional<Reply> ReplyScanner::next() {
  if (begin_ == end_) return std::nullopt;
  Reply r;
  size_t p = parse(begin_, 0, r, true, 0);
  if (p == kNpos) return std::nullopt;
  r.raw = std::string_view(buf_.data() + begin_, p - begin_);
  begin_ = p;
  return r;
}

}  // namespace rowpipe::redis_sink
