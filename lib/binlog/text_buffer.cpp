// TextBuffer's out-of-line parts: growth and moves.
#include "binlog/text_buffer.hpp"

#include <algorithm>

namespace rowpipe::binlog {

void TextBuffer::grow(size_t n) {
  size_t cap = std::max<size_t>({cap_ * 2, len_ + n, 256});
  std::unique_ptr<char[]> bigger(new char[cap]);
  if (len_) std::memcpy(bigger.get(), buf_.get(), len_);
  buf_ = std::move(bigger);
  cap_ = cap;
}

void TextBuffer::erase_front(size_t n) {
  if (n >= len_) {
    len_ = 0;
    return;
  }
  std::memmove(buf_.get(), buf_.get() + n, len_ - n);
  len_ -= n;
}

void TextBuffer::insert(size_t at, std::string_view text) {
  room(text.size());
  std::memmove(buf_.get() + at + text.size(), buf_.get() + at, len_ - at);
  if (!text.empty()) std::memcpy(buf_.get() + at, text.data(), text.size());
  len_ += text.size();
}

void TextBuffer::shrink_if_above(size_t bytes) {
  if (cap_ <= bytes || len_ > bytes) return;
  std::unique_ptr<char[]> smaller(new char[std::max<size_t>(len_, 256)]);
  if (len_) std::memcpy(smaller.get(), buf_.get(), len_);
  buf_ = std::move(smaller);
  cap_ = std::max<size_t>(len_, 256);
}

}  // namespace rowpipe::binlog
