// One pass over a line's top-level members, parsing only the few values mq-pipe pub needs.
#include "line_scan.hpp"

#include <rapidjson/error/en.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include "cli/error.hpp"

namespace rowpipe::mq {
namespace {

// Same number reading as the strict parser, so that keys render alike in every tool.
constexpr unsigned kFlags = rapidjson::kParseFullPrecisionFlag;

[[noreturn]] void malformed(const char* what, std::string_view text, const char* at) {
  fail(ErrorKind::kData, std::string("invalid JSON at byte ") + std::to_string(at - text.data() + 1) + ": " + what);
}

const char* skip_ws(const char* p, const char* end) {
  while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) ++p;
  return p;
}

// p at the opening quote; returns the position after the closing one, or nullptr.
const char* skip_string(const char* p, const char* end, bool* escaped) {
  for (++p; p < end;) {
    const auto* q = static_cast<const char*>(std::memchr(p, '"', static_cast<size_t>(end - p)));
    if (q == nullptr) return nullptr;
    // The quote is escaped when an odd number of backslashes precede it.
    const char* b = q;
    while (b > p && b[-1] == '\\') --b;
    if (b != q) *escaped = true;
    if ((q - b) % 2 == 0) return q + 1;
    p = q + 1;
  }
  return nullptr;
}

// The end of the value that starts at p (strings, objects and arrays balanced; scalars up to the
// next delimiter), or nullptr when it does not end.
const char* skip_value(const char* p, const char* end) {
  bool escaped = false;
  if (p >= end) return nullptr;
  if (*p == '"') return skip_string(p, end, &escaped);
  if (*p == '{' || *p == '[') {
    int depth = 0;
    for (; p < end; ++p) {
      char c = *p;
      if (c == '"') {
        p = skip_string(p, end, &escaped);
        if (p == nullptr) return nullptr;
        --p;
      } else if (c == '{' || c == '[') {
        ++depth;
      } else if (c == '}' || c == ']') {
        if (--depth == 0) return p + 1;
      }
    }
    return nullptr;
  }
  const char* q = p;
  while (q < end && *q != ',' && *q != '}' && *q != ']' && *q != ' ' && *q != '\t' && *q != '\r' && *q != '\n') ++q;
  return q == p ? nullptr : q;
}

struct Member {
  std::string_view name;  // without quotes, escapes not decoded
  bool name_escaped = false;
  std::string_view value;  // the raw JSON text
};

// Calls f(member) for each member of the object `text`; throws a data error when it is not one.
template <typename F>
void for_each_member(std::string_view text, F&& f) {
  const char* p = text.data();
  const char* end = p + text.size();
  p = skip_ws(p, end);
  if (p >= end || *p != '{') malformed("line is not a JSON object", text, p);
  p = skip_ws(p + 1, end);
  if (p < end && *p == '}') return;
  for (;;) {
    if (p >= end || *p != '"') malformed("member name expected", text, p);
    Member m;
    const char* name_end = skip_string(p, end, &m.name_escaped);
    if (name_end == nullptr) malformed("unterminated string", text, p);
    m.name = std::string_view(p + 1, static_cast<size_t>(name_end - p - 2));
    p = skip_ws(name_end, end);
    if (p >= end || *p != ':') malformed("':' expected", text, p);
    p = skip_ws(p + 1, end);
    const char* value_end = skip_value(p, end);
    if (value_end == nullptr) malformed("unterminated value", text, p);
    m.value = std::string_view(p, static_cast<size_t>(value_end - p));
    if (!f(m)) return;
    p = skip_ws(value_end, end);
    if (p < end && *p == ',') {
      p = skip_ws(p + 1, end);
      continue;
    }
    if (p < end && *p == '}') return;
    malformed("',' or '}' expected", text, p);
  }
}

// The {col:NAME} names of a template ({{ and }} are literal braces).
std::vector<std::string> template_columns(std::string_view text, bool* placeholder) {
  std::vector<std::string> cols;
  *placeholder = false;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '{') continue;
    if (i + 1 < text.size() && text[i + 1] == '{') {
      ++i;
      continue;
    }
    *placeholder = true;
    size_t close = text.find('}', i);
    std::string_view name = text.substr(i + 1, close == std::string_view::npos ? 0 : close - i - 1);
    if (name.starts_with("col:")) cols.emplace_back(name.substr(4));
  }
  return cols;
}

// The template without {pk} and {col:NAME}: the key of lines that carry no row.
std::string without_row_placeholders(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '{' && i + 1 < text.size() && text[i + 1] == '{') {
      out += "{{";
      ++i;
      continue;
    }
    if (text[i] == '{') {
      size_t close = text.find('}', i);
      std::string_view name = text.substr(i + 1, close == std::string_view::npos ? 0 : close - i - 1);
      if (name == "pk" || name.starts_with("col:")) {
        i = close;
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

// FILE:POS (the last ':' separates) without copying; false when malformed.
bool split_position(std::string_view text, std::string_view* file, uint64_t* offset) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  std::optional<uint64_t> pos = parse_u64(text.substr(colon + 1));
  if (!pos) return false;
  *file = text.substr(0, colon);
  *offset = *pos;
  return true;
}

bool is_string(std::string_view raw) { return raw.size() >= 2 && raw.front() == '"'; }

}  // namespace

LineScanner::LineScanner(std::optional<KeyTemplate> key, bool positions)
    : key_(std::move(key)), positions_(positions), pool_(std::make_unique<rapidjson::MemoryPoolAllocator<>>()) {
  bool placeholder = false;
  if (key_) {
    key_columns_ = template_columns(key_->text(), &placeholder);
    needs_row_ = key_->uses_row();
  }
  needs_parse_ = positions_ || placeholder;
  if (needs_row_) row_less_ = KeyTemplate::compile(without_row_placeholders(key_->text()));
  if (key_ && !placeholder) {
    // A constant key: render it once.
    Event none;
    JsonValue null_image;
    key_->render(info_.key, none, null_image);
  }
}

LineScanner::~LineScanner() = default;

// The text of a JSON string value (escapes decoded when it has any).
std::string_view LineScanner::string_value(std::string_view raw, const char* field) {
  if (!is_string(raw)) fail(ErrorKind::kData, std::string("\"") + field + "\" is not a string");
  std::string_view inner = raw.substr(1, raw.size() - 2);
  if (inner.find('\\') == std::string_view::npos) return inner;
  const JsonValue& v = parse_value(raw, field);
  if (decoded_used_ == decoded_.size()) decoded_.emplace_back();
  std::string& s = decoded_[decoded_used_++];
  s.assign(v.GetString(), v.GetStringLength());
  return s;
}

const JsonValue& LineScanner::parse_value(std::string_view raw, const char* field) {
  if (docs_used_ == docs_.size()) docs_.emplace_back(pool_.get());
  rapidjson::Document& d = docs_[docs_used_++];
  d.Parse<kFlags>(raw.data(), raw.size());
  if (d.HasParseError())
    fail(ErrorKind::kData,
         std::string("\"") + field + "\": invalid JSON: " + rapidjson::GetParseError_En(d.GetParseError()));
  return d;
}

// Only the columns the key needs, each parsed from its own text; nullptr when `raw` is no object
// (null, or a seed line's "").
const JsonValue* LineScanner::key_image(std::string_view raw, const std::vector<std::string_view>& pk) {
  if (raw.empty() || raw.front() != '{') return nullptr;
  auto wanted = [&](std::string_view name) {
    for (std::string_view c : pk)
      if (c == name) return true;
    for (const std::string& c : key_columns_)
      if (c == name) return true;
    return false;
  };
  bool escaped_name = false;
  image_.SetObject();
  for_each_member(raw, [&](const Member& m) {
    if (m.name_escaped) {
      escaped_name = true;
      return false;
    }
    // A Value, not a StringRef: RapidJSON's FindMember(const char*) would strlen() the line.
    JsonValue name(rapidjson::StringRef(m.name.data(), static_cast<rapidjson::SizeType>(m.name.size())));
    if (!wanted(m.name) || image_.FindMember(name) != image_.MemberEnd()) return true;  // first one counts
    auto& doc = const_cast<JsonValue&>(parse_value(m.value, "row image"));
    image_.AddMember(name, static_cast<JsonValue&>(doc), *pool_);
    return true;
  });
  if (escaped_name) return &parse_value(raw, "row image");  // rare: parse the image whole
  return &image_;
}

const LineInfo& LineScanner::scan(std::string_view line) {
  if (!needs_parse_) return info_;
  pool_->Clear();
  docs_used_ = decoded_used_ = 0;
  info_.has_position = false;
  info_.row = 0;
  info_.server_id.reset();
  info_.boundary.reset();

  std::string_view db, table, type, pk, types, before, after, binlog, row, next, server_id, gtid, commit;
  // Without positions and row placeholders, only db and table count: stop once both are found.
  const bool only_names = !positions_ && !needs_row_;
  for_each_member(line, [&](const Member& m) {
    if (m.name_escaped) return true;  // none of ours
    auto take = [&](std::string_view& slot) {
      if (slot.data() == nullptr) slot = m.value;  // the first of repeated names counts
    };
    std::string_view n = m.name;
    if (n == "db")
      take(db);
    else if (n == "table")
      take(table);
    else if (n == "eventType")
      take(type);
    else if (n == "pk")
      take(pk);
    else if (n == "types")
      take(types);
    else if (n == "before")
      take(before);
    else if (n == "after")
      take(after);
    else if (n == "binlog")
      take(binlog);
    else if (n == "row")
      take(row);
    else if (n == "next")
      take(next);
    else if (n == "server_id")
      take(server_id);
    else if (n == "gtid")
      take(gtid);
    else if (n == "commit")
      take(commit);
    return !(only_names && db.data() != nullptr && table.data() != nullptr);
  });

  Event e;
  if (is_string(gtid)) e.gtid = string_value(gtid, "gtid");
  if (!server_id.empty() && server_id.front() != '"' && server_id != "null") {
    uint32_t id = 0;
    auto [end, ec] = std::from_chars(server_id.data(), server_id.data() + server_id.size(), id);
    if (ec != std::errc() || end != server_id.data() + server_id.size())
      fail(ErrorKind::kData, "\"server_id\" is not a 32-bit unsigned integer");
    e.server_id = id;
  }

  if (key_) {
    info_.key.clear();
    if (is_string(db)) e.db = string_value(db, "db");
    if (is_string(table)) e.table = string_value(table, "table");
    if (is_string(type))
      if (auto t = parse_event_type(string_value(type, "eventType"))) e.type = *t;
    const JsonValue* image = nullptr;
    if (needs_row_) {
      if (!pk.empty() && pk.front() == '[') {
        e.pk_known = true;
        for (const JsonValue& col : parse_value(pk, "pk").GetArray())
          if (col.IsString()) e.pk.emplace_back(col.GetString(), col.GetStringLength());
      }
      if (!types.empty() && types.front() == '{') e.types = &parse_value(types, "types");
      // The image that names the row: `before` for a DELETE, else `after` (either, when eventType
      // is missing or unknown).
      std::string_view first = e.type == EventType::kDelete ? before : after;
      std::string_view second = e.type == EventType::kDelete ? after : before;
      image = key_image(first, e.pk);
      if (image == nullptr) image = key_image(second, e.pk);  // a seed DELETE has its row in `after`
      if (image == nullptr && is_string(type) && is_row_event(e.type))
        fail(ErrorKind::kData, "--key needs a row image and the line has none");
    }
    JsonValue null_image;
    if (needs_row_ && image == nullptr)
      row_less_->render(info_.key, e, null_image);  // DDL, HEARTBEAT, snapshot markers
    else
      key_->render(info_.key, e, image != nullptr ? *image : null_image);
  }

  if (positions_) {
    info_.server_id = e.server_id;
    if (binlog.data() != nullptr) {
      if (!split_position(string_value(binlog, "binlog"), &info_.file, &info_.offset))
        fail(ErrorKind::kData, "\"binlog\" is not FILE:POS");
      if (row.data() != nullptr) {
        auto [end, ec] = std::from_chars(row.data(), row.data() + row.size(), info_.row);
        if (ec != std::errc() || end != row.data() + row.size())
          fail(ErrorKind::kData, "\"row\" is not a non-negative integer");
      }
      info_.has_position = true;
    }
    if (commit == "true") {
      if (next.data() == nullptr) fail(ErrorKind::kData, "a commit line without \"next\"");
      Boundary b;
      if (!split_position(string_value(next, "next"), &b.file, &b.offset))
        fail(ErrorKind::kData, "\"next\" is not FILE:POS");
      b.server_id = e.server_id;
      b.gtid = e.gtid;
      info_.boundary = b;
    }
  }
  return info_;
}

}  // namespace rowpipe::mq
