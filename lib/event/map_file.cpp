// Map file parsing and lookup.
#include "event/map_file.hpp"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "cli/error.hpp"

namespace rowpipe {

std::optional<std::string_view> TableMap::output_name(std::string_view column) const {
  if (std::find(exclude.begin(), exclude.end(), column) != exclude.end()) return std::nullopt;
  if (columns.empty()) return column;
  for (const auto& [src, dst] : columns)
    if (src == column) return std::string_view(dst);
  return std::nullopt;
}

MapFile MapFile::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorKind::kConfig, "cannot read map file " + path + ": " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  return parse(text.str(), path);
}

MapFile MapFile::parse(std::string_view json, std::string_view origin) {
  std::string where(origin);
  auto bad = [&](const std::string& what) { fail(ErrorKind::kConfig, where + ": " + what); };
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseValidateEncodingFlag>(json.data(), json.size());
  if (doc.HasParseError())
    bad(std::string("invalid JSON at byte ") + std::to_string(doc.GetErrorOffset() + 1) + ": " +
        rapidjson::GetParseError_En(doc.GetParseError()));
  if (!doc.IsObject()) bad("a map file is a JSON object keyed by \"db.table\"");

  auto string_list = [&](const rapidjson::Value& v, const std::string& ctx) {
    std::vector<std::string> out;
    if (!v.IsArray()) bad(ctx + " must be an array of column names");
    for (const auto& s : v.GetArray()) {
      if (!s.IsString() || s.GetStringLength() == 0) bad(ctx + " must be an array of column names");
      out.emplace_back(s.GetString(), s.GetStringLength());
    }
    return out;
  };

  MapFile map;
  for (const auto& entry : doc.GetObject()) {
    std::string pattern(entry.name.GetString(), entry.name.GetStringLength());
    size_t dot = pattern.find('.');
    if (dot == std::string::npos || dot == 0 || dot + 1 == pattern.size() ||
        pattern.find('.', dot + 1) != std::string::npos)
      bad("entry \"" + pattern + "\": name it \"db.table\" or \"db.*\"");
    if (!entry.value.IsObject()) bad("entry \"" + pattern + "\" must be an object");
    TableMap t;
    t.pattern = pattern;
    for (const auto& m : entry.value.GetObject()) {
      std::string_view name(m.name.GetString(), m.name.GetStringLength());
      std::string ctx = "entry \"" + pattern + "\": \"" + std::string(name) + "\"";
      if (name == "key") {
        t.key = string_list(m.value, ctx);
        if (t.key.empty()) bad(ctx + " must name at least one column");
      } else if (name == "exclude") {
        t.exclude = string_list(m.value, ctx);
      } else if (name == "columns") {
        if (!m.value.IsObject()) bad(ctx + " must be an object {\"source\": \"name\" or true}");
        for (const auto& c : m.value.GetObject()) {
          std::string src(c.name.GetString(), c.name.GetStringLength());
          if (c.value.IsTrue())
            t.columns.emplace_back(src, src);
          else if (c.value.IsString() && c.value.GetStringLength() > 0)
            t.columns.emplace_back(src, std::string(c.value.GetString(), c.value.GetStringLength()));
          else
            bad(ctx + ": column \"" + src + "\" must map to a new name or true");
        }
      } else if (name == "target") {
        if (!m.value.IsString()) bad(ctx + " must be a string");
        t.target.assign(m.value.GetString(), m.value.GetStringLength());
      } else {
        bad("entry \"" + pattern + "\": unknown member \"" + std::string(name) +
            "\" (known: key, columns, exclude, target)");
      }
    }
    map.tables_.push_back(std::move(t));
  }
  return map;
}

const TableMap* MapFile::find(std::string_view db, std::string_view table) const {
  const TableMap* wildcard = nullptr;
  for (const TableMap& t : tables_) {
    std::string_view p = t.pattern;
    size_t dot = p.find('.');
    if (p.substr(0, dot) != db) continue;
    std::string_view rest = p.substr(dot + 1);
    if (rest == table) return &t;
    if (rest == "*") wildcard = &t;
  }
  return wildcard;
}

}  // namespace rowpipe
