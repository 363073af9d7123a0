// Bounds-checked little/big-endian reads over a byte span: every binlog byte is read through this.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "cli/error.hpp"

namespace rowpipe::binlog {

// Throws Error(kProtocol) naming `what` and the absolute byte offset (the span's base plus the
// read position), so a corrupt file is reported where it breaks.
[[noreturn]] void throw_truncated(const char* what, uint64_t offset);
[[noreturn]] void throw_corrupt(const std::string& what, uint64_t offset);

// A cursor over untrusted bytes. Every read checks the remaining length first and throws instead of
// reading past the end; nothing here asserts on input. `base` is the absolute offset of data[0]
// (the event's position in its file), used only in error messages.
class Reader {
 public:
  Reader() = default;
  Reader(const uint8_t* data, size_t size, uint64_t base = 0)
      : p_(data), end_(data + size), begin_(data), base_(base) {}
  Reader(std::string_view bytes, uint64_t base = 0)
      : Reader(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), base) {}

  size_t remaining() const { return static_cast<size_t>(end_ - p_); }
  bool empty() const { return p_ == end_; }
  size_t pos() const { return static_cast<size_t>(p_ - begin_); }
  uint64_t offset() const { return base_ + pos(); }
  uint64_t base() const { return base_; }
  const uint8_t* cursor() const { return p_; }

  void need(size_t n, const char* what) const {
    if (remaining() < n) throw_truncated(what, offset());
  }
  [[noreturn]] void corrupt(const std::string& what) const { throw_corrupt(what, offset()); }

  uint8_t u8(const char* what = "byte") {
    need(1, what);
    return *p_++;
  }
  uint64_t uint_le(size_t n, const char* what = "integer") {
    need(n, what);
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v |= uint64_t{p_[i]} << (8 * i);
    p_ += n;
    return v;
  }
  uint64_t uint_be(size_t n, const char* what = "integer") {
    need(n, what);
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v = (v << 8) | p_[i];
    p_ += n;
    return v;
  }
  uint16_t u16(const char* what = "integer") { return static_cast<uint16_t>(uint_le(2, what)); }
  uint32_t u24(const char* what = "integer") { return static_cast<uint32_t>(uint_le(3, what)); }
  uint32_t u32(const char* what = "integer") { return static_cast<uint32_t>(uint_le(4, what)); }
  uint64_t u48(const char* what = "integer") { return uint_le(6, what); }
  uint64_t u64(const char* what = "integer") { return uint_le(8, what); }

  // MySQL's packed (length-encoded) integer: < 251 in one byte; 252, 253, 254 announce 2, 3, 8
  // bytes. 251 means SQL NULL and is corrupt wherever a length is expected.
  uint64_t packed(const char* what = "packed integer") {
    uint8_t first = u8(what);
    if (first < 251) return first;
    switch (first) {
      case 252: return uint_le(2, what);
      case 253: return uint_le(3, what);
      case 254: return uint_le(8, what);
      default: corrupt(std::string("invalid packed integer prefix for ") + what);
    }
  }

  // MySQL serialization library varlen unsigned: the count of trailing one bits of the first byte
  // plus one is the byte count; 0xff announces 8 raw bytes.
  uint64_t varlen(const char* what = "varlen integer") {
    uint8_t first = peek(what);
    int ones = 0;
    while (ones < 8 && (first >> ones) & 1) ++ones;
    if (ones == 8) {
      skip(1, what);
      return uint_le(8, what);
    }
    size_t n = static_cast<size_t>(ones) + 1;
    return uint_le(n, what) >> n;
  }

  uint8_t peek(const char* what = "byte") const {
    need(1, what);
    return *p_;
  }
  const uint8_t* take(size_t n, const char* what = "bytes") {
    need(n, what);
    const uint8_t* at = p_;
    p_ += n;
    return at;
  }
  std::string_view bytes(size_t n, const char* what = "bytes") {
    return {reinterpret_cast<const char*>(take(n, what)), n};
  }
  std::string_view rest() {
    std::string_view v(reinterpret_cast<const char*>(p_), remaining());
    p_ = end_;
    return v;
  }
  void skip(size_t n, const char* what = "bytes") { take(n, what); }
  // A reader over the next n bytes (consumed from this one), keeping absolute offsets.
  Reader sub(size_t n, const char* what = "bytes") {
    uint64_t at = offset();
    const uint8_t* p = take(n, what);
    return Reader(p, n, at);
  }
  // Drops the last n bytes (a checksum) from the readable range.
  void cut_tail(size_t n, const char* what = "checksum") {
    need(n, what);
    end_ -= n;
  }

 private:
  const uint8_t* p_ = nullptr;
  const uint8_t* end_ = nullptr;
  const uint8_t* begin_ = nullptr;
  uint64_t base_ = 0;
};

inline uint64_t load_le(const uint8_t* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v |= uint64_t{p[i]} << (8 * i);
  return v;
}
inline uint64_t load_be(const uint8_t* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

}  // namespace rowpipe::binlog
