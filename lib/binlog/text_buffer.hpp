// A growable byte buffer whose appends are inline (std::string's are calls into the library): the
// decoder renders every value and line through it, piece by small piece.
#pragma once

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>

namespace rowpipe::binlog {

// memcpy for the short pieces lines are made of (keys, numbers, dates): up to 16 bytes without a
// library call, by two overlapping loads and stores.
inline void copy_bytes(char* dst, const char* src, size_t n) {
  if (n > 16) {
    std::memcpy(dst, src, n);
  } else if (n >= 8) {
    uint64_t a, b;
    std::memcpy(&a, src, 8);
    std::memcpy(&b, src + n - 8, 8);
    std::memcpy(dst, &a, 8);
    std::memcpy(dst + n - 8, &b, 8);
  } else if (n >= 4) {
    uint32_t a, b;
    std::memcpy(&a, src, 4);
    std::memcpy(&b, src + n - 4, 4);
    std::memcpy(dst, &a, 4);
    std::memcpy(dst + n - 4, &b, 4);
  } else if (n > 0) {
    dst[0] = src[0];
    dst[n / 2] = src[n / 2];
    dst[n - 1] = src[n - 1];
  }
}

class TextBuffer {
 public:
  TextBuffer() = default;
  TextBuffer(const TextBuffer& other) { append(other.view()); }
  TextBuffer(TextBuffer&& other) noexcept : buf_(std::move(other.buf_)), len_(other.len_), cap_(other.cap_) {
    other.len_ = other.cap_ = 0;
  }
  TextBuffer& operator=(const TextBuffer& other) {
    if (this != &other) {
      clear();
      append(other.view());
    }
    return *this;
  }
  TextBuffer& operator=(TextBuffer&& other) noexcept {
    buf_ = std::move(other.buf_);
    len_ = other.len_;
    cap_ = other.cap_;
    other.len_ = other.cap_ = 0;
    return *this;
  }
  TextBuffer& operator=(std::string_view text) {
    clear();
    append(text);
    return *this;
  }

  size_t size() const { return len_; }
  bool empty() const { return len_ == 0; }
  size_t capacity() const { return cap_; }
  const char* data() const { return buf_.get(); }
  std::string_view view() const { return {buf_.get(), len_}; }
  void clear() { len_ = 0; }
  // Drops the last bytes down to `size` (<= size()).
  void truncate(size_t size) { len_ = size; }

  // At least `n` writable bytes after the end; write there, then set_end() past what was written.
  char* room(size_t n) {
    if (cap_ - len_ < n) grow(n);
    return buf_.get() + len_;
  }
  void set_end(const char* end) { len_ = static_cast<size_t>(end - buf_.get()); }

  void append(const char* p, size_t n) {
    copy_bytes(room(n), p, n);
    len_ += n;
  }
  void append(std::string_view s) { append(s.data(), s.size()); }
  TextBuffer& operator+=(std::string_view s) {
    append(s.data(), s.size());
    return *this;
  }
  TextBuffer& operator+=(char c) {
    *room(1) = c;
    ++len_;
    return *this;
  }
  // The decimal text of an integer (std::to_chars, as json::append_int writes it).
  template <typename Int>
  void append_int(Int value) {
    char* p = room(24);
    set_end(std::to_chars(p, p + 24, value).ptr);
  }

  // Removes the first `n` bytes (the rest moves to the front).
  void erase_front(size_t n);
  // Inserts `text` at `at` (<= size()).
  void insert(size_t at, std::string_view text);
  // Frees the allocation when it grew beyond `bytes` (after a huge value), keeping the content.
  void shrink_if_above(size_t bytes);

 private:
  void grow(size_t n);

  std::unique_ptr<char[]> buf_;
  size_t len_ = 0;
  size_t cap_ = 0;
};

}  // namespace rowpipe::binlog
