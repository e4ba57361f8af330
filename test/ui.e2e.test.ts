// The dashboard end to end in headless Chromium against a listening app on real ClickHouse/Redis, with
// the fake upstream behind the proxy: log in, create a team and a key, call through the OpenAI SDK with
// tags, find the calls in Spend (by tag combination) and Logs, rotate and revoke the key, and check that a
// virtual-key login sees only its own scope. Screenshots of each tab go to docs/screenshots/. The page runs
// under the dashboard's Content-Security-Policy with no violation, and a page on a sibling port (same site,
// so the SameSite=Strict cookie rides along) cannot create a key with the admin's session.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { after, before, test } from 'node:test';
import OpenAI from 'openai';
import type { Page } from 'playwright-core';
import { type FakeUpstream, startFakeUpstream } from '../src/mock/fakeUpstream.js';
import { startTestApp, TEST_MASTER_KEY, type TestApp, testConfig } from './helpers/testApp.js';
import { type Browser, eventually, launchBrowser, loginThroughForm, openTab, screenshot } from './ui/browser.js';

let upstream: FakeUpstream;
let t: TestApp;
let base: string;
let browser: Browser;
let page: Page;
/** Console messages of Chromium that report a Content-Security-Policy violation. */
const cspViolations: string[] = [];

async function admin<T>(path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${base}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${TEST_MASTER_KEY}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.ok(res.ok, `${path}: ${res.status} ${await res.clone().text()}`);
  return (await res.json()) as T;
}

function sdk(apiKey: string): OpenAI {
  return new OpenAI({ baseURL: `${base}/v1`, apiKey, maxRetries: 0 });
}

async function chat(apiKey: string, tags: string[]): Promise<void> {
  await sdk(apiKey).chat.completions.create(
    {
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: `hello from ${tags.join('+')}` }],
      metadata: { trace_id: `trace-${tags.join('+')}` },
    },
    { headers: { 'x-spend-tags': tags.join(',') } },
  );
}

async function callStatus(apiKey: string): Promise<number> {
  try {
    await chat(apiKey, ['after-change']);
    return 200;
  } catch (err) {
    if (err instanceof OpenAI.APIError && err.status) return err.status;
    throw err;
  }
}

/** The text of a Spend total ("Requests" → "2"). */
const stat = async (label: string) =>
  ((await page.locator('.stat', { hasText: label }).locator('.stat-value').textContent()) ?? '').trim();

before(async () => {
  if (!existsSync('dist/ui/index.html')) {
    assert.equal(spawnSync(process.execPath, ['scripts/build-ui.mjs'], { stdio: 'inherit' }).status, 0);
  }
  upstream = await startFakeUpstream();
  const config = testConfig({
    model_list: [
      {
        model_name: 'gpt-4o-mini',
        litellm_params: {
          model: 'openai/gpt-4o-mini',
          api_base: `${upstream.url}/v1`,
          api_key: 'sk-upstream',
          rpm: 60,
          tpm: 100_000,
        },
      },
    ],
    general_settings: { store_prompts_in_spend_logs: true, spend_logs_max_age: '30d' },
  });
  t = await startTestApp({ ...config, spendLogsMaxAge: '30d' });
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  const address = t.app.server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  browser = await launchBrowser();
  page = browser.page;
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
  });
});

after(async () => {
  await browser?.close();
  await t?.close();
  await upstream?.close();
});

test('dashboard end to end', async (s) => {
  let secret = '';
  let teamBSecret = '';

  await s.test('a wrong password is refused with a clear message; the admin logs in', async () => {
    await page.goto(`${base}/ui`);
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password or virtual key').fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'Wrong username or password' }).waitFor();
    await screenshot(page, 'login');
    await loginThroughForm(page, base, 'admin', TEST_MASTER_KEY);
  });

  await s.test('Budgets: create a team with a monthly budget', async () => {
    await openTab(page, 'Budgets');
    const teams = page.locator('section', { has: page.getByRole('heading', { name: 'Teams' }) });
    await teams.getByRole('button', { name: '+ New' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('team_id').fill('team-a');
    await dialog.getByLabel('team_alias').fill('Team A');
    await dialog.getByLabel('Max budget (USD)').fill('50');
    await dialog.getByLabel('Budget period').fill('1mo');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await teams.getByText('Team A').waitFor();
    await admin('/team/new', { team_id: 'team-b', team_alias: 'Team B', max_budget: 10 });
  });

  await s.test('Budgets: create a user and add them to the team', async () => {
    const users = page.locator('section', { has: page.getByRole('heading', { name: 'Users' }) });
    await users.getByRole('button', { name: '+ New' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('user_id').fill('alice');
    await dialog.getByLabel('user_email').fill('alice@acme.com');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await users.getByText('alice@acme.com').waitFor();
    const teams = page.locator('section', { has: page.getByRole('heading', { name: 'Teams' }) });
    await teams.locator('tr', { hasText: 'Team A' }).getByRole('button', { name: 'Members' }).click();
    const members = page.getByRole('dialog', { name: 'Members of team-a' });
    await members.getByText('No members yet.').waitFor();
    await members.getByLabel('User id').fill('alice');
    await members.getByRole('button', { name: 'Add member' }).click();
    await members.getByRole('cell', { name: 'alice' }).waitFor();
    await page.keyboard.press('Escape');
    await members.waitFor({ state: 'detached' });
  });

  await s.test('Keys: generate a key, the secret shown once', async () => {
    await openTab(page, 'Keys');
    await page.getByRole('button', { name: '+ Generate key' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Alias').fill('e2e-key');
    await dialog.getByLabel('Team id').fill('team-a');
    await dialog.getByLabel('Max budget (USD)').fill('5');
    await dialog.getByLabel('Requests / minute').fill('60');
    await dialog.getByRole('button', { name: 'Generate key' }).click();
    secret = ((await page.getByTestId('new-secret').textContent()) ?? '').trim();
    assert.match(secret, /^sk-/);
    await screenshot(page, 'key-secret');
    await page.getByRole('button', { name: 'Done' }).click();
    const row = page.locator('tr[data-key-alias="e2e-key"]');
    await row.getByText('60 rpm').waitFor();
    // Edit limits: add a tokens-per-minute limit.
    await row.getByRole('button', { name: 'Limits' }).click();
    await page.getByRole('dialog').getByLabel('Tokens / minute').fill('10000');
    await page.getByRole('dialog').getByRole('button', { name: 'Save' }).click();
    await row.getByText('60 rpm · 10,000 tpm').waitFor();
    teamBSecret = (await admin<{ key: string }>('/key/generate', { key_alias: 'team-b-key', team_id: 'team-b' })).key;
  });

  await s.test('calls with tags through the OpenAI SDK', async () => {
    await chat(secret, ['onboarding', 'prod']);
    await chat(secret, ['onboarding', 'dev']);
    await chat(secret, ['prod']);
    await chat(teamBSecret, ['onboarding', 'prod']);
  });

  await s.test('Spend: the calls appear, and the tag combination filters every number', async () => {
    await openTab(page, 'Spend');
    await page.getByRole('button', { name: 'Last 24 h' }).click();
    await eventually(async () => {
      await page.getByRole('button', { name: 'Refresh' }).click();
      await page.waitForFunction(() => !document.querySelector('.spinner, .stale'));
      assert.equal(await stat('Requests'), '4');
    });
    // all of {onboarding, prod}: one call of each team.
    for (const tag of ['onboarding', 'prod']) {
      await page.getByLabel('Tag to add').fill(tag);
      await page.getByRole('button', { name: 'Add', exact: true }).click();
    }
    await eventually(async () => assert.equal(await stat('Requests'), '2'), 10_000);
    const byTeam = page.getByRole('region', { name: 'Spend by team' });
    await byTeam.getByText('team-a').waitFor();
    await byTeam.getByText('team-b').waitFor();
    assert.notEqual(await stat('Cost'), '$0.00');
    await screenshot(page, 'spend');
    // The CSV holds what is shown: the filter, the totals row and the breakdowns.
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download CSV' }).click(),
    ]);
    const csv = await readFile(await download.path(), 'utf8');
    assert.match(csv, /^section,dimension,value,cost_usd,requests/);
    assert.match(csv, /tags\.all=onboarding\|prod/);
    assert.match(csv, /\r\ntotals,,,0\.\d{9},2,/);
    assert.match(csv, /\r\nbreakdown,team,team-a,0\.\d{9},1,/);
    // none of {dev}, any of {onboarding}: team-a's onboarding+prod and team-b's call.
    await page.getByRole('button', { name: 'Clear' }).click();
    await page.getByLabel('Tags', { exact: true }).selectOption('none');
    await page.getByLabel('Tag to add').fill('dev');
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await eventually(async () => assert.equal(await stat('Requests'), '3'), 10_000);
  });

  await s.test('Spend: by tag, overlapping or split (split rows add up to the total)', async () => {
    await page.getByRole('button', { name: 'Clear' }).click();
    await eventually(async () => assert.equal(await stat('Requests'), '4'), 10_000);
    const byTag = page.getByRole('region', { name: 'Spend by tag' });
    const requestsOf = async (tag: string) =>
      (await byTag.locator('tr', { hasText: tag }).locator('td').nth(2).textContent())?.trim();
    // Calls tagged {onboarding, prod} ×2, {dev, onboarding}, {prod}: overlapping counts each under each tag.
    await eventually(async () => assert.equal(await requestsOf('onboarding'), '3'), 10_000);
    await byTag.getByRole('button', { name: 'Split' }).click();
    // Split: each tag set's calls divided among its tags, remainders to the first tag in order.
    await eventually(async () => {
      assert.equal(await requestsOf('onboarding'), '1');
      assert.equal(await requestsOf('prod'), '2');
      assert.equal(await requestsOf('dev'), '1');
    }, 10_000);
  });

  await s.test('Logs: newest first, with the detail of one call (prompt stored, retention shown)', async () => {
    await openTab(page, 'Logs');
    await page.getByText('kept for 30d').waitFor();
    await eventually(async () => {
      await page.getByRole('button', { name: 'Refresh' }).click();
      await page.waitForFunction(() => !document.querySelector('.spinner, .stale'));
      assert.equal(await page.locator('table.logtable tbody tr').count(), 4);
    });
    await screenshot(page, 'logs');
    // Keyboard: a log row takes focus and Enter opens it.
    await page.locator('table.logtable tbody tr', { hasText: 'e2e-key' }).first().focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'Call detail' });
    await dialog.getByText('hello from prod').waitFor();
    await dialog.getByText('team-a').first().waitFor();
    await dialog.getByText('trace-prod').waitFor(); // the call's own metadata
    await screenshot(page, 'log-detail');
    await page.keyboard.press('Escape');
  });

  await s.test('Budgets: a team with spend shows its forecast', async () => {
    await openTab(page, 'Budgets');
    const teams = page.locator('section', { has: page.getByRole('heading', { name: 'Teams' }) });
    await teams
      .locator('tr', { hasText: 'Team A' })
      .getByText(/projected \$[\d.]+ by period end/)
      .waitFor();
  });

  await s.test('Models and Budgets: health, prices and team spend', async () => {
    await openTab(page, 'Models');
    const row = page.locator('table.models tbody tr', { hasText: 'gpt-4o-mini' });
    await row.getByText('healthy').waitFor();
    await screenshot(page, 'models');
    await openTab(page, 'Budgets');
    await page.getByText('Team A').waitFor();
    await screenshot(page, 'budgets');
    await openTab(page, 'Keys');
    await page.locator('tr[data-key-alias="e2e-key"]').waitFor();
    await screenshot(page, 'keys');
  });

  await s.test('rotate the key: the old secret is refused, the new one works', async () => {
    const row = page.locator('tr[data-key-alias="e2e-key"]');
    await row.getByRole('button', { name: 'Rotate' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Rotate' }).click();
    const rotated = ((await page.getByTestId('new-secret').textContent()) ?? '').trim();
    assert.notEqual(rotated, secret);
    await page.getByRole('button', { name: 'Done' }).click();
    await eventually(async () => assert.equal(await callStatus(secret), 401), 5_000);
    assert.equal(await callStatus(rotated), 200);
    secret = rotated;
  });

  await s.test('revoke the key (block, then delete): the next call is refused', async () => {
    const row = page.locator('tr[data-key-alias="e2e-key"]');
    await row.getByRole('button', { name: 'Block' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Block' }).click();
    await row.getByText('blocked').waitFor();
    const blocked = await eventually(async () => {
      const status = await callStatus(secret);
      assert.ok(status === 401 || status === 403, `blocked key answered ${status}`);
      return status;
    }, 5_000);
    assert.ok(blocked >= 400);
    await row.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete key' }).click();
    await row.waitFor({ state: 'detached' });
    assert.equal(await callStatus(secret), 401);
  });

  await s.test("a virtual-key login sees only its own scope, not another team's", async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await loginThroughForm(page, base, '', teamBSecret);
    const nav = page.getByRole('navigation', { name: 'Sections' });
    assert.deepEqual(await nav.getByRole('link').allInnerTexts(), ['Spend', 'Logs']);
    await page.getByRole('button', { name: 'Last 24 h' }).click();
    await eventually(async () => assert.equal(await stat('Requests'), '1'), 10_000);
    const byTeam = page.getByRole('region', { name: 'Spend by team' });
    await byTeam.getByText('team-b').waitFor();
    assert.equal(await byTeam.getByText('team-a').count(), 0);
    await screenshot(page, 'spend-non-admin');
    // The APIs enforce it, whatever the page asks for.
    const asked = await page.evaluate(async () => {
      const query = await fetch('/spend/query', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ from: '-24h', filters: { team: { in: ['team-a'] } }, metrics: ['requests'] }),
      });
      const keys = await fetch('/key/list');
      return { requests: (await query.json()).totals.requests, keysStatus: keys.status };
    });
    assert.deepEqual(asked, { requests: 0, keysStatus: 403 });
    await openTab(page, 'Logs');
    await eventually(async () => assert.equal(await page.locator('table.logtable tbody tr').count(), 1), 10_000);
    assert.equal(await page.locator('table.logtable tbody tr', { hasText: 'team-a' }).count(), 0);
  });

  await s.test('phone width: the Spend tab fits 390 px', async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.setViewportSize({ width: 390, height: 844 });
    await loginThroughForm(page, base, 'admin', TEST_MASTER_KEY);
    await page.getByRole('button', { name: 'Last 24 h' }).click();
    await eventually(async () => assert.match(await stat('Requests'), /^[1-9]/), 10_000);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `page is ${overflow}px wider than the phone`);
    await screenshot(page, 'spend-phone');
  });
  await s.test('a page on a sibling port cannot use the admin session to create a key (CSRF)', async () => {
    // http://127.0.0.1:<other port> is the same *site* as the dashboard, so the browser sends the cookie.
    const attacker: Server = createServer((_req, res) => res.end('<!doctype html><title>elsewhere</title>'));
    await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
    try {
      const address = attacker.address();
      await page.goto(`http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/`);
      // A "simple" request needs no CORS preflight: form content type, JSON text as the body (issue 16's probe).
      await page.evaluate(async (target) => {
        for (const type of ['application/x-www-form-urlencoded', 'text/plain']) {
          await fetch(`${target}/key/generate`, {
            method: 'POST',
            mode: 'no-cors',
            credentials: 'include',
            headers: { 'content-type': type },
            body: JSON.stringify({ key_alias: 'csrf-from-sibling-port' }),
          });
        }
      }, base);
    } finally {
      // Chromium keeps its connection open: close it, or close() waits for the keep-alive timeout.
      attacker.closeAllConnections();
      await new Promise((resolve) => attacker.close(resolve));
    }
    const keys = await admin<{ total_count: number }>('/key/list?key_alias=csrf-from-sibling-port');
    assert.equal(keys.total_count, 0, 'no key was created');
    // (The dashboard's own writes with the same session — team, user, key, rotate, revoke — ran above.)
    await page.goto(`${base}/ui`);
    await page.getByRole('navigation', { name: 'Sections' }).waitFor();
  });

  await s.test('the dashboard ran under its Content-Security-Policy without a violation', async () => {
    const res = await fetch(`${base}/ui`);
    assert.match(String(res.headers.get('content-security-policy')), /script-src 'self'/);
    assert.deepEqual(cspViolations, []);
    // The watch itself works: an inline <style> (which the bundle never uses) is reported.
    await page.evaluate(() => {
      document.head.append(Object.assign(document.createElement('style'), { textContent: 'body { color: red }' }));
    });
    await eventually(async () => assert.equal(cspViolations.length, 1), 5_000, 100);
    assert.match(cspViolations[0] ?? '', /style-src/);
  });
});
