// Value rendering rules of rowpipe-events(5), shared by the binlog decoder and the SQL converter so
// that a row reads the same whichever way it arrived.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rowpipe {

// Standard base64 with padding (RFC 4648 section 4).
void base64_encode(std::string& out, std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);

// `YYYY-MM-DD` (zero dates kept: 0000-00-00).
void append_date(std::string& out, unsigned year, unsigned month, unsigned day);

// `[-]HH:MM:SS[.f...]` with `fsp` fraction digits (0-6) taken from microseconds; hours to 838.
void append_time(std::string& out, bool negative, unsigned hours, unsigned minutes, unsigned seconds, uint32_t micros,
                 unsigned fsp);

// `YYYY-MM-DD HH:MM:SS[.f...]` with `fsp` fraction digits.
void append_datetime(std::string& out, unsigned year, unsigned month, unsigned day, unsigned hour, unsigned minute,
                     unsigned second, uint32_t micros, unsigned fsp);

// An instant as a UTC datetime (TIMESTAMP columns, the `time` field).
void append_utc_datetime(std::string& out, int64_t epoch_seconds, uint32_t micros, unsigned fsp);

// Days since 1970-01-01 <-> civil date (proleptic Gregorian).
int64_t days_from_civil(int64_t year, unsigned month, unsigned day);
void civil_from_days(int64_t days, int64_t& year, unsigned& month, unsigned& day);

}  // namespace rowpipe
