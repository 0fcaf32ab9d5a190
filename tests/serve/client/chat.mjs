// The official OpenAI client against a live `fastvlm serve` (tests/serve/test_serve_clients.cpp):
// an image + question, whole and streamed, the model list, and an error. Prints one JSON object.
// Usage: node chat.mjs BASE_URL IMAGE QUESTION API_KEY
import fs from "node:fs";
import OpenAI from "openai";

const [baseURL, image, question, apiKey] = process.argv.slice(2);
const client = new OpenAI({ baseURL: `${baseURL}/v1`, apiKey, maxRetries: 0, timeout: 120000 });
const url = `data:image/png;base64,${fs.readFileSync(image).toString("base64")}`;
const body = {
  model: "fastvlm",
  messages: [{ role: "user", content: [{ type: "text", text: question }, { type: "image_url", image_url: { url } }] }],
  max_tokens: 12,
  ignore_eos: true, // fastvlm's own field (the golden answers decode past the end token)
};

const whole = await client.chat.completions.create(body);
const stream = await client.chat.completions.create({ ...body, stream: true, stream_options: { include_usage: true } });
let streamed = "", streamFinish = null, streamUsage = null, chunks = 0;
for await (const chunk of stream) {
  chunks++;
  if (chunk.usage) streamUsage = chunk.usage;
  for (const c of chunk.choices) {
    if (c.delta?.content) streamed += c.delta.content;
    if (c.finish_reason) streamFinish = c.finish_reason;
  }
}
const models = await client.models.list();
let error = null;
try {
  await client.chat.completions.create({ ...body, max_tokens: -1 });
} catch (e) {
  error = { status: e.status, code: e.code ?? null, param: e.param ?? null, type: e.type ?? null };
}
console.log(JSON.stringify({
  content: whole.choices[0].message.content,
  finish: whole.choices[0].finish_reason,
  usage: whole.usage,
  streamed,
  stream_finish: streamFinish,
  stream_usage: streamUsage,
  chunks,
  models: models.data.map((m) => m.id),
  error,
}));
