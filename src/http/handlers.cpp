#include <nlohmann/json.hpp>

#include <atomic>
#include <fstream>
#include <sstream>

#include "core/crypto.h"
#include "core/time.h"
#include "core/version.h"
#include "http/api.h"
#include "intake/access.h"
#include "intake/json_body.h"
#include "intake/lab_csv.h"
#include "outbox/routing.h"

namespace vigil::http {
namespace {

using core::Status;
using nlohmann::json;

Response jsonResponse(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

Response fromReply(const core::Result<intake::Reply>& result) {
  if (!result.isOk()) return problem(result.status());
  Response r = jsonResponse(result.value().status, result.value().body);
  if (result.value().replayed) r.headers.emplace_back("Idempotent-Replayed", "true");
  return r;
}

Response fromRead(const core::Result<std::string>& result) {
  if (!result.isOk()) return problem(result.status());
  return jsonResponse(200, result.value());
}

// Parses the body as JSON strictly: 400 naming the byte when it is not JSON, 422 naming the
// field for a number out of range, a duplicate key or a NUL character.
std::optional<json> parseBody(const Request& req, Response& error) {
  bool syntax = false;
  auto parsed = intake::parseStrictJson(req.body, &syntax);
  if (parsed.isOk()) return std::move(parsed.value());
  error = problem(parsed.status(), syntax ? 400 : 422);
  return std::nullopt;
}

template <typename Fn>
Response write(Api& api, const Request& req, Fn fn) {
  Response error;
  auto body = parseBody(req, error);
  if (!body) return error;
  // The request hash is only needed to recognise a retried request carrying the same key.
  std::string request_hash;
  // It is taken over the canonical JSON (keys sorted, no whitespace): the same meaning in other
  // bytes is the same request (issue 16).
  if (req.idempotency_key) request_hash = core::sha256Hex(req.method + " " + req.path + "\n" + body->dump());
  intake::WriteContext ctx{*req.user, req.idempotency_key, std::move(request_hash)};
  return fromReply(fn(api.intake(), ctx, *body));
}

// Checks query parameters: only the allowed names, each well-formed. Collects every problem.
class Query {
 public:
  Query(const Request& req, std::initializer_list<const char*> allowed) : req_(req) {
    for (const auto& [name, value] : req.query) {
      bool ok = false;
      for (const char* a : allowed) ok = ok || name == a;
      if (!ok) errors_.push_back({name, "is not a known query parameter"});
    }
  }
  std::optional<std::string> text(const char* name) const {
    auto it = req_.query.find(name);
    if (it == req_.query.end()) return std::nullopt;
    return it->second;
  }
  std::optional<int64_t> integer(const char* name, int64_t lo, int64_t hi) {
    auto t = text(name);
    if (!t) return std::nullopt;
    try {
      size_t used = 0;
      const long long v = std::stoll(*t, &used);
      if (used == t->size() && v >= lo && v <= hi) return v;
    } catch (const std::exception&) {
      // reported below
    }
    errors_.push_back({name, "must be an integer between " + std::to_string(lo) + " and " + std::to_string(hi)});
    return std::nullopt;
  }
  std::optional<std::string> date(const char* name) {
    auto t = text(name);
    if (t && !core::parseDate(*t)) {
      errors_.push_back({name, "must be a date YYYY-MM-DD"});
      return std::nullopt;
    }
    return t;
  }
  std::optional<bool> boolean(const char* name) {
    auto t = text(name);
    if (!t) return std::nullopt;
    if (*t == "true") return true;
    if (*t == "false") return false;
    errors_.push_back({name, "must be true or false"});
    return std::nullopt;
  }
  store::Page page() {
    store::Page p;
    p.after_id = integer("after_id", 0, INT64_MAX).value_or(0);
    p.limit = static_cast<int>(integer("limit", 1, 1000).value_or(1000));
    return p;
  }
  bool ok(Response& error) const {
    if (errors_.empty()) return true;
    error = problem(Status::invalid("invalid query parameters", errors_), 400);
    return false;
  }

 private:
  const Request& req_;
  std::vector<core::FieldError> errors_;
};

// ---- routes -------------------------------------------------------------------------------

Response healthzRoute(Api& api, const Request&) {
  auto version = api.store().schemaVersion();
  auto outbox = api.store().outboxStats(api.nowMs());
  // Degraded: writes are failing, alerts are dead or late past their class's threshold (someone must deliver them by
  // hand), or another component posted a problem; the daemon still takes data, so the answer
  // stays 200.
  auto problems = api.health() ? api.health()->problems() : std::map<std::string, std::string>{};
  // Writes failing (a full disk, an I/O error): reads still work, but nothing new is taken.
  if (auto write = api.store().writeProblem()) problems["store"] = "writes are failing: " + *write;
  const bool degraded = !problems.empty() || (outbox.isOk() && (outbox.value().dead > 0 || outbox.value().late > 0));
  json outbox_json = outbox.isOk() ? json{{"pending", outbox.value().pending},
                                          {"sent", outbox.value().sent},
                                          {"dead", outbox.value().dead},
                                          {"late", outbox.value().late},
                                          {"oldest_pending_seconds", outbox.value().oldest_pending_age_ms / 1000}}
                                   : json{{"error", outbox.status().message()}};
  json body{{"status", !version.isOk() ? "unhealthy" : degraded ? "degraded" : "ok"},
            {"outbox", std::move(outbox_json)},
            {"database", version.isOk() ? "ok" : version.status().message()},
            {"problems", problems},
            {"schema_version", version.isOk() ? json(version.value()) : json(nullptr)},
            {"uptime_seconds", api.uptimeSeconds()},
            {"version", core::kVersion}};
  Response r = jsonResponse(version.isOk() ? 200 : 503, body.dump());
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

Response metricsRoute(Api& api, const Request&) {
  Response r;
  r.content_type = "text/plain; version=0.0.4";
  r.body = api.metrics().render(api.store().commits(), api.uptimeSeconds());
  if (auto o = api.store().outboxStats(api.nowMs()); o.isOk()) {
    r.body += "# HELP vigil_alert_deliveries Alert emails in the outbox by state.\n# TYPE vigil_alert_deliveries gauge\n";
    r.body += "vigil_alert_deliveries{state=\"pending\"} " + std::to_string(o.value().pending) + "\n";
    r.body += "vigil_alert_deliveries{state=\"sent\"} " + std::to_string(o.value().sent) + "\n";
    r.body += "vigil_alert_deliveries{state=\"dead\"} " + std::to_string(o.value().dead) + "\n";
    r.body += "# HELP vigil_alert_deliveries_late Alert emails still pending past their class's late threshold.\n"
              "# TYPE vigil_alert_deliveries_late gauge\n";
    r.body += "vigil_alert_deliveries_late " + std::to_string(o.value().late) + "\n";
    r.body += "# HELP vigil_alert_oldest_pending_seconds Age of the oldest alert not yet delivered.\n"
              "# TYPE vigil_alert_oldest_pending_seconds gauge\n";
    r.body += "vigil_alert_oldest_pending_seconds " + std::to_string(o.value().oldest_pending_age_ms / 1000) + "\n";
  }
  return r;
}

Response createParticipant(Api& api, const Request& req) {
  return write(api, req, [](auto& in, auto& ctx, auto& body) { return in.createParticipant(ctx, body); });
}
Response listParticipants(Api& api, const Request& req) {
  Response error;
  Query q(req, {"site"});
  auto site = q.text("site");
  if (!q.ok(error)) return error;
  return fromRead(api.intake().participants(*req.user, site));
}
Response getParticipant(Api& api, const Request& req) {
  return fromRead(api.intake().participant(*req.user, req.params.at("study_id")));
}
Response getRecommendations(Api& api, const Request& req) {
  return fromRead(api.intake().recommendations(*req.user, req.params.at("study_id")));
}
Response listSafetyChanges(Api& api, const Request& req) {
  Response error;
  Query q(req, {"after_id", "limit"});
  auto page = q.page();
  if (!q.ok(error)) return error;
  return fromRead(api.intake().safetyChanges(*req.user, req.params.at("study_id"), page));
}

// GET on a per-participant collection: ?participant=ID is required.
template <typename Fn>
Response listForParticipant(Api& api, const Request& req, Fn fn) {
  Response error;
  Query q(req, {"participant", "after_id", "limit"});
  auto participant = q.text("participant");
  auto page = q.page();
  if (!q.ok(error)) return error;
  if (!participant)
    return problem(Status::invalid("participant is required", {{"participant", "is required"}}), 400);
  return fromRead(fn(api.intake(), *req.user, *participant, page));
}

Response recordDose(Api& api, const Request& req) {
  return write(api, req, [](auto& in, auto& ctx, auto& body) { return in.recordDose(ctx, body); });
}
Response listDoses(Api& api, const Request& req) {
  return listForParticipant(api, req, [](auto& in, auto& u, auto& id, auto pg) { return in.doses(u, id, pg); });
}
Response recordLabs(Api& api, const Request& req) {
  if (req.content_type != "text/csv")
    return write(api, req, [](auto& in, auto& ctx, auto& body) { return in.recordLabs(ctx, body); });
  // A lab file (issue 16): each row a result of the JSON batch; problems named by line and column.
  std::vector<size_t> lines;
  auto batch = intake::labsFromCsv(req.body, intake::kMaxLabBatch, lines);
  if (!batch.isOk()) return problem(batch.status(), 422);
  std::string request_hash;
  if (req.idempotency_key) request_hash = core::sha256Hex(req.method + " " + req.path + "\n" + batch.value().dump());
  intake::WriteContext ctx{*req.user, req.idempotency_key, std::move(request_hash)};
  auto reply = api.intake().recordLabs(ctx, batch.value(), true);
  if (!reply.isOk() && !reply.status().fields().empty()) {
    std::vector<core::FieldError> named;
    for (const auto& f : reply.status().fields()) named.push_back({intake::csvFieldName(f.field, lines), f.detail});
    return fromReply(core::Status::invalid(reply.status().message(), std::move(named)));
  }
  return fromReply(std::move(reply));
}
Response listLabs(Api& api, const Request& req) {
  return listForParticipant(api, req, [](auto& in, auto& u, auto& id, auto pg) { return in.labs(u, id, pg); });
}
Response recordVitals(Api& api, const Request& req) {
  return write(api, req, [](auto& in, auto& ctx, auto& body) { return in.recordVitals(ctx, body); });
}
Response listVitals(Api& api, const Request& req) {
  return listForParticipant(api, req, [](auto& in, auto& u, auto& id, auto pg) { return in.vitals(u, id, pg); });
}

// The numeric {id} of the route (an AE, an AE candidate or a deadline); nullopt when it is not a number.
std::optional<int64_t> pathId(const Request& req) {
  const std::string& text = req.params.at("id");
  if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  return std::stoll(text);
}

// ---- corrections and voids (issue 16) ------------------------------------------------------

// The routes of one correctable record type: GET, PUT and DELETE .../{id}, GET .../{id}/versions.
template <intake::RecordType kType>
struct RecordRoutes {
  static Response get(Api& api, const Request& req) {
    auto id = pathId(req);
    if (!id) return problem(Status::notFound("no such record"));
    return fromRead(api.intake().record(*req.user, kType, *id));
  }
  static Response versions(Api& api, const Request& req) {
    auto id = pathId(req);
    if (!id) return problem(Status::notFound("no such record"));
    return fromRead(api.intake().recordVersions(*req.user, kType, *id));
  }
  static Response correct(Api& api, const Request& req) {
    auto id = pathId(req);
    if (!id) return problem(Status::notFound("no such record"));
    return write(api, req, [&](auto& in, auto& ctx, auto& body) { return in.correctRecord(ctx, kType, *id, body); });
  }
  static Response remove(Api& api, const Request& req) {
    auto id = pathId(req);
    if (!id) return problem(Status::notFound("no such record"));
    return write(api, req, [&](auto& in, auto& ctx, auto& body) { return in.voidRecord(ctx, kType, *id, body); });
  }
};

Response correctParticipant(Api& api, const Request& req) {
  return write(api, req, [&](auto& in, auto& ctx, auto& body) {
    return in.correctParticipant(ctx, req.params.at("study_id"), body);
  });
}
Response voidParticipant(Api& api, const Request& req) {
  return write(api, req, [&](auto& in, auto& ctx, auto& body) {
    return in.voidParticipant(ctx, req.params.at("study_id"), body);
  });
}
Response participantVersions(Api& api, const Request& req) {
  return fromRead(api.intake().participantVersions(*req.user, req.params.at("study_id")));
}
Response voidAe(Api& api, const Request& req) {
  auto id = pathId(req);
  if (!id) return problem(Status::notFound("no such adverse event"));
  return write(api, req, [&](auto& in, auto& ctx, auto& body) { return in.voidAdverseEvent(ctx, *id, body); });
}
Response aeVersions(Api& api, const Request& req) {
  auto id = pathId(req);
  if (!id) return problem(Status::notFound("no such adverse event"));
  return fromRead(api.intake().adverseEventVersions(*req.user, *id));
}

template <intake::RecordType kType>
void addRecordRoutes(Router<RouteSpec>& router, const std::string& path) {
  router.add("GET", path, {RecordRoutes<kType>::get, true});
  router.add("PUT", path, {RecordRoutes<kType>::correct, true});
  router.add("DELETE", path, {RecordRoutes<kType>::remove, true});
  router.add("GET", path + "/versions", {RecordRoutes<kType>::versions, true});
}

Response createAe(Api& api, const Request& req) {
  return write(api, req, [](auto& in, auto& ctx, auto& body) { return in.createAdverseEvent(ctx, body); });
}
Response updateAe(Api& api, const Request& req) {
  auto id = pathId(req);
  if (!id) return problem(Status::notFound("no such adverse event"));
  return write(api, req, [&](auto& in, auto& ctx, auto& body) { return in.updateAdverseEvent(ctx, *id, body); });
}
Response getAe(Api& api, const Request& req) {
  auto id = pathId(req);
  if (!id) return problem(Status::notFound("no such adverse event"));
  return fromRead(api.intake().adverseEvent(*req.user, *id));
}
Response listAes(Api& api, const Request& req) {
  Response error;
  Query q(req, {"participant", "site", "from", "to", "term", "grade", "serious", "after_id", "limit"});
  core::AeFilter f;
  f.study_id = q.text("participant");
  f.site = q.text("site");
  f.start_from = q.date("from");
  f.start_to = q.date("to");
  f.term = q.text("term");
  if (auto g = q.integer("grade", 1, 5)) f.grade = static_cast<int>(*g);
  f.serious = q.boolean("serious");
  const auto page = q.page();
  f.after_id = page.after_id;
  f.limit = page.limit;
  if (!q.ok(error)) return error;
  return fromRead(api.intake().adverseEvents(*req.user, f));
}

Response searchTerms(Api& api, const Request& req) {
  Response error;
  Query q(req, {"q", "limit"});
  auto text = q.text("q");
  const auto limit = q.integer("limit", 1, 100).value_or(20);
  if (!q.ok(error)) return error;
  if (!text || text->empty()) return problem(Status::invalid("q is required", {{"q", "is required"}}), 400);
  return jsonResponse(200, api.intake().searchTerms(*text, static_cast<size_t>(limit)));
}

Response listCandidates(Api& api, const Request& req) {
  return listForParticipant(api, req, [](auto& in, auto& u, auto& id, auto pg) { return in.candidates(u, id, pg); });
}
Response confirmCandidate(Api& api, const Request& req) {
  auto id = pathId(req);
  if (!id) return problem(Status::notFound("no such AE candidate"));
  return write(api, req, [&](auto& in, auto& ctx, auto& body) { return in.confirmCandidate(ctx, *id, body); });
}
Response dismissCandidate(Api& api, const Request& req) {
  auto id = pathId(req);
  if (!id) return problem(Status::notFound("no such AE candidate"));
  return write(api, req, [&](auto& in, auto& ctx, auto& body) { return in.dismissCandidate(ctx, *id, body); });
}

// GET /api/v1/audit (issue 16): from and to are zoned timestamps or dates (a date `to` covers its day).
Response listAudit(Api& api, const Request& req) {
  Response error;
  Query q(req, {"entity", "id", "study_id", "actor", "from", "to", "after_seq", "limit"});
  store::AuditFilter f;
  f.entity = q.text("entity");
  f.entity_id = q.text("id");
  f.study_id = q.text("study_id");
  f.actor = q.text("actor");
  f.after_seq = q.integer("after_seq", 0, INT64_MAX).value_or(0);
  f.limit = static_cast<int>(q.integer("limit", 1, 1000).value_or(100));
  if (!q.ok(error)) return error;
  std::vector<core::FieldError> errors;
  auto instant = [&](const char* name, bool end_of_day) -> std::optional<std::string> {
    const auto t = q.text(name);
    if (!t) return std::nullopt;
    if (auto day = core::parseDate(*t)) return core::formatTimestamp((*day + (end_of_day ? 1 : 0)) * core::kDayMs - (end_of_day ? 1 : 0));
    if (auto ms = core::parseTimestamp(*t)) return core::formatTimestamp(*ms);
    errors.push_back({name, "must be a date YYYY-MM-DD or a timestamp with its zone"});
    return std::nullopt;
  };
  f.from = instant("from", false);
  f.to = instant("to", true);
  if (f.entity_id && !f.entity) errors.push_back({"id", "needs entity"});
  if (!errors.empty()) return problem(Status::invalid("invalid query parameters", errors), 400);
  return fromRead(api.intake().auditTrail(*req.user, f));
}

Response listDeadlines(Api& api, const Request& req) {
  Response error;
  Query q(req, {"participant", "state", "after_id", "limit"});
  core::DeadlineFilter f;
  f.study_id = q.text("participant");
  const auto state = q.text("state").value_or("open");
  const auto page = q.page();
  f.after_id = page.after_id;
  f.limit = page.limit;
  if (!q.ok(error)) return error;
  if (state == "open") f.met = false;
  else if (state == "met") f.met = true;
  else if (state != "all") return problem(Status::invalid("bad state", {{"state", "must be open, met or all"}}), 400);
  return fromRead(api.intake().deadlines(*req.user, f));
}
Response recordPregnancy(Api& api, const Request& req) {
  return write(api, req, [](auto& in, auto& ctx, auto& body) { return in.recordPregnancy(ctx, body); });
}
Response recordPregnancyOutcome(Api& api, const Request& req) {
  auto id = pathId(req);
  if (!id) return problem(Status::notFound("no such pregnancy"));
  return write(api, req, [&](auto& in, auto& ctx, auto& body) { return in.recordPregnancyOutcome(ctx, *id, body); });
}
Response listPregnancies(Api& api, const Request& req) {
  return listForParticipant(api, req, [](auto& in, auto& u, auto& id, auto pg) { return in.pregnancies(u, id, pg); });
}
Response recordMedication(Api& api, const Request& req) {
  return write(api, req, [](auto& in, auto& ctx, auto& body) { return in.recordMedication(ctx, body); });
}
Response listMedications(Api& api, const Request& req) {
  return listForParticipant(api, req, [](auto& in, auto& u, auto& id, auto pg) { return in.medications(u, id, pg); });
}
Response ackAlert(Api& api, const Request& req) {
  auto id = pathId(req);
  if (!id) return problem(Status::notFound("no such alert"));
  Request with_body = req;  // an acknowledgement needs no body
  if (with_body.body.find_first_not_of(" \r\n\t") == std::string::npos) with_body.body = "{}";
  return write(api, with_body, [&](auto& in, auto& ctx, auto& body) { return in.ackAlert(ctx, *id, body); });
}
Response listAlerts(Api& api, const Request& req) {
  Response error;
  Query q(req, {"participant", "class", "acknowledged", "after_id", "limit"});
  core::AlertFilter f;
  f.study_id = q.text("participant");
  f.alert_class = q.text("class");
  const auto acked = q.text("acknowledged");
  const auto page = q.page();
  f.after_id = page.after_id;
  f.limit = page.limit;
  if (!q.ok(error)) return error;
  std::vector<core::FieldError> errors;
  if (acked && *acked != "true" && *acked != "false") errors.push_back({"acknowledged", "must be true or false"});
  if (acked) f.acked = *acked == "true";
  if (f.alert_class && std::find(outbox::alertClasses().begin(), outbox::alertClasses().end(), *f.alert_class) ==
                           outbox::alertClasses().end())
    errors.push_back({"class", "must be one of sae, urgent, dose, deviation, reminder, overdue, escalation, digest, supersede"});
  if (!errors.empty()) return problem(Status::invalid("invalid query parameters", errors), 400);
  return fromRead(api.intake().alerts(*req.user, f));
}
Response markDeadlineMet(Api& api, const Request& req) {
  auto id = pathId(req);
  if (!id) return problem(Status::notFound("no such deadline"));
  return write(api, req, [&](auto& in, auto& ctx, auto& body) { return in.markDeadlineMet(ctx, *id, body); });
}

Response exportDsmb(Api& api, const Request& req) {
  if (!intake::canExportDsmbPackage(*req.user))
    return problem(Status::forbidden("the DSMB package is for the DSMB, safety officers and administrators"));
  Response error;
  Query q(req, {"as_of", "zero_rows"});
  const auto as_of = q.text("as_of");
  const auto zero_rows = q.boolean("zero_rows");
  if (!q.ok(error)) return error;
  if (!as_of) return problem(Status::invalid("as_of is required", {{"as_of", "is required, e.g. 2026-10-31T23:59:59Z"}}), 400);
  const exports::DsmbExporter* exporter = api.exporter();
  if (!exporter) return problem(Status::unavailable("exports are not configured"));
  auto cut = exporter->normaliseCut(*as_of);
  if (!cut.isOk()) return problem(cut.status(), 400);
  // Each request writes into a directory of its own; the package inside is named by the cut.
  static std::atomic<uint64_t> counter{0};
  const std::string request_dir = api.exportsDir() + "/" + std::to_string(api.nowMs()) + "-" +
                                  std::to_string(counter.fetch_add(1)) + "-user" + std::to_string(req.user->id);
  const std::string name = exports::DsmbExporter::packageName(cut.value());
  auto result = exporter->run({*as_of, zero_rows.value_or(false), req.user->name, request_dir + "/" + name});
  if (!result.isOk()) return problem(result.status());
  std::ifstream zip(result.value().zip, std::ios::binary);
  std::stringstream bytes;
  bytes << zip.rdbuf();
  if (!zip) return problem(Status::unavailable("the package zip cannot be read back"));
  Response r;
  r.content_type = "application/zip";
  r.body = bytes.str();
  r.headers.push_back({"Content-Disposition", "attachment; filename=\"" + name + ".zip\""});
  r.headers.push_back({"X-Vigil-Manifest-SHA256", result.value().manifest_sha256});
  return r;
}

}  // namespace

int httpStatusOf(core::StatusCode code) {
  switch (code) {
    case core::StatusCode::kOk: return 200;
    case core::StatusCode::kInvalid: return 422;
    case core::StatusCode::kUnauthenticated: return 401;
    case core::StatusCode::kForbidden: return 403;
    case core::StatusCode::kNotFound: return 404;
    case core::StatusCode::kConflict: return 409;
    case core::StatusCode::kUnavailable: return 503;
    case core::StatusCode::kInternal: return 500;
  }
  return 500;
}

Response problem(const Status& status, int http_status_override) {
  static const std::map<int, const char*> kTitles = {
      {400, "Bad request"},         {401, "Authentication required"}, {403, "Forbidden"},
      {404, "Not found"},           {405, "Method not allowed"},      {409, "Conflict"},
      {413, "Request body too large"}, {415, "Unsupported media type"}, {422, "Invalid fields"},
      {500, "Internal error"},      {503, "Service unavailable"}};
  const int code = http_status_override ? http_status_override : httpStatusOf(status.code());
  auto title = kTitles.find(code);
  json body{{"type", "about:blank"},
            {"title", title != kTitles.end() ? title->second : "Error"},
            {"status", code},
            {"detail", status.message()}};
  if (!status.fields().empty()) {
    // The first kMaxProblemErrors, and how many more: 200,000 bad values must not make a
    // 12 MB answer.
    json errors = json::array();
    const auto& fields = status.fields();
    for (size_t i = 0; i < fields.size() && i < kMaxProblemErrors; ++i)
      errors.push_back({{"field", fields[i].field}, {"detail", fields[i].detail}});
    body["errors"] = std::move(errors);
    if (fields.size() > kMaxProblemErrors) body["more_errors"] = fields.size() - kMaxProblemErrors;
  }
  Response r = jsonResponse(code, body.dump());
  r.content_type = "application/problem+json";
  if (code == 401) r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"vigil\"");
  if (code == 503) r.headers.emplace_back("Retry-After", "1");
  return r;
}

Api::Api(intake::IntakeService& intake, store::Store& store, Metrics& metrics, const core::Clock& clock)
    : intake_(intake), store_(store), metrics_(metrics), clock_(clock), started_ms_(clock.nowMs()) {
  router_.add("GET", "/healthz", {healthzRoute, false});
  router_.add("GET", "/metrics", {metricsRoute, true});
  router_.add("POST", "/api/v1/participants", {createParticipant, true});
  router_.add("GET", "/api/v1/participants", {listParticipants, true});
  router_.add("GET", "/api/v1/participants/{study_id}", {getParticipant, true});
  router_.add("GET", "/api/v1/participants/{study_id}/recommendations", {getRecommendations, true});
  router_.add("GET", "/api/v1/participants/{study_id}/safety-changes", {listSafetyChanges, true});
  router_.add("POST", "/api/v1/dosing", {recordDose, true});
  router_.add("GET", "/api/v1/dosing", {listDoses, true});
  router_.add("POST", "/api/v1/adverse-events", {createAe, true});
  router_.add("GET", "/api/v1/adverse-events", {listAes, true});
  router_.add("GET", "/api/v1/adverse-events/{id}", {getAe, true});
  router_.add("PUT", "/api/v1/adverse-events/{id}", {updateAe, true});
  router_.add("POST", "/api/v1/labs", {recordLabs, true});
  router_.add("GET", "/api/v1/labs", {listLabs, true});
  router_.add("POST", "/api/v1/vitals", {recordVitals, true});
  router_.add("GET", "/api/v1/vitals", {listVitals, true});
  router_.add("GET", "/api/v1/ctcae/terms", {searchTerms, true});
  router_.add("GET", "/api/v1/ae-candidates", {listCandidates, true});
  router_.add("POST", "/api/v1/ae-candidates/{id}/confirm", {confirmCandidate, true});
  router_.add("POST", "/api/v1/ae-candidates/{id}/dismiss", {dismissCandidate, true});
  router_.add("GET", "/api/v1/deadlines", {listDeadlines, true});
  router_.add("POST", "/api/v1/deadlines/{id}/met", {markDeadlineMet, true});
  router_.add("POST", "/api/v1/pregnancies", {recordPregnancy, true});
  router_.add("GET", "/api/v1/pregnancies", {listPregnancies, true});
  router_.add("POST", "/api/v1/pregnancies/{id}/outcome", {recordPregnancyOutcome, true});
  router_.add("POST", "/api/v1/concomitant-medications", {recordMedication, true});
  router_.add("GET", "/api/v1/concomitant-medications", {listMedications, true});
  router_.add("GET", "/api/v1/audit", {listAudit, true});
  router_.add("GET", "/api/v1/alerts", {listAlerts, true});
  router_.add("POST", "/api/v1/alerts/{id}/ack", {ackAlert, true});
  router_.add("GET", "/api/v1/exports/dsmb", {exportDsmb, true});
  router_.add("PUT", "/api/v1/participants/{study_id}", {correctParticipant, true});
  router_.add("DELETE", "/api/v1/participants/{study_id}", {voidParticipant, true});
  router_.add("GET", "/api/v1/participants/{study_id}/versions", {participantVersions, true});
  router_.add("GET", "/api/v1/adverse-events/{id}/versions", {aeVersions, true});
  router_.add("DELETE", "/api/v1/adverse-events/{id}", {voidAe, true});
  addRecordRoutes<intake::RecordType::kDose>(router_, "/api/v1/dosing/{id}");
  addRecordRoutes<intake::RecordType::kLab>(router_, "/api/v1/labs/{id}");
  addRecordRoutes<intake::RecordType::kVitals>(router_, "/api/v1/vitals/{id}");
  addRecordRoutes<intake::RecordType::kPregnancy>(router_, "/api/v1/pregnancies/{id}");
  addRecordRoutes<intake::RecordType::kMedication>(router_, "/api/v1/concomitant-medications/{id}");
}

double Api::uptimeSeconds() const { return static_cast<double>(clock_.nowMs() - started_ms_) / 1000.0; }

}  // namespace vigil::http
