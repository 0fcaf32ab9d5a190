// POST /v1/fastvlm/{describe,count,ocr,ask}: the CLI's tasks over HTTP, answered with exactly the
// CLI's result object (cli/tasks.h), or its error object with the HTTP status of the error.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli/output.h"
#include "cli/serve/data_uri.h"
#include "cli/serve/json_fields.h"
#include "cli/serve/openai_response.h"
#include "cli/serve/task_request.h"
#include "cli/serve_http.h"
#include "cli/serve_routes.h"
#include "cli/tasks.h"

namespace fvlm::cli {
namespace {

// The image: the multipart part named "image", or the JSON body's "image" field.
std::vector<uint8_t> image_bytes(Body& body, serve::TaskCall& call) {
  for (Body::File& f : body.files)
    if (f.name == "image") {
      if (call.image_name == "upload" && !f.filename.empty()) call.image_name = f.filename.substr(0, 256);
      return std::vector<uint8_t>(f.content.begin(), f.content.end());
    }
  if (call.image) return std::move(*call.image);
  throw Error(Errc::kBadArgs,
              "no image: send a multipart file part named \"image\", or \"image\" (base64) in JSON",
              {{"param", "image"}});
}

}  // namespace

void handle_task(ServeState& s, const std::string& task, const httplib::Request& req, httplib::Response& res,
                 const httplib::ContentReader& reader) {
  serve::TaskCall call;
  try {
    Body body = read_body(req, res, reader, s.settings.max_body_bytes);
    std::unique_ptr<Admission> slot = Admission::try_admit(s);
    if (!slot)
      return send_route_error(
          req, res, 429,
          fmt::format("the server's queue is full ({} requests, --max-queue); retry later",
                      s.settings.max_queue),
          "queue_full");
    const nlohmann::json fields =
        req.is_multipart_form_data() ? serve::multipart_fields(body.fields) : serve::parse_object(body.text);
    call = serve::parse_task_call(task, fields, s.chat.defaults, s.chat.image);
    const TaskSpec spec{parse_task(task), call.question, call.what};
    Image image = decode_image(image_bytes(body, call), call.image_name, call.img.max_pixels);
    Request request = task_request(spec, std::move(image), call.gen, call.img);
    if (s.settings.log_prompts) spdlog::info("task {}: {:.200}", task, request.messages.back().text);
    auto flight = std::make_shared<Flight>(s, std::vector<std::string>{}, std::move(slot));
    request.on_text = [flight](const std::string& piece) { return flight->on_text(piece); };
    std::future<GenerateResult> result = s.engine->submit(std::move(request));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(s.settings.timeout_s);
    const Waited w = wait_for_result(result, *flight, client_socket(req), deadline, /*want_text=*/false);
    if (w != Waited::kDone) return send_not_done(res, w, s.settings.timeout_s);
    const GenerateResult r = take_result(result);
    if (r.cancelled) return send_not_done(res, Waited::kShutdown, s.settings.timeout_s);
    send_json(res, 200, task_result_json(spec, call.image_name, r, s.pipeline->load_ms()));
  } catch (const Error& e) {
    // The CLI's own error object, with the HTTP status of its code.
    send_json(res, serve::http_status(e.code(), e.detail()),
              error_json(e.code(), e.what(), e.detail(), call.image ? call.image_name : ""));
  }
}

}  // namespace fvlm::cli
