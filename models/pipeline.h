// The whole FastVLM pipeline for one request: image -> prepare -> FastViTHD -> projector ->
// splice into the chat prompt -> Qwen2 prefill -> decode loop. Loaded once, reused per image.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/image.h"
#include "core/image_prep.h"
#include "decoder/chat_template.h"
#include "decoder/int8_outliers.h"
#include "decoder/llm_precision.h"
#include "decoder/weight_pages.h"
#include "encoder/vision_precision.h"
#include "models/config.h"

namespace fvlm {

struct GenerateOptions {
  int max_tokens = 256;             // new tokens; <= 0: until the context is full
  float temperature = 0.0f;         // 0 = greedy
  int top_k = 0;                    // 0 = off
  float top_p = 1.0f;               // 1 = off
  float repetition_penalty = 1.0f;  // 1 = off
  uint64_t seed = 0;
  bool ignore_eos = false;  // keep going past <|im_end|> (the goldens decode that way)
  std::string system = "You are a helpful assistant.";
};

struct ImageOptions {
  ImageMode mode = ImageMode::kPad;
  bool mode_from_config = true;      // use the checkpoint's image_aspect_ratio unless the user chose
  int resolution = 0;                // 0 = the model's
  int grid_cols = 0, grid_rows = 0;  // forced tiles grid (0 = choose from pinpoints)
  int64_t max_pixels = 100'000'000;
};

struct Timings {  // milliseconds
  double preprocess = 0, encode = 0, prefill = 0, ttft = 0, decode = 0;
};

struct GenerateResult {
  std::string text;                // decoded answer, special tokens skipped, stripped
  std::vector<int32_t> token_ids;  // generated ids (stop token excluded)
  std::string finish_reason;       // "stop" | "length"
  int n_prompt_tokens = 0;         // spliced length (text + image rows)
  int n_image_tokens = 0;
  int grid_cols = 0, grid_rows = 0;  // tiles mode only
  int resolution = 0;
  bool cancelled = false;  // on_text asked to stop (finish_reason is then "cancelled")
  Timings timing;
  double decode_tokens_per_s = 0;
  std::vector<float> last_prompt_logits;  // filled when requested
};

// One request: an image (or none) and a conversation about it.
struct Request {
  std::optional<Image> image;         // none: a text-only conversation
  std::vector<ChatMessage> messages;  // ends with the user's message; the image opens the first one
  GenerateOptions gen;
  ImageOptions img;
  bool want_logits = false;  // fill last_prompt_logits
  // Receives decoded text as it is produced (--stream, server-sent events). Returning false cancels
  // the request (the client went away): it ends at once with finish_reason "cancelled".
  std::function<bool(const std::string&)> on_text;
};

struct PipelineOptions {
  int threads = 0;  // 0 = all cores
  // Keep the encoder's plans, packed weights (~460 MB F32 at 0.5B shapes) and activation scratch
  // (~200 MB at 1024 px) between images (batch, bench). Off (one image per process), they are freed
  // once the image is encoded, before the LLM runs: a lower peak RSS, and a later image re-packs.
  bool keep_encoder = false;
  enc::VisionPrecision vision_precision = enc::VisionPrecision::kF32;
  dec::LlmPrecision llm_precision = dec::LlmPrecision::kF32;  // prefill matmuls (decoder/llm_precision.h)
  dec::WeightPages weight_pages = dec::WeightPages::kAuto;    // decoder/weight_pages.h
};

// One request on its way through the model, as an Engine interleaves many (models/engine.cpp):
// Pipeline::prepare checks and tokenizes it (cheap: nothing encoded or allocated yet); encode()
// runs the image through the encoder and projector (the heavy part; it touches only the vision
// backend and this sequence, so an engine may run it on another thread while other sequences
// decode, one encode at a time); start() allocates the KV cache (encoding first if encode() was
// not called); prefill_chunk() feeds the prompt a chunk at a time and, after the last one, samples
// the first token; Pipeline::decode_step then advances many sequences by one token in one pass.
// Chunk boundaries are fixed positions and every step computes each row as it would alone, so a
// sequence gets the same tokens whatever shares the machine with it.
class Sequence {
 public:
  virtual ~Sequence() = default;
  virtual int64_t kv_bytes() const = 0;  // the KV cache start() allocates
  virtual void encode() = 0;             // throws Error (this request only); once
  virtual void start() = 0;              // throws Error (this request only)
  virtual bool prefilling() const = 0;   // started, prompt not all in yet
  virtual void prefill_chunk() = 0;
  virtual bool finished() const = 0;  // stop id, token limit or cancelled
  virtual GenerateResult take_result() = 0;
};

class Pipeline {
 public:
  // Opens the model (HF directory, converted directory or GGUF files). Throws Error.
  static std::unique_ptr<Pipeline> load(const std::string& model_path, const PipelineOptions& opts);
  virtual ~Pipeline() = default;

  virtual const ModelConfig& config() const = 0;
  virtual double load_ms() const = 0;
  // Where the LLM's weights ended up (huge pages or the file mapping), for reports.
  virtual const dec::WeightPlacement& weight_placement() const = 0;
  // Whether the bf16 prefill packs the LLM's matrices (at their second prompt; AMX, llm_pack_budget)
  // and the MB packed so far.
  virtual bool llm_packs() const = 0;
  virtual int64_t llm_packed_mb() const = 0;
  // --llm-precision int8: the outlier columns its prefill met so far (all zero otherwise).
  virtual dec::OutlierCounts llm_int8_outliers() const = 0;
  // The threads its kernels use (PipelineOptions::threads, 0 resolved). OpenMP's thread count is
  // per thread: another thread that runs the pipeline (an Engine's) sets it from this.
  virtual int threads() const = 0;

  // Runs one request to its end. Not thread-safe: one request at a time per Pipeline (an Engine
  // queues many).
  virtual GenerateResult run(const Request& r) = 0;

  // The parts of run() an Engine interleaves (see Sequence). `r` must outlive the sequence.
  // prepare throws Error for a request that cannot run (bad conversation, image, prompt too long).
  virtual std::unique_ptr<Sequence> prepare(const Request& r) = 0;
  // One token for each sequence (started, prefilled, not finished), in one forward pass.
  virtual void decode_step(std::span<Sequence* const> seqs) = 0;

  // Answers `question` about `image` (one user message). `on_text` receives decoded text as it is
  // produced (for --stream). `want_logits` fills last_prompt_logits.
  GenerateResult generate(const Image& image, const std::string& question, const GenerateOptions& gen,
                          const ImageOptions& img, const std::function<void(const std::string&)>& on_text,
                          bool want_logits);
};

}  // namespace fvlm
