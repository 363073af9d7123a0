// Appends JSON text to a std::string: the one writer behind every line rowpipe emits.
#pragma once

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

namespace rowpipe::json {

// Appends `text` as a JSON string (quotes included). `text` must be valid UTF-8 (see is_valid_utf8);
// control characters are escaped, everything else is copied as is.
void append_string(std::string& out, std::string_view text);

template <typename Int>
inline void append_int(std::string& out, Int value) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  out.append(buf, end);
}

// Shortest decimal that reads back to the same double / float (std::to_chars); NaN and infinities,
// which JSON cannot carry, are written as null.
void append_double(std::string& out, double value);
void append_float(std::string& out, float value);

bool is_valid_utf8(std::string_view text) noexcept;

// Writes a JSON object or array with commas handled; keys and strings escaped as append_string.
class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}

  Writer& begin_object() {
    sep();
    out_ += '{';
    first_ = true;
    return *this;
  }
  Writer& end_object() {
    out_ += '}';
    first_ = false;
    return *this;
  }
  Writer& begin_array() {
    sep();
    out_ += '[';
    first_ = true;
    return *this;
  }
  Writer& end_array() {
    out_ += ']';
    first_ = false;
    return *this;
  }
  Writer& key(std::string_view name) {
    sep();
    append_string(out_, name);
    out_ += ':';
    first_ = true;  // the value that follows takes no comma
    return *this;
  }
  Writer& string(std::string_view value) {
    sep();
    append_string(out_, value);
    return *this;
  }
  template <typename Int>
  Writer& integer(Int value) {
    sep();
    append_int(out_, value);
    return *this;
  }
  Writer& boolean(bool value) {
    sep();
    out_ += value ? "true" : "false";
    return *this;
  }
  Writer& null() {
    sep();
    out_ += "null";
    return *this;
  }
  // Already-rendered JSON (a nested image, a number in text form).
  Writer& raw(std::string_view json) {
    sep();
    out_ += json;
    return *this;
  }

  std::string& out() { return out_; }

 private:
  void sep() {
    if (!first_) out_ += ',';
    first_ = false;
  }

  std::string& out_;
  bool first_ = true;
};

}  // namespace rowpipe::json
