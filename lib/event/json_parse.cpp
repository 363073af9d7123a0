#include "event/json_parse.hpp"

#include <charconv>
#include <cmath>

namespace rowpipe::json {

namespace {

// The decimal exponent of the leading significant digit of a JSON number token whose conversion was
// out of double range: positive means overflow, otherwise it underflowed to zero.
bool overflows(std::string_view t) {
  size_t p = t.empty() || t[0] != '-' ? 0 : 1;
  long magnitude = 0;
  bool seen_digit = false;
  for (; p < t.size() && t[p] >= '0' && t[p] <= '9'; ++p) {
    if (t[p] != '0') seen_digit = true;
    if (seen_digit) ++magnitude;
  }
  if (p < t.size() && t[p] == '.') {
    for (++p; p < t.size() && t[p] >= '0' && t[p] <= '9'; ++p) {
      if (seen_digit) continue;
      if (t[p] != '0')
        seen_digit = true;
      else
        --magnitude;
    }
  }
  if (!seen_digit) return false;
  if (p < t.size() && (t[p] == 'e' || t[p] == 'E')) {
    ++p;
    bool negative = p < t.size() && t[p] == '-';
    if (p < t.size() && (t[p] == '-' || t[p] == '+')) ++p;
    // Capped beyond any digit count a line can hold (so the sum with `magnitude` keeps its sign).
    long exp = 0;
    for (; p < t.size() && t[p] >= '0' && t[p] <= '9'; ++p) exp = std::min(exp * 10 + (t[p] - '0'), 1'000'000'000'000L);
    magnitude += negative ? -exp : exp;
  }
  return magnitude > 0;
}

}  // namespace

Number convert_number(std::string_view token) {
  Number n;
  const char* first = token.data();
  const char* last = first + token.size();
  if (token.find_first_of(".eE") == std::string_view::npos) {
    if (token.front() == '-') {
      // "-0" stays a double so that the sign of a negative zero survives a round trip.
      if (auto [end, ec] = std::from_chars(first, last, n.i); ec == std::errc() && end == last && n.i != 0) {
        n.kind = n.i >= INT32_MIN ? Number::kInt : Number::kInt64;
        return n;
      }
    } else if (auto [end, ec] = std::from_chars(first, last, n.u); ec == std::errc() && end == last) {
      n.kind = Number::kUint;
      return n;
    }
  }
  n.kind = Number::kDouble;
  auto [end, ec] = std::from_chars(first, last, n.d);
  if (ec == std::errc::result_out_of_range) {
    if (overflows(token)) {
      n.kind = Number::kTooBig;
    } else {
      n.d = token.front() == '-' ? -0.0 : 0.0;
    }
  }
  return n;
}

}  // namespace rowpipe::json
