// How fast the dashboard answers on a realistic warehouse: loads N synthetic calls (30 days, 50 teams,
// 5,000 users, 500 keys, 20 models, 8 tag sets) server-side, then times in headless Chromium how long the
// Spend tab takes to show every number after a range or tag change, and the Logs tab to show a page.
// Prints JSON; asserts nothing. Usage: node --import tsx test/ui/measureSpendTab.ts [rows=1000000]
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { sql } from '../../src/clickhouse/sql.js';
import { startTestApp, TEST_MASTER_KEY, testConfig } from '../helpers/testApp.js';
import { launchBrowser, loginThroughForm, openTab } from './browser.js';

const rows = Number(process.argv[2] ?? 1_000_000);
if (!existsSync('dist/ui/index.html')) spawnSync(process.execPath, ['scripts/build-ui.mjs'], { stdio: 'inherit' });
const t = await startTestApp(testConfig({}));
try {
  const loadStart = Date.now();
  const nowS = Math.floor(Date.now() / 1000);
  // In chunks: one huge INSERT … SELECT can outlast the client's request timeout on a busy machine.
  const CHUNK = 200_000;
  for (let offset = 0; offset < rows; offset += CHUNK) {
    const count = Math.min(CHUNK, rows - offset);
    await t.app.warehouse.exec(sql`INSERT INTO spend_logs (request_id, start_time, start_time_ms, end_time_ms, duration_ms,
      call_type, status, key_hash, key_alias, user_id, team_id, customer_id, model, upstream_model, provider,
      prompt_tokens, completion_tokens, total_tokens, cost_nano, cost_status, tags, source, inserted_at)
    SELECT concat('m-', toString(number)), toDateTime(${nowS} - number % 2592000), (${nowS} - number % 2592000) * 1000,
      (${nowS} - number % 2592000) * 1000 + 200 + number % 900, 200 + number % 900, 'chat',
      if(number % 50 = 0, 500, 200), concat('key-', toString(number % 500)), concat('key-', toString(number % 500)),
      concat('user-', toString(number % 5000)), concat('team-', toString(number % 50)),
      if(number % 3 = 0, '', concat('cust-', toString(number % 300))), concat('model-', toString(number % 20)),
      concat('model-', toString(number % 20)), if(number % 2 = 0, 'openai', 'anthropic'),
      300 + number % 700, 100 + number % 300, 400 + number % 700 + number % 300, 1000 + number % 90000, 'priced',
      arrayElement([['onboarding', 'prod'], ['onboarding', 'dev'], ['prod'], ['search', 'prod'], [], ['batch'],
        ['enterprise', 'prod'], ['free', 'prod']], (number % 8) + 1), 'ingest', now()
    FROM (SELECT number + ${offset} AS number FROM numbers(${count}))`);
  }
  const loadMs = Date.now() - loadStart;
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  const address = t.app.server.address();
  const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const browser = await launchBrowser();
  const { page } = browser;
  const settled = () =>
    page.waitForFunction(() => !document.querySelector('.spinner, .stale'), undefined, { timeout: 60_000 });
  const timed = async (action: () => Promise<void>) => {
    const start = performance.now();
    await action();
    await settled();
    return Math.round(performance.now() - start);
  };
  await loginThroughForm(page, base, 'admin', TEST_MASTER_KEY);
  await settled();
  const samples: Record<string, number[]> = {
    range_30d: [],
    range_7d: [],
    tags_all_2: [],
    logs_first_page: [],
    logs_next_page: [],
  };
  for (let i = 0; i < 5; i++) {
    samples.range_30d?.push(await timed(() => page.getByRole('button', { name: '30 days' }).click()));
    samples.range_7d?.push(await timed(() => page.getByRole('button', { name: '7 days' }).click()));
  }
  await page.getByRole('button', { name: '30 days' }).click();
  await settled();
  for (const tag of ['onboarding', 'prod']) {
    await page.getByLabel('Tag to add').fill(tag);
    samples.tags_all_2?.push(await timed(() => page.getByRole('button', { name: 'Add', exact: true }).click()));
  }
  for (let i = 0; i < 3; i++) {
    samples.logs_first_page?.push(await timed(() => openTab(page, 'Logs')));
    for (let p = 0; p < 3; p++)
      samples.logs_next_page?.push(await timed(() => page.getByRole('button', { name: 'Older →' }).click()));
    await openTab(page, 'Spend');
    await settled();
  }
  await browser.close();
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? null;
  console.log(
    JSON.stringify(
      {
        rows,
        load_ms: loadMs,
        ms_until_every_number_shown: Object.fromEntries(
          Object.entries(samples).map(([k, v]) => [k, { median: median(v), max: Math.max(...v), samples: v }]),
        ),
      },
      null,
      2,
    ),
  );
} finally {
  await t.close();
}
process.exit(0);
