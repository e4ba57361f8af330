// Child process: the floor of the proxy suite (`npm run bench -- proxy --floor`). The least a budgeted,
// recorded proxy must do per call — issue 17's "per-call budget of work" and nothing else — built from the
// same libraries Spendhouse uses (fastify, undici, ioredis), so the suite can measure, side by side on one
// machine, what Spendhouse costs per call against what any proxy of this design must cost:
//   1. parse the JSON body once (fastify's parser);
//   2. authenticate from an in-process map (the key's SHA-256, as Spendhouse stores keys);
//   3. one Redis round trip to admit: a Lua script checks and reserves a worst case on the key's and the
//      team's budgets;
//   4. the upstream request (one keep-alive undici Agent), the answer read whole and parsed for its usage;
//   5. one Redis round trip to settle the two budgets and append the call's record (a JSON line) to a list;
//   6. the answer, with the cost header.
// No routing table, pricing sheet, attribution headers, guards, metrics, logs or ingest worker: what
// Spendhouse does beyond this is the difference the suite shows. `FLOOR_HTTP=raw` (`--floor raw`) serves
// the same work from node:http's own request handler instead of fastify's: what fastify costs per call.
// Ready once GET /health/readiness answers.
import { createHash, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import { Agent } from 'undici';

const upstream = new URL(process.env.FLOOR_UPSTREAM ?? '');
const prefix = process.env.FLOOR_PREFIX ?? 'bench-floor:';
const hash = (key: string) => createHash('sha256').update(key).digest('hex');
const keys = new Map([[hash(process.env.FLOOR_KEY ?? ''), { key: 'key-1', team: 'team-1' }]]);
const BUDGET_NANO = 1_000_000 * 1e9;
const PRICE_IN_NANO = 1_000; // $0.000001 per token, as the suite's model
const PRICE_OUT_NANO = 2_000;

/** KEYS: the two budgets' spent and reserved counters. ARGV: budget, worst case. 0 = refused. */
const ADMIT = `
for i = 1, #KEYS, 2 do
  local used = tonumber(redis.call('get', KEYS[i]) or '0') + tonumber(redis.call('get', KEYS[i + 1]) or '0')
  if used + tonumber(ARGV[2]) > tonumber(ARGV[1]) then return 0 end
end
for i = 1, #KEYS, 2 do redis.call('incrby', KEYS[i + 1], ARGV[2]) end
return 1`;

/** KEYS: spent, reserved of each budget, then the record list. ARGV: worst case, cost, record line. */
const SETTLE = `
for i = 1, #KEYS - 1, 2 do
  redis.call('decrby', KEYS[i + 1], ARGV[1])
  redis.call('incrby', KEYS[i], ARGV[2])
end
return redis.call('rpush', KEYS[#KEYS], ARGV[3])`;

const redis = new Redis(process.env.FLOOR_REDIS_URL ?? 'redis://127.0.0.1:6379', { enableAutoPipelining: true });
redis.defineCommand('admit', { lua: ADMIT, numberOfKeys: 4 });
redis.defineCommand('settle', { lua: SETTLE, numberOfKeys: 5 });
const commands = redis as Redis & {
  admit(...args: (string | number)[]): Promise<number>;
  settle(...args: (string | number)[]): Promise<number>;
};
const budgetKeys = (scope: { key: string; team: string }) => [
  `${prefix}spent:${scope.key}`,
  `${prefix}reserved:${scope.key}`,
  `${prefix}spent:${scope.team}`,
  `${prefix}reserved:${scope.team}`,
];

const agent = new Agent({ keepAliveTimeout: 4_000, connections: null });

interface ChatBody {
  model?: unknown;
  max_tokens?: unknown;
}

interface Answer {
  status: number;
  cost?: number;
  body: string;
}

const refusal = (status: number, message: string): Answer => ({ status, body: JSON.stringify({ error: { message } }) });

/** One call: the whole per-call budget of work, whichever HTTP layer received it. */
async function proxyCall(authorization: string | undefined, body: ChatBody): Promise<Answer> {
  const scope = keys.get(hash(String(authorization ?? '').replace(/^Bearer /, '')));
  if (!scope) return refusal(401, 'invalid key');
  const text = JSON.stringify(body);
  // A reservation's worst case: the body's bytes bound its prompt tokens, max_tokens its output.
  const worst = Buffer.byteLength(text) * PRICE_IN_NANO + Number(body.max_tokens ?? 4096) * PRICE_OUT_NANO;
  const startedAt = Date.now();
  const scopeKeys = budgetKeys(scope);
  if ((await commands.admit(...scopeKeys, BUDGET_NANO, worst)) === 0) return refusal(429, 'budget exceeded');
  const response = await agent.request({
    origin: upstream.origin,
    path: '/v1/chat/completions',
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-upstream' },
    body: text,
  });
  const answer = await response.body.text();
  const usage = (JSON.parse(answer) as { usage?: { prompt_tokens?: number; completion_tokens?: number } }).usage;
  const cost = (usage?.prompt_tokens ?? 0) * PRICE_IN_NANO + (usage?.completion_tokens ?? 0) * PRICE_OUT_NANO;
  const record = JSON.stringify({
    request_id: randomUUID(),
    start_time: startedAt,
    end_time: Date.now(),
    key_hash: scope.key,
    team_id: scope.team,
    model: body.model,
    status: response.statusCode,
    prompt_tokens: usage?.prompt_tokens ?? 0,
    completion_tokens: usage?.completion_tokens ?? 0,
    cost_nano: cost,
  });
  await commands.settle(...scopeKeys, `${prefix}records`, worst, cost, record);
  return { status: response.statusCode, cost, body: answer };
}

const headersOf = (answer: Answer) => ({
  'content-type': 'application/json',
  ...(answer.cost === undefined ? {} : { 'x-spend-response-cost': (answer.cost / 1e9).toFixed(9) }),
});

async function serveFastify(port: number): Promise<() => Promise<void>> {
  const app = Fastify({ logger: false, bodyLimit: 32 * 1024 * 1024 });
  app.post('/v1/chat/completions', async (request, reply) => {
    const answer = await proxyCall(request.headers.authorization, request.body as ChatBody);
    return reply.code(answer.status).headers(headersOf(answer)).send(answer.body);
  });
  app.get('/health/readiness', async () => ({ status: 'ok' }));
  await app.listen({ host: '127.0.0.1', port });
  return () => app.close();
}

async function serveRaw(port: number): Promise<() => Promise<void>> {
  const server = createServer((req, res) => {
    if (req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      // A body that is not JSON is a 400 as in fastify, not a crash of the floor.
      Promise.resolve()
        .then(() => JSON.parse(Buffer.concat(chunks).toString('utf8')) as ChatBody)
        .then(
          (body) => proxyCall(req.headers.authorization, body),
          () => refusal(400, 'body is not JSON'),
        )
        .then(
          (answer) => res.writeHead(answer.status, headersOf(answer)).end(answer.body),
          (err: Error) => res.writeHead(500).end(err.message),
        );
    });
  });
  server.keepAliveTimeout = 72_000;
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  return () => new Promise((resolve) => server.close(() => resolve()));
}

const port = Number(process.env.FLOOR_PORT ?? 0);
const close = await (process.env.FLOOR_HTTP === 'raw' ? serveRaw(port) : serveFastify(port));
process.on('SIGTERM', async () => {
  await close();
  await agent.close();
  redis.disconnect();
  process.exit(0);
});
