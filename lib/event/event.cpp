// Strict parsing of rowpipe-events(5) lines, and their canonical rendering.
#include "event/event.hpp"

#include <rapidjson/error/en.h>

#include <array>

#include "cli/error.hpp"
#include "event/column_type.hpp"
#include "event/json_writer.hpp"
#include "event/values.hpp"

namespace rowpipe {
namespace {

constexpr std::array<std::string_view, 7> kTypeNames{"INSERT",    "UPDATE",         "DELETE",      "DDL",
                                                     "HEARTBEAT", "SNAPSHOT_BEGIN", "SNAPSHOT_END"};

[[noreturn]] void bad(const std::string& message) { fail(ErrorKind::kData, message); }

std::string_view view(const JsonValue& v) { return {v.GetString(), v.GetStringLength()}; }

const JsonValue* member(const JsonValue& obj, const char* name) {
  auto it = obj.FindMember(name);
  return it == obj.MemberEnd() ? nullptr : &it->value;
}

std::string_view required_string(const JsonValue& obj, const char* name) {
  const JsonValue* v = member(obj, name);
  if (v == nullptr) bad(std::string("missing field \"") + name + "\"");
  if (!v->IsString()) bad(std::string("field \"") + name + "\" must be a string");
  return view(*v);
}

std::string_view optional_string(const JsonValue& obj, const char* name) {
  const JsonValue* v = member(obj, name);
  if (v == nullptr || v->IsNull()) return {};
  if (!v->IsString()) bad(std::string("field \"") + name + "\" must be a string");
  return view(*v);
}

bool optional_bool(const JsonValue& obj, const char* name) {
  const JsonValue* v = member(obj, name);
  if (v == nullptr || v->IsNull()) return false;
  if (!v->IsBool()) bad(std::string("field \"") + name + "\" must be true or false");
  return v->GetBool();
}

std::optional<uint64_t> optional_uint(const JsonValue& obj, const char* name) {
  const JsonValue* v = member(obj, name);
  if (v == nullptr || v->IsNull()) return std::nullopt;
  if (!v->IsUint64()) bad(std::string("field \"") + name + "\" must be a non-negative integer");
  return v->GetUint64();
}

Position required_position(std::string_view text, const char* name) {
  auto pos = Position::parse(text);
  if (!pos)
    bad(std::string("field \"") + name + "\" must be FILE:POS, not \"" + std::string(text.substr(0, 80)) + "\"");
  return std::move(*pos);
}

// Returns the object, nullptr for null/absent/"" (the seed format's empty image).
const JsonValue* image(const JsonValue& obj, const char* name, bool& seed_empty) {
  const JsonValue* v = member(obj, name);
  if (v == nullptr || v->IsNull()) return nullptr;
  if (v->IsString() && v->GetStringLength() == 0) {
    seed_empty = true;
    return nullptr;
  }
  if (!v->IsObject()) bad(std::string("field \"") + name + "\" must be an object or null");
  return v;
}

void require_columns(const Event& e, const JsonValue* img, const char* which) {
  for (std::string_view col : e.pk) {
    if (!img->HasMember(rapidjson::StringRef(col.data(), col.size())))
      bad("key column \"" + std::string(col) + "\" missing from the " + which + " image");
  }
}

}  // namespace

std::string_view event_type_name(EventType type) { return kTypeNames[static_cast<size_t>(type)]; }

std::optional<EventType> parse_event_type(std::string_view name) {
  for (size_t i = 0; i < kTypeNames.size(); ++i)
    if (kTypeNames[i] == name) return static_cast<EventType>(i);
  return std::nullopt;
}

std::string_view Event::type_of(std::string_view column) const {
  if (types == nullptr) return {};
  auto it = types->FindMember(rapidjson::StringRef(column.data(), column.size()));
  if (it == types->MemberEnd()) return {};
  return view(it->value);
}

EventParser::EventParser() : pool_(std::make_unique<rapidjson::MemoryPoolAllocator<>>()) {}
EventParser::~EventParser() = default;

const Event& EventParser::parse(std::string_view line) {
  // Parse in situ from our own copy: strings then point into text_ without further copies.
  doc_.reset();
  pool_->Clear();
  doc_ = std::make_unique<rapidjson::Document>(pool_.get());
  text_.assign(line);
  text_.push_back('\0');
  event_ = Event{};

  constexpr unsigned kFlags =
      rapidjson::kParseInsituFlag | rapidjson::kParseValidateEncodingFlag | rapidjson::kParseFullPrecisionFlag;
  if (line.find('\0') != std::string_view::npos) bad("NUL byte in line");
  doc_->ParseInsitu<kFlags>(text_.data());
  if (doc_->HasParseError()) {
    bad(std::string("invalid JSON at byte ") + std::to_string(doc_->GetErrorOffset() + 1) + ": " +
        rapidjson::GetParseError_En(doc_->GetParseError()));
  }
  const JsonValue& obj = *doc_;
  if (!obj.IsObject()) bad("line is not a JSON object");

  Event& e = event_;
  std::string_view type_name = required_string(obj, "eventType");
  auto type = parse_event_type(type_name);
  if (!type) bad("unknown eventType \"" + std::string(type_name.substr(0, 40)) + "\"");
  e.type = *type;
  e.binlog = required_position(required_string(obj, "binlog"), "binlog");
  e.row = optional_uint(obj, "row");
  if (auto sid = optional_uint(obj, "server_id")) {
    if (*sid > UINT32_MAX) bad("field \"server_id\" is out of range");
    e.server_id = static_cast<uint32_t>(*sid);
  }
  e.gtid = optional_string(obj, "gtid");
  bool needs_table = is_row_event(e.type) || e.type == EventType::kSnapshotBegin || e.type == EventType::kSnapshotEnd;
  if (needs_table) {
    e.db = required_string(obj, "db");
    e.table = required_string(obj, "table");
    if (e.db.empty() || e.table.empty()) bad("fields \"db\" and \"table\" must not be empty");
  } else {
    e.db = optional_string(obj, "db");
    e.table = optional_string(obj, "table");
  }

  if (const JsonValue* pk = member(obj, "pk"); pk != nullptr && !pk->IsNull()) {
    if (!pk->IsArray()) bad("field \"pk\" must be an array of column names");
    e.pk_known = true;
    for (const JsonValue& col : pk->GetArray()) {
      if (!col.IsString() || col.GetStringLength() == 0) bad("field \"pk\" must be an array of column names");
      e.pk.push_back(view(col));
    }
  }
  if (const JsonValue* types = member(obj, "types"); types != nullptr && !types->IsNull()) {
    if (!types->IsObject()) bad("field \"types\" must be an object");
    for (const auto& m : types->GetObject()) {
      if (!m.value.IsString() || !ColumnType::parse(view(m.value)))
        bad("column \"" + std::string(view(m.name)) + "\" has a type outside the vocabulary");
    }
    e.types = types;
  }

  bool seed_empty = false;
  e.before = image(obj, "before", seed_empty);
  e.after = image(obj, "after", seed_empty);
  e.partial = optional_bool(obj, "partial");
  e.snapshot = optional_bool(obj, "snapshot");
  e.commit = optional_bool(obj, "commit");
  if (std::string_view next = optional_string(obj, "next"); !next.empty()) e.next = required_position(next, "next");
  e.xid = optional_uint(obj, "xid");
  e.sql = optional_string(obj, "sql");
  e.time = optional_string(obj, "time");
  if (const JsonValue* ts = member(obj, "ts"); ts != nullptr && !ts->IsNull()) {
    if (!ts->IsInt64()) bad("field \"ts\" must be an integer");
    e.ts = ts->GetInt64();
  }

  if (seed_empty || (is_row_event(e.type) && !e.row)) {
    // The seed format writes "" for the missing image, puts a deleted row in `after`, and has no
    // row numbers: rows of one statement share a position, so number them in input order.
    e.seed = true;
    if (e.binlog == seed_position_) {
      ++seed_row_;
    } else {
      seed_position_ = e.binlog;
      seed_row_ = 0;
    }
    if (!e.row) e.row = seed_row_;
    if (e.type == EventType::kDelete && e.before == nullptr && e.after != nullptr) {
      e.before = e.after;
      e.after = nullptr;
    }
  }

  switch (e.type) {
    case EventType::kInsert:
      if (e.after == nullptr) bad("INSERT without an \"after\" image");
      if (e.before != nullptr) bad("INSERT with a \"before\" image");
      require_columns(e, e.after, "after");
      break;
    case EventType::kUpdate:
      if (e.before == nullptr || e.after == nullptr) bad("UPDATE needs both \"before\" and \"after\" images");
      require_columns(e, e.before, "before");
      if (!e.partial) require_columns(e, e.after, "after");
      break;
    case EventType::kDelete:
      if (e.before == nullptr) bad("DELETE without a \"before\" image");
      if (e.after != nullptr) bad("DELETE with an \"after\" image");
      require_columns(e, e.before, "before");
      break;
    case EventType::kDdl:
      if (e.sql.empty()) bad("DDL without \"sql\"");
      [[fallthrough]];
    default:
      if (e.before != nullptr || e.after != nullptr)
        bad(std::string(event_type_name(e.type)) + " line with a row image");
  }
  if (e.commit && e.next && *e.next < e.binlog) bad("field \"next\" lies before \"binlog\"");
  return e;
}

void append_json(std::string& out, const JsonValue& value) {
  switch (value.GetType()) {
    case rapidjson::kNullType: out += "null"; break;
    case rapidjson::kFalseType: out += "false"; break;
    case rapidjson::kTrueType: out += "true"; break;
    case rapidjson::kStringType: json::append_string(out, view(value)); break;
    case rapidjson::kNumberType:
      if (value.IsUint64())
        json::append_int(out, value.GetUint64());
      else if (value.IsInt64())
        json::append_int(out, value.GetInt64());
      else
        json::append_double(out, value.GetDouble());
      break;
    case rapidjson::kObjectType: {
      out += '{';
      bool first = true;
      for (const auto& m : value.GetObject()) {
        if (!first) out += ',';
        first = false;
        json::append_string(out, view(m.name));
        out += ':';
        append_json(out, m.value);
      }
      out += '}';
      break;
    }
    case rapidjson::kArrayType: {
      out += '[';
      bool first = true;
      for (const auto& v : value.GetArray()) {
        if (!first) out += ',';
        first = false;
        append_json(out, v);
      }
      out += ']';
      break;
    }
  }
}

void append_event_line(std::string& out, const Event& e) {
  json::Writer w(out);
  w.begin_object();
  w.key("binlog").string(e.binlog.str());
  if (e.row) w.key("row").integer(*e.row);
  if (e.server_id) w.key("server_id").integer(*e.server_id);
  if (!e.gtid.empty()) w.key("gtid").string(e.gtid);
  if (!e.db.empty() || is_row_event(e.type)) w.key("db").string(e.db);
  if (!e.table.empty() || is_row_event(e.type)) w.key("table").string(e.table);
  w.key("eventType").string(event_type_name(e.type));
  if (e.pk_known) {
    w.key("pk").begin_array();
    for (std::string_view col : e.pk) w.string(col);
    w.end_array();
  }
  if (e.types != nullptr) {
    w.key("types");
    std::string rendered;
    append_json(rendered, *e.types);
    w.raw(rendered);
  }
  if (is_row_event(e.type)) {
    std::string rendered;
    w.key("before");
    if (e.before != nullptr) append_json(rendered, *e.before);
    w.raw(e.before != nullptr ? std::string_view(rendered) : "null");
    rendered.clear();
    w.key("after");
    if (e.after != nullptr) append_json(rendered, *e.after);
    w.raw(e.after != nullptr ? std::string_view(rendered) : "null");
  }
  if (e.partial) w.key("partial").boolean(true);
  if (e.snapshot) w.key("snapshot").boolean(true);
  if (!e.sql.empty()) w.key("sql").string(e.sql);
  if (!e.time.empty()) w.key("time").string(e.time);
  if (e.ts) w.key("ts").integer(*e.ts);
  if (e.xid) w.key("xid").integer(*e.xid);
  if (e.commit) w.key("commit").boolean(true);
  if (e.next) w.key("next").string(e.next->str());
  w.end_object();
}

std::optional<std::string> value_text(const Event& event, std::string_view column, const JsonValue& value) {
  switch (value.GetType()) {
    case rapidjson::kNullType: return std::nullopt;
    case rapidjson::kStringType: {
      std::string_view text = view(value);
      std::string_view type = event.type_of(column);
      if (!type.empty()) {
        auto t = ColumnType::parse(type);
        if (t && t->is_binary()) {
          auto raw = base64_decode(text);
          if (!raw) bad("column \"" + std::string(column) + "\" is not valid base64");
          return raw;
        }
      }
      return std::string(text);
    }
    default: {
      std::string out;
      append_json(out, value);
      return out;
    }
  }
}

}  // namespace rowpipe
