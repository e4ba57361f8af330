// The call-guard registry (src/proxy/callGuards.ts): admission runs the `policy` phase before the `budget`
// phase whatever the registration order, each registration can be undone, and the proxy refuses to boot
// without the plugins it depends on (the ingest plugin's durable sink above all: no silent in-memory one).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import Fastify from 'fastify';
import authPlugin from '../src/auth/plugin.js';
import { type AdmissionGuard, CallGuards } from '../src/callGuards.js';
import callGuardsPlugin from '../src/proxy/guardsPlugin.js';
import proxyPlugin from '../src/proxy/plugin.js';
import { testConfig } from './helpers/testApp.js';

const guard = (name: string): AdmissionGuard => ({ name, admit: async () => ({ settle: async () => {} }) });

test('admission order: policy guards first, then budget guards, each in registration order', () => {
  const guards = new CallGuards();
  guards.addAdmission('budget', guard('budgets'));
  guards.addAdmission('policy', guard('tag_policies'));
  const removeRates = guards.addAdmission('budget', guard('rates'));
  const removeAudit = guards.addAdmission('policy', guard('audit'));
  assert.deepEqual(
    guards.admitters.map((g) => g.name),
    ['tag_policies', 'audit', 'budgets', 'rates'],
  );
  removeAudit();
  removeAudit();
  guards.addAdmission('policy', guard('late-policy'));
  assert.deepEqual(
    guards.admitters.map((g) => g.name),
    ['tag_policies', 'late-policy', 'budgets', 'rates'],
  );
  removeRates();
  assert.deepEqual(
    guards.admitters.map((g) => g.name),
    ['tag_policies', 'late-policy', 'budgets'],
  );
  const removeObserver = guards.addObserver({ name: 'metrics', observe: () => {} });
  assert.equal(guards.observers.length, 1);
  removeObserver();
  assert.equal(guards.observers.length, 0);
});

test('the proxy refuses to boot without the ingest plugin (its durable sink) and without the guard registry', async () => {
  const config = testConfig();
  const bare = Fastify();
  await bare.register(authPlugin, { config });
  await bare.register(callGuardsPlugin);
  await assert.rejects(async () => {
    await bare.register(proxyPlugin, { config });
    await bare.ready();
  }, /dependency 'ingest' of plugin 'proxy'/);
  await bare.close().catch(() => {});

  const noRegistry = Fastify();
  await noRegistry.register(authPlugin, { config });
  await assert.rejects(async () => {
    await noRegistry.register(proxyPlugin, { config });
    await noRegistry.ready();
  }, /dependency 'call-guards' of plugin 'proxy'/);
  await noRegistry.close().catch(() => {});
});
