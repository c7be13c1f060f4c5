// Streams one completion and one chat completion from the UE's OpenAI-compatible endpoint with the
// official client, and prints {"completion": text, "chat": text, "splitinfer": {...}} as JSON.
// Usage: node stream.js BASE_URL MODEL PROMPT CHAT_USER MAX_TOKENS
const { OpenAI } = require('openai');

async function main() {
  const [baseURL, model, prompt, user, maxTokens] = process.argv.slice(2);
  const client = new OpenAI({ baseURL, apiKey: 'not-needed', maxRetries: 0 });
  let completion = '';
  let splitinfer = null;
  const stream = await client.completions.create({
    model, prompt, max_tokens: Number(maxTokens), temperature: 0, seed: 1, stream: true,
  });
  for await (const chunk of stream) {
    completion += chunk.choices[0]?.text ?? '';
    if (chunk.splitinfer) splitinfer = chunk.splitinfer;
  }
  let chat = '';
  const chatStream = await client.chat.completions.create({
    model, messages: [{ role: 'user', content: user }], max_tokens: Number(maxTokens),
    temperature: 0, seed: 1, stream: true,
  });
  for await (const chunk of chatStream) {
    chat += chunk.choices[0]?.delta?.content ?? '';
  }
  let status = 0;
  try {
    await client.completions.create({ model, prompt, n: 2 });
  } catch (e) {
    status = e.status;
  }
  process.stdout.write(JSON.stringify({ completion, chat, splitinfer, badParamStatus: status }));
}

main().catch((e) => { console.error(e); process.exit(1); });
