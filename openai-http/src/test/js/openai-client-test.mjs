// The official `openai` npm client against a running Catena OpenAI server.
// Usage: node openai-client-test.mjs BASE_URL MODEL EXPECTED_TEXT_FILE   (NODE_PATH-free: run with cwd holding node_modules)
import fs from 'node:fs';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const [baseURL, model, expectedFile, modulesDir] = process.argv.slice(2);
const require = createRequire(modulesDir + '/');
const OpenAI = require('openai').default ?? require('openai');
const expected = fs.readFileSync(expectedFile, 'utf8');
const client = new OpenAI({ baseURL, apiKey: 'test-key', maxRetries: 0 });

const models = await client.models.list();
assert.deepEqual(models.data.map(m => m.id), [model]);
console.log('models ok');

const c = await client.completions.create({ model, prompt: 'Once upon a time', max_tokens: 64, temperature: 0 });
assert.equal(c.choices[0].text, expected);
assert.equal(c.choices[0].finish_reason, 'length');
assert.equal(c.usage.prompt_tokens, 5);
assert.equal(c.usage.completion_tokens, 64);
console.log('completion ok');

const cut = expected.indexOf('Lily');
const s = await client.completions.create({ model, prompt: 'Once upon a time', max_tokens: 64, temperature: 0, stop: ['Lily'] });
assert.equal(s.choices[0].text, expected.substring(0, cut));
assert.equal(s.choices[0].finish_reason, 'stop');
console.log('stop ok');

const messages = [{ role: 'system', content: 'Tell a story.' }, { role: 'user', content: 'Once upon a time' }];
const chat = await client.chat.completions.create({ model, messages, max_completion_tokens: 20, temperature: 0 });
const content = chat.choices[0].message.content;
assert.equal(chat.choices[0].message.role, 'assistant');
assert.ok(content.length > 0);
console.log('chat ok');

const stream = await client.chat.completions.create({ model, messages, max_completion_tokens: 20, temperature: 0, stream: true,
  stream_options: { include_usage: true } });
let streamed = '';
let usage = null;
let finish = null;
for await (const chunk of stream) {
  if (chunk.usage) usage = chunk.usage;
  for (const choice of chunk.choices) {
    streamed += choice.delta?.content ?? '';
    if (choice.finish_reason) finish = choice.finish_reason;
  }
}
assert.equal(streamed, content);
assert.equal(finish, chat.choices[0].finish_reason);
assert.equal(usage.completion_tokens, chat.usage.completion_tokens);
console.log('chat stream ok');

try {
  await client.completions.create({ model: 'no-such-model', prompt: 'x' });
  assert.fail('an unknown model must fail');
} catch (e) {
  assert.ok(e instanceof OpenAI.NotFoundError, String(e));
  assert.equal(e.status, 404);
  assert.equal(e.code, 'model_not_found');
}
try {
  await client.chat.completions.create({ model, messages, n: 2 });
  assert.fail('n=2 must fail');
} catch (e) {
  assert.ok(e instanceof OpenAI.BadRequestError, String(e));
  assert.equal(e.param, 'n');
}
const wrongKey = new OpenAI({ baseURL, apiKey: 'wrong', maxRetries: 0 });
try {
  await wrongKey.models.list();
  assert.fail('a wrong key must fail');
} catch (e) {
  assert.ok(e instanceof OpenAI.AuthenticationError, String(e));
}
console.log('errors ok');
console.log('ALL OK');
