// The OpenAI/Anthropic-compatible proxy routes, with and without the /v1 prefix (LiteLLM accepts both):
// chat/completions, completions, embeddings, messages (Anthropic-native) and models.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { CallType } from '../callGuards.js';
import type { AppConfig } from '../config/load.js';
import { registerBatchApi } from './batches/plugin.js';
import { handleCall, handleRejectedCall, type ProxyDeps } from './call/handleCall.js';
import { registerCountTokensRoutes } from './countTokens.js';
import { keyMayUse, ModelRouter } from './deployments.js';
import { storedResponseRoutes } from './exchange/responsesStored.js';
import { ResponsesItemStore } from './responsesItemStore.js';
import { countTextTokens } from './tokens.js';
import { UpstreamClient } from './upstream.js';

export interface ProxyPluginOptions {
  config: AppConfig;
}

const CALL_ROUTES: [string, CallType][] = [
  ['/chat/completions', 'chat'],
  ['/completions', 'completion'],
  ['/embeddings', 'embedding'],
  ['/messages', 'messages'],
  ['/responses', 'responses'],
];

async function proxyPlugin(app: FastifyInstance, opts: ProxyPluginOptions): Promise<void> {
  const { config } = opts;
  const router = new ModelRouter(config.models, {
    requestTimeoutSeconds: config.file.litellm_settings.request_timeout,
  });
  const upstream = new UpstreamClient();
  app.addHook('onClose', async () => upstream.close());
  // The mock provider counts its usage with the tokenizer on this thread: with mock deployments configured
  // (the demo) its ranks (about a second of CPU, 75 MB) are loaded once the app is assembled rather than
  // inside the first call. Other deployments never tokenize here (tokenCountPool.ts).
  if (router.listNames().some(({ provider }) => provider === 'mock')) {
    app.addHook('onReady', async () => {
      countTextTokens('warm up');
    });
  }

  const deps: ProxyDeps = {
    router,
    upstream,
    guards: app.callGuards,
    sink: app.spendSink,
    authenticate: (request) => app.authenticate(request),
    storePrompts: config.storePrompts,
    mockResponseKeyAliases: new Set(config.file.general_settings.mock_response_key_aliases ?? []),
    billProviderCost: config.file.general_settings.bill_provider_reported_cost !== false,
    responsesItems: new ResponsesItemStore(app.redis, config.file.general_settings.responses_item_ttl_seconds),
  };

  async function listModels(request: FastifyRequest, reply: FastifyReply) {
    const principal = await app.authenticate(request);
    const data = router
      .listNames()
      .filter(({ name }) => keyMayUse(principal.models, name))
      .map(({ name, provider }) => ({ id: name, object: 'model', created: 0, owned_by: provider }));
    return reply.send({ object: 'list', data });
  }

  registerCountTokensRoutes(app, { router, upstream, authenticate: (request) => app.authenticate(request) });
  storedResponseRoutes(app, (request) => app.authenticate(request));
  // /v1/files and /v1/batches (OpenAI's Batch API, docs/batches.md).
  await registerBatchApi(app, config, router);

  // Routes live in their own context so that its error handler (requests fastify refused before the
  // handler ran: unparsable JSON, oversized body) records those calls too, without touching other routes.
  await app.register(async (routes) => {
    const callTypeByUrl = new Map<string, CallType>();
    routes.setErrorHandler(async (err, request, reply) => {
      const callType = callTypeByUrl.get(request.routeOptions.url ?? '');
      if (!callType) throw err;
      return handleRejectedCall(deps, callType, err, request, reply);
    });
    // The key is checked before the body is read: a caller without a valid key cannot make the proxy parse
    // (and hold in memory) a body of up to body_limit_bytes. The refusal is recorded by the handler above.
    routes.addHook('onRequest', async (request) => {
      await app.authenticate(request);
    });
    for (const prefix of ['', '/v1']) {
      for (const [path, callType] of CALL_ROUTES) {
        callTypeByUrl.set(`${prefix}${path}`, callType);
        routes.post(`${prefix}${path}`, (request, reply) => handleCall(deps, callType, request, reply));
      }
      routes.get(`${prefix}/models`, listModels);
    }
  });
}

// The spend sink comes from the ingest plugin (the spend journal; tests may pass a MemorySink through
// buildApp): a proxy without a place to make records durable refuses to boot rather than lose them.
export default fp(proxyPlugin, { name: 'proxy', dependencies: ['auth', 'call-guards', 'ingest'] });
