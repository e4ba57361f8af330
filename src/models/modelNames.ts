// model_list names as clients ask for them: exact names, and `*` globs (`openai/*`, `gpt-*`) whose captured
// parts fill the `*` of the entry's upstream model — shared by the proxy's router and the price lookup of
// records priced after the fact.

/** `gpt-*` style glob → anchored regex with one capture per `*`. */
export function globRegex(pattern: string): RegExp {
  const escaped = pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${escaped.join('(.*)')}$`);
}

/** A name equal to `pattern`, or matched by it when it is a glob. */
export function matchesModel(pattern: string, model: string): boolean {
  return pattern === model || (pattern.includes('*') && globRegex(pattern).test(model));
}

/** The upstream model spec for a name a glob matched: each `*` of `upstreamSpec` takes the next capture. */
export function wildcardSpec(upstreamSpec: string, match: RegExpExecArray): string {
  let captured = 0;
  return upstreamSpec.replace(/\*/g, () => match[++captured] ?? '');
}
