// Finding a table's keys by scanning and verifying each candidate, then deleting them.
#include "purge.hpp"

#include <rapidjson/document.h>

#include <algorithm>
#include <span>

#include "cli/error.hpp"
#include "cli/failpoint.hpp"
#include "cli/log.hpp"
#include "resp.hpp"
#include "sink.hpp"

namespace rowpipe::redis_sink {
namespace {

void append_glob_escaped(std::string& out, std::string_view text) {
  for (char c : text) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out += '\\';
    out += c;
  }
}

std::string_view reply_view(const redisReply* r) {
  return r->str == nullptr ? std::string_view() : std::string_view(r->str, r->len);
}

// The columns whose stored values make up a key: the key columns (for {pk}) and the {col:NAME} ones.
std::vector<std::string> template_reads(const Mapper& mapper, const std::vector<std::string>& key_columns) {
  std::vector<std::string> out;
  if (mapper.key_template().uses_pk()) out = key_columns;
  for (const std::string& c : mapper.template_columns())
    if (std::find(out.begin(), out.end(), c) == out.end()) out.push_back(c);
  return out;
}

}  // namespace

bool template_names_table(std::string_view text) {
  bool db = false, table = false;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '{') continue;
    if (i + 1 < text.size() && text[i + 1] == '{') {
      ++i;
      continue;
    }
    size_t close = text.find('}', i);
    if (close == std::string_view::npos) break;
    std::string_view name = text.substr(i + 1, close - i - 1);
    db = db || name == "db";
    table = table || name == "table";
    i = close;
  }
  return db && table;
}

std::string scan_pattern(std::string_view text, std::string_view db, std::string_view table) {
  std::string out;
  auto star = [&] {
    if (out.empty() || out.back() != '*' || (out.size() >= 2 && out[out.size() - 2] == '\\')) out += '*';
  };
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if ((c == '{' || c == '}') && i + 1 < text.size() && text[i + 1] == c) {
      append_glob_escaped(out, std::string_view(&c, 1));
      ++i;
      continue;
    }
    if (c != '{') {
      append_glob_escaped(out, std::string_view(&c, 1));
      continue;
    }
    size_t close = text.find('}', i);
    if (close == std::string_view::npos) break;
    std::string_view name = text.substr(i + 1, close - i - 1);
    if (name == "db")
      append_glob_escaped(out, db);
    else if (name == "table")
      append_glob_escaped(out, table);
    else
      star();
    i = close;
  }
  return out;
}

bool key_belongs(const Mapper& mapper, const TableInfo& t, std::string_view key,
                 const std::vector<std::string>& key_columns, const std::vector<std::string>& columns,
                 const std::vector<std::optional<std::string>>& values, const std::optional<std::string>& null_as) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (attempt == 1) {
      // A stored --null-as marker may stand for NULL.
      if (!null_as || std::none_of(values.begin(), values.end(), [&](const auto& v) { return v == null_as; })) break;
    }
    rapidjson::Document image;
    image.SetObject();
    auto& alloc = image.GetAllocator();
    for (size_t i = 0; i < columns.size(); ++i) {
      rapidjson::Value name(columns[i].data(), static_cast<rapidjson::SizeType>(columns[i].size()), alloc);
      rapidjson::Value value;
      if (values[i] && !(attempt == 1 && values[i] == null_as))
        value.SetString(values[i]->data(), static_cast<rapidjson::SizeType>(values[i]->size()), alloc);
      image.AddMember(name, value, alloc);
    }
    Event e;
    e.db = t.db;
    e.table = t.table;
    std::vector<std::string_view> cols(key_columns.begin(), key_columns.end());
    std::string rendered;
    try {
      mapper.key_template().render(rendered, e, image, cols);
    } catch (const Error&) {
      return false;
    }
    if (rendered == key) return true;
  }
  return false;
}

namespace {

// Deletes one page of the table's keys (with an index, they leave it too); `last`: the scan is over.
// Returns how many keys were (or, for an ordered purge's last page, will be) deleted.
uint64_t delete_page(Link& link, const Config& config, const TableInfo& t, const PurgeMode& mode,
                     std::span<const std::string_view> keys, bool last, std::string& resp) {
  const bool indexed = !t.index_key.empty();
  if (mode.guard_position) {
    resp.clear();
    std::string ttl = std::to_string(config.tombstone_ttl);
    std::string marker = "rowpipe:trunc:" + t.qualified;
    std::string pos_key;
    for (std::string_view key : keys) {
      pos_key.assign("rowpipe:pos:");
      pos_key += key;
      if (indexed) {
        append_command(resp, {"EVALSHA", link.script_shas().at(0), "4", key, pos_key, marker, t.index_key, "p",
                              *mode.guard_position, ttl});
      } else {
        append_command(
            resp, {"EVALSHA", link.script_shas().at(0), "3", key, pos_key, marker, "p", *mode.guard_position, ttl});
      }
    }
    uint64_t deleted = 0;
    for (const RedisReply& r : link.call_many(resp, keys.size())) {
      check_reply(r.get(), "redis " + link.where() + " purge");
      if (r->integer == 1) ++deleted;
    }
    return deleted;
  }
  // DEL key..., then SREM index key... when indexed.
  auto append_deletes = [&](std::string& out) {
    append_header(out, keys.size() + 1);
    append_arg(out, "DEL");
    for (std::string_view key : keys) append_arg(out, key);
    if (!indexed) return;
    append_header(out, keys.size() + 2);
    append_arg(out, "SREM");
    append_arg(out, t.index_key);
    for (std::string_view key : keys) append_arg(out, key);
  };
  const size_t commands = indexed ? 2 : 1;
  if (last) {
    append_deletes(link.buffer());
    link.note(mode.line, commands);
    return keys.size();
  }
  resp.clear();
  append_command(resp, {"MULTI"});
  append_deletes(resp);
  append_command(resp, {"SET", link.purge_key(), mode.marker->to_json()});
  append_command(resp, {"EXEC"});
  std::vector<RedisReply> r = link.call_many(resp, commands + 3);
  const redisReply* exec = r.back().get();
  if (exec->type != REDIS_REPLY_ARRAY || exec->elements != commands + 1) {
    for (const RedisReply& q : r) {
      if (is_error(q.get()) && redis_error_kind(std::string(reply_text(q.get()))) == ErrorKind::kUnavailable)
        throw Reconnect(std::string(reply_text(q.get())));
    }
    check_reply(exec, "redis " + link.where() + " purge");
    fail(ErrorKind::kProtocol, "redis " + link.where() + ": unexpected EXEC reply to a purge");
  }
  link.marker_stands(mode.marker->at);
  return static_cast<uint64_t>(exec->element[0]->integer);
}

// The purge of an indexed table: the keys its index set lists, page by page.
uint64_t purge_indexed(Link& link, const Config& config, const TableInfo& t, const PurgeMode& mode) {
  uint64_t deleted = 0;
  std::string cursor = "0";
  std::string resp;
  std::vector<std::string_view> keys;
  do {
    RedisReply page = link.call({"SSCAN", t.index_key, cursor, "COUNT", "1000"});
    if (page->type != REDIS_REPLY_ARRAY || page->elements != 2)
      fail(ErrorKind::kProtocol, "redis " + link.where() + ": unexpected SSCAN reply");
    cursor.assign(reply_view(page->element[0]));
    const redisReply* found = page->element[1];
    if (found->elements == 0) continue;
    keys.clear();
    for (size_t i = 0; i < found->elements; ++i) keys.push_back(reply_view(found->element[i]));
    deleted += delete_page(link, config, t, mode, keys, cursor == "0", resp);
    rowpipe::failpoint("mid-purge");
  } while (cursor != "0");
  return deleted;
}

}  // namespace

uint64_t purge_table(Link& link, const Mapper& mapper, const Config& config, const TableInfo& t,
                     const PurgeMode& mode) {
  for (;;) {
    try {
      if (!t.index_key.empty()) return purge_indexed(link, config, t, mode);
      std::vector<std::string> key_columns(t.map_key.begin(), t.map_key.end());
      if (mapper.key_template().uses_pk() && key_columns.empty()) {
        RedisReply r = link.call({"HGET", kTablesKey, t.qualified});
        if (r->type != REDIS_REPLY_STRING) return 0;  // this instance never got a row of the table
        rapidjson::Document doc;
        doc.Parse(r->str, r->len);
        if (doc.HasParseError() || !doc.IsArray() || doc.Empty())
          fail(ErrorKind::kConfig, "redis " + link.where() + ": " + std::string(kTablesKey) + " field " + t.qualified +
                                       " is not a list of key columns");
        for (const auto& c : doc.GetArray()) {
          if (!c.IsString()) fail(ErrorKind::kConfig, "redis " + link.where() + ": bad " + std::string(kTablesKey));
          key_columns.emplace_back(c.GetString(), c.GetStringLength());
        }
      }
      std::vector<std::string> columns = template_reads(mapper, key_columns);
      std::vector<std::string> fields;
      for (const std::string& c : columns) {
        std::string_view name = mapper.output_name(c, t);
        if (name.empty()) {
          log::warning("cannot tell the keys of " + t.qualified + " on " + link.where() + ": the map file drops " +
                       "column \"" + c + "\" that the key is made of; its keys were left in place");
          return 0;
        }
        fields.emplace_back(name);
      }
      std::string pattern = scan_pattern(mapper.key_template().text(), t.db, t.table);
      const bool json = config.store == Store::kJson;
      std::string cursor = "0";
      uint64_t deleted = 0;
      std::string resp;
      std::vector<std::string> members;
      std::vector<std::string_view> keys;
      do {
        RedisReply page = link.call({"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"});
        if (page->type != REDIS_REPLY_ARRAY || page->elements != 2)
          fail(ErrorKind::kProtocol, "redis " + link.where() + ": unexpected SCAN reply");
        cursor.assign(reply_view(page->element[0]));
        const redisReply* found = page->element[1];
        if (found->elements == 0) continue;
        resp.clear();
        for (size_t i = 0; i < found->elements; ++i) {
          std::string_view key = reply_view(found->element[i]);
          if (json) {
            append_command(resp, {"GET", key});
          } else {
            append_header(resp, 2 + fields.size());
            append_arg(resp, "HMGET");
            append_arg(resp, key);
            for (const std::string& f : fields) append_arg(resp, f);
          }
        }
        std::vector<RedisReply> stored = link.call_many(resp, found->elements);
        members.clear();
        for (size_t i = 0; i < found->elements; ++i) {
          const redisReply* r = stored[i].get();
          if (is_error(r)) continue;  // another type of value: not a row of ours
          std::vector<std::optional<std::string>> values(columns.size());
          if (json) {
            if (r->type != REDIS_REPLY_STRING) continue;
            rapidjson::Document doc;
            doc.Parse(r->str, r->len);
            if (doc.HasParseError() || !doc.IsObject()) continue;
            for (size_t c = 0; c < columns.size(); ++c) {
              auto m = doc.FindMember(rapidjson::StringRef(fields[c].data(), fields[c].size()));
              if (m == doc.MemberEnd() || m->value.IsNull()) continue;
              std::string text;
              if (m->value.IsString())
                text.assign(m->value.GetString(), m->value.GetStringLength());
              else
                append_json(text, m->value);
              values[c] = std::move(text);
            }
          } else {
            if (r->type != REDIS_REPLY_ARRAY || r->elements != columns.size()) continue;
            for (size_t c = 0; c < columns.size(); ++c)
              if (r->element[c]->type == REDIS_REPLY_STRING) values[c] = std::string(reply_view(r->element[c]));
          }
          std::string_view key = reply_view(found->element[i]);
          if (key_belongs(mapper, t, key, key_columns, columns, values, config.null_as)) members.emplace_back(key);
        }
        if (members.empty()) continue;
        keys.assign(members.begin(), members.end());
        deleted += delete_page(link, config, t, mode, keys, cursor == "0", resp);
        rowpipe::failpoint("mid-purge");
      } while (cursor != "0");
      return deleted;
    } catch (const Reconnect& e) {
      // Deleting is idempotent: after reconnecting, scan again from the start.
      link.reconnect(e.what());
    }
  }
}

}  // namespace rowpipe::redis_sink
