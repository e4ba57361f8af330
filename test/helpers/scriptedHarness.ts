// A real Spendhouse app (records ingested into its own ClickHouse database) in front of the scripted fake
// provider (scriptedProvider.ts), with three deployments priced alike — `claude` (Anthropic protocol),
// `gpt` (OpenAI protocol) and `mock-model` — and the OpenAI and Anthropic SDKs aimed at it. A call costs
// input × 1,000 + output × 2,000 nano-USD; `stored(...)` reads a call's row back from ClickHouse.
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { z } from 'zod';
import { sql } from '../../src/clickhouse/sql.js';
import { HOUSE_PRICES } from './fakeUpstreamProxy.js';
import { type StoredCall, waitForStoredCall } from './responsesHarness.js';
import { type ScriptedAnswer, type ScriptedProvider, startScriptedProvider } from './scriptedProvider.js';
import { startTestApp, TEST_MASTER_KEY, type TestApp, testConfig } from './testApp.js';

export interface ScriptedHarness {
  app: TestApp['app'];
  provider: ScriptedProvider;
  /** `http://127.0.0.1:<port>` */
  origin: string;
  openai(key?: string): OpenAI;
  anthropic(key?: string): Anthropic;
  /** A call's spend_logs row by its x-spend-request-id or the provider's response id, waited for. */
  stored(by: { requestId?: string | null; responseId?: string | null }): Promise<StoredCall>;
  /** Rows in spend_logs now. */
  storedCount(): Promise<number>;
  close(): Promise<void>;
}

const countRow = z.object({ n: z.coerce.number() });

export const costOf = (a: ScriptedAnswer) => a.usage.input * 1000 + a.usage.output * 2000;

export async function startScriptedHarness(): Promise<ScriptedHarness> {
  const provider = await startScriptedProvider();
  const t = await startTestApp(
    testConfig({
      model_list: [
        {
          model_name: 'claude',
          litellm_params: { model: 'anthropic/claude-sonnet-4-5', api_base: provider.url, api_key: 'sk-up-anthropic' },
          model_info: HOUSE_PRICES,
        },
        {
          model_name: 'gpt',
          litellm_params: { model: 'openai/gpt-4o-mini', api_base: `${provider.url}/v1`, api_key: 'sk-up-openai' },
          model_info: HOUSE_PRICES,
        },
        { model_name: 'mock-model', litellm_params: { model: 'mock/house' }, model_info: HOUSE_PRICES },
      ],
    }),
  );
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  const address = t.app.server.address();
  const origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  return {
    app: t.app,
    provider,
    origin,
    openai: (key = TEST_MASTER_KEY) => new OpenAI({ baseURL: `${origin}/v1`, apiKey: key, maxRetries: 0 }),
    anthropic: (key = TEST_MASTER_KEY) => new Anthropic({ baseURL: origin, apiKey: key, maxRetries: 0 }),
    stored: (by) => waitForStoredCall(t.app.warehouse, by),
    async storedCount() {
      const [row] = await t.app.warehouse.rows(sql`SELECT count() AS n FROM spend_logs`, countRow);
      return row?.n ?? 0;
    },
    async close() {
      await t.close();
      await provider.close();
    },
  };
}
