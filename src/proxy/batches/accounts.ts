// Which OpenAI account serves a batch: the account (api_base + key + organization) of the deployment its
// lines' model resolves to. Files and batches live in an account, so they are stored with its id and found
// again by it — by the proxy's file and batch routes and by the worker's poller (built from the same
// model_list, without the proxy's router state).
import { createHash } from 'node:crypto';
import type { BatchAccounts } from '../../batches/poller.js';
import type { BatchTarget } from '../../batches/upstream.js';
import type { AppConfig } from '../../config/load.js';
import { type Deployment, ModelRouter } from '../deployments.js';

/** Batches are proxied to OpenAI itself: other OpenAI-compatible providers have no Batch API to speak of. */
export const BATCH_PROVIDERS: readonly string[] = ['openai'];

export function accountOf(d: Deployment): BatchTarget {
  const id = createHash('sha256')
    .update(`${d.apiBase ?? ''}\n${d.apiKey ?? ''}\n${d.organization ?? ''}`)
    .digest('hex')
    .slice(0, 24);
  const headers: Record<string, string> = {};
  if (d.apiKey) headers.authorization = `Bearer ${d.apiKey}`;
  if (d.organization) headers['openai-organization'] = d.organization;
  return { id, apiBase: d.apiBase ?? '', headers };
}

/** Every OpenAI account in model_list, and each model's price, for the poller. */
export function batchAccounts(config: AppConfig): BatchAccounts {
  const router = new ModelRouter(config.models, {
    requestTimeoutSeconds: config.file.litellm_settings.request_timeout,
  });
  const accounts = new Map<string, BatchTarget>();
  // A name served by n deployments is resolved n times in a row: round-robin visits each once.
  const served = new Map<string, number>();
  for (const entry of config.models) {
    const name = entry.model_name.replaceAll('*', 'x');
    served.set(name, (served.get(name) ?? 0) + 1);
  }
  for (const [name, count] of served) {
    for (let i = 0; i < count; i++) {
      const deployment = router.resolve(name);
      if (deployment && BATCH_PROVIDERS.includes(deployment.provider)) {
        const account = accountOf(deployment);
        accounts.set(account.id, account);
      }
    }
  }
  return {
    account: (id) => accounts.get(id) ?? null,
    model(name) {
      const d = router.resolve(name);
      return d ? { upstreamModel: d.upstreamModel, pricing: d.pricing } : null;
    },
  };
}
