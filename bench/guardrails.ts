// Guardrail overhead: the time `screen` adds to a call before it is forwarded, per request body size and
// text (clean prose, or prose with PII every ~200 characters), for every built-in pattern masking, every
// built-in blocking (clean text: the worst case, nothing matches so every pattern scans everything), and
// tag-policy evaluation. In-process and single-threaded: these are CPU microseconds the proxy spends per
// call on top of its own overhead (bench/proxy*.ts). `npm run bench -- guardrails [--scale 1]`
import type { Principal } from '../src/auth/principal.js';
import type { CallContext, CallScreener } from '../src/callGuards.js';
import { GuardrailRules } from '../src/guardrails/contentRules.js';
import { guardrailScreener } from '../src/guardrails/guard.js';
import { BUILT_IN_NAMES } from '../src/guardrails/patterns.js';
import { guardrailsSchema } from '../src/guardrails/schema.js';
import { compileTagPolicies, tagPolicyGuard } from '../src/guardrails/tagPolicies.js';
import { formatTable, machineInfo, writeResult } from './lib/report.js';

const principal: Principal = {
  kind: 'key',
  isAdmin: false,
  spendVisibility: 'key',
  permissions: [],
  keyHash: 'h',
  keyAlias: 'a',
  userId: 'u',
  teamId: 't',
  models: [],
  tags: [],
  metadata: {},
};

const PROSE =
  'The quarterly report covers revenue growth across the three regions, version 2.4.1 of the pipeline, the ' +
  'migration scheduled for 2024-03-15 at 10:30, and the open questions from the planning review. ';
const PII = [
  'Contact jane.doe@example.com',
  'or call (415) 555-0132',
  'card 4111 1111 1111 1111',
  'SSN 123-45-6789',
  'from 10.1.2.3',
];

function text(chars: number, withPii: boolean): string {
  let out = '';
  let i = 0;
  while (out.length < chars) out += withPii ? `${PROSE.slice(0, 160)} ${PII[i++ % PII.length]}. ` : PROSE;
  return out.slice(0, chars);
}

/** A chat body whose user/assistant turns add up to about `chars` characters. */
function chatBody(chars: number, withPii: boolean): Record<string, unknown> {
  const turns = Math.max(1, Math.ceil(chars / 2000));
  const messages = [{ role: 'system', content: 'You are a helpful assistant.' }];
  for (let i = 0; i < turns; i++) {
    messages.push({ role: i % 2 ? 'assistant' : 'user', content: text(Math.ceil(chars / turns), withPii) });
  }
  return { model: 'gpt-4o', messages };
}

interface Row {
  case: string;
  body_chars: number;
  text: string;
  calls: number;
  mean_us: number;
  p50_us: number;
  p99_us: number;
  mb_per_s: number;
}

function measure(
  name: string,
  chars: number,
  withPii: boolean,
  calls: number,
  run: (body: Record<string, unknown>) => void,
): Row {
  const template = chatBody(chars, withPii);
  const bodies = Array.from({ length: calls }, () => structuredClone(template));
  for (let i = 0; i < Math.min(200, calls); i++) run(structuredClone(template));
  const times: number[] = [];
  for (const body of bodies) {
    const start = process.hrtime.bigint();
    run(body);
    times.push(Number(process.hrtime.bigint() - start) / 1000);
  }
  times.sort((a, b) => a - b);
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  const pick = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? 0;
  const round = (x: number) => Math.round(x * 10) / 10;
  return {
    case: name,
    body_chars: chars,
    text: withPii ? 'with PII' : 'clean',
    calls,
    mean_us: round(mean),
    p50_us: round(pick(0.5)),
    p99_us: round(pick(0.99)),
    // From the median: the mean carries GC pauses and the other processes sharing the machine.
    mb_per_s: round(chars / pick(0.5)),
  };
}

function screenWith(action: 'mask' | 'block'): CallScreener {
  const rules = new GuardrailRules(guardrailsSchema.parse({ rules: [{ patterns: BUILT_IN_NAMES, action }] }));
  return guardrailScreener(rules, { inc: () => {} });
}

export async function run(argv: string[]): Promise<void> {
  const scaleAt = argv.indexOf('--scale');
  const scale = scaleAt >= 0 ? Number(argv[scaleAt + 1]) : 1;
  const mask = screenWith('mask');
  const block = screenWith('block');
  const screen = (guard: CallScreener) => (body: Record<string, unknown>) =>
    guard.screen?.({ callType: 'chat', principal, body, metadata: {} });
  const policies = tagPolicyGuard(
    compileTagPolicies(
      Array.from({ length: 10 }, (_, i) => ({ tags: [`data:class-${i}`], deny_providers: ['openai'] })),
    ),
    { inc: () => {} },
  );
  const ctx = { tags: ['app:web', 'env:prod', 'data:class-9x'], provider: 'openai', model: 'gpt-4o' } as CallContext;
  const rows: Row[] = [];
  for (const [chars, calls] of [
    [200, 20_000],
    [4_000, 4_000],
    [64_000, 400],
  ] as const) {
    const n = Math.max(50, Math.round(calls * scale));
    rows.push(measure('mask: all 9 built-ins', chars, false, n, screen(mask)));
    rows.push(measure('mask: all 9 built-ins', chars, true, n, screen(mask)));
    rows.push(measure('block: all 9 built-ins (no match)', chars, false, n, screen(block)));
  }
  rows.push(measure('tag policies: 10 rules', 200, false, 20_000, () => void policies.admit(ctx)));
  console.log(
    formatTable(
      Object.keys(rows[0] ?? {}),
      rows.map((r) => Object.values(r)),
    ),
  );
  console.log(`\nwrote ${writeResult('guardrails', { machine: machineInfo(), rows })}`);
}
