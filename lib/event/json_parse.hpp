// JSON parsing with exact, total number conversion.
//
// RapidJSON's full-precision number path (kParseFullPrecisionFlag) has undefined behaviour on some
// inputs: a significand of many zeros with a large negative exponent reaches __builtin_clzll(0),
// and long significands with huge exponents overflow an int (rapidjson/internal/diyfp.h, found by
// fuzz_jsonl). Its normal-precision path is inexact in the last bits. So numbers are read as raw text
// (kParseNumbersAsStringsFlag) and converted here with std::from_chars, which rounds correctly and
// is defined for every input; the values reach the document as RapidJSON would have typed them.
#pragma once

#include <rapidjson/document.h>
#include <rapidjson/reader.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace rowpipe::json {

// A JSON number token converted as RapidJSON types it: integers that fit as Uint/Int/Uint64/Int64,
// everything else (and "-0") as a double. kTooBig: a finite-looking number beyond double range.
struct Number {
  enum Kind { kUint, kInt, kUint64, kInt64, kDouble, kTooBig } kind = kUint;
  uint64_t u = 0;
  int64_t i = 0;
  double d = 0;
};
Number convert_number(std::string_view token);

// Forwards SAX events to a handler (a GenericDocument, or any RapidJSON handler), converting the
// raw number tokens with convert_number.
template <typename Handler>
class ExactNumbers {
 public:
  ExactNumbers(Handler& next, const char* base) : next_(next), base_(base) {}

  bool Null() { return next_.Null(); }
  bool Bool(bool b) { return next_.Bool(b); }
  bool Int(int i) { return next_.Int(i); }
  bool Uint(unsigned u) { return next_.Uint(u); }
  bool Int64(int64_t i) { return next_.Int64(i); }
  bool Uint64(uint64_t u) { return next_.Uint64(u); }
  bool Double(double d) { return next_.Double(d); }
  bool RawNumber(const char* s, rapidjson::SizeType len, bool) {
    Number n = convert_number(std::string_view(s, len));
    switch (n.kind) {
      case Number::kUint: return n.u <= UINT32_MAX ? next_.Uint(static_cast<unsigned>(n.u)) : next_.Uint64(n.u);
      case Number::kInt: return n.i >= INT32_MIN ? next_.Int(static_cast<int>(n.i)) : next_.Int64(n.i);
      case Number::kUint64: return next_.Uint64(n.u);
      case Number::kInt64: return next_.Int64(n.i);
      case Number::kDouble: return next_.Double(n.d);
      case Number::kTooBig: break;
    }
    too_big_offset_ = static_cast<size_t>(s - base_);
    return false;
  }
  bool String(const char* s, rapidjson::SizeType len, bool copy) { return next_.String(s, len, copy); }
  bool Key(const char* s, rapidjson::SizeType len, bool copy) { return next_.Key(s, len, copy); }
  bool StartObject() { return next_.StartObject(); }
  bool EndObject(rapidjson::SizeType n) { return next_.EndObject(n); }
  bool StartArray() { return next_.StartArray(); }
  bool EndArray(rapidjson::SizeType n) { return next_.EndArray(n); }

  // Where the number that stopped the parse starts, or SIZE_MAX.
  size_t too_big_offset() const { return too_big_offset_; }

 private:
  Handler& next_;
  const char* base_;
  size_t too_big_offset_ = SIZE_MAX;
};

// Parses the NUL-terminated `text` in place into `doc` (strings then point into `text`). `reader` is
// kept by the caller so that its stack is reused between parses. Returns the parse result; a number
// beyond double range is kParseErrorNumberTooBig at its offset, as RapidJSON reports it.
template <unsigned Flags = 0, typename Document, typename Reader>
rapidjson::ParseResult parse_insitu(Document& doc, char* text, Reader& reader) {
  constexpr unsigned kFlags = (Flags & ~rapidjson::kParseFullPrecisionFlag) | rapidjson::kParseInsituFlag |
                              rapidjson::kParseNumbersAsStringsFlag;
  rapidjson::ParseResult result;
  auto generate = [&](Document& d) {
    ExactNumbers<Document> handler(d, text);
    rapidjson::GenericInsituStringStream<rapidjson::UTF8<>> in(text);
    result = reader.template Parse<kFlags>(in, handler);
    if (handler.too_big_offset() != SIZE_MAX) result.Set(rapidjson::kParseErrorNumberTooBig, handler.too_big_offset());
    return !result.IsError();
  };
  doc.Populate(generate);
  return result;
}

}  // namespace rowpipe::json
