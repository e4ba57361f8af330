// Built-in guardrail patterns: each masks and blocks its sample text, none fires on look-alikes (invalid
// Luhn numbers, version strings, dates, times, MAC addresses, UUIDs); request text is found in every call
// shape; rules apply by scope; block wins over mask and never echoes the match.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Principal } from '../src/auth/principal.js';
import { AppError } from '../src/errors.js';
import { ContentScreen, GuardrailRules } from '../src/guardrails/contentRules.js';
import { BUILT_IN_NAMES, luhnValid } from '../src/guardrails/patterns.js';
import { rewriteRequestText } from '../src/guardrails/requestText.js';
import { guardrailsSchema } from '../src/guardrails/schema.js';

const principal = (over: Partial<Principal> = {}): Principal => ({
  kind: 'key',
  isAdmin: false,
  spendVisibility: 'key',
  permissions: [],
  keyHash: 'hash-1',
  keyAlias: 'alias-1',
  userId: null,
  teamId: null,
  models: [],
  tags: [],
  metadata: {},
  ...over,
});

function screenFor(patterns: string[], action: 'mask' | 'block', extra: Record<string, unknown> = {}): ContentScreen {
  const rules = new GuardrailRules(guardrailsSchema.parse({ rules: [{ patterns, action }], ...extra }));
  const plan = rules.planFor(principal());
  assert.ok(plan);
  return new ContentScreen(plan);
}

const SAMPLES: Record<string, { text: string; masked: string }> = {
  email: { text: 'write to jane.doe+news@example.co.uk today', masked: 'write to [EMAIL_REDACTED] today' },
  phone: {
    text: 'call (415) 555-0132, 415.555.0132, +1 415 555 0132 or +44 20 7946 0958.',
    masked: 'call [PHONE_REDACTED], [PHONE_REDACTED], [PHONE_REDACTED] or [PHONE_REDACTED].',
  },
  us_ssn: { text: 'SSN 123-45-6789 on file', masked: 'SSN [US_SSN_REDACTED] on file' },
  credit_card: {
    text: 'cards 4111 1111 1111 1111, 5500-0000-0000-0004 and 378282246310005',
    masked: 'cards [CREDIT_CARD_REDACTED], [CREDIT_CARD_REDACTED] and [CREDIT_CARD_REDACTED]',
  },
  aws_access_key: { text: 'key=AKIAIOSFODNN7EXAMPLE;', masked: 'key=[AWS_ACCESS_KEY_REDACTED];' },
  github_token: {
    text: `token ghp_${'A1b2C3d4E5'.repeat(3)}abcdef and github_pat_${'x'.repeat(30)}`,
    masked: 'token [GITHUB_TOKEN_REDACTED] and [GITHUB_TOKEN_REDACTED]',
  },
  openai_key: {
    text: 'OPENAI_API_KEY=sk-proj-Abc123Def456Ghi789Jkl012 and sk-ant-api03-abcdefghijklmnopqrstu',
    masked: 'OPENAI_API_KEY=[OPENAI_KEY_REDACTED] and [OPENAI_KEY_REDACTED]',
  },
  ipv4: { text: 'from 192.168.1.20 and 8.8.8.8.', masked: 'from [IPV4_REDACTED] and [IPV4_REDACTED].' },
  ipv6: {
    text: 'hosts 2001:db8::8a2e:370:7334, fe80::1 and ::1',
    masked: 'hosts [IPV6_REDACTED], [IPV6_REDACTED] and [IPV6_REDACTED]',
  },
};

/** Text every built-in pattern must leave alone. */
const LOOK_ALIKES = [
  'invalid Luhn 4111 1111 1111 1112 and 1234567890123',
  'a 25-digit id 1234567890123456789012345',
  'version 1.2.3.4.5 and 10.0.0.256 and v2.10.3',
  'dates 2024-01-15, 15/01/2024, 2024-01-15T10:20:30Z, times 12:30:45',
  'MAC 00:1A:2B:3C:4D:5E, C++ std::vector<int>, IPv6-ish 12:34',
  'uuid 0190b5a2-7c1e-7c3d-8f00-123456789abc, sha 3f786850e387550fdab836ed7e6dc881de23001b',
  'never-issued SSNs 000-12-3456, 666-12-3456, 123-00-4567, 123-45-0000',
  'order #123456789, price 1,234,567.89, pi 3.14159265358979, ratio 1:2:3',
  'emails need a domain: user@localhost, @handle, a@b',
  'prose about sk- prefixes and AKIA keys, ghp_short',
];

test('every built-in pattern has a sample', () => {
  assert.deepEqual(Object.keys(SAMPLES).sort(), [...BUILT_IN_NAMES].sort());
});

for (const [name, sample] of Object.entries(SAMPLES)) {
  test(`${name}: masks its sample and records the hit`, () => {
    const screen = screenFor([name], 'mask');
    assert.equal(screen.screen(sample.text, 'messages[0].content'), sample.masked);
    assert.equal(screen.summary(), `${name}:mask`);
  });

  test(`${name}: blocks its sample without echoing it`, () => {
    const screen = screenFor([name], 'block');
    assert.throws(
      () => screen.screen(sample.text, 'messages[0].content'),
      (err: unknown) => {
        assert.ok(err instanceof AppError);
        assert.deepEqual([err.status, err.type, err.param], [400, 'content_blocked', 'messages[0].content']);
        assert.match(err.message, new RegExp(`matches ${name}$`));
        return true;
      },
    );
    assert.equal(screen.summary(), `${name}:block`);
  });
}

test('no built-in pattern fires on look-alikes', () => {
  const screen = screenFor([...BUILT_IN_NAMES], 'block');
  for (const text of LOOK_ALIKES) assert.equal(screen.screen(text, 'p'), text, text);
  assert.equal(screen.summary(), '');
});

test('Luhn check', () => {
  assert.ok(luhnValid('4111111111111111'));
  assert.ok(!luhnValid('4111111111111112'));
  assert.ok(luhnValid('79927398713'));
});

test('all patterns at once mask a mixed text, each match once', () => {
  const screen = screenFor([...BUILT_IN_NAMES], 'mask');
  const text = 'Jane (jane@acme.io, 415-555-0132, SSN 123-45-6789) paid with 4111-1111-1111-1111 from 10.1.2.3';
  assert.equal(
    screen.screen(text, 'p'),
    'Jane ([EMAIL_REDACTED], [PHONE_REDACTED], SSN [US_SSN_REDACTED]) paid with [CREDIT_CARD_REDACTED] from [IPV4_REDACTED]',
  );
  assert.equal(screen.summary(), 'email:mask,credit_card:mask,us_ssn:mask,phone:mask,ipv4:mask');
});

test('custom patterns with their own replacement; block beats mask for the same pattern', () => {
  const rules = new GuardrailRules(
    guardrailsSchema.parse({
      custom_patterns: [{ name: 'employee_id', regex: 'EMP-\\d{6}', flags: 'i' }],
      rules: [
        { patterns: ['employee_id', 'email'], action: 'mask' },
        { patterns: ['email'], action: 'block', teams: ['legal'] },
      ],
    }),
  );
  const everyone = new ContentScreen(rules.planFor(principal()) ?? assert.fail('plan'));
  assert.equal(everyone.screen('emp-123456 wrote a@b.io', 'p'), '[EMPLOYEE_ID_REDACTED] wrote [EMAIL_REDACTED]');
  const legal = new ContentScreen(rules.planFor(principal({ teamId: 'legal' })) ?? assert.fail('plan'));
  assert.throws(() => legal.screen('a@b.io', 'p'), /matches email/);
});

test('scopes: global, per team, per key alias or hash', () => {
  const rules = new GuardrailRules(
    guardrailsSchema.parse({
      rules: [
        { patterns: ['email'], action: 'mask', teams: ['t1'] },
        { patterns: ['phone'], action: 'mask', keys: ['alias-2'] },
        { patterns: ['ipv4'], action: 'mask', keys: ['hash-3'] },
      ],
    }),
  );
  const names = (p: Principal) => rules.planFor(p)?.mask.map((x) => x.name) ?? [];
  assert.deepEqual(names(principal()), []);
  assert.deepEqual(names(principal({ teamId: 't1' })), ['email']);
  assert.deepEqual(names(principal({ keyAlias: 'alias-2' })), ['phone']);
  assert.deepEqual(names(principal({ keyHash: 'hash-3', teamId: 't1' })), ['email', 'ipv4']);
});

test('config errors: unknown pattern names and bad regexes name their path', () => {
  assert.throws(
    () => new GuardrailRules(guardrailsSchema.parse({ rules: [{ patterns: ['e_mail'], action: 'mask' }] })),
    /guardrails\.rules\[0\]\.patterns\[0\]: unknown pattern e_mail/,
  );
  const bad = guardrailsSchema.safeParse({ custom_patterns: [{ name: 'x', regex: '(' }] });
  assert.equal(bad.success, false);
  assert.deepEqual(bad.error?.issues[0]?.path, ['custom_patterns', 0, 'regex']);
  assert.equal(guardrailsSchema.safeParse({ custom_patterns: [{ name: 'x', regex: 'a*' }] }).success, false);
  // LiteLLM's list-shaped `guardrails:` (vendor integrations) is not an error: ignored, with a boot warning.
  assert.deepEqual(guardrailsSchema.parse([{ guardrail_name: 'aporia' }]), {
    custom_patterns: [],
    rules: [],
    ignored_litellm_entries: 1,
  });
});

test('request text: chat parts and tool calls, completion prompts, embedding inputs, Anthropic system/blocks', () => {
  const seen: string[] = [];
  const upper = (text: string, param: string) => {
    seen.push(param);
    return text.toUpperCase();
  };
  const chat = {
    model: 'm',
    messages: [
      { role: 'system', content: 'sys' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'part' },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,abc' } },
        ],
      },
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{"q":"x"}' } }],
      },
      { role: 'tool', tool_call_id: 'c1', content: 'result' },
    ],
  };
  rewriteRequestText('chat', chat, upper);
  assert.equal(chat.messages[0]?.content, 'SYS');
  assert.deepEqual(chat.messages[1]?.content, [
    { type: 'text', text: 'PART' },
    { type: 'image_url', image_url: { url: 'data:image/png;base64,abc' } },
  ]);
  assert.equal(chat.messages[2]?.tool_calls?.[0]?.function.arguments, '{"Q":"X"}');
  assert.equal(chat.messages[2]?.tool_calls?.[0]?.function.name, 'f');
  assert.equal(chat.messages[3]?.role, 'tool');

  const completion: Record<string, unknown> = { prompt: ['a', 'b'] };
  rewriteRequestText('completion', completion, upper);
  assert.deepEqual(completion.prompt, ['A', 'B']);
  const embedding: Record<string, unknown> = { input: 'e' };
  rewriteRequestText('embedding', embedding, upper);
  assert.equal(embedding.input, 'E');
  const tokens: Record<string, unknown> = { input: [1, 2, 3] };
  rewriteRequestText('embedding', tokens, upper);
  assert.deepEqual(tokens.input, [1, 2, 3]);

  const messages: Record<string, unknown> = {
    system: [{ type: 'text', text: 'sys' }],
    messages: [
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: [{ type: 'tool_use', id: 't', name: 'n', input: { city: 'paris' } }] },
      {
        role: 'user',
        content: [{ type: 'tool_result', tool_use_id: 't', content: [{ type: 'text', text: 'sunny' }] }],
      },
      { role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'abc' } }] },
    ],
  };
  rewriteRequestText('messages', messages, upper);
  assert.deepEqual(messages, {
    system: [{ type: 'text', text: 'SYS' }],
    messages: [
      { role: 'user', content: 'HI' },
      { role: 'assistant', content: [{ type: 'tool_use', id: 't', name: 'n', input: { city: 'PARIS' } }] },
      {
        role: 'user',
        content: [{ type: 'tool_result', tool_use_id: 't', content: [{ type: 'text', text: 'SUNNY' }] }],
      },
      { role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'abc' } }] },
    ],
  });
  assert.ok(seen.includes('messages[1].content[0].input.city'));
});
