// A real Spendhouse app listening on a port, with its model_list pointing at a local fake LLM upstream and
// a MemorySink collecting the SpendRecords, plus the real OpenAI and Anthropic SDKs aimed at it.
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import type { FastifyInstance } from 'fastify';
import OpenAI from 'openai';
import { type FakeUpstream, startFakeUpstream } from '../../src/mock/fakeUpstream.js';
import { type SpendRecord, spendRecordSchema } from '../../src/spendRecord.js';
import { MemorySink } from '../../src/spendSink.js';
import { startTestApp, TEST_MASTER_KEY, testConfig } from './testApp.js';

export interface ProxyHarness {
  app: FastifyInstance;
  fake: FakeUpstream;
  sink: MemorySink;
  /** `http://127.0.0.1:<port>` */
  origin: string;
  openai(key?: string): OpenAI;
  anthropic(key?: string): Anthropic;
  /** Waits until `count` records were submitted (records are written after the response) and validates them. */
  records(count: number): Promise<SpendRecord[]>;
  /** The validated record of one call, by its x-spend-request-id. */
  record(requestId: string | null | undefined): Promise<SpendRecord>;
  close(): Promise<void>;
}

/** `fileConfig(fakeUrl)` is the YAML config as an object; it gets the fake's URL for api_base values. */
export async function startProxyHarness(
  fileConfig: (fakeUrl: string) => Record<string, unknown>,
): Promise<ProxyHarness> {
  const fake = await startFakeUpstream();
  const sink = new MemorySink();
  const test = await startTestApp(testConfig(fileConfig(fake.url)), { sink, ingestWorker: false });
  await test.app.listen({ port: 0, host: '127.0.0.1' });
  const address = test.app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const origin = `http://127.0.0.1:${port}`;
  return {
    app: test.app,
    fake,
    sink,
    origin,
    openai: (key = TEST_MASTER_KEY) => new OpenAI({ baseURL: `${origin}/v1`, apiKey: key, maxRetries: 0 }),
    anthropic: (key = TEST_MASTER_KEY) => new Anthropic({ baseURL: origin, apiKey: key, maxRetries: 0 }),
    async records(count) {
      const deadline = Date.now() + 5000;
      while (sink.records.length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      return sink.records.map((record) => spendRecordSchema.parse(record));
    },
    async record(requestId) {
      assert.ok(requestId, 'the response carries x-spend-request-id');
      const deadline = Date.now() + 5000;
      for (;;) {
        const found = sink.records.filter((r) => r.request_id === requestId);
        if (found.length || Date.now() > deadline) {
          assert.equal(found.length, 1, `exactly one record for ${requestId}`);
          return spendRecordSchema.parse(found[0]);
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    async close() {
      await test.close();
      await fake.close();
    },
  };
}

export const TEAM_KEY = 'sk-team-a-key-0001';
/** Exact per-token prices: 1000 prompt + 500 completion tokens cost 2_000_000 nano-USD. */
export const HOUSE_PRICES = { input_cost_per_token: 0.000001, output_cost_per_token: 0.000002 };

/** One model of each kind the proxy routes, all pointing at the fake upstream. */
export function proxyTestModels(fake: string): Record<string, unknown>[] {
  const openai = (model: string, extra: Record<string, unknown> = {}) => ({
    model: `openai/${model}`,
    api_base: `${fake}/v1`,
    api_key: 'sk-upstream-openai',
    ...extra,
  });
  return [
    { model_name: 'house-gpt', litellm_params: openai('house-model'), model_info: HOUSE_PRICES },
    { model_name: 'gpt-4o', litellm_params: openai('gpt-4o') },
    {
      model_name: 'house-embed',
      litellm_params: openai('house-embed'),
      model_info: { mode: 'embedding', input_cost_per_token: 0.0000001 },
    },
    {
      model_name: 'claude-3-5-sonnet',
      litellm_params: {
        model: 'anthropic/claude-3-5-sonnet-20241022',
        api_base: fake,
        api_key: 'sk-upstream-anthropic',
      },
    },
    {
      model_name: 'house-azure',
      litellm_params: { model: 'azure/house-deploy', api_base: fake, api_version: '2024-10-21', api_key: 'sk-azure' },
      model_info: HOUSE_PRICES,
    },
    { model_name: 'flaky', litellm_params: openai('fail-429'), model_info: HOUSE_PRICES },
    { model_name: 'broken', litellm_params: openai('fail-500'), model_info: HOUSE_PRICES },
    { model_name: 'slow', litellm_params: openai('slow-3000', { timeout: 0.3 }), model_info: HOUSE_PRICES },
    { model_name: 'self-hosted', litellm_params: { model: 'hosted_vllm/house-llama', api_base: `${fake}/v1` } },
    { model_name: 'mock-demo', litellm_params: { model: 'mock/house-model' }, model_info: HOUSE_PRICES },
  ];
}

export const TEAM_KEY_CONFIG = {
  key: TEAM_KEY,
  key_alias: 'team-a-key',
  user_id: 'user-1',
  team_id: 'team-a',
  models: ['house-gpt', 'gpt-4o', 'house-embed'],
  tags: ['team:a'],
};
