// The JSON nesting limit, in one place for every reader of client JSON: request bodies (src/http/jsonBody.ts),
// ingest record bodies (src/ingest/recordBody.ts) and stored prompts shown in log detail.

/**
 * Deepest nesting of arrays/objects accepted (`[[1]]` is 2). Real API bodies stay far below it: an OpenAI tool
 * schema nests ~2 levels per schema level, so 64 leaves room for ~30 schema levels; a LiteLLM payload with
 * messages is ~10 deep.
 */
export const MAX_JSON_DEPTH = 64;
