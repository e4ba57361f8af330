// The bytes the JSON scanners look at (UTF-8: every byte of a multi-byte character is ≥ 0x80, so none of
// these ever appears inside one). Shared by the body depth scanner (src/http/jsonBody.ts) and the ingest
// record splitter (src/ingest/recordBody.ts).
export const QUOTE = 0x22;
export const BACKSLASH = 0x5c;
export const NEWLINE = 0x0a;
export const OPEN_ARRAY = 0x5b;
export const CLOSE_ARRAY = 0x5d;
export const OPEN_OBJECT = 0x7b;
export const CLOSE_OBJECT = 0x7d;
export const COLON = 0x3a;
export const COMMA = 0x2c;
