#include "models/pipeline.h"

#include <chrono>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/error.h"
#include "core/runtime.h"
#include "decoder/chat_template.h"
#include "decoder/generate.h"
#include "decoder/qwen2.h"
#include "decoder/qwen2_weights.h"
#include "decoder/sampler.h"
#include "decoder/splice.h"
#include "decoder/tokenizer.h"
#include "encoder/vision_backend.h"
#include "models/image_views.h"
#include "models/model_source.h"
#include "models/model_tokenizer.h"

namespace fvlm {
namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

class FastVlmPipeline final : public Pipeline {
 public:
  FastVlmPipeline(const std::string& path, const PipelineOptions& opts)
      : runtime_(opts.threads), keep_encoder_(opts.keep_encoder) {
    const auto t0 = Clock::now();
    source_ = open_model_source(path);
    tokenizer_ = std::make_unique<Tokenizer>(open_tokenizer(source_));
    vision_ = std::make_unique<enc::CpuVisionBackend>(runtime_, vision_config(source_.config),
                                                      source_.tensors, opts.vision_precision);
    llm_ = std::make_unique<dec::Qwen2Model>(dec::bind_qwen2(source_.config.llm, source_.tensors),
                                             source_.config.llm, opts.llm_precision);
    for (const char* s : {"<|im_end|>", "<|endoftext|>"})
      if (auto id = tokenizer_->token_id(s)) stop_ids_.push_back(*id);
    load_ms_ = ms_since(t0);
    spdlog::info("loaded {} in {:.0f} ms", path, load_ms_);
  }

  const ModelConfig& config() const override { return source_.config; }
  double load_ms() const override { return load_ms_; }

  GenerateResult run(const Request& req) override {
    const ModelConfig& c = source_.config;
    const GenerateOptions& gen = req.gen;
    if (req.messages.empty() || req.messages.back().role != ChatRole::kUser)
      throw Error(Errc::kBadArgs, "a request needs a conversation that ends with a user message");
    GenerateResult r;
    // 1. Image -> model views ([B, 3, R, R]): one for pad/crop, global + tiles for anyres.
    auto t = Clock::now();
    std::optional<ImageViews> views;
    if (req.image) {
      views = make_image_views(*req.image, req.img, &c);
      r.resolution = views->resolution;
      r.grid_cols = views->grid_cols;
      r.grid_rows = views->grid_rows;
    }
    // The prompt with the image placeholder; its length is known before any encoding.
    const std::string prompt = qwen2_chat_prompt(req.messages, gen.system, req.image ? 1 : 0);
    const std::vector<int32_t> ids =
        tokenize_with_images(prompt, [&](std::string_view s) { return tokenizer_->encode(s); });
    r.timing.preprocess = ms_since(t);
    const int max_new_tokens = new_token_budget(int64_t(ids.size()) - (req.image ? 1 : 0),
                                                views ? &*views : nullptr, gen.max_tokens);
    // 2. FastViTHD + projector: every view's tokens, concatenated flat.
    const auto t_encode = Clock::now();
    std::vector<Tensor> projected;
    if (views) {
      // The encoder packs its weights first: then the checkpoint's vision pages can go before the
      // activations come in (they are ~255 MB of the 0.5B's peak RSS otherwise). A one-image
      // process is done with the encoder afterwards, before the LLM's pages come in.
      projected.push_back(vision_->encode_and_project(views->pixels, keep_encoder_, [&] {
        if (source_.vision_file) source_.vision_file->drop_resident_pages();
      }));
      r.n_image_tokens = int(projected[0].dim(0));
    }
    r.timing.encode = ms_since(t_encode);
    // 3. A session over the LLM, and the text embeddings (through it) spliced with the image rows.
    const std::span<const Tensor> images(projected);
    r.n_prompt_tokens =
        int(std::min<int64_t>(dec::spliced_length(ids, images), c.tokenizer_model_max_length));
    dec::SessionOptions so;
    so.max_tokens = r.n_prompt_tokens + max_new_tokens;
    so.logit_rows = tokenizer_->size();
    const std::unique_ptr<dec::LlmBackend> llm = llm_->new_session(so);
    const Tensor embeds = dec::splice_image_features(*llm, ids, images, c.tokenizer_model_max_length);
    // 4. Prefill + decode loop.
    dec::Sampler sampler({gen.temperature, gen.top_k, gen.top_p, gen.repetition_penalty, gen.seed});
    dec::StopOptions stop{stop_ids_, gen.ignore_eos, max_new_tokens};
    StreamDecoder stream(*tokenizer_, /*skip_special=*/true);
    Clock::time_point first_token, prefill_end;
    const auto t_prefill = Clock::now();
    const auto on_token = [&](int32_t id) {
      if (first_token == Clock::time_point{}) first_token = Clock::now();
      if (req.on_text && !req.on_text(stream.push(id))) r.cancelled = true;
      return !r.cancelled;
    };
    const auto on_prefill = [&](std::span<const float> logits) {
      prefill_end = Clock::now();
      if (req.want_logits) r.last_prompt_logits.assign(logits.begin(), logits.end());
    };
    const dec::GenerateResult g =
        dec::generate(*llm, embeds.f32(), r.n_prompt_tokens, sampler, stop, on_token, on_prefill);
    const auto t_end = Clock::now();
    if (req.on_text && !r.cancelled) req.on_text(stream.flush());
    using ms = std::chrono::duration<double, std::milli>;
    r.timing.prefill = ms(prefill_end - t_prefill).count();
    if (first_token == Clock::time_point{}) first_token = t_end;  // stopped at once
    r.timing.ttft = r.timing.encode + ms(first_token - t_prefill).count();
    r.timing.decode = ms(t_end - first_token).count();
    r.decode_tokens_per_s = g.ids.size() > 1 ? double(g.ids.size() - 1) / (r.timing.decode / 1000.0) : 0.0;
    r.token_ids = g.ids;
    r.finish_reason = r.cancelled ? "cancelled" : g.reason == dec::StopReason::kStopToken ? "stop" : "length";
    r.text = strip(tokenizer_->decode(g.ids, /*skip_special=*/true));
    return r;
  }

 private:
  // How many new tokens this request may generate: --max-tokens, or (0 / -1) all the room the
  // context has left. The reference truncates a spliced prompt past tokenizer_model_max_length,
  // which would cut off the question and the assistant header: refuse it instead, before spending
  // time on encoding, saying which part overflowed and what to change.
  // `views` null: no image.
  int new_token_budget(int64_t text_tokens, const ImageViews* views, int max_tokens) const {
    const ModelConfig& c = source_.config;
    const int64_t limit = std::min<int64_t>(c.tokenizer_model_max_length, c.llm.max_position_embeddings);
    const int64_t per_view = views ? c.vision.tokens_for(views->resolution) : 0;
    const int64_t n_views = views ? views->pixels.dim(0) : 0;
    const int64_t image_tokens = n_views * per_view, prompt = text_tokens + image_tokens;
    const nlohmann::json detail = {{"prompt_tokens", prompt},
                                   {"image_tokens", image_tokens},
                                   {"text_tokens", text_tokens},
                                   {"max_tokens", max_tokens},
                                   {"context_length", limit}};
    if (prompt >= limit) {  // not even one new token fits
      std::string change;
      if (views && image_tokens >= text_tokens) {
        change = fmt::format(
            "the image is {} tokens ({} view{} of {} tokens at {} px): use a smaller --resolution",
            image_tokens, n_views, n_views == 1 ? "" : "s", per_view, views->resolution);
        if (views->mode == ImageMode::kTiles)
          change += fmt::format(", a smaller --grid (now {}x{}) or --image-mode pad", views->grid_cols,
                                views->grid_rows);
      } else {
        change = fmt::format("the text is {} tokens: shorten the question (or --system)", text_tokens);
      }
      throw Error(
          Errc::kTooLarge,
          fmt::format("prompt of {} tokens ({} image + {} text) does not fit the model's context of {} "
                      "tokens; {}",
                      prompt, image_tokens, text_tokens, limit, change),
          detail);
    }
    if (max_tokens <= 0) return int(limit - prompt);
    if (prompt + max_tokens > limit)
      throw Error(
          Errc::kTooLarge,
          fmt::format(
              "prompt of {} tokens ({} image + {} text) + --max-tokens {} exceeds the model's context "
              "of {} tokens; use --max-tokens {} or less, or --max-tokens 0 to generate until the "
              "context is full",
              prompt, image_tokens, text_tokens, max_tokens, limit, limit - prompt),
          detail);
    return max_tokens;
  }

  static std::string strip(std::string s) {  // predict.py: outputs.strip()
    const char* ws = " \t\n\r\f\v";
    s.erase(0, s.find_first_not_of(ws));
    s.erase(s.find_last_not_of(ws) + 1);
    return s;
  }

  Runtime runtime_;
  bool keep_encoder_;
  ModelSource source_;
  std::unique_ptr<Tokenizer> tokenizer_;
  std::unique_ptr<enc::VisionBackend> vision_;
  std::unique_ptr<dec::LlmModel> llm_;
  std::vector<int32_t> stop_ids_;
  double load_ms_ = 0;
};

}  // namespace

GenerateResult Pipeline::generate(const Image& image, const std::string& question, const GenerateOptions& gen,
                                  const ImageOptions& img,
                                  const std::function<void(const std::string&)>& on_text, bool want_logits) {
  Request r;
  r.image = image;
  r.messages = {{ChatRole::kUser, question}};
  r.gen = gen;
  r.img = img;
  r.want_logits = want_logits;
  if (on_text)
    r.on_text = [&](const std::string& s) {
      on_text(s);
      return true;
    };
  return run(r);
}

std::unique_ptr<Pipeline> Pipeline::load(const std::string& model_path, const PipelineOptions& opts) {
  return std::make_unique<FastVlmPipeline>(model_path, opts);
}

}  // namespace fvlm
