// Instances, routes and the ketama ring.
#include "destinations.hpp"

#include <rapidjson/document.h>

#include <fstream>
#include <sstream>

#include "cli/error.hpp"
#include "clients/url.hpp"

namespace rowpipe::redis_sink {
namespace {

bool matches(std::string_view pattern, const TableInfo& t) {
  if (pattern == t.qualified) return true;
  return pattern.ends_with(".*") && pattern.substr(0, pattern.size() - 2) == t.db;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> map_targets(const std::string& path) {
  std::vector<std::pair<std::string, std::string>> out;
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  rapidjson::Document doc;
  doc.Parse(text.str().c_str());
  if (doc.HasParseError() || !doc.IsObject()) return out;  // MapFile::load reports it
  for (const auto& entry : doc.GetObject()) {
    if (!entry.value.IsObject()) continue;
    auto t = entry.value.FindMember("target");
    if (t == entry.value.MemberEnd() || !t->value.IsString() || t->value.GetStringLength() == 0) continue;
    out.emplace_back(entry.name.GetString(), t->value.GetString());
  }
  return out;
}

Destinations::Destinations(const Config& config, const MapFile* map, const LinkOptions& options) {
  if (config.redis.empty()) fail(ErrorKind::kUsage, "--redis URL is required");
  for (const std::string& url : config.redis) {
    Link* link = add(url, options);
    for (Link* l : ring_links_)
      if (l == link) fail(ErrorKind::kUsage, "--redis " + link->where() + " is given twice");
    ring_links_.push_back(link);
  }
  if (ring_links_.size() > 1) {
    std::vector<std::string> names;
    for (Link* l : ring_links_) names.push_back(l->name());
    ring_.emplace(names);
  }
  for (const std::string& r : config.routes) {
    size_t eq = r.find('=');
    std::string pattern = r.substr(0, eq == std::string::npos ? r.size() : eq);
    size_t dot = pattern.find('.');
    if (eq == std::string::npos || dot == std::string::npos || dot == 0 || dot + 1 == pattern.size())
      fail(ErrorKind::kUsage, "--route takes DB.TABLE=URL, not \"" + redact_url_text(r) + "\"");
    routes_.push_back(Route{pattern, add(r.substr(eq + 1), options)});
  }
  if (map != nullptr && !config.sink.map.empty()) {
    for (const auto& [pattern, target] : map_targets(config.sink.map))
      map_routes_.push_back(Route{target, add(target, options)});
  }
  for (size_t i = 0; i < links_.size(); ++i) links_[i]->set_id(i);
}

Link* Destinations::add(const std::string& argument, const LinkOptions& options) {
  Url url = parse_url(resolve_url_argument(argument), Scheme::kRedis);
  if (!url.path.empty() && !parse_u64(url.path))
    fail(ErrorKind::kUsage, "redis URL " + url.redacted() + ": the path must be a database number");
  auto link = std::make_unique<Link>(std::move(url), options);
  for (const auto& l : links_)
    if (l->identity() == link->identity()) return l.get();
  links_.push_back(std::move(link));
  return links_.back().get();
}

void Destinations::route(TableInfo& t) const {
  // --route first (an exact entry over a db.* one), then the target of the map entry that applies.
  Link* wildcard = nullptr;
  for (const Route& r : routes_) {
    if (r.pattern == t.qualified) {
      t.route = r.link;
      return;
    }
    if (matches(r.pattern, t)) wildcard = r.link;
  }
  if (wildcard != nullptr) {
    t.route = wildcard;
    return;
  }
  if (t.map == nullptr || t.map->target.empty()) return;
  for (const Route& r : map_routes_) {
    if (r.pattern == t.map->target) {
      t.route = r.link;
      return;
    }
  }
}

std::vector<Link*> Destinations::for_table(const TableInfo& t) const {
  if (t.route != nullptr) return {t.route};
  return ring_links_;
}

}  // namespace rowpipe::redis_sink
