// Child process: the fake OpenAI-compatible provider (src/mock/fakeUpstream.ts) with a fixed latency before
// the response headers. Sends its URL to the parent when listening.
import { startFakeUpstream } from '../../src/mock/fakeUpstream.js';

const fake = await startFakeUpstream({
  latencyMs: Number(process.env.FAKE_LATENCY_MS ?? 2),
  usage: { promptTokens: 100, completionTokens: 20 },
});
// The fake keeps every request for test assertions; a benchmark sends millions, so drop them as they come.
setInterval(() => fake.requests.splice(0), 1000).unref();
process.send?.(fake.url);
