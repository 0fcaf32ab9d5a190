// Qwen2 hyperparameters, as the decoder needs them. models/config.cpp fills this from config.json;
// field names follow HF config.json so one grep finds both sides.
#pragma once

namespace fvlm {

struct Qwen2Config {
  int hidden_size = 0;
  int num_hidden_layers = 0;
  int num_attention_heads = 0;
  int num_key_value_heads = 0;
  int intermediate_size = 0;
  int vocab_size = 0;  // embedding rows (151936), larger than the tokenizer
  float rms_norm_eps = 1e-6f;
  float rope_theta = 1e6f;
  int max_position_embeddings = 32768;
  bool tie_word_embeddings = true;
  int bos_token_id = 151643;
  int eos_token_id = 151645;
  int head_dim() const { return hidden_size / num_attention_heads; }
  int kv_dim() const { return num_key_value_heads * head_dim(); }
};

}  // namespace fvlm
