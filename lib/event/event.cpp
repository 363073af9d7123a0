// Strict parsing of rowpipe-events(5) lines, and their canonical rendering.
#include "event/event.hpp"

#include <rapidjson/error/en.h>

#include <array>
#include <cstdint>

#include "cli/error.hpp"
#include "event/column_type.hpp"
#include "event/json_parse.hpp"
#include "event/json_writer.hpp"
#include "event/values.hpp"

namespace rowpipe {
namespace {

constexpr std::array<std::string_view, 7> kTypeNames{"INSERT",    "UPDATE",         "DELETE",      "DDL",
                                                     "HEARTBEAT", "SNAPSHOT_BEGIN", "SNAPSHOT_END"};

[[noreturn]] void bad(const std::string& message) { fail(ErrorKind::kData, message); }

std::string_view view(const JsonValue& v) { return {v.GetString(), v.GetStringLength()}; }

// The fields of the line format; a line's members are sorted into these in one pass.
enum Field : uint8_t {
  kBinlog,
  kRow,
  kServerId,
  kGtid,
  kDb,
  kTable,
  kEventType,
  kPk,
  kTypes,
  kBefore,
  kAfter,
  kPartial,
  kSnapshot,
  kCommit,
  kNext,
  kXid,
  kSql,
  kTime,
  kTs,
  kFieldCount,
  kUnknown = kFieldCount
};
constexpr std::array<std::string_view, kFieldCount> kFieldNames{
    "binlog", "row",     "server_id", "gtid",   "db",   "table", "eventType", "pk",   "types", "before",
    "after",  "partial", "snapshot",  "commit", "next", "xid",   "sql",       "time", "ts"};

Field field_of(std::string_view name) {
  // Dispatch on length and first letter, then one comparison: no scan over all names.
  auto is = [&](Field f) { return kFieldNames[f] == name ? f : kUnknown; };
  switch (name.size()) {
    case 2: return name[0] == 'p' ? is(kPk) : name[0] == 'd' ? is(kDb) : is(kTs);
    case 3: return name[0] == 'r' ? is(kRow) : name[0] == 'x' ? is(kXid) : is(kSql);
    case 4: return name[0] == 'g' ? is(kGtid) : name[0] == 'n' ? is(kNext) : is(kTime);
    case 5: return name[0] == 't' ? (name[1] == 'a' ? is(kTable) : is(kTypes)) : is(kAfter);
    case 6: return name[0] == 'b' ? (name[1] == 'i' ? is(kBinlog) : is(kBefore)) : is(kCommit);
    case 7: return is(kPartial);
    case 8: return is(kSnapshot);
    case 9: return name[0] == 's' ? is(kServerId) : is(kEventType);
    default: return kUnknown;
  }
}

std::string field_text(Field f) { return "field \"" + std::string(kFieldNames[f]) + "\""; }

std::string_view required_string(const JsonValue* v, Field f) {
  if (v == nullptr) bad("missing " + field_text(f));
  if (!v->IsString()) bad(field_text(f) + " must be a string");
  return view(*v);
}

std::string_view optional_string(const JsonValue* v, Field f) {
  if (v == nullptr || v->IsNull()) return {};
  if (!v->IsString()) bad(field_text(f) + " must be a string");
  return view(*v);
}

bool optional_bool(const JsonValue* v, Field f) {
  if (v == nullptr || v->IsNull()) return false;
  if (!v->IsBool()) bad(field_text(f) + " must be true or false");
  return v->GetBool();
}

std::optional<uint64_t> optional_uint(const JsonValue* v, Field f) {
  if (v == nullptr || v->IsNull()) return std::nullopt;
  if (!v->IsUint64()) bad(field_text(f) + " must be a non-negative integer");
  return v->GetUint64();
}

void assign_position(Position& pos, std::string_view text, Field f) {
  if (!pos.assign(text)) bad(field_text(f) + " must be FILE:POS, not \"" + std::string(text.substr(0, 80)) + "\"");
}

// Returns the object, nullptr for null/absent/"" (the seed format's empty image).
const JsonValue* image(const JsonValue* v, Field f, bool& seed_empty) {
  if (v == nullptr || v->IsNull()) return nullptr;
  if (v->IsString() && v->GetStringLength() == 0) {
    seed_empty = true;
    return nullptr;
  }
  if (!v->IsObject()) bad(field_text(f) + " must be an object or null");
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

void Event::reset() {
  type = EventType::kHeartbeat;
  binlog.offset = 0;  // binlog.file is overwritten by the next parse and keeps its capacity
  row.reset();
  server_id.reset();
  gtid = db = table = sql = time = {};
  pk_known = false;
  pk.clear();
  types = before = after = nullptr;
  partial = snapshot = commit = seed = false;
  next = nullptr;
  xid.reset();
  ts.reset();
}

std::string_view Event::type_of(std::string_view column) const {
  if (types == nullptr) return {};
  auto it = types->FindMember(rapidjson::StringRef(column.data(), column.size()));
  if (it == types->MemberEnd()) return {};
  return view(it->value);
}

EventParser::EventParser()
    : pool_buffer_(std::make_unique<char[]>(2 * kPoolBytes)),
      pool_(std::make_unique<rapidjson::MemoryPoolAllocator<>>(pool_buffer_.get(), kPoolBytes)),
      stack_pool_(std::make_unique<rapidjson::MemoryPoolAllocator<>>(pool_buffer_.get() + kPoolBytes, kPoolBytes)),
      doc_(std::make_unique<Document>(pool_.get(), 1024, stack_pool_.get())) {}
EventParser::~EventParser() = default;

bool EventParser::known_type_word(std::string_view word) {
  // Lines of one table repeat the same few words: remember the ones already validated.
  for (const std::string& w : type_words_)
    if (w == word) return true;
  if (!ColumnType::parse(word)) return false;
  if (type_words_.size() < 256) type_words_.emplace_back(word);
  return true;
}

const Event& EventParser::parse(std::string_view line) {
  // Parse in situ from our own copy: strings then point into text_ without further copies. The value
  // pool keeps its first block between lines, so an ordinary line allocates nothing.
  doc_->SetNull();
  pool_->Clear();
  stack_pool_->Clear();
  text_.assign(line);
  text_.push_back('\0');
  Event& e = event_;
  e.reset();

  if (line.find('\0') != std::string_view::npos) bad("NUL byte in line");
  // One pass with an ASCII fast path beats RapidJSON's per-character validation.
  if (!json::is_valid_utf8(line)) bad("invalid JSON: the line is not valid UTF-8");
  if (rapidjson::ParseResult r = json::parse_insitu(*doc_, text_.data(), reader_); r.IsError()) {
    bad(std::string("invalid JSON at byte ") + std::to_string(r.Offset() + 1) + ": " +
        rapidjson::GetParseError_En(r.Code()));
  }
  const JsonValue& obj = *doc_;
  if (!obj.IsObject()) bad("line is not a JSON object");

  std::array<const JsonValue*, kFieldCount + 1> f{};
  for (const auto& m : obj.GetObject()) f[field_of(view(m.name))] = &m.value;

  std::string_view type_name = required_string(f[kEventType], kEventType);
  auto type = parse_event_type(type_name);
  if (!type) bad("unknown eventType \"" + std::string(type_name.substr(0, 40)) + "\"");
  e.type = *type;
  assign_position(e.binlog, required_string(f[kBinlog], kBinlog), kBinlog);
  e.row = optional_uint(f[kRow], kRow);
  if (auto sid = optional_uint(f[kServerId], kServerId)) {
    if (*sid > UINT32_MAX) bad("field \"server_id\" is out of range");
    e.server_id = static_cast<uint32_t>(*sid);
  }
  e.gtid = optional_string(f[kGtid], kGtid);
  bool needs_table = is_row_event(e.type) || e.type == EventType::kSnapshotBegin || e.type == EventType::kSnapshotEnd;
  if (needs_table) {
    e.db = required_string(f[kDb], kDb);
    e.table = required_string(f[kTable], kTable);
    if (e.db.empty() || e.table.empty()) bad("fields \"db\" and \"table\" must not be empty");
  } else {
    e.db = optional_string(f[kDb], kDb);
    e.table = optional_string(f[kTable], kTable);
  }

  if (const JsonValue* pk = f[kPk]; pk != nullptr && !pk->IsNull()) {
    if (!pk->IsArray()) bad("field \"pk\" must be an array of column names");
    e.pk_known = true;
    for (const JsonValue& col : pk->GetArray()) {
      if (!col.IsString() || col.GetStringLength() == 0) bad("field \"pk\" must be an array of column names");
      e.pk.push_back(view(col));
    }
  }
  if (const JsonValue* types = f[kTypes]; types != nullptr && !types->IsNull()) {
    if (!types->IsObject()) bad("field \"types\" must be an object");
    for (const auto& m : types->GetObject()) {
      if (!m.value.IsString() || !known_type_word(view(m.value)))
        bad("column \"" + std::string(view(m.name)) + "\" has a type outside the vocabulary");
    }
    e.types = types;
  }

  bool seed_empty = false;
  e.before = image(f[kBefore], kBefore, seed_empty);
  e.after = image(f[kAfter], kAfter, seed_empty);
  e.partial = optional_bool(f[kPartial], kPartial);
  e.snapshot = optional_bool(f[kSnapshot], kSnapshot);
  e.commit = optional_bool(f[kCommit], kCommit);
  if (std::string_view next = optional_string(f[kNext], kNext); !next.empty()) {
    assign_position(next_, next, kNext);
    e.next = &next_;
  }
  e.xid = optional_uint(f[kXid], kXid);
  e.sql = optional_string(f[kSql], kSql);
  e.time = optional_string(f[kTime], kTime);
  if (const JsonValue* ts = f[kTs]; ts != nullptr && !ts->IsNull()) {
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
