// `fastvlm convert`: a Hugging Face FastVLM directory -> two GGUF v3 files in OUTDIR.
//
// 1. fastvlm-llm.gguf — the Qwen2 LLM in llama.cpp's own `qwen2` conventions, loadable by llama.cpp
//    as a text model unchanged:
//      general.architecture = "qwen2", general.name, general.file_type (llama_ftype),
//      general.quantization_version = 2;
//      qwen2.{block_count, context_length, embedding_length, feed_forward_length,
//             attention.head_count, attention.head_count_kv, rope.freq_base,
//             attention.layer_norm_rms_epsilon};
//      tokenizer.ggml.{model = "gpt2", pre = "qwen2", tokens, token_type, merges, bos_token_id,
//             eos_token_id, padding_token_id, add_bos_token = false}, tokenizer.chat_template.
//    The token list is padded to the embedding row count (config vocab_size) with "[PAD{id}]"
//    entries of type UNUSED, as llama.cpp's convert_hf_to_gguf.py does.
//    Tensors: token_embd, blk.N.{attn_norm, attn_q, attn_k, attn_v (+ .bias), attn_output,
//    ffn_norm, ffn_gate, ffn_up, ffn_down}, output_norm, and output only when the embeddings are
//    not tied (llama.cpp then reuses token_embd, as our decoder does).
//
// 2. fastvlm-vision.gguf — FastViTHD + projector, general.architecture = "fastvlm":
//      fastvlm.vision.{image_size, layers[], embed_dims[], mlp_ratios[], downsamples[],
//             token_mixers[] ("repmixer"|"attention"), pos_embs[] (""|"RepCPE7x7"),
//             attention_head_dim, repmixer_kernel_size, down_patch_size, down_stride,
//             cpe_kernel_size, cls_ratio, layernorm_eps, batchnorm_eps, output_stride,
//             batchnorm_folded = true};
//      fastvlm.projector.{type ("mlp2x_gelu"), depth}, fastvlm.mm_hidden_size,
//      fastvlm.llm.hidden_size, fastvlm.image_token_index, fastvlm.image_aspect_ratio,
//      fastvlm.config_json (the source config.json verbatim: parse_model_config() rebuilds the
//      exact ModelConfig), fastvlm.preprocessor_json (preprocessor_config.json, when present).
//    Tensor names: checkpoint name with the vision prefix replaced by "v." and the projector
//    prefix by "mm." (e.g. v.network.7.0.token_mixer.qkv.weight, mm.0.weight). Each ConvFFN
//    depthwise conv has its BatchNorm folded in: `convffn.conv.conv.{weight,bias}` replace
//    `convffn.conv.conv.weight` + `convffn.conv.bn.*`. num_batches_tracked and head.proj
//    (unused by FastVLM) are not written.
//
// Storage per tensor follows the tensor table's QuantPolicy (models/tensor_table.h):
//   kKeepF32  -> F32 always;
//   kFloat16  -> F32 | F16 | BF16 as asked; F16 when a block type is asked (vision convs and
//                the projector stay 16-bit);
//   kUpToInt4 -> the asked type; a block type needs a last dimension divisible by 32 (else F16).
//                At q4_0 the output matrix (lm_head, or the tied token embedding that serves as
//                lm_head) is stored Q8_0: llama.cpp's quantizer likewise keeps it at higher
//                precision (Q6_K; we have no K-quants), and our Q4_0 accuracy budget is spent on
//                the layers.
//   kUpToInt8 -> as kUpToInt4, but Q8_0 when q4_0 is asked (the attention projections q, k, v, o
//                and ffn_down, as llama.cpp's Q4_K_M gives attn_v and ffn_down more bits).
// A q4_0 file is thus mixed, as llama.cpp's are, and still says general.file_type = MOSTLY_Q4_0.
// `--pure` (llama-quantize's flag) turns the mixture off: every LLM matrix, the output included,
// at the asked type.
// Why this mixture: the accuracy, size and speed it was chosen on are in bench/README.md
// ("Figures behind design choices": the q4_0 mixture).
// Shapes are row-major here; the GGUF files store ggml's reversed ne (core/gguf.h).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "core/tensor.h"
#include "models/tensor_table.h"

namespace fvlm {

inline constexpr const char* kGgufLlmFile = "fastvlm-llm.gguf";
inline constexpr const char* kGgufVisionFile = "fastvlm-vision.gguf";
inline constexpr const char* kGgufVisionPrefix = "v.";
inline constexpr const char* kGgufProjectorPrefix = "mm.";

struct ConvertOptions {
  std::string src;      // HF FastVLM directory
  std::string out_dir;  // created if missing
  DType type = DType::F16;
  bool pure = false;  // no mixture: every LLM matrix at `type` (llama-quantize --pure)
};

struct ConvertedFile {
  std::string path;
  int64_t bytes = 0;
  int tensors = 0;
};
struct ConvertResult {
  ConvertedFile llm, vision;
};

// "f32" | "f16" | "bf16" | "q8_0" | "q4_0" (case-insensitive) -> DType; Error{kBadArgs} otherwise.
DType parse_convert_type(std::string_view name);

// Streams tensor by tensor (peak RSS ~ the metadata plus one chunk of rows, not the checkpoint) and
// replaces the two files only once both are complete: after a failure OUTDIR holds the earlier
// pair unchanged and no temporaries. Throws Error{kNotFound|kBadModel} for a bad source,
// Error{kBadArgs} if OUTDIR cannot be created, Error{kIoError} if the files cannot be written.
ConvertResult convert_model(const ConvertOptions& opt);

// The storage dtype of one tensor (policy above). `is_output_matrix`: lm_head, or the tied embedding.
// `pure`: ignore kUpToInt8 and the output-matrix rule (LLM matrices all at `requested`).
DType convert_storage_dtype(const TensorSpec& spec, DType requested, bool is_output_matrix,
                            bool pure = false);

// An LLM tensor's llama.cpp name is its table entry's gguf_name (decoder/qwen2_tensors.cpp).
// GGUF name of a vision/projector checkpoint tensor ("v." / "mm." prefixes).
std::string gguf_vision_tensor_name(const std::string& checkpoint_name);

}  // namespace fvlm
