#include "models/pipeline.h"

#include <algorithm>
#include <chrono>
#include <deque>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/error.h"
#include "core/runtime.h"
#include "decoder/chat_template.h"
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

void log_placement(const dec::WeightPlacement& p) {
  if (p.pages == dec::WeightPages::kHuge)
    spdlog::info(
        "LLM weights: {} MB copied into huge pages in {:.0f} ms ({}; {} MB backed by 2 MB pages; {} matrices "
        "with rows interleaved for the int8 kernels, which then run their prefill too)",
        p.bytes >> 20, p.ms, p.reason, p.huge_backed_bytes < 0 ? -1 : p.huge_backed_bytes >> 20, p.packed);
  else
    spdlog::info(
        "LLM weights: {} MB read from the file mapping, 4 KB pages ({}); decode is faster in huge "
        "pages (--weight-pages)",
        p.bytes >> 20, p.reason);
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
    dec::Qwen2Weights weights = dec::bind_qwen2(source_.config.llm, source_.tensors);
    placement_ = dec::place_weights(weights, opts.weight_pages);
    log_placement(placement_);
    auto llm = std::make_unique<dec::Qwen2Model>(std::move(weights), source_.config.llm, opts.llm_precision);
    packer_ = llm->packer();
    llm_ = std::move(llm);
    for (const char* s : {"<|im_end|>", "<|endoftext|>"})
      if (auto id = tokenizer_->token_id(s)) stop_ids_.push_back(*id);
    load_ms_ = ms_since(t0);
    spdlog::info("loaded {} in {:.0f} ms", path, load_ms_);
  }

  const ModelConfig& config() const override { return source_.config; }
  double load_ms() const override { return load_ms_; }
  const dec::WeightPlacement& weight_placement() const override { return placement_; }
  bool llm_packs() const override { return packer_ && packer_->packs(); }
  int64_t llm_packed_mb() const override { return packer_ ? packer_->packed_bytes() >> 20 : 0; }
  dec::OutlierCounts llm_int8_outliers() const override {
    return packer_ && packer_->operands() == dec::MatmulOperands::kS8 ? packer_->outlier_counts()
                                                                      : dec::OutlierCounts{};
  }
  int threads() const override { return runtime_.threads(); }

  GenerateResult run(const Request& req) override {  // a batch of one
    std::unique_ptr<Sequence> seq = prepare(req);
    seq->start();
    while (seq->prefilling()) seq->prefill_chunk();
    Sequence* one = seq.get();
    while (!seq->finished()) decode_step({&one, 1});
    return seq->take_result();
  }

  std::unique_ptr<Sequence> prepare(const Request& r) override;
  void decode_step(std::span<Sequence* const> seqs) override;

 private:
  friend class FastVlmSequence;

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
  const dec::PrefillMatmul* packer_ = nullptr;  // llm_'s packed-copy keeper (bf16 or int8 prefill)
  std::vector<int32_t> stop_ids_;
  double load_ms_ = 0;
  dec::WeightPlacement placement_;
  // KV of recent prompt prefixes (system prompt + chat template up to the image), shared by the
  // requests that start with them. Used from one thread (run(), or the engine's worker).
  struct CachedPrefix {
    std::vector<int32_t> ids;
    std::unique_ptr<dec::LlmBackend> kv;
  };
  std::deque<CachedPrefix> prefixes_;
  static constexpr size_t kMaxPrefixes = 4;
};

// Prompt positions per prefill call. Boundaries sit at multiples of it and at the end of the prefix
// before the image (functions of the sequence alone), so a sequence computes the same prefill alone,
// beside others, or with its prefix's KV copied from an earlier request; between two chunks the
// engine runs a decode step for the others, which bounds how long a joining sequence stalls them.
constexpr int kPrefillChunk = 256;

class FastVlmSequence final : public Sequence {
 public:
  FastVlmSequence(FastVlmPipeline& p, const Request& req) : p_(p), req_(req), stream_(*p.tokenizer_, true) {
    const ModelConfig& c = p.source_.config;
    if (req.messages.empty() || req.messages.back().role != ChatRole::kUser)
      throw Error(Errc::kBadArgs, "a request needs a conversation that ends with a user message");
    // 1. Image -> model views ([B, 3, R, R]): one for pad/crop, global + tiles for anyres.
    const auto t = Clock::now();
    if (req.image) {
      views_ = make_image_views(*req.image, req.img, &c);
      r_.resolution = views_->resolution;
      r_.grid_cols = views_->grid_cols;
      r_.grid_rows = views_->grid_rows;
    }
    // The prompt with the image placeholder; its length is known before any encoding.
    const std::string prompt = qwen2_chat_prompt(req.messages, req.gen.system, req.image ? 1 : 0);
    ids_ = tokenize_with_images(prompt, [&](std::string_view s) { return p.tokenizer_->encode(s); });
    r_.timing.preprocess = ms_since(t);
    if (req.image)  // the shared prefix: everything before the image placeholder
      prefix_ = int(std::find(ids_.begin(), ids_.end(), dec::kImageTokenIndex) - ids_.begin());
    const int64_t text_tokens = int64_t(ids_.size()) - (req.image ? 1 : 0);
    max_new_tokens_ = p.new_token_budget(text_tokens, views_ ? &*views_ : nullptr, req.gen.max_tokens);
    const int64_t image_tokens = views_ ? views_->pixels.dim(0) * c.vision.tokens_for(views_->resolution) : 0;
    const int64_t prompt_tokens = std::min<int64_t>(text_tokens + image_tokens, c.tokenizer_model_max_length);
    kv_bytes_ = 2 * int64_t(sizeof(float)) * c.llm.num_hidden_layers * c.llm.kv_dim() *
                (prompt_tokens + max_new_tokens_);
  }

  int64_t kv_bytes() const override { return kv_bytes_; }

  void encode() override {
    if (encoded_) return;
    encoded_ = true;
    // 2. FastViTHD + projector: every view's tokens, concatenated flat.
    const auto t_encode = Clock::now();
    if (views_) {
      // The encoder packs its weights first: then the checkpoint's vision pages can go before the
      // activations come in (they are ~255 MB of the 0.5B's peak RSS otherwise). A one-image
      // process is done with the encoder afterwards, before the LLM's pages come in.
      projected_.push_back(p_.vision_->encode_and_project(views_->pixels, p_.keep_encoder_, [&] {
        if (p_.source_.vision_file) p_.source_.vision_file->drop_resident_pages();
      }));
      r_.n_image_tokens = int(projected_[0].dim(0));
      views_.reset();  // the pixels are no longer needed
    }
    r_.timing.encode = ms_since(t_encode);
  }

  void start() override {
    const ModelConfig& c = p_.source_.config;
    encode();
    // 3. A session over the LLM, and the text embeddings (through it) spliced with the image rows.
    const std::span<const Tensor> images(projected_);
    r_.n_prompt_tokens =
        int(std::min<int64_t>(dec::spliced_length(ids_, images), c.tokenizer_model_max_length));
    dec::SessionOptions so;
    so.max_tokens = r_.n_prompt_tokens + max_new_tokens_;
    so.logit_rows = p_.tokenizer_->size();
    llm_ = p_.llm_->new_session(so);
    embeds_ = dec::splice_image_features(*llm_, ids_, images, c.tokenizer_model_max_length);
    projected_.clear();  // spliced into embeds_
    prefix_ = std::min(prefix_, r_.n_prompt_tokens - 1);
    const GenerateOptions& gen = req_.gen;
    sampler_.emplace(
        dec::SamplerOptions{gen.temperature, gen.top_k, gen.top_p, gen.repetition_penalty, gen.seed});
  }

  bool prefilling() const override { return llm_ && fed_ < r_.n_prompt_tokens; }

  void prefill_chunk() override {
    if (fed_ == 0) {
      t_prefill_ = Clock::now();
      reuse_prefix();
    }
    int end = std::min(r_.n_prompt_tokens, (fed_ / kPrefillChunk + 1) * kPrefillChunk);
    if (fed_ < prefix_) end = std::min(end, prefix_);
    const std::span<const float> logits =
        llm_->prefill(embeds_.f32() + int64_t(fed_) * llm_->hidden_size(), end - fed_);
    fed_ = end;
    if (fed_ == prefix_) keep_prefix();
    if (fed_ < r_.n_prompt_tokens) return;
    prefill_end_ = Clock::now();
    if (req_.want_logits) r_.last_prompt_logits.assign(logits.begin(), logits.end());
    embeds_ = Tensor();  // the prompt is in the cache now
    accept(logits);
  }

  bool finished() const override { return finished_; }
  int32_t pending() const { return pending_; }
  dec::LlmBackend& session() { return *llm_; }

  // The generation loop's body (as dec::generate): sample, then stop, keep or go on.
  void accept(std::span<const float> logits) {
    const int32_t id = sampler_->sample(logits, ids_out_);
    const std::vector<int32_t>& stops = p_.stop_ids_;
    if (std::find(stops.begin(), stops.end(), id) != stops.end() && !req_.gen.ignore_eos)
      return finish("stop");
    ids_out_.push_back(id);
    if (first_token_ == Clock::time_point{}) first_token_ = Clock::now();
    if (req_.on_text && !req_.on_text(stream_.push(id))) {
      r_.cancelled = true;
      return finish("cancelled");
    }
    if (int(ids_out_.size()) >= max_new_tokens_) return finish("length");
    pending_ = id;
  }

  GenerateResult take_result() override {
    FVLM_CHECK(finished_, "take_result before the sequence finished");
    return std::move(r_);
  }

 private:
  // The cached KV of this prompt's prefix, if an earlier request computed it: copied, not recomputed.
  const FastVlmPipeline::CachedPrefix* cached_prefix() const {
    for (const auto& cached : p_.prefixes_)
      if (int(cached.ids.size()) == prefix_ && std::equal(cached.ids.begin(), cached.ids.end(), ids_.begin()))
        return &cached;
    return nullptr;
  }

  void reuse_prefix() {
    if (prefix_ <= 0) return;
    if (const auto* cached = cached_prefix()) {
      llm_->copy_prefix(*cached->kv, prefix_);
      fed_ = prefix_;
    }
  }

  // Keeps a copy of the prefix's KV for the requests that start the same way.
  void keep_prefix() {
    auto& cache = p_.prefixes_;
    if (cached_prefix()) return;
    dec::SessionOptions so;
    so.max_tokens = prefix_;
    so.logit_rows = llm_->n_logits();
    cache.push_back({std::vector<int32_t>(ids_.begin(), ids_.begin() + prefix_), p_.llm_->new_session(so)});
    cache.back().kv->copy_prefix(*llm_, prefix_);
    if (cache.size() > FastVlmPipeline::kMaxPrefixes) cache.pop_front();
  }

  void finish(const char* reason) {
    const auto t_end = Clock::now();
    finished_ = true;
    llm_.reset();  // the KV cache goes now, not when the engine gets round to the result
    if (req_.on_text && !r_.cancelled) req_.on_text(stream_.flush());
    using ms = std::chrono::duration<double, std::milli>;
    r_.timing.prefill = ms(prefill_end_ - t_prefill_).count();
    if (first_token_ == Clock::time_point{}) first_token_ = t_end;  // stopped at once
    r_.timing.ttft = r_.timing.encode + ms(first_token_ - t_prefill_).count();
    r_.timing.decode = ms(t_end - first_token_).count();
    r_.decode_tokens_per_s =
        ids_out_.size() > 1 ? double(ids_out_.size() - 1) / (r_.timing.decode / 1000.0) : 0.0;
    r_.finish_reason = reason;
    r_.text = FastVlmPipeline::strip(p_.tokenizer_->decode(ids_out_, /*skip_special=*/true));
    r_.token_ids = std::move(ids_out_);
  }

  FastVlmPipeline& p_;
  const Request& req_;
  GenerateResult r_;
  std::optional<ImageViews> views_;
  bool encoded_ = false;
  std::vector<Tensor> projected_;  // encode()'s image rows until start() splices them
  std::vector<int32_t> ids_;       // the prompt, image placeholder included
  int max_new_tokens_ = 0;
  int64_t kv_bytes_ = 0;
  std::unique_ptr<dec::LlmBackend> llm_;
  Tensor embeds_;
  int fed_ = 0;     // prompt positions in the cache
  int prefix_ = 0;  // positions before the image (0: none, or no image)
  std::optional<dec::Sampler> sampler_;
  StreamDecoder stream_;
  std::vector<int32_t> ids_out_;
  int32_t pending_ = -1;  // the last kept id, fed by the next decode step
  bool finished_ = false;
  Clock::time_point t_prefill_, prefill_end_, first_token_;
};

std::unique_ptr<Sequence> FastVlmPipeline::prepare(const Request& r) {
  return std::make_unique<FastVlmSequence>(*this, r);
}

void FastVlmPipeline::decode_step(std::span<Sequence* const> seqs) {
  std::vector<dec::LlmBackend*> sessions;
  std::vector<int32_t> tokens;
  std::vector<FastVlmSequence*> mine;
  for (Sequence* s : seqs) {
    auto* f = dynamic_cast<FastVlmSequence*>(s);
    FVLM_CHECK(f && !f->finished() && !f->prefilling(), "decode_step: a sequence not ready to decode");
    sessions.push_back(&f->session());
    tokens.push_back(f->pending());
    mine.push_back(f);
  }
  if (mine.empty()) return;
  const std::span<const float> logits = llm_->decode_batch(sessions, tokens);
  const size_t n = logits.size() / mine.size();
  for (size_t b = 0; b < mine.size(); ++b) mine[b]->accept(logits.subspan(b * n, n));
}

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
