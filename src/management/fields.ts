// Field schemas shared by the management routes for what a client writes: new ids and aliases, model and
// tag lists, metadata. Names follow the one character rule (src/validation/nameText.ts). Lookups (update,
// delete, info, list filters) take ids as plain strings, so an entry created before the rule existed can
// still be found and removed.
import { z } from 'zod';
import { MAX_METADATA_BYTES, MAX_TAG_LENGTH, MAX_TAGS } from '../spendRecord.js';
import { lookupText, nameText } from '../validation/nameText.js';

/** Longest id or alias (key_alias, team_id, user_id, customer id, budget_id, model name). */
export const MAX_NAME_LENGTH = 256;
/** Longest model list of a key, team, user or tag (access lists, not a catalogue). */
export const MAX_MODELS = 1000;

/** An id, alias or secret that looks an entry up: any text but lone surrogates (see lookupText). */
export const lookupInput = lookupText();
export const lookupId = lookupText().min(1);

/** A new id, alias or model name. */
export const nameInput = nameText(MAX_NAME_LENGTH);

export const modelsInput = z.array(nameInput).max(MAX_MODELS);

/** Tags as every spend record carries them: at most 64 of at most 200 characters each. */
export const tagsInput = z.array(nameText(MAX_TAG_LENGTH)).max(MAX_TAGS);

/**
 * Free-form metadata: keys follow the name rule, values are any JSON (nesting already bounded by the body
 * parser). A key's metadata is copied into the record of every call it makes, so the whole object is held
 * to the record's metadata bound.
 */
export const metadataInput = z.record(nameInput, z.unknown()).superRefine((value, ctx) => {
  const bytes = Buffer.byteLength(JSON.stringify(value));
  if (bytes > MAX_METADATA_BYTES) {
    ctx.addIssue({ code: 'custom', message: `at most ${MAX_METADATA_BYTES} bytes as JSON, got ${bytes}` });
  }
});
