// What `start` and `serve` refuse or warn about before they listen. `npm start` is a local demo: it binds
// loopback unless HOST says otherwise, and it will not open the network with the published demo key (anyone
// who has read the README would be admin). `serve` is production: a master key that can be guessed or looked
// up is refused outright, wherever it listens.
import type { AppConfig } from './load.js';

/** Printed by `npm start` and in the README: never a production secret. */
export const DEMO_MASTER_KEY = 'sk-spendhouse-demo-master-key';
/** 32 characters of a generated secret (`openssl rand -hex 32` gives 64) is far beyond online guessing. */
export const MIN_MASTER_KEY_LENGTH = 32;

export interface ExposureCheck {
  /** Each names the setting to change; the CLI prints them and exits 2. */
  errors: string[];
  warnings: string[];
}

/** `127.0.0.1`, `127.x.y.z`, `::1`, `localhost` (and the IPv4-mapped form): reachable from this machine only. */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^(::ffff:)?127(\.\d{1,3}){3}$/.test(h);
}

const GENERATE_HINT = 'generate one with `openssl rand -hex 32`';

function masterKeyProblem(config: AppConfig): string | null {
  const setting = config.masterKeySource;
  if (config.masterKey === DEMO_MASTER_KEY) {
    return `${setting}: the published demo master key cannot be used by \`serve\`; set MASTER_KEY to your own secret (${GENERATE_HINT})`;
  }
  if (config.masterKey.length < MIN_MASTER_KEY_LENGTH) {
    return `${setting}: ${config.masterKey.length} characters; \`serve\` needs a master key of at least ${MIN_MASTER_KEY_LENGTH} characters (${GENERATE_HINT})`;
  }
  return null;
}

/** `spendhouse serve`: the master key is the admin credential of a deployment. */
export function checkServeExposure(config: AppConfig): ExposureCheck {
  const problem = masterKeyProblem(config);
  return { errors: problem ? [problem] : [], warnings: [] };
}

/** `spendhouse start`: anything goes on loopback; beyond it, never the demo key and a warning for a short one. */
export function checkStartExposure(config: AppConfig): ExposureCheck {
  if (isLoopbackHost(config.host)) return { errors: [], warnings: [] };
  if (config.masterKey === DEMO_MASTER_KEY) {
    return {
      errors: [
        `HOST (server.host) is ${config.host}: \`start\` will not listen beyond this machine with the published demo master key. ` +
          `Set MASTER_KEY to your own secret (${GENERATE_HINT}), or leave HOST unset to listen on 127.0.0.1 only.`,
      ],
      warnings: [],
    };
  }
  const problem = masterKeyProblem(config);
  return {
    errors: [],
    warnings: problem
      ? [
          `listening on ${config.host} (every interface it names) with a weak master key: ${problem.replace('`serve` needs', 'use')}`,
        ]
      : [],
  };
}
